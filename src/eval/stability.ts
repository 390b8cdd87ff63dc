/**
 * When does inner-loop SGD diverge? Along a direction of curvature λ, a step of size α multiplies the error by
 * (1 − αλ), which grows in size once αλ > 2. This compares each task's support-set sharpness λmax (from
 * `supportSharpness`) with what SGD at several step sizes actually does to that task's support loss.
 */
import * as tf from "@tensorflow/tfjs";
import { disposeParams, globalNorm, type Params } from "../core/params";
import { perTaskLoss } from "../models/losses";
import { disposeBatch, type TaskBatch, type TaskLoss } from "../tasks/task-family";
import { mamlMetaGradient } from "../learners/maml";
import { reptileDelta } from "../learners/reptile";
import { checkInteger, checkOneOf, checkPositive, withDefaults } from "../core/validate";
import { adaptSgd, type SupportSet } from "../learners/adapt-sgd";
import type { TaskModel } from "../learners/model";

/** Options of `sgdStability`. */
export interface StabilityOptions {
  /** Inner step sizes α to try. */
  readonly alphas: readonly number[];
  /** SGD steps per task. */
  readonly steps: number;
  /** A task diverged when its support loss ends above this factor times its starting value (or not finite). */
  readonly divergeFactor: number;
  readonly loss: TaskLoss;
}

/** Defaults: ten steps, "diverged" meaning the support loss grew tenfold. */
export const DEFAULT_STABILITY: StabilityOptions = {
  alphas: [0.01, 0.02, 0.03], // around 2/λ for sine MLPs, whose sharpness is in the hundreds
  steps: 10, // the longest inner loop the sine labs use
  divergeFactor: 10, // a stable step never raises the loss tenfold; a diverging one soon passes any factor
  loss: "mse", // regression
};

/** One task at one step size. */
export interface StabilityRow {
  readonly task: number;
  readonly alpha: number;
  /** λmax of the task's support loss at the start. */
  readonly sharpness: number;
  /** α·λmax: SGD is stable along the sharpest direction only while this stays below 2. */
  readonly alphaSharpness: number;
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly diverged: boolean;
}

/** Runs SGD from `params` on every task for each α and records the support loss before and after. */
export function sgdStability(params: Params, support: SupportSet, model: TaskModel, sharpness: ArrayLike<number>, options: Partial<StabilityOptions> = {}): StabilityRow[] {
  const o = withDefaults("sgdStability", options, DEFAULT_STABILITY, { keysWho: "sgdStability options" });
  if (o.alphas.length === 0) throw new Error("sgdStability: give at least one step size in alphas, e.g. [0.01].");
  for (const a of o.alphas) checkPositive("sgdStability", "alphas entry", a);
  checkInteger("sgdStability", "steps", o.steps, 1);
  checkPositive("sgdStability", "divergeFactor", o.divergeFactor, "10 means the support loss grew tenfold.");
  checkOneOf("sgdStability", "loss", o.loss, ["mse", "cross-entropy"] as const);
  const tasks = support.x.shape[0]!;
  if (sharpness.length !== tasks) throw new Error(`sgdStability: ${sharpness.length} sharpness values for ${tasks} tasks; compute them with supportSharpness on the same support set.`);
  const rows: StabilityRow[] = [];
  for (const alpha of o.alphas) {
    let before = new Float32Array(tasks);
    let after = new Float32Array(tasks);
    const adapted = adaptSgd(params, support, model, {
      steps: o.steps, lr: alpha, loss: o.loss,
      onStep: (s, p) => {
        if (s !== 0 && s !== o.steps) return;
        const l = tf.tidy(() => perTaskLoss(o.loss, model.apply(p, support.x), support.y).dataSync() as Float32Array);
        if (s === 0) before = l;
        if (s === o.steps) after = l;
      },
    });
    for (const t of Object.values(adapted)) t.dispose();
    for (let t = 0; t < tasks; t++) {
      const lam = sharpness[t]!;
      rows.push({ task: t, alpha, sharpness: lam, alphaSharpness: alpha * lam, lossBefore: before[t]!, lossAfter: after[t]!, diverged: !(after[t]! <= o.divergeFactor * before[t]!) });
    }
  }
  return rows;
}

/** Per-task sizes of the three outer updates after `innerSteps` SGD steps at `innerLr`. */
export interface UpdateNorms {
  /** ‖∂ query loss / ∂θ‖ through the inner loop (second-order MAML), per task. */
  readonly secondOrder: Float32Array;
  /** ‖∇ query loss at the adapted weights‖ (first-order MAML), per task. */
  readonly firstOrder: Float32Array;
  /** ‖φ_t − θ‖, how far SGD moved (Reptile's update before the outer step size), per task. */
  readonly reptile: Float32Array;
}

/**
 * For each task of `batch` on its own: the second- and first-order MAML meta-gradient norms and Reptile's update
 * norm after the same inner loop (support set only). Shows which update a long or unstable inner loop inflates.
 */
export function updateNormsPerTask(params: Params, batch: TaskBatch, model: TaskModel, o: { readonly innerSteps: number; readonly innerLr: number }): UpdateNorms {
  const tasks = batch.supportX.shape[0]!;
  const out: UpdateNorms = { secondOrder: new Float32Array(tasks), firstOrder: new Float32Array(tasks), reptile: new Float32Array(tasks) };
  for (let t = 0; t < tasks; t++) {
    const one = tf.tidy(() => {
      const pick = (x: tf.Tensor): tf.Tensor3D => tf.slice(x, [t, 0, 0], [1, -1, -1]) as tf.Tensor3D;
      return { supportX: pick(batch.supportX), supportY: pick(batch.supportY), queryX: pick(batch.queryX), queryY: pick(batch.queryY) };
    });
    for (const firstOrder of [false, true]) {
      const g = mamlMetaGradient(params, one, model, { innerSteps: o.innerSteps, innerLr: o.innerLr, firstOrder });
      (firstOrder ? out.firstOrder : out.secondOrder)[t] = globalNorm(g.grads);
      disposeParams(g.grads);
    }
    const r = reptileDelta(params, one, model, { innerSteps: o.innerSteps, innerLr: o.innerLr, useQuery: false });
    out.reptile[t] = globalNorm(r.delta);
    disposeParams(r.delta);
    disposeBatch(one);
  }
  return out;
}
