/**
 * What a learner needs from a model: a functional forward pass over a parameter record.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";

/** A model called as `apply(params, x)` with x [tasks, points, in]; params may carry a leading task dimension. */
export interface TaskModel {
  apply(params: Params, x: tf.Tensor): tf.Tensor;
}

/** Names of an MLP's last layer (`w{L}`, `b{L}` with the largest L): the head that ANIL adapts. */
export function headNames(params: Params): string[] {
  let last = -1;
  for (const k of Object.keys(params)) {
    const m = /^[wb](\d+)$/.exec(k);
    if (m) last = Math.max(last, Number(m[1]));
  }
  if (last < 0) throw new Error(`headNames: no layer parameters named w0, b0, ... in [${Object.keys(params).join(", ")}]. Pass the head's names explicitly.`);
  return Object.keys(params).filter((k) => k === `w${last}` || k === `b${last}`);
}

/** Splits a record into the named part and the rest. */
export function splitParams(params: Params, names: readonly string[]): { picked: Params; rest: Params } {
  const picked: Record<string, tf.Tensor> = {};
  const rest: Record<string, tf.Tensor> = {};
  for (const k of names) {
    if (!params[k]) throw new Error(`Parameter "${k}" is not in [${Object.keys(params).join(", ")}]. Check the names you asked to adapt.`);
  }
  for (const k of Object.keys(params)) (names.includes(k) ? picked : rest)[k] = params[k]!;
  return { picked, rest };
}
