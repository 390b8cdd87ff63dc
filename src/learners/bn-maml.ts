/**
 * MAML (Finn et al. 2017) for a BatchNorm MLP, with the BN choices that change results: batch statistics per task
 * (the original, transductive), running statistics accumulated while meta-training, and per-step statistics and
 * affine parameters (MAML++ BNRS/BNWB; Antoniou et al. 2019). Second order by default, through the normalisation.
 */
import * as tf from "@tensorflow/tfjs";
import { disposeParams, tileForTasks, type Params } from "../core/params";
import type { Rng } from "../core/random";
import { grad, valueAndGrad } from "../autodiff/functional";
import { stopGradient } from "../autodiff/activations";
import { bnMlpApply, initBnMlp, initBnMlpState, repeatTaskParams, type BnMlpConfig, type BnMode } from "../models/batchnorm";
import { meanTaskLoss, perTaskAccuracy, summedTaskLoss } from "../models/losses";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../optim/adam";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { checkBoolean, checkInteger, checkOneOf, checkPositive, withDefaults } from "../core/validate";
import { checkBnFastPath, decideFastPath, fastPathMode, type FastPathMode, type FastPathReport, type ShapeRecord } from "../fast/eligibility";
import { bnKernelFor } from "../fast/bn-maml";
import { bnParamLayout, bnStateLayout } from "../fast/bn-mlp-net";
import { flattenBatch } from "../fast/mlp-maml";
import { pack, unpack, type Layout } from "../fast/pack";
import { shapesOf } from "../fast/packed-state";
import { flatAdamStep, type FlatAdamState } from "../optim/adam";

/** Inner and outer loop settings. */
export interface BnMamlOptions {
  /** Inner SGD steps per task. */
  readonly innerSteps: number;
  /** Inner step size. */
  readonly innerLr: number;
  /** Adam step size of the outer loop. */
  readonly outerLr: number;
  /** Drop second-order terms (FOMAML). */
  readonly firstOrder: boolean;
  readonly loss: TaskLoss;
  /**
   * The hand-derived fast path (src/fast/bn-maml.ts): "auto" takes it whenever `checkBnFastPath` allows, "off"
   * always uses the general tfjs path, "require" throws the reason instead of falling back.
   */
  readonly fastPath: FastPathMode;
}

/** Defaults for 5-way blob classification. */
export const DEFAULT_BN_MAML: BnMamlOptions = {
  innerSteps: 1, // Finn et al.'s meta-training setting
  innerLr: 0.4, // Finn et al.'s Omniglot inner rate
  outerLr: 1e-3, // Finn et al.'s Adam rate
  firstOrder: false, // exact MAML: the point of BN's second derivatives
  loss: "cross-entropy", // classification family
  fastPath: "auto", // same loss and gradients as autodiff, computed faster; "off" to compare with autodiff
};

/** BN-MAML options with defaults filled in; throws a fix-it error for a bad or unknown option. */
export function bnMamlOptions(options: Partial<BnMamlOptions> = {}): BnMamlOptions {
  const o = withDefaults("BnMaml", options, DEFAULT_BN_MAML, { keysWho: "BnMaml options" });
  const WHO = "BnMaml";
  checkInteger(WHO, "innerSteps", o.innerSteps);
  checkPositive(WHO, "innerLr", o.innerLr, "Finn et al.'s Omniglot rate is 0.4.");
  checkPositive(WHO, "outerLr", o.outerLr, "Finn et al. use 1e-3 (Adam).");
  checkBoolean(WHO, "firstOrder", o.firstOrder);
  checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  return { ...o, fastPath: fastPathMode(o.fastPath, WHO) };
}

/** What a BN-MAML learner carries between steps. */
export interface BnMamlState {
  readonly params: Params;
  /** Running statistics (one set per inner step and one for the query pass if the config has per-step sets). */
  readonly bnState: Params;
  readonly adam: AdamState;
}

/** Statistics set used at inner step s; the query pass uses set `innerSteps`, clamped by bnMlpApply. */
function statSet(s: number): { step: number } {
  return { step: s };
}

/** Fresh learner state. */
export function initBnMaml(rng: Rng, config: BnMlpConfig): BnMamlState {
  const params = initBnMlp(rng, config);
  return { params, bnState: initBnMlpState(config), adam: initAdam(params) };
}

/**
 * Inner loop from shared params: `innerSteps` SGD steps per task on the support set, with BN statistics taken as the
 * mode says ("running" uses running statistics; anything else uses the support batch's). Returns task-batched params.
 */
function bnMamlAdapt(params: Params, bnState: Params, support: { x: tf.Tensor; y: tf.Tensor }, config: BnMlpConfig, o: BnMamlOptions, supportMode: "transductive" | "running", steps = o.innerSteps): Params {
  let theta = tileForTasks(params, support.x.shape[0]!);
  for (let s = 0; s < steps; s++) {
    const inner = (p: Params): tf.Scalar => summedTaskLoss(o.loss, bnMlpApply(p, bnState, support.x, config, supportMode, statSet(s)).y, support.y);
    const g = grad(inner)(theta);
    const next: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(theta)) next[k] = tf.sub(theta[k]!, tf.mul(o.firstOrder ? stopGradient(g[k]!) : g[k]!, o.innerLr));
    theta = next;
  }
  return theta;
}

/**
 * MAML meta-loss with batch statistics (as in MAML): mean query loss after the inner loop. If `onStats` is given, a
 * side pass records the support statistics of every inner step, and the query statistics, into running statistics
 * (set s for inner step s, set innerSteps for the query pass) and hands each new state to it.
 */
export function bnMamlLoss(params: Params, bnState: Params, batch: TaskBatch, config: BnMlpConfig, options: Partial<BnMamlOptions> = {}, onStats?: (st: Params) => Params): tf.Scalar {
  const o = bnMamlOptions(options);
  let stats = bnState;
  let theta = tileForTasks(params, batch.supportX.shape[0]!);
  for (let s = 0; s < o.innerSteps; s++) {
    if (onStats) stats = onStats(bnMlpApply(theta, stats, batch.supportX, config, "train", statSet(s)).state);
    const inner = (q: Params): tf.Scalar => summedTaskLoss(o.loss, bnMlpApply(q, stats, batch.supportX, config, "transductive", statSet(s)).y, batch.supportY);
    const g = grad(inner)(theta);
    const next: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(theta)) next[k] = tf.sub(theta[k]!, tf.mul(o.firstOrder ? stopGradient(g[k]!) : g[k]!, o.innerLr));
    theta = next;
  }
  const out = bnMlpApply(theta, stats, batch.queryX, config, onStats ? "train" : "transductive", statSet(o.innerSteps));
  if (onStats) onStats(out.state);
  return meanTaskLoss(o.loss, out.y, batch.queryY);
}

/**
 * A BN-MAML state the fast path steps on: parameters, running statistics and Adam's moments as float32 arrays.
 * Its tensors are made on first access and owned by the state.
 */
class PackedBnMamlState implements BnMamlState {
  private cache: { params?: Params; bnState?: Params; adam?: AdamState } = {};

  constructor(
    readonly theta: Float32Array,
    readonly stats: Float32Array,
    readonly paramLayout: Layout,
    readonly statLayout: Layout,
    readonly flatAdam: FlatAdamState,
  ) {}

  /** Packs a tensor state (disposing it: a step consumes its input state on both paths). */
  static take(state: BnMamlState, config: BnMlpConfig): PackedBnMamlState {
    if (state instanceof PackedBnMamlState) return state;
    const pl = bnParamLayout(config);
    const sl = bnStateLayout(config);
    const packed = new PackedBnMamlState(pack(state.params, pl), pack(state.bnState, sl), pl, sl, { step: state.adam.step, m: pack(state.adam.m, pl), v: pack(state.adam.v, pl) });
    disposeBnMaml(state);
    return packed;
  }

  get params(): Params {
    this.cache.params ??= unpack(this.theta, this.paramLayout);
    return this.cache.params;
  }

  get bnState(): Params {
    this.cache.bnState ??= unpack(this.stats, this.statLayout);
    return this.cache.bnState;
  }

  get adam(): AdamState {
    this.cache.adam ??= { step: this.flatAdam.step, m: unpack(this.flatAdam.m, this.paramLayout), v: unpack(this.flatAdam.v, this.paramLayout) };
    return this.cache.adam;
  }

  /** Disposes the tensors made so far. */
  dispose(): void {
    if (this.cache.params) disposeParams(this.cache.params);
    if (this.cache.bnState) disposeParams(this.cache.bnState);
    if (this.cache.adam) disposeAdam(this.cache.adam);
    this.cache = {};
  }
}

/** Shapes of a state's parameters and statistics for the eligibility check, without making tensors. */
function stateShapes(state: Pick<BnMamlState, "params" | "bnState">): { params: Params | ShapeRecord; state: Params | ShapeRecord } {
  if (state instanceof PackedBnMamlState) return { params: shapesOf(state.paramLayout), state: shapesOf(state.statLayout) };
  return { params: state.params, state: state.bnState };
}

/** The fast-path decision for a BN-MAML request. */
function decideBn(state: Pick<BnMamlState, "params" | "bnState">, batch: TaskBatch, config: BnMlpConfig, o: BnMamlOptions) {
  return decideFastPath(o.fastPath, () => checkBnFastPath({ config, ...stateShapes(state), loss: o.loss, batch }), "BN-MAML");
}

/**
 * One meta-training step (Adam on the MAML loss) that also accumulates running statistics per inner step. It consumes
 * `state` (its tensors are disposed) and returns the next one; `fastPath` says which path ran and why.
 */
export function bnMamlStep(state: BnMamlState, batch: TaskBatch, config: BnMlpConfig, options: Partial<BnMamlOptions> = {}): { state: BnMamlState; loss: number; fastPath: FastPathReport } {
  const o = bnMamlOptions(options);
  const d = decideBn(state, batch, config, o);
  if (d.use) {
    const s = PackedBnMamlState.take(state, config);
    const grad = new Float32Array(s.theta.length);
    const stats = Float32Array.from(s.stats);
    const loss = bnKernelFor(config, o.loss).metaGradient(s.theta, flattenBatch(batch), o, grad, stats);
    const next = flatAdamStep(s.theta, grad, s.flatAdam, { lr: o.outerLr });
    s.dispose();
    return { state: new PackedBnMamlState(next.theta, stats, s.paramLayout, s.statLayout, next.state), loss: Math.fround(loss), fastPath: d.report };
  }
  let newStats: Params = state.bnState;
  const created: tf.Tensor[] = [];
  const track = (st: Params): Params => {
    for (const [k, v] of Object.entries(st)) if (v !== newStats[k] && v !== state.bnState[k]) created.push(v);
    newStats = st;
    return st;
  };
  const { value, grads } = tf.tidy(() => valueAndGrad((p) => bnMamlLoss(p, state.bnState, batch, config, o, track))(state.params));
  const loss = value.dataSync()[0]!;
  value.dispose();
  const step = adamStep(state.params, grads, state.adam, { lr: o.outerLr });
  for (const g of Object.values(grads)) g.dispose();
  // Keep the final statistics; dispose the intermediate ones and the old ones that were replaced.
  const finalStats = newStats;
  const kept = new Set(Object.values(finalStats));
  for (const t of created) if (!kept.has(t)) t.dispose();
  for (const v of Object.values(state.bnState)) if (!kept.has(v)) v.dispose();
  for (const t of Object.values(state.params)) t.dispose();
  disposeAdam(state.adam);
  return { state: { params: step.params, bnState: finalStats, adam: step.state }, loss, fastPath: d.report };
}

/** How a meta-trained BN-MLP is evaluated on new tasks. */
export type BnEvalMode = Exclude<BnMode, "train"> | "per-example";

/** Query loss and accuracy after adaptation under one evaluation mode. */
export interface BnEvalResult {
  readonly mode: BnEvalMode;
  readonly loss: number;
  readonly accuracy: number;
}

/**
 * Adapts to each task's support set and scores the query set with the given BN mode: "transductive" (query-batch
 * statistics), "per-example" (transductive with a query batch of one point), "support", "support-plus-one" or
 * "running". The inner loop uses running statistics in "running" mode, support-batch statistics otherwise.
 */
export function bnMamlEvaluate(state: Pick<BnMamlState, "params" | "bnState">, batch: TaskBatch, config: BnMlpConfig, mode: BnEvalMode, options: Partial<BnMamlOptions> = {}, steps?: number): BnEvalResult {
  const o = bnMamlOptions(options);
  if (decideBn(state, batch, config, o).use) {
    const packed = state instanceof PackedBnMamlState ? state : null;
    const theta = packed ? packed.theta : pack(state.params, bnParamLayout(config));
    const stats = packed ? packed.stats : pack(state.bnState, bnStateLayout(config));
    const r = bnKernelFor(config, o.loss).evaluate(theta, stats, flattenBatch(batch), mode, steps ?? o.innerSteps, o.innerLr);
    return { mode, loss: r.loss, accuracy: r.accuracy };
  }
  const ts = tf.tidy(() => {
    const S = steps ?? o.innerSteps;
    const theta = bnMamlAdapt(state.params, state.bnState, { x: batch.supportX, y: batch.supportY }, config, o, mode === "running" ? "running" : "transductive", S);
    let logits: tf.Tensor;
    if (mode === "per-example") {
      const [t, q, d] = batch.queryX.shape;
      const rep = repeatTaskParams(theta, t, q);
      const y = bnMlpApply(rep, state.bnState, tf.reshape(batch.queryX, [t * q, 1, d]), config, "transductive", statSet(S)).y; // [tasks*queries, 1, out]
      logits = tf.reshape(y, [t, q, -1]); // [tasks, queries, out]
    } else {
      logits = bnMlpApply(theta, state.bnState, batch.queryX, config, mode, { ...statSet(S), support: batch.supportX }).y;
    }
    return [meanTaskLoss(o.loss, logits, batch.queryY), tf.mean(perTaskAccuracy(logits, batch.queryY))];
  });
  const [loss, accuracy] = ts.map((t) => t.dataSync()[0]!);
  ts.forEach((t) => t.dispose());
  return { mode, loss: loss!, accuracy: accuracy! };
}

/** Disposes a learner state. */
export function disposeBnMaml(state: BnMamlState): void {
  if (state instanceof PackedBnMamlState) return state.dispose();
  for (const t of [...Object.values(state.params), ...Object.values(state.bnState)]) t.dispose();
  disposeAdam(state.adam);
}

/** A thin stateful wrapper over the pure BN-MAML functions: `step(batch)` trains, `evaluate(batch, mode)` scores. */
export class BnMaml {
  state: BnMamlState;
  readonly options: BnMamlOptions;

  constructor(readonly config: BnMlpConfig, rng: Rng, options: Partial<BnMamlOptions> = {}) {
    this.options = bnMamlOptions(options);
    this.state = initBnMaml(rng, config);
  }

  /** One meta-training step; returns the meta-loss. */
  step(batch: TaskBatch): number {
    const r = bnMamlStep(this.state, batch, this.config, this.options);
    this.state = r.state;
    return r.loss;
  }

  /** Query loss and accuracy after adaptation under a BN evaluation mode. */
  evaluate(batch: TaskBatch, mode: BnEvalMode): BnEvalResult {
    return bnMamlEvaluate(this.state, batch, this.config, mode, this.options);
  }

  /** Frees every tensor the learner holds. */
  dispose(): void {
    disposeBnMaml(this.state);
  }
}
