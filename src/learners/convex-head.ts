/**
 * Meta-learning a body under a convex head solved per task: ridge regression (R2-D2, Bertinetto et al. 2019) or
 * logistic regression by Newton steps (MetaOptNet-style, Lee et al. 2019). R2-D2's options learn the ridge penalty λ
 * and a scale α and bias β on the head's outputs, ŷ = α Φ_q W + β, which turn ridge outputs near 0/1 into logits.
 */
import * as tf from "@tensorflow/tfjs";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { valueAndGrad } from "../autodiff/functional";
import { meanTaskLoss, perTaskAccuracy } from "../models/losses";
import { mlpFeatures, type Mlp } from "../models/mlp";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../optim/adam";
import type { SupportSet } from "./adapt-sgd";
import { StepLearner } from "./learner";
import { splitParams } from "./model";
import { logisticNewtonSolve } from "./newton-head";
import { bodyNames, ridgeSolve, withBias, type RidgeForm } from "./ridge";
import { checkBoolean, checkInteger, checkOneOf, checkPositive, withDefaults } from "../core/validate";

/** Which convex problem the head solves on each task's support set. */
export type HeadSolver = "ridge" | "logistic";

/** Options of the convex-head learner. */
export interface ConvexHeadOptions {
  readonly solver: HeadSolver;
  /** Penalty λ (the starting value when `learnLambda`). */
  readonly lambda: number;
  /** Meta-learn log λ (R2-D2). */
  readonly learnLambda: boolean;
  /** Meta-learn a scalar scale α and bias β on the query outputs (R2-D2's calibration). */
  readonly learnScale: boolean;
  /** Query loss: "cross-entropy" on the outputs as logits, or "mse". */
  readonly loss: TaskLoss;
  /** Newton steps of the logistic solver. */
  readonly newtonSteps: number;
  /** Primal or dual ridge solve. */
  readonly form: RidgeForm;
  /** Outer Adam learning rate. */
  readonly outerLr: number;
}

/** Defaults for 5-way classification with a small body. */
export const DEFAULT_CONVEX_HEAD: ConvexHeadOptions = {
  solver: "ridge", // R2-D2's head, the cheapest convex one
  lambda: 1, // features of a fresh ReLU body are O(1): λ = 1 keeps either system well conditioned
  learnLambda: false, // a fixed λ unless R2-D2's option is asked for
  learnScale: false, // raw head outputs as logits unless R2-D2's option is asked for
  loss: "cross-entropy", // classification, as in R2-D2 and MetaOptNet
  newtonSteps: 4, // logistic solver: about float32 precision from W = 0 (see newton-head.ts)
  form: "auto", // dual when shots < features
  outerLr: 1e-3, // the same Adam rate as MAML
};

/** Names of the head meta-parameters. */
export const HEAD_LOG_LAMBDA = "head/logLambda";
export const HEAD_SCALE = "head/scale";
export const HEAD_BIAS = "head/bias";

/** Fills in defaults and checks them. */
export function convexHeadOptions(options: Partial<ConvexHeadOptions> = {}): ConvexHeadOptions {
  const o = withDefaults("ConvexHead", options, DEFAULT_CONVEX_HEAD, { keysWho: "ConvexHead options" });
  const WHO = "ConvexHead";
  checkOneOf(WHO, "solver", o.solver, ["ridge", "logistic"] as const);
  checkPositive(WHO, "lambda", o.lambda, "Try 1.");
  checkBoolean(WHO, "learnLambda", o.learnLambda);
  checkBoolean(WHO, "learnScale", o.learnScale);
  checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.solver === "logistic" && o.loss !== "cross-entropy") throw new Error("The logistic head predicts class logits: use loss \"cross-entropy\".");
  checkInteger(WHO, "newtonSteps", o.newtonSteps, 1, "3 to 5 Newton steps reach float32 precision.");
  checkOneOf(WHO, "form", o.form, ["auto", "primal", "dual"] as const);
  checkPositive(WHO, "outerLr", o.outerLr, "MAML's Adam rate 1e-3 works.");
  return o;
}

/** The head's own meta-parameters (log λ, α, β) that the options ask to learn, at their starting values. */
export function initHeadMeta(options: Partial<ConvexHeadOptions> = {}): Params {
  const o = convexHeadOptions(options);
  const out: Record<string, tf.Tensor> = {};
  if (o.learnLambda) out[HEAD_LOG_LAMBDA] = tf.scalar(Math.log(o.lambda));
  if (o.learnScale) {
    out[HEAD_SCALE] = tf.scalar(1);
    out[HEAD_BIAS] = tf.scalar(0);
  }
  return out;
}

/** Query outputs [tasks, queries, out] after solving the head on each task's support features. */
export function convexHeadPredict(params: Params, support: SupportSet, queryX: tf.Tensor, model: Mlp, options: Partial<ConvexHeadOptions> = {}): tf.Tensor {
  const o = convexHeadOptions(options);
  return tf.tidy(() => {
    const lambda: number | tf.Scalar = o.learnLambda ? (tf.exp(need(params, HEAD_LOG_LAMBDA)) as tf.Scalar) : o.lambda;
    const phiS = withBias(mlpFeatures(params, support.x, model.config));
    const w = o.solver === "ridge" ? ridgeSolve(phiS, support.y, lambda, o.form) : logisticNewtonSolve(phiS, support.y, lambda, { steps: o.newtonSteps });
    const out = tf.matMul(withBias(mlpFeatures(params, queryX, model.config)), w); // [tasks, queries, out]
    return o.learnScale ? tf.add(tf.mul(out, need(params, HEAD_SCALE)), need(params, HEAD_BIAS)) : out;
  });
}

/** Mean query loss with heads solved per task: the meta-loss. */
export function convexHeadLoss(params: Params, batch: TaskBatch, model: Mlp, options: Partial<ConvexHeadOptions> = {}): tf.Scalar {
  const o = convexHeadOptions(options);
  return meanTaskLoss(o.loss, convexHeadPredict(params, { x: batch.supportX, y: batch.supportY }, batch.queryX, model, o), batch.queryY);
}

/** State: body parameters plus the learned head meta-parameters, and Adam over both. */
export interface ConvexHeadState {
  readonly params: Params;
  readonly adam: AdamState;
  readonly step: number;
}

/** Initial state from MLP params (the body is cloned; the MLP's own last layer is dropped) and the options. */
export function initConvexHeadState(params: Params, model: Mlp, options: Partial<ConvexHeadOptions> = {}): ConvexHeadState {
  const body = cloneParams(splitParams(params, bodyNames(model)).picked);
  const p = { ...body, ...initHeadMeta(options) };
  return { params: p, adam: initAdam(p), step: 0 };
}

/** One Adam step on the meta-loss, through the head's solve into the body (and λ, α, β). Pure. */
export function convexHeadStep(state: ConvexHeadState, batch: TaskBatch, model: Mlp, options: Partial<ConvexHeadOptions> = {}): { state: ConvexHeadState; loss: number } {
  const o = convexHeadOptions(options);
  let loss = 0;
  const grads = tf.tidy(() => {
    const { value, grads } = valueAndGrad((p) => convexHeadLoss(p, batch, model, o))(state.params);
    loss = value.dataSync()[0]!;
    return { ...grads };
  });
  const r = adamStep(state.params, grads, state.adam, { lr: o.outerLr });
  disposeParams(grads);
  return { state: { params: r.params, adam: r.state, step: state.step + 1 }, loss };
}

/** Disposes a convex-head state. */
export function disposeConvexHeadState(s: ConvexHeadState): void {
  disposeParams(s.params);
  disposeAdam(s.adam);
}

/** Mean query accuracy over the tasks of a classification batch. */
export function convexHeadAccuracy(params: Params, batch: TaskBatch, model: Mlp, options: Partial<ConvexHeadOptions> = {}): number {
  return tf.tidy(() => tf.mean(perTaskAccuracy(convexHeadPredict(params, { x: batch.supportX, y: batch.supportY }, batch.queryX, model, options), batch.queryY)).dataSync()[0]!);
}

/** A thin stateful wrapper over `convexHeadStep`. */
export class ConvexHead extends StepLearner<ConvexHeadState> {
  readonly options: ConvexHeadOptions;

  constructor(readonly model: Mlp, params: Params, options: Partial<ConvexHeadOptions> = {}) {
    const o = convexHeadOptions(options);
    super(initConvexHeadState(params, model, o), (s, b) => convexHeadStep(s, b, model, o), disposeConvexHeadState);
    this.options = o;
  }

  /** Query outputs with heads solved on `support`. */
  predict(support: SupportSet, queryX: tf.Tensor): tf.Tensor {
    return convexHeadPredict(this.params, support, queryX, this.model, this.options);
  }

  /** Current λ, α and β as numbers (the fixed values when not learned). */
  head(): { lambda: number; scale: number; bias: number } {
    const v = (k: string, fallback: number): number => (this.params[k] ? this.params[k]!.dataSync()[0]! : fallback);
    return { lambda: this.options.learnLambda ? Math.exp(v(HEAD_LOG_LAMBDA, 0)) : this.options.lambda, scale: v(HEAD_SCALE, 1), bias: v(HEAD_BIAS, 0) };
  }

  /** Mean query accuracy on a classification batch. */
  accuracy(batch: TaskBatch): number {
    return convexHeadAccuracy(this.params, batch, this.model, this.options);
  }
}

function need(p: Params, name: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`Convex head parameter "${name}" is missing; build the parameters with initHeadMeta(options).`);
  return t;
}

/**
 * Where the meta-gradient of a convex head flows: the query loss is differentiated with respect to the features of
 * every support point (through the solved head W) and every query point (directly), given features Φ_s [tasks, n, h]
 * and Φ_q [tasks, m, h] (bias columns included). Returns the norm of ∂loss/∂φ per point: support [tasks, n], query [tasks, m].
 */
export function headFeatureGradients(phiS: tf.Tensor, yS: tf.Tensor, phiQ: tf.Tensor, yQ: tf.Tensor, options: Partial<ConvexHeadOptions> = {}): { support: number[][]; query: number[][] } {
  const o = convexHeadOptions(options);
  return tf.tidy(() => {
    const { grads } = valueAndGrad((p) => {
      const w = o.solver === "ridge" ? ridgeSolve(p.s!, yS, o.lambda, o.form) : logisticNewtonSolve(p.s!, yS, o.lambda, { steps: o.newtonSteps });
      return meanTaskLoss(o.loss, tf.matMul(p.q!, w), yQ);
    })({ s: phiS, q: phiQ });
    const norms = (g: tf.Tensor): number[][] => tf.sqrt(tf.sum(tf.square(g), -1)).arraySync() as number[][];
    return { support: norms(grads.s!), query: norms(grads.q!) };
  });
}
