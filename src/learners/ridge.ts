/**
 * Ridge-regression head meta-learning (R2-D2, Bertinetto et al. 2019; MetaOptNet, Lee et al. 2019): the MLP body
 * gives features Φ, each task's head is the closed-form ridge solution on its support set, and the query loss is
 * backpropagated through the solve into the body.
 */
import * as tf from "@tensorflow/tfjs";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { valueAndGrad } from "../autodiff/functional";
import { meanTaskLoss } from "../models/losses";
import { layerParamNames, mlpFeatures, type Mlp } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";
import { adamStep, disposeAdam, flatAdamStep, initAdam, type AdamState } from "../optim/adam";
import { checkFastPath, decideFastPath, fastPathMode, type FastPathMode, type FastPathReport } from "../fast/eligibility";
import { firstOrderKernelFor } from "../fast/first-order";
import { flattenBatch } from "../fast/mlp-maml";
import { mlpLayout } from "../fast/pack";
import { packIfEligible, PackedState } from "../fast/packed-state";
import type { RidgeForm } from "../fast/ridge-solve";
import { splitParams } from "./model";
import type { SupportSet } from "./adapt-sgd";
import { StepLearner } from "./learner";
import { checkOneOf, checkPositive, withDefaults } from "../core/validate";

/**
 * Solves A X = B for a batch of symmetric positive-definite A [tasks, n, n] and B [tasks, n, m] by Gauss-Jordan
 * elimination written with differentiable ops (slice, div, mul, sub), since tf.linalg has no batched solve with
 * gradients. No pivoting: fine for SPD matrices such as ΦΦᵀ + λI.
 */
export function solveSpd(A: tf.Tensor, B: tf.Tensor): tf.Tensor {
  if (A.rank !== 3 || B.rank !== 3 || A.shape[1] !== A.shape[2] || A.shape[1] !== B.shape[1] || A.shape[0] !== B.shape[0]) {
    throw new Error(`solveSpd expects A [tasks, n, n] and B [tasks, n, m], got [${A.shape}] and [${B.shape}].`);
  }
  return tf.tidy(() => {
    const n = A.shape[1]!;
    let M = tf.concat([A, B], 2); // [tasks, n, n+m]
    for (let k = 0; k < n; k++) {
      const row = tf.slice(M, [0, k, 0], [-1, 1, -1]); // [tasks, 1, n+m]
      const pivot = tf.slice(M, [0, k, k], [-1, 1, 1]); // [tasks, 1, 1]
      const r = tf.div(row, pivot);
      const col = tf.slice(M, [0, 0, k], [-1, n, 1]); // [tasks, n, 1]
      const e = tf.oneHot(k, n).reshape([1, n, 1]); // e_k, [1, n, 1]
      // Rows i ≠ k lose M_ik · r; row k becomes r (M_k − (M_kk − 1) r = r).
      M = tf.sub(M, tf.mul(tf.sub(col, tf.cast(e, "float32")), r));
    }
    return tf.slice(M, [0, 0, n], [-1, -1, -1]); // [tasks, n, m]
  });
}

/** Appends a constant 1 feature for the bias: [tasks, n, h] to [tasks, n, h+1]. */
export function withBias(phi: tf.Tensor): tf.Tensor {
  return tf.concat([phi, tf.onesLike(tf.slice(phi, [0, 0, 0], [-1, -1, 1]))], 2);
}

export type { RidgeForm } from "../fast/ridge-solve";

/**
 * Closed-form ridge weights per task, W = (ΦᵀΦ + λI)⁻¹ΦᵀY = Φᵀ(ΦΦᵀ + λI)⁻¹Y, for Φ [tasks, n, h] (bias column
 * included by the caller) and Y [tasks, n, out]; returns W [tasks, h, out]. Differentiable in Φ, Y and a tensor λ.
 */
export function ridgeSolve(phi: tf.Tensor, y: tf.Tensor, lambda: number | tf.Scalar, form: RidgeForm = "auto"): tf.Tensor {
  if (typeof lambda === "number" && !(lambda > 0)) throw new Error(`ridge lambda must be positive (it keeps the system invertible), got ${lambda}.`);
  const [, n, h] = phi.shape as [number, number, number];
  const dual = form === "dual" || (form === "auto" && n < h);
  return tf.tidy(() => {
    if (dual) {
      const gram = tf.add(tf.matMul(phi, phi, false, true), tf.mul(tf.eye(n), lambda)); // [tasks, n, n]
      return tf.matMul(phi, solveSpd(gram, y), true, false); // [tasks, h, out]
    }
    const gram = tf.add(tf.matMul(phi, phi, true, false), tf.mul(tf.eye(h), lambda)); // [tasks, h, h]
    return solveSpd(gram, tf.matMul(phi, y, true, false)); // [tasks, h, out]
  });
}

/** Options of the ridge-head learner. */
export interface RidgeOptions {
  /** Ridge penalty λ. */
  readonly lambda: number;
  /** Primal or dual solve (same answer; dual is smaller when shots < features). */
  readonly form: RidgeForm;
  /** Outer Adam learning rate for the body. */
  readonly outerLr: number;
  /** The hand-derived fast path (src/fast, float64 solves) for MLPs: "auto", "off" or "require" (see `MamlOptions.fastPath`). */
  readonly fastPath: FastPathMode | boolean;
}

/** Defaults for sine regression with a 40-unit body. */
export const DEFAULT_RIDGE: RidgeOptions = {
  lambda: 0.1, // small enough to fit K = 5..20 points, large enough to keep ΦΦᵀ + λI well conditioned in float32
  form: "auto", // dual when shots < features, as R2-D2 does
  outerLr: 1e-3, // the same Adam rate as MAML
  fastPath: "auto", // same loss and gradient without tensors (float64 solves); "off" to compare with the tfjs path
};

/** Ridge-head options with defaults filled in; throws a fix-it error for a bad or unknown option. */
export function ridgeOptions(options: Partial<RidgeOptions> = {}): RidgeOptions {
  const o = withDefaults("RidgeHead", options, DEFAULT_RIDGE, { keysWho: "RidgeHead options" });
  checkPositive("RidgeHead", "lambda", o.lambda, "It keeps the solve invertible; 0.1 suits sines.");
  checkOneOf("RidgeHead", "form", o.form, ["auto", "primal", "dual"] as const);
  checkPositive("RidgeHead", "outerLr", o.outerLr, "The default is 1e-3 (Adam).");
  return o;
}

/** Query predictions after fitting a ridge head on each task's support features: [tasks, queries, out]. */
export function ridgePredict(params: Params, support: SupportSet, queryX: tf.Tensor, model: Mlp, options: Partial<RidgeOptions> = {}): tf.Tensor {
  const o = ridgeOptions(options);
  return tf.tidy(() => {
    const w = ridgeSolve(withBias(mlpFeatures(params, support.x, model.config)), support.y, o.lambda, o.form);
    return tf.matMul(withBias(mlpFeatures(params, queryX, model.config)), w); // [tasks, queries, out]
  });
}

/** Mean query loss with closed-form ridge heads: the R2-D2 meta-loss. */
export function ridgeLoss(params: Params, batch: TaskBatch, model: Mlp, options: Partial<RidgeOptions> = {}): tf.Scalar {
  return meanTaskLoss("mse", ridgePredict(params, { x: batch.supportX, y: batch.supportY }, batch.queryX, model, options), batch.queryY);
}

/** Names of the body parameters (all but the MLP's last layer, which the ridge head replaces). */
export function bodyNames(model: Mlp): string[] {
  const names: string[] = [];
  for (let l = 0; l + 2 < model.config.sizes.length; l++) names.push(...layerParamNames(l));
  if (names.length === 0) throw new Error("The ridge head needs an MLP with at least one hidden layer (sizes like [1, 40, 40, 1]).");
  return names;
}

/** State of ridge-head meta-learning (Adam over the body only). */
export interface RidgeState {
  readonly params: Params;
  readonly adam: AdamState;
  readonly step: number;
}

/** Initial state from full MLP params (cloned; the last layer is kept but unused). */
export function initRidgeState(params: Params, model: Mlp): RidgeState {
  const p = cloneParams(params);
  return { params: p, adam: initAdam(splitParams(p, bodyNames(model)).picked), step: 0 };
}

/**
 * One Adam step on the ridge meta-loss, differentiating through the solve into the body. Pure. On the fast path
 * the step runs on packed arrays (no tensors); `fastPath` says which path ran and why.
 */
export function ridgeStep(state: RidgeState, batch: TaskBatch, model: Mlp, options: Partial<RidgeOptions> = {}): { state: RidgeState; loss: number; fastPath: FastPathReport } {
  const o = ridgeOptions(options);
  const mode = fastPathMode(o.fastPath, "RidgeHead");
  const packed = state instanceof PackedState ? state : null;
  const d = decideFastPath(mode, () => checkFastPath({ algorithm: "ridge", model, params: packed ? packed.shapes : state.params, loss: "mse", batch }), "RidgeHead");
  if (d.use) {
    const s = packed ?? PackedState.fromTensors(state.params, mlpLayout(d.use.sizes), state.adam, bodyNames(model), state.step);
    const grad = new Float32Array(s.layout.size); // the head's entries stay 0, so Adam leaves the head exactly as it is
    const loss = firstOrderKernelFor(d.use, "mse").ridge(s.theta, flattenBatch(batch), o.lambda, o.form, grad);
    const next = flatAdamStep(s.theta, grad, s.flatAdam!, { lr: o.outerLr });
    return { state: new PackedState(next.theta, s.layout, next.state, bodyNames(model), s.step + 1), loss, fastPath: d.report };
  }
  const { picked: body, rest: head } = splitParams(state.params, bodyNames(model));
  let loss = 0;
  const grads = tf.tidy(() => {
    const { value, grads } = valueAndGrad((b) => ridgeLoss({ ...head, ...b }, batch, model, o))(body);
    loss = value.dataSync()[0]!;
    return { ...grads };
  });
  const r = adamStep(body, grads, state.adam, { lr: o.outerLr });
  disposeParams(grads);
  const headCopy = cloneParams(head);
  return { state: { params: { ...r.params, ...headCopy }, adam: r.state, step: state.step + 1 }, loss, fastPath: d.report };
}

/** Disposes a ridge state. */
export function disposeRidgeState(s: RidgeState): void {
  if (s instanceof PackedState) return s.dispose();
  disposeParams(s.params);
  disposeAdam(s.adam);
}

/** The initial state, packed when the fast path can run (so training does not change the number of live tensors). */
function initialRidgeState(params: Params, model: Mlp, o: RidgeOptions): RidgeState {
  const s = initRidgeState(params, model);
  if (fastPathMode(o.fastPath, "RidgeHead") === "off") return s;
  const c = checkFastPath({ algorithm: "ridge", model, params, loss: "mse" });
  return packIfEligible(s, c, () => mlpLayout(c.ok ? c.config.sizes : []), (x) => x.adam, bodyNames(model), disposeRidgeState) as RidgeState;
}

/** A thin stateful wrapper over `ridgeStep`. */
export class RidgeHead extends StepLearner<RidgeState> {
  readonly options: RidgeOptions;

  constructor(readonly model: Mlp, params: Params, options: Partial<RidgeOptions> = {}) {
    const o = ridgeOptions(options);
    super(initialRidgeState(params, model, o), (s, b) => ridgeStep(s, b, model, o), disposeRidgeState);
    this.options = o;
  }

  /** Query predictions with heads fitted in closed form on `support`. */
  predict(support: SupportSet, queryX: tf.Tensor): tf.Tensor {
    return ridgePredict(this.params, support, queryX, this.model, this.options);
  }
}
