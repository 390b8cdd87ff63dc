/**
 * Baseline: joint (multi-task) pretraining on all tasks' points with one shared model.
 */
import * as tf from "@tensorflow/tfjs";
import { checkBoolean, checkInteger, checkNonNegative, checkOneOf, checkPositive, withDefaults } from "../core/validate";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { valueAndGrad } from "../autodiff/functional";
import { meanTaskLoss } from "../models/losses";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { adamStep, disposeAdam, flatAdamStep, initAdam, type AdamState } from "../optim/adam";
import { clipByGlobalNorm, clipFlatByGlobalNorm } from "../optim/clip";
import { checkFastPath, decideFastPath, fastPathMode, type FastPathMode, type FastPathReport } from "../fast/eligibility";
import { firstOrderKernelFor } from "../fast/first-order";
import { flattenBatch } from "../fast/mlp-maml";
import { mlpLayout } from "../fast/pack";
import { packIfEligible, PackedState } from "../fast/packed-state";
import { cosineSchedule } from "../optim/schedule";
import type { TaskModel } from "./model";
import { StepLearner } from "./learner";

/** Options of joint pretraining. */
export interface PretrainOptions {
  /** Adam learning rate. */
  readonly lr: number;
  /** Also train on the query points; off matches the reference (K points per task per step). */
  readonly useQuery: boolean;
  /** Task loss. */
  readonly loss: TaskLoss;
  /** Cosine-decay the rate over `total` steps; off when null. */
  readonly cosine: { readonly total: number; readonly min?: number } | null;
  /** Clip gradients to this global norm; off when null. */
  readonly clipNorm: number | null;
  /** The hand-derived fast path (src/fast) for MLPs: "auto", "off" or "require" (see `MamlOptions.fastPath`). */
  readonly fastPath: FastPathMode | boolean;
}

/** Defaults of the reference's pretrained baseline. */
export const DEFAULT_PRETRAIN: PretrainOptions = {
  lr: 1e-3, // same Adam rate as MAML, as in the reference
  useQuery: false, // the reference pretrains on K = 10 points per task
  loss: "mse", // regression
  cosine: null, // constant rate, as in the reference
  clipNorm: null, // the reference does not clip
  fastPath: "auto", // same loss and gradient, computed without tensors; "off" to compare with the tfjs path
};

/** Pretraining options with defaults filled in; throws a fix-it error for a bad or unknown option. */
export function pretrainOptions(options: Partial<PretrainOptions> = {}): PretrainOptions {
  const o = withDefaults("Pretrain", options, DEFAULT_PRETRAIN, { keysWho: "Pretrain options" });
  const WHO = "Pretrain";
  checkPositive(WHO, "lr", o.lr, "The reference uses 1e-3 (Adam).");
  checkBoolean(WHO, "useQuery", o.useQuery);
  checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.cosine !== null) {
    checkInteger(WHO, "cosine.total", o.cosine.total, 1, "It is the number of outer steps to decay over.");
    if (o.cosine.min !== undefined) checkNonNegative(WHO, "cosine.min", o.cosine.min);
  }
  if (o.clipNorm !== null) checkPositive(WHO, "clipNorm", o.clipNorm, "Use null for no clipping.");
  return o;
}

/** Joint pretraining state. */
export interface PretrainState {
  readonly params: Params;
  readonly adam: AdamState;
  readonly step: number;
}

/** Initial state (params cloned). */
export function initPretrainState(params: Params): PretrainState {
  const p = cloneParams(params);
  return { params: p, adam: initAdam(p), step: 0 };
}

/** Learning rate of step `step` under the options. */
function pretrainLr(o: PretrainOptions, step: number): number {
  return o.cosine ? cosineSchedule({ base: o.lr, total: o.cosine.total, min: o.cosine.min ?? 0 })(step) : o.lr;
}

/**
 * One Adam step on the mean loss over every task's points with shared params. Pure. On the fast path the step runs
 * on packed arrays (no tensors); `fastPath` says which path ran and why.
 */
export function pretrainStep(state: PretrainState, batch: TaskBatch, model: TaskModel, options: Partial<PretrainOptions> = {}): { state: PretrainState; loss: number; fastPath: FastPathReport } {
  const o = pretrainOptions(options);
  const mode = fastPathMode(o.fastPath, "Pretrain");
  const packed = state instanceof PackedState ? state : null;
  const d = decideFastPath(mode, () => checkFastPath({ algorithm: "pretrain", model, params: packed ? packed.shapes : state.params, loss: o.loss, batch }), "Pretrain");
  if (d.use) {
    const s = packed ?? PackedState.fromTensors(state.params, mlpLayout(d.use.sizes), state.adam, null, state.step);
    const grad = new Float32Array(s.layout.size);
    const loss = firstOrderKernelFor(d.use, o.loss).pretrain(s.theta, flattenBatch(batch), o.useQuery, grad);
    if (o.clipNorm !== null) clipFlatByGlobalNorm(grad, o.clipNorm);
    const next = flatAdamStep(s.theta, grad, s.flatAdam!, { lr: pretrainLr(o, s.step) });
    return { state: new PackedState(next.theta, s.layout, next.state, null, s.step + 1), loss, fastPath: d.report };
  }
  let loss = 0;
  let grads = tf.tidy(() => {
    const x = o.useQuery ? tf.concat([batch.supportX, batch.queryX], 1) : batch.supportX; // [tasks, points, in]
    const y = o.useQuery ? tf.concat([batch.supportY, batch.queryY], 1) : batch.supportY;
    const { value, grads } = valueAndGrad((p) => meanTaskLoss(o.loss, model.apply(p, x), y))(state.params);
    loss = value.dataSync()[0]!;
    return { ...grads };
  });
  if (o.clipNorm !== null) {
    const c = clipByGlobalNorm(grads, o.clipNorm).grads;
    disposeParams(grads);
    grads = c;
  }
  const r = adamStep(state.params, grads, state.adam, { lr: pretrainLr(o, state.step) });
  disposeParams(grads);
  return { state: { params: r.params, adam: r.state, step: state.step + 1 }, loss, fastPath: d.report };
}

/** Disposes a pretraining state. */
export function disposePretrainState(s: PretrainState): void {
  if (s instanceof PackedState) return s.dispose();
  disposeParams(s.params);
  disposeAdam(s.adam);
}

/** The initial state, packed when the fast path can run (so training does not change the number of live tensors). */
function initialPretrainState(params: Params, model: TaskModel, o: PretrainOptions): PretrainState {
  const s = initPretrainState(params);
  if (fastPathMode(o.fastPath, "Pretrain") === "off") return s;
  const c = checkFastPath({ algorithm: "pretrain", model, params, loss: o.loss });
  return packIfEligible(s, c, () => mlpLayout(c.ok ? c.config.sizes : []), (x) => x.adam, null, disposePretrainState) as PretrainState;
}

/** A thin stateful wrapper over `pretrainStep`. */
export class Pretrain extends StepLearner<PretrainState> {
  readonly options: PretrainOptions;

  constructor(readonly model: TaskModel, params: Params, options: Partial<PretrainOptions> = {}) {
    const o = pretrainOptions(options);
    super(initialPretrainState(params, model, o), (s, b) => pretrainStep(s, b, model, o), disposePretrainState);
    this.options = o;
  }
}
