/**
 * Per-task sharpness: the largest Hessian eigenvalue of each task's mean support loss, by batched power iteration.
 * SGD at step size lr is stable along a direction only while its curvature stays below 2 / lr.
 */
import * as tf from "@tensorflow/tfjs";
import { tileForTasks, type Params } from "../core/params";
import type { Rng } from "../core/random";
import { hvp } from "../autodiff/functional";
import { summedTaskLoss } from "../models/losses";
import type { TaskLoss } from "../tasks/task-family";
import type { SupportSet } from "../learners/adapt-sgd";
import type { TaskModel } from "../learners/model";
import { checkBoolean, checkConfig, checkInteger, checkOneOf } from "../core/validate";

/** Options of `supportSharpness`. */
export interface SharpnessOptions {
  /** Power-iteration steps; 30 is plenty for the top eigenvalue to settle to a few percent. */
  readonly iterations?: number;
  /** Task loss; "mse" by default. */
  readonly loss?: TaskLoss;
  /** True if `params` already carry a leading task dimension. */
  readonly taskBatched?: boolean;
}

/** Every key `SharpnessOptions` may have, with its default. */
const SHARPNESS_KEYS: Record<keyof SharpnessOptions, unknown> = {
  iterations: 30, // the top eigenvalue settles to a few percent by then
  loss: "mse", // sine regression, where the labs measure sharpness
  taskBatched: false, // shared params (a meta-learned initialisation) are the common input
};

/** Checks `supportSharpness`'s options field by field (unknown keys are errors); returns them unchanged. */
export function sharpnessOptions(o: SharpnessOptions = {}): SharpnessOptions {
  const WHO = "supportSharpness";
  checkConfig(WHO, o, SHARPNESS_KEYS, { hint: "Pass {} for the defaults.", keysWho: "supportSharpness options" });
  if (o.iterations !== undefined) checkInteger(WHO, "iterations", o.iterations, 1, "30 is plenty.");
  if (o.loss !== undefined) checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.taskBatched !== undefined) checkBoolean(WHO, "taskBatched", o.taskBatched);
  return o;
}

/** Largest-magnitude Hessian eigenvalue of every task's support loss at `params`: [tasks] as numbers. */
export function supportSharpness(params: Params, support: SupportSet, model: TaskModel, rng: Rng, options: SharpnessOptions = {}): Float32Array {
  sharpnessOptions(options);
  const iterations = options.iterations ?? 30;
  const loss = options.loss ?? "mse";
  const tasks = support.x.shape[0]!;
  const p = options.taskBatched ? params : tf.tidy(() => tileForTasks(params, tasks));
  const f = (q: Params): tf.Scalar => summedTaskLoss(loss, model.apply(q, support.x), support.y);
  const names = Object.keys(p);
  // Per-task inner product over all parameter tensors: [tasks].
  const dot = (a: Params, b: Params): tf.Tensor => tf.addN(names.map((k) => tf.sum(tf.reshape(tf.mul(a[k]!, b[k]!), [tasks, -1]), 1)));
  const normalise = (v: Params): Params => {
    const n = tf.sqrt(tf.add(dot(v, v), 1e-30));
    return Object.fromEntries(names.map((k) => [k, tf.div(v[k]!, tf.reshape(n, [tasks, ...v[k]!.shape.slice(1).map(() => 1)]))]));
  };
  let v: Params = tf.tidy(() => normalise(Object.fromEntries(names.map((k) => [k, rng.normalTensor(p[k]!.shape)]))));
  let lambda = new Float32Array(tasks);
  for (let i = 0; i < iterations; i++) {
    const next = tf.tidy(() => {
      const hv = hvp(f, p, v);
      lambda = dot(v, hv).dataSync() as Float32Array;
      return normalise(hv);
    });
    for (const t of Object.values(v)) t.dispose();
    v = next;
  }
  for (const t of Object.values(v)) t.dispose();
  if (!options.taskBatched) for (const t of Object.values(p)) t.dispose();
  return lambda;
}
