/**
 * Reptile (Nichol, Achiam & Schulman 2018): adapt each task with k SGD steps, then move θ toward the mean of the
 * adapted parameters. All tasks adapt in one batched call.
 */
import * as tf from "@tensorflow/tfjs";
import { checkBoolean, checkInteger, checkKnownKeys, checkOneOf, checkPositive } from "../core/validate";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { meanTaskLoss } from "../models/losses";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { adaptSgd } from "./adapt-sgd";
import type { TaskModel } from "./model";
import { StepLearner } from "./learner";

/** Options of Reptile. */
export interface ReptileOptions {
  /** Inner SGD steps per task (Nichol et al.'s sine demo takes 5 minibatch steps per outer step). */
  readonly innerSteps: number;
  /** Inner SGD step size. */
  readonly innerLr: number;
  /** Outer step size ε in θ ← θ + ε (mean φ − θ). */
  readonly outerStepSize: number;
  /** Linearly anneal ε to 0 over this many outer steps (as in the paper's sine demo); constant when null. */
  readonly annealSteps: number | null;
  /** Adapt on support and query points together (Reptile needs no split). */
  readonly useQuery: boolean;
  /** Task loss. */
  readonly loss: TaskLoss;
}

/** Defaults close to Nichol et al.'s sine demo. */
export const DEFAULT_REPTILE: ReptileOptions = {
  innerSteps: 5, // Nichol et al.'s sine demo: 5 minibatch steps per task
  innerLr: 0.02, // Nichol et al.'s sine demo inner step size
  outerStepSize: 0.1, // Nichol et al.'s sine demo ε
  annealSteps: null, // constant ε by default; set it to the run length to anneal like the demo
  useQuery: true, // Reptile has no inner/outer split, so use all of a task's points
  loss: "mse", // regression
};

/** Reptile options with defaults filled in; throws a fix-it error for a bad or unknown option. */
export function reptileOptions(options: Partial<ReptileOptions> = {}): ReptileOptions {
  checkKnownKeys("Reptile options", options, DEFAULT_REPTILE);
  const o = { ...DEFAULT_REPTILE, ...options };
  const WHO = "Reptile";
  if (!Number.isInteger(o.innerSteps) || o.innerSteps < 1) throw new Error(`Reptile innerSteps must be a positive integer, got ${o.innerSteps}.`);
  checkPositive(WHO, "innerLr", o.innerLr, "Nichol et al.'s sine demo uses 0.02.");
  checkPositive(WHO, "outerStepSize", o.outerStepSize, "Nichol et al.'s sine demo uses 0.1.");
  if (o.annealSteps !== null) checkInteger(WHO, "annealSteps", o.annealSteps, 1, "Use null for a constant step size.");
  checkBoolean(WHO, "useQuery", o.useQuery);
  checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  return o;
}

/** Task data Reptile adapts on: support (and query, if `useQuery`) concatenated along points. */
function trainingSet(batch: TaskBatch, useQuery: boolean): { x: tf.Tensor; y: tf.Tensor } {
  if (!useQuery) return { x: tf.clone(batch.supportX), y: tf.clone(batch.supportY) };
  return { x: tf.concat([batch.supportX, batch.queryX], 1), y: tf.concat([batch.supportY, batch.queryY], 1) }; // [tasks, shots+queries, d]
}

/** mean_t φ_t − θ, where φ_t is task t's params after `innerSteps` SGD steps; also the mean loss before adapting. */
function reptileDelta(params: Params, batch: TaskBatch, model: TaskModel, options: Partial<ReptileOptions> = {}): { delta: Params; loss: number } {
  const o = reptileOptions(options);
  const data = trainingSet(batch, o.useQuery);
  let loss = 0;
  const adapted = adaptSgd(params, data, model, {
    steps: o.innerSteps, lr: o.innerLr, loss: o.loss,
    onStep: (s, p) => {
      if (s === 0) loss = tf.tidy(() => meanTaskLoss(o.loss, model.apply(p, data.x), data.y).dataSync()[0]!);
    },
  });
  const delta = tf.tidy(() => Object.fromEntries(Object.keys(params).map((k) => [k, tf.sub(tf.mean(adapted[k]!, 0), params[k]!)])));
  disposeParams(adapted);
  data.x.dispose();
  data.y.dispose();
  return { delta, loss };
}

/** Reptile's state: θ and the outer step count. */
export interface ReptileState {
  readonly params: Params;
  readonly step: number;
}

/** Outer step size at outer step `step`. */
function reptileStepSize(o: Pick<ReptileOptions, "outerStepSize" | "annealSteps">, step: number): number {
  return o.annealSteps ? o.outerStepSize * Math.max(0, 1 - step / o.annealSteps) : o.outerStepSize;
}

/** One Reptile step: θ ← θ + ε (mean φ − θ). Pure: `state` is left intact. */
export function reptileStep(state: ReptileState, batch: TaskBatch, model: TaskModel, options: Partial<ReptileOptions> = {}): { state: ReptileState; loss: number } {
  const o = reptileOptions(options);
  const { delta, loss } = reptileDelta(state.params, batch, model, o);
  const eps = reptileStepSize(o, state.step);
  const params = tf.tidy(() => Object.fromEntries(Object.keys(state.params).map((k) => [k, tf.add(state.params[k]!, tf.mul(delta[k]!, eps))])));
  disposeParams(delta);
  return { state: { params, step: state.step + 1 }, loss };
}

/** A thin stateful wrapper over `reptileStep`; `step` returns the mean pre-adaptation loss. */
export class Reptile extends StepLearner<ReptileState> {
  readonly options: ReptileOptions;

  constructor(readonly model: TaskModel, params: Params, options: Partial<ReptileOptions> = {}) {
    const o = reptileOptions(options);
    super({ params: cloneParams(params), step: 0 }, (s, b) => reptileStep(s, b, model, o), (s) => disposeParams(s.params));
    this.options = o;
  }
}
