/**
 * Baseline: joint (multi-task) pretraining on all tasks' points with one shared model.
 */
import * as tf from "@tensorflow/tfjs";
import { checkBoolean, checkInteger, checkKnownKeys, checkNonNegative, checkOneOf, checkPositive } from "../core/validate";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { valueAndGrad } from "../autodiff/functional";
import { meanTaskLoss } from "../models/losses";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../optim/adam";
import { clipByGlobalNorm } from "../optim/clip";
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
}

/** Defaults of the reference's pretrained baseline. */
export const DEFAULT_PRETRAIN: PretrainOptions = {
  lr: 1e-3, // same Adam rate as MAML, as in the reference
  useQuery: false, // the reference pretrains on K = 10 points per task
  loss: "mse", // regression
  cosine: null, // constant rate, as in the reference
  clipNorm: null, // the reference does not clip
};

/** Pretraining options with defaults filled in; throws a fix-it error for a bad or unknown option. */
export function pretrainOptions(options: Partial<PretrainOptions> = {}): PretrainOptions {
  checkKnownKeys("Pretrain options", options, DEFAULT_PRETRAIN);
  const o = { ...DEFAULT_PRETRAIN, ...options };
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

/** One Adam step on the mean loss over every task's points with shared params. Pure. */
export function pretrainStep(state: PretrainState, batch: TaskBatch, model: TaskModel, options: Partial<PretrainOptions> = {}): { state: PretrainState; loss: number } {
  const o = pretrainOptions(options);
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
  const lr = o.cosine ? cosineSchedule({ base: o.lr, total: o.cosine.total, min: o.cosine.min ?? 0 })(state.step) : o.lr;
  const r = adamStep(state.params, grads, state.adam, { lr });
  disposeParams(grads);
  return { state: { params: r.params, adam: r.state, step: state.step + 1 }, loss };
}

/** Disposes a pretraining state. */
export function disposePretrainState(s: PretrainState): void {
  disposeParams(s.params);
  disposeAdam(s.adam);
}

/** A thin stateful wrapper over `pretrainStep`. */
export class Pretrain extends StepLearner<PretrainState> {
  readonly options: PretrainOptions;

  constructor(readonly model: TaskModel, params: Params, options: Partial<PretrainOptions> = {}) {
    const o = pretrainOptions(options);
    super(initPretrainState(params), (s, b) => pretrainStep(s, b, model, o), disposePretrainState);
    this.options = o;
  }
}
