/**
 * Reptile (Nichol, Achiam & Schulman 2018): adapt each task with k SGD steps, then move θ toward the mean of the
 * adapted parameters. All tasks adapt in one batched call; each inner step may use a random minibatch of the task.
 */
import * as tf from "@tensorflow/tfjs";
import { checkBoolean, checkInteger, checkOneOf, checkPositive, withDefaults } from "../core/validate";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { meanTaskLoss } from "../models/losses";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { checkFastPath, decideFastPath, fastPathMode, type FastPathMode, type FastPathReport } from "../fast/eligibility";
import { firstOrderKernelFor } from "../fast/first-order";
import { flattenBatch } from "../fast/mlp-maml";
import { mlpLayout, pack } from "../fast/pack";
import { packIfEligible, PackedState } from "../fast/packed-state";
import { adaptSgd } from "./adapt-sgd";
import { innerSupport } from "./support-subset";
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
  /** Points per task in each inner step's random minibatch (the subset strategy); all of them when null. */
  readonly innerBatch: number | null;
  /** Seed of those minibatches; every outer and inner step forks its own stream. */
  readonly subsetSeed: number;
  /** The hand-derived fast path (src/fast) for MLPs: "auto", "off" or "require" (see `MamlOptions.fastPath`). */
  readonly fastPath: FastPathMode | boolean;
}

/** Defaults close to Nichol et al.'s sine demo. */
export const DEFAULT_REPTILE: ReptileOptions = {
  innerSteps: 5, // Nichol et al.'s sine demo: 5 minibatch steps per task
  innerLr: 0.02, // Nichol et al.'s sine demo inner step size
  outerStepSize: 0.1, // Nichol et al.'s sine demo ε
  annealSteps: null, // constant ε by default; set it to the run length to anneal like the demo
  useQuery: true, // Reptile has no inner/outer split, so use all of a task's points
  loss: "mse", // regression
  innerBatch: null, // full-batch inner steps unless a task is large
  subsetSeed: 0, // any fixed seed: minibatches must be reproducible
  fastPath: "auto", // same update, computed without tensors; "off" to compare with the tfjs path
};

/** Reptile options with defaults filled in; throws a fix-it error for a bad or unknown option. */
export function reptileOptions(options: Partial<ReptileOptions> = {}): ReptileOptions {
  const o = withDefaults("Reptile", options, DEFAULT_REPTILE, { keysWho: "Reptile options" });
  const WHO = "Reptile";
  if (!Number.isInteger(o.innerSteps) || o.innerSteps < 1) throw new Error(`Reptile innerSteps must be a positive integer, got ${o.innerSteps}.`);
  checkPositive(WHO, "innerLr", o.innerLr, "Nichol et al.'s sine demo uses 0.02.");
  checkPositive(WHO, "outerStepSize", o.outerStepSize, "Nichol et al.'s sine demo uses 0.1.");
  if (o.annealSteps !== null) checkInteger(WHO, "annealSteps", o.annealSteps, 1, "Use null for a constant step size.");
  checkBoolean(WHO, "useQuery", o.useQuery);
  checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.innerBatch !== null) checkInteger(WHO, "innerBatch", o.innerBatch, 1, "It is the number of points per inner step; null uses them all.");
  checkInteger(WHO, "subsetSeed", o.subsetSeed, -(2 ** 31), "Any integer seed.");
  let fastPath = fastPathMode(o.fastPath, "Reptile");
  if (o.innerBatch !== null) {
    if (fastPath === "require") throw new Error('Reptile fastPath "require" cannot be met with innerBatch on: the fast path adapts on whole tasks. Use fastPath "auto" or innerBatch null.');
    fastPath = "off"; // inner minibatches run on the tfjs path
  }
  return { ...o, fastPath };
}

/** Task data Reptile adapts on: support (and query, if `useQuery`) concatenated along points. */
function trainingSet(batch: TaskBatch, useQuery: boolean): { x: tf.Tensor; y: tf.Tensor } {
  if (!useQuery) return { x: tf.clone(batch.supportX), y: tf.clone(batch.supportY) };
  return { x: tf.concat([batch.supportX, batch.queryX], 1), y: tf.concat([batch.supportY, batch.queryY], 1) }; // [tasks, shots+queries, d]
}

/**
 * mean_t φ_t − θ, where φ_t is task t's params after `innerSteps` SGD steps; also the mean loss before adapting.
 * `outerStep` picks the inner minibatches when `innerBatch` is set.
 */
export function reptileDelta(params: Params, batch: TaskBatch, model: TaskModel, options: Partial<ReptileOptions> = {}, outerStep = 0): { delta: Params; loss: number } {
  const o = reptileOptions(options);
  const data = trainingSet(batch, o.useQuery);
  let loss = 0;
  const adapted = adaptSgd(params, data, model, {
    steps: o.innerSteps, lr: o.innerLr, loss: o.loss,
    ...(o.innerBatch !== null ? { supportAt: (s: number) => innerSupport(data, o, outerStep, s - 1) } : {}),
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

/**
 * One Reptile step: θ ← θ + ε (mean φ − θ). Pure: `state` is left intact. On the fast path the step runs on packed
 * arrays (no tensors); `fastPath` says which path ran and why.
 */
export function reptileStep(state: ReptileState, batch: TaskBatch, model: TaskModel, options: Partial<ReptileOptions> = {}): { state: ReptileState; loss: number; fastPath: FastPathReport } {
  const o = reptileOptions(options);
  const packed = state instanceof PackedState ? state : null;
  const d = decideFastPath(o.fastPath as FastPathMode, () => checkFastPath({ algorithm: "reptile", model, params: packed ? packed.shapes : state.params, loss: o.loss, batch }), "Reptile");
  if (d.use) {
    const layout = packed?.layout ?? mlpLayout(d.use.sizes);
    const theta = packed ? packed.theta : pack(state.params, layout);
    const mean = new Float32Array(layout.size);
    const loss = firstOrderKernelFor(d.use, o.loss).reptile(theta, flattenBatch(batch), o.innerSteps, o.innerLr, o.useQuery, mean);
    const eps = Math.fround(reptileStepSize(o, state.step));
    const next = new Float32Array(layout.size);
    // θ + ε (mean − θ), rounded to float32 after each operation as the tensor path's ops are.
    for (let j = 0; j < next.length; j++) next[j] = Math.fround(theta[j]! + Math.fround(Math.fround(mean[j]! - theta[j]!) * eps));
    return { state: new PackedState(next, layout, null, null, state.step + 1), loss, fastPath: d.report };
  }
  const { delta, loss } = reptileDelta(state.params, batch, model, o, state.step);
  const eps = reptileStepSize(o, state.step);
  const params = tf.tidy(() => Object.fromEntries(Object.keys(state.params).map((k) => [k, tf.add(state.params[k]!, tf.mul(delta[k]!, eps))])));
  disposeParams(delta);
  return { state: { params, step: state.step + 1 }, loss, fastPath: d.report };
}

/** Disposes a Reptile state's tensors. */
export function disposeReptileState(state: ReptileState): void {
  if (state instanceof PackedState) state.dispose();
  else disposeParams(state.params);
}

/** Cloned parameters, packed when the fast path can run (so training does not change the number of live tensors). */
function initialReptileState(params: Params, model: TaskModel, o: ReptileOptions): ReptileState {
  const s: ReptileState = { params: cloneParams(params), step: 0 };
  if (o.fastPath === "off") return s;
  const c = checkFastPath({ algorithm: "reptile", model, params, loss: o.loss });
  return packIfEligible(s, c, () => mlpLayout(c.ok ? c.config.sizes : []), null, null, disposeReptileState);
}

/** A thin stateful wrapper over `reptileStep`; `step` returns the mean pre-adaptation loss. */
export class Reptile extends StepLearner<ReptileState> {
  readonly options: ReptileOptions;

  constructor(readonly model: TaskModel, params: Params, options: Partial<ReptileOptions> = {}) {
    const o = reptileOptions(options);
    super(initialReptileState(params, model, o), (s, b) => reptileStep(s, b, model, o), disposeReptileState);
    this.options = o;
  }
}
