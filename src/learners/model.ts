/**
 * What a learner needs from a model: a functional forward pass over a parameter record.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";

/** A model called as `apply(params, x)` with x [tasks, points, in]; params may carry a leading task dimension. */
export interface TaskModel {
  apply(params: Params, x: tf.Tensor): tf.Tensor;
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
