/**
 * Test-time adaptation from any initialisation: k steps of plain SGD per task, all tasks in one batched call.
 */
import * as tf from "@tensorflow/tfjs";
import { tileForTasks, type Params } from "../core/params";
import { grad } from "../autodiff/functional";
import { summedTaskLoss } from "../models/losses";
import type { TaskLoss } from "../tasks/task-family";
import { splitParams, type TaskModel } from "./model";
import { checkFastPath } from "../fast/eligibility";
import { mlpLayout, packParams } from "../fast/pack";
import { sgdCurveKernelFor } from "../fast/sgd-curves";
import { checkBoolean, checkConfig, checkInteger, checkNonNegative, checkOneOf } from "../core/validate";

/** Options of `adaptSgd`. */
export interface AdaptSgdOptions {
  /** Number of SGD steps. */
  readonly steps: number;
  /** Step size; the reference evaluation uses 0.01 (Finn et al. 2017). */
  readonly lr: number;
  /** Loss on the support set; "mse" by default (sine regression). */
  readonly loss?: TaskLoss;
  /** Names of the parameters to adapt (e.g. the head only, for a linear probe); all by default. */
  readonly trainable?: readonly string[];
  /** True if `params` already carry a leading task dimension; by default they are shared and get tiled. */
  readonly taskBatched?: boolean;
  /** The support set step s (1-based) uses, e.g. a random subset (support-subset.ts); `support` every step by default. */
  readonly supportAt?: (step: number) => SupportSet;
  /** Called with the task-batched params before step 1 (step 0) and after every step; they are disposed right after. */
  readonly onStep?: (step: number, params: Params) => void;
}

/** A support set: x [tasks, shots, in], y [tasks, shots, out]. */
export interface SupportSet {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
}

/** Every key `AdaptSgdOptions` may have, each with its default (`undefined`: required, or off). */
const ADAPT_SGD_KEYS: Record<keyof AdaptSgdOptions, unknown> = {
  steps: undefined, // required
  lr: undefined, // required
  loss: "mse", // sine regression, the reference evaluation
  trainable: undefined, // every parameter: plain fine-tuning
  taskBatched: false, // shared params are the common input (a meta-learned initialisation)
  supportAt: undefined, // the whole support set every step
  onStep: undefined, // no callback
};

/** Checks `adaptSgd`'s options field by field (unknown keys are errors); returns them unchanged. */
export function adaptSgdOptions(o: AdaptSgdOptions): AdaptSgdOptions {
  const WHO = "adaptSgd";
  checkConfig(WHO, o, ADAPT_SGD_KEYS, { hint: "Pass { steps, lr }.", keysWho: "adaptSgd options" });
  checkInteger(WHO, "steps", o.steps, 0, "Use 0 for no adaptation.");
  checkNonNegative(WHO, "lr", o.lr, "Finn et al. use 0.01 at test time.");
  if (o.loss !== undefined) checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.trainable !== undefined && !(Array.isArray(o.trainable) && o.trainable.every((n) => typeof n === "string"))) {
    throw new Error(`adaptSgd trainable must be a list of parameter names (e.g. headNames(config)), got ${String(o.trainable)}.`);
  }
  if (o.taskBatched !== undefined) checkBoolean(WHO, "taskBatched", o.taskBatched);
  for (const k of ["supportAt", "onStep"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "function") throw new Error(`adaptSgd ${k} must be a function, got ${String(o[k])}. Leave it out for the default.`);
  }
  return o;
}

/**
 * Adapts `params` to every task of `support` with `steps` SGD steps on the sum over tasks of each task's mean loss,
 * so each task gets its own gradient. Returns task-batched params [tasks, ...] (new tensors owned by the caller);
 * frozen parameters are tiled too. The input is not disposed.
 */
export function adaptSgd(params: Params, support: SupportSet, model: TaskModel, options: AdaptSgdOptions): Params {
  adaptSgdOptions(options);
  const { steps, lr } = options;
  const loss = options.loss ?? "mse";
  const tasks = support.x.shape[0]!;
  let current: Params = options.taskBatched ? tf.tidy(() => cloneRecord(params)) : tf.tidy(() => tileForTasks(params, tasks));
  const names = options.trainable ?? Object.keys(params);
  options.onStep?.(0, current);
  for (let s = 1; s <= steps; s++) {
    const next = tf.tidy(() => {
      const { picked, rest } = splitParams(current, names);
      const data = options.supportAt ? options.supportAt(s) : support;
      const g = grad((q) => summedTaskLoss(loss, model.apply({ ...rest, ...q }, data.x), data.y))(picked);
      const out: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(current)) out[k] = g[k] ? tf.sub(current[k]!, tf.mul(g[k]!, lr)) : tf.clone(current[k]!);
      return out;
    });
    disposeRecord(current);
    current = next;
    options.onStep?.(s, current);
  }
  return current;
}

function cloneRecord(p: Params): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(p)) out[k] = tf.clone(p[k]!);
  return out;
}

function disposeRecord(p: Params): void {
  for (const t of Object.values(p)) t.dispose();
}

/**
 * The query MSE per task of `adaptSgd` (squared-error loss) before its first step and after each, [steps + 1][tasks],
 * computed on the fast path (src/fast/sgd-curves.ts, no tensors per task) when the model is a plain `Mlp` with
 * shared float32 params; otherwise `{ reason }` says why, and the caller takes the general path.
 */
export function fastSgdCurves(
  params: Params,
  support: SupportSet,
  query: SupportSet,
  model: TaskModel,
  options: Pick<AdaptSgdOptions, "steps" | "lr" | "trainable">,
): { readonly curves: Float32Array[] } | { readonly reason: string } {
  const batch = { supportX: support.x as tf.Tensor3D, supportY: support.y as tf.Tensor3D, queryX: query.x as tf.Tensor3D, queryY: query.y as tf.Tensor3D };
  const check = checkFastPath({ algorithm: "maml", model, params, loss: "mse", batch, ...(options.trainable ? { adapted: options.trainable } : {}) });
  if (!check.ok) return { reason: check.reason };
  const { sizes, activation } = check.config;
  const kernel = sgdCurveKernelFor(sizes, activation);
  const layout = mlpLayout(sizes);
  const mask = new Uint8Array(layout.size);
  const names = options.trainable ?? layout.names;
  layout.names.forEach((k, i) => {
    if (!names.includes(k)) return;
    const n = layout.shapes[i]!.reduce((a, b) => a * b, 1);
    mask.fill(1, layout.offsets[i]!, layout.offsets[i]! + n);
  });
  const [tasks, shots] = support.x.shape as [number, number, number];
  const curves = kernel.curves(packParams(params, sizes), mask, {
    supportX: support.x.dataSync(), supportY: support.y.dataSync(), queryX: query.x.dataSync(), queryY: query.y.dataSync(),
    tasks, shots, queries: query.x.shape[1]!,
  }, options.steps, options.lr);
  return { curves };
}
