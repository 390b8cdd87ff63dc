/**
 * MAML (Finn et al. 2017) and its options: first-order MAML, MAML++'s multi-step loss and learned per-step,
 * per-layer inner learning rates (Antoniou et al. 2019) or Meta-SGD's per-parameter ones (Li et al. 2017),
 * first-order-then-second-order annealing, ANIL's head-only inner loop (Raghu et al. 2020), a random subset of the
 * support set per inner step, and gradient checkpointing. Every task of a meta-batch runs in one batched call: the
 * adapted parameters carry a leading task dimension.
 */
import * as tf from "@tensorflow/tfjs";
import { cloneParams, disposeParams, tileForTasks, type Params } from "../core/params";
import { valueAndGrad, grad } from "../autodiff/functional";
import { stopGradient } from "../autodiff/activations";
import { checkpointedLoopGrad } from "../autodiff/checkpoint";
import { meanTaskLoss, perTaskLoss, summedTaskLoss } from "../models/losses";
import type { MlpConfig } from "../models/mlp";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { flattenBatch, kernelFor, type FlatTaskBatch, type InnerRates } from "../fast/mlp-maml";
import { workerPoolFor, checkWorkers } from "../fast/worker-pool";
import { checkFastPath, decideFastPath, fastPathMode, type FastPathMode, type FastPathReport, type ShapeRecord } from "../fast/eligibility";
import { concatLayouts, layoutOf, mlpLayout, pack, unpack, type Layout } from "../fast/pack";
import { adamStep, disposeAdam, flatAdamStep, initAdam, type AdamState, type FlatAdamState } from "../optim/adam";
import { clipByGlobalNorm, clipFlatByGlobalNorm } from "../optim/clip";
import { cosineSchedule } from "../optim/schedule";
import { headNames } from "../models/mlp";
import { splitParams, type TaskModel } from "./model";
import { StepLearner } from "./learner";
import { innerSupport } from "./support-subset";
import { checkBoolean, checkInteger, checkKnownKeys, checkNonNegative, checkOneOf, checkPositive } from "../core/validate";

/** Options of MAML and its variants; every field has a default in `DEFAULT_MAML`. */
export interface MamlOptions {
  /** Inner SGD steps per task. */
  readonly innerSteps: number;
  /** Inner step size α (the initial value when `learnInnerLr`). */
  readonly innerLr: number;
  /** Treat dθ_t/dθ as the identity (first-order MAML). */
  readonly firstOrder: boolean;
  /** Use first-order gradients for the first N outer steps, then second order (MAML++ derivative-order annealing). */
  readonly firstOrderUntil: number;
  /** MAML++ multi-step loss: a weighted sum of the query loss after every inner step. */
  readonly multiStepLoss: boolean;
  /** Outer steps over which the multi-step weights anneal from uniform to the last step only. */
  readonly multiStepAnneal: number;
  /** Meta-learn the inner learning rates, one per inner step for each adapted tensor or parameter (see `innerLrPer`). */
  readonly learnInnerLr: boolean;
  /** Learned rates per parameter tensor (MAML++ LSLR, Antoniou et al. 2019) or per scalar parameter (Meta-SGD, Li et al. 2017), each per inner step. */
  readonly innerLrPer: "tensor" | "parameter";
  /** Parameters adapted in the inner loop: "all" (MAML), "head" (ANIL) or a list of names. */
  readonly adapt: "all" | "head" | readonly string[];
  /** Task loss. */
  readonly loss: TaskLoss;
  /** Outer Adam learning rate. */
  readonly outerLr: number;
  /** Cosine-decay the outer learning rate to `min` over `total` outer steps; off when null. */
  readonly cosine: { readonly total: number; readonly min?: number } | null;
  /** Clip the meta-gradient to this global L2 norm; off when null. */
  readonly clipNorm: number | null;
  /**
   * The hand-derived fast path (src/fast): "auto" takes it whenever `checkFastPath` allows and says why not
   * otherwise, "off" always uses the general tfjs path, "require" throws the reason instead of falling back.
   * true and false are accepted as the older spellings of "auto" and "off".
   */
  readonly fastPath: FastPathMode | boolean;
  /** Each inner step sees a random subset of this many support points per task (the subset strategy); all when null. */
  readonly innerBatch: number | null;
  /** Seed of those subsets; every outer and inner step draws from its own stream forked from it. */
  readonly subsetSeed: number;
  /** Gradient checkpointing: keep only the inner-loop iterates and recompute each inner step in the backward pass. */
  readonly checkpoint: boolean;
  /** Threads that split each meta-batch's tasks on the fast path (the calling one included), with the same bits as one thread; needs the fast path and a build (dist). */
  readonly workers: number;
}

/** Defaults: Finn et al.'s sine setting. */
export const DEFAULT_MAML: MamlOptions = {
  innerSteps: 1, // Finn et al. (2017) sine regression
  innerLr: 0.01, // Finn et al. (2017) sine regression
  firstOrder: false, // full second-order MAML unless asked
  firstOrderUntil: 0, // no annealing: MAML++ uses it to save compute early, not needed for correctness
  multiStepLoss: false, // Finn's loss at the final inner step only
  multiStepAnneal: 10_000, // MAML++ anneals over its first epochs; 10k outer steps is a comparable share of 70k
  learnInnerLr: false, // a fixed α reproduces the paper
  innerLrPer: "tensor", // MAML++'s per-layer, per-step rates: few extra parameters
  adapt: "all", // MAML adapts every parameter
  loss: "mse", // regression
  outerLr: 1e-3, // Finn et al.'s Adam step
  cosine: null, // Finn et al. use a constant rate
  clipNorm: null, // the reference does not clip
  fastPath: "auto", // the fast path computes the same loss and gradient faster; "off" to compare with autodiff
  innerBatch: null, // Finn et al.'s inner step uses the whole support set
  subsetSeed: 0, // any fixed seed: subsets must be reproducible
  checkpoint: false, // storing the inner loop is faster; checkpoint when memory, not time, is the limit
  workers: 1, // one thread: a second pays only on a free core and for enough work per task (bench/README.md)
};

/** Fills in defaults and checks ranges. */
export function mamlOptions(options: Partial<MamlOptions> = {}): MamlOptions {
  checkKnownKeys("MAML options", options, DEFAULT_MAML);
  const o = { ...DEFAULT_MAML, ...options };
  if (!Number.isInteger(o.innerSteps) || o.innerSteps < 1) throw new Error(`MAML innerSteps must be a positive integer, got ${o.innerSteps}.`);
  if (!(o.innerLr > 0)) throw new Error(`MAML innerLr must be positive, got ${o.innerLr}. Finn et al. use 0.01 for sines.`);
  if (o.innerLrPer !== "tensor" && o.innerLrPer !== "parameter") throw new Error(`MAML innerLrPer must be "tensor" (MAML++ LSLR) or "parameter" (Meta-SGD), got ${JSON.stringify(o.innerLrPer)}.`);
  const WHO = "MAML";
  for (const k of ["firstOrder", "multiStepLoss", "learnInnerLr"] as const) checkBoolean(WHO, k, o[k]);
  checkInteger(WHO, "firstOrderUntil", o.firstOrderUntil, 0, "It is the outer step until which first-order MAML is used (0 = never).");
  checkNonNegative(WHO, "multiStepAnneal", o.multiStepAnneal);
  if (o.adapt !== "all" && o.adapt !== "head" && !(Array.isArray(o.adapt) && o.adapt.every((n) => typeof n === "string"))) {
    throw new Error(`MAML adapt must be "all", "head" or a list of parameter names, got ${JSON.stringify(o.adapt)}.`);
  }
  checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  checkPositive(WHO, "outerLr", o.outerLr, "Finn et al. use 1e-3 (Adam).");
  if (o.cosine !== null) {
    checkInteger(WHO, "cosine.total", o.cosine.total, 1, "It is the number of outer steps to decay over.");
    if (o.cosine.min !== undefined) checkNonNegative(WHO, "cosine.min", o.cosine.min);
  }
  if (o.clipNorm !== null) checkPositive(WHO, "clipNorm", o.clipNorm, "Use null for no clipping.");
  if (o.innerBatch !== null) checkInteger(WHO, "innerBatch", o.innerBatch, 1, "It is the number of support points per inner step; null uses them all.");
  checkInteger(WHO, "subsetSeed", o.subsetSeed, -(2 ** 31), "Any integer seed.");
  checkBoolean(WHO, "checkpoint", o.checkpoint);
  checkWorkers(WHO, o.workers);
  let fastPath = fastPathMode(o.fastPath, "MAML");
  if (o.workers > 1 && fastPath === "off") throw new Error(`MAML workers: ${o.workers} splits the fast path's tasks over threads, but fastPath is "off" (the general tfjs path runs on one thread). Use workers: 1, or fastPath "auto".`);
  if (o.checkpoint || o.innerBatch !== null) {
    const what = o.checkpoint ? "checkpoint" : "innerBatch";
    if (o.workers > 1) throw new Error(`MAML workers: ${o.workers} needs the fast path, but ${what} is on (it runs on the general tfjs path, on one thread). Use workers: 1, or turn ${what} off.`);
    if (fastPath === "require") throw new Error(`MAML fastPath "require" cannot be met with ${what} on: the fast path stores its own inner loop on full support sets. Use fastPath "auto" or turn ${what} off.`);
    fastPath = "off"; // both options change how the general path computes the same meta-gradient
  }
  return { ...o, fastPath };
}

/** Key of the learned inner learning rate of parameter `name` at inner step `step`. */
function innerLrKey(name: string, step: number): string {
  return `lr/${name}/${step}`;
}

/**
 * Initial learned inner learning rates, all equal to `innerLr`: per adapted tensor and inner step a scalar
 * (`innerLrPer: "tensor"`) or a tensor of the parameter's shape (`"parameter"`).
 */
export function initInnerLrs(params: Params, options: Partial<MamlOptions> = {}): Params {
  const o = mamlOptions(options);
  const out: Record<string, tf.Tensor> = {};
  for (const name of adaptedNames(params, o)) {
    for (let s = 0; s < o.innerSteps; s++) out[innerLrKey(name, s)] = o.innerLrPer === "parameter" ? tf.fill(params[name]!.shape, o.innerLr) : tf.scalar(o.innerLr);
  }
  return out;
}

/** Names adapted in the inner loop under `options.adapt`. */
function adaptedNames(params: Params, options: Pick<MamlOptions, "adapt">): string[] {
  if (options.adapt === "all") return Object.keys(params);
  if (options.adapt === "head") return headNames(params);
  return [...options.adapt];
}

/** MAML++ multi-step loss weights at outer step `step` (Antoniou et al. 2019, per_step_loss_importance_vector). */
export function multiStepWeights(innerSteps: number, step: number, anneal: number): number[] {
  const n = innerSteps;
  if (n === 1) return [1];
  const decay = 1 / n / Math.max(anneal, 1);
  const minNonFinal = 0.03 / n;
  const w = Array.from({ length: n }, () => Math.max(1 / n - step * decay, minNonFinal));
  w[n - 1] = Math.min(1 / n + step * (n - 1) * decay, 1 - (n - 1) * minNonFinal);
  return w;
}

/** Result of one meta-gradient computation. */
export interface MamlGradient {
  /** Meta-loss (mean query loss over tasks, or the weighted multi-step loss). */
  readonly loss: number;
  /** d loss / dθ, same names as the params. */
  readonly grads: Params;
  /** d loss / d(inner learning rates) when they are learned, else null. */
  readonly innerLrGrads: Params | null;
  /** Whether the fast path produced the result. */
  readonly fastPath: boolean;
  /** Why the fast path did not run (null when it did). */
  readonly fastPathReason: string | null;
}

/** Per-call context: the outer step (for annealing) and the learned inner rates, if any. */
export interface MamlContext {
  readonly step?: number;
  readonly innerLrs?: Params | null;
}

/**
 * Inner SGD step `s` on every task: adapted [tasks, ...] to adapted [tasks, ...], differentiable in `adapted`,
 * `rest` (the shared params the inner loop does not adapt) and the learned rates `lrs`.
 */
export function mamlInnerStep(adapted: Params, rest: Params, support: { x: tf.Tensor; y: tf.Tensor }, model: TaskModel, o: MamlOptions, firstOrder: boolean, lrs: Params | null, s: number): Params {
  const g = grad((q) => summedTaskLoss(o.loss, model.apply({ ...rest, ...q }, support.x), support.y))(adapted);
  const next: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(adapted)) {
    const gk = firstOrder ? stopGradient(g[k]!) : g[k]!;
    const lr = lrs ? lrs[innerLrKey(k, s)] : undefined;
    if (lrs && !lr) throw new Error(`Learned inner rate "${innerLrKey(k, s)}" is missing; build them with initInnerLrs(params, options).`);
    next[k] = tf.sub(adapted[k]!, tf.mul(gk, lr ?? o.innerLr));
  }
  return next;
}

/**
 * The inner loop: `innerSteps` SGD steps on each task's mean support loss, from `theta` (shared) to task-batched
 * adapted params. Differentiable with respect to `theta` and `lrs`; call it inside a gradient. Returns the adapted
 * params after every step (frozen params stay shared, without a task dimension). `outerStep` picks the support
 * subsets when `innerBatch` is set.
 */
export function mamlInnerLoop(theta: Params, batch: TaskBatch, model: TaskModel, o: MamlOptions, firstOrder: boolean, lrs: Params | null, outerStep = 0): Params[] {
  const tasks = batch.supportX.shape[0];
  const { picked, rest } = splitParams(theta, adaptedNames(theta, o));
  let adapted = tileForTasks(picked, tasks); // each [tasks, ...shape]
  const trajectory: Params[] = [];
  for (let s = 0; s < o.innerSteps; s++) {
    adapted = mamlInnerStep(adapted, rest, innerSupport(batch, o, outerStep, s), model, o, firstOrder, lrs, s);
    trajectory.push({ ...rest, ...adapted });
  }
  return trajectory;
}

/** The MAML meta-loss as a differentiable function of θ (and learned rates): the general tfjs path. */
export function mamlLoss(theta: Params, batch: TaskBatch, model: TaskModel, options: Partial<MamlOptions> = {}, context: MamlContext = {}): tf.Scalar {
  const o = mamlOptions(options);
  const step = context.step ?? 0;
  const firstOrder = o.firstOrder || step < o.firstOrderUntil;
  const traj = mamlInnerLoop(theta, batch, model, o, firstOrder, context.innerLrs ?? null, step);
  const queryLoss = (p: Params): tf.Scalar => meanTaskLoss(o.loss, model.apply(p, batch.queryX), batch.queryY);
  if (!o.multiStepLoss) return queryLoss(traj[traj.length - 1]!);
  const w = multiStepWeights(o.innerSteps, step, o.multiStepAnneal);
  return tf.addN(traj.map((p, s) => tf.mul(queryLoss(p), w[s]!))) as tf.Scalar;
}

/** The keys of the learned inner rates of `adapted` over `innerSteps`, in `initInnerLrs` order, with the tensor each belongs to. */
function rateKeys(adapted: readonly string[], innerSteps: number): { key: string; name: string; step: number }[] {
  return adapted.flatMap((name) => Array.from({ length: innerSteps }, (_, step) => ({ key: innerLrKey(name, step), name, step })));
}

/** The one eligibility check for a MAML request, learned rates included. */
function checkMaml(params: Params | ShapeRecord, model: TaskModel, o: MamlOptions, batch: TaskBatch, rates: ShapeRecord | null) {
  const adapted = adaptedNames(params as Params, o);
  return checkFastPath({
    algorithm: "maml", model, params, loss: o.loss, batch, adapted,
    learnedRates: rates ? { params: rates, expected: rateKeys(adapted, o.innerSteps).map((r) => [r.key, r.name] as const) } : undefined,
  });
}

function shapesOf(layout: Layout): ShapeRecord {
  return Object.fromEntries(layout.names.map((k, i) => [k, { shape: layout.shapes[i]!, rank: layout.shapes[i]!.length, dtype: "float32" }]));
}

/**
 * The fast path's meta-gradient on packed arrays: θ in `mlpLayout(config.sizes)` order and the learned rates (if
 * any) in `rateLayout`; returns the gradients packed the same way.
 */
function fastMetaGradient(config: MlpConfig, theta: ArrayLike<number>, rates: ArrayLike<number> | null, rateLayout: Layout | null, batch: FlatTaskBatch, o: MamlOptions, step: number): { loss: number; grad: Float32Array; rateGrad: Float32Array | null } {
  const kernel = o.workers > 1 ? workerPoolFor(config, o.loss, o.workers) : kernelFor(config, o.loss);
  const layout = mlpLayout(config.sizes);
  const P = layout.size;
  const K = o.innerSteps;
  const firstOrder = o.firstOrder || step < o.firstOrderUntil;
  const adapted = o.adapt === "all" ? [...layout.names] : adaptedNames(shapesOf(layout) as unknown as Params, o);
  let inner: InnerRates;
  let keys: ReturnType<typeof rateKeys> = [];
  if (!rates && adapted.length === layout.names.length) inner = { uniform: o.innerLr };
  else {
    const per = new Float32Array(K * P);
    keys = rates ? rateKeys(adapted, K) : [];
    for (let s = 0; s < K; s++) {
      for (const name of adapted) {
        const i = layout.names.indexOf(name);
        const off = s * P + layout.offsets[i]!;
        const n = layout.shapes[i]!.reduce((a, b) => a * b, 1);
        if (!rates) per.fill(o.innerLr, off, off + n);
        else {
          const r = rateLayout!.names.indexOf(innerLrKey(name, s));
          const roff = rateLayout!.offsets[r]!;
          if (rateLayout!.shapes[r]!.length === 0) per.fill(rates[roff]!, off, off + n);
          else for (let j = 0; j < n; j++) per[off + j] = rates[roff + j]!;
        }
      }
    }
    const lowestLayer = Math.min(...adapted.map((name) => Number(/^[wb](\d+)$/.exec(name)![1])));
    inner = { uniform: null, perParam: per, lowestLayer };
  }
  const grad = new Float32Array(P);
  const perGrad = rates ? new Float32Array(K * P) : undefined;
  const stepWeights = o.multiStepLoss ? multiStepWeights(K, step, o.multiStepAnneal) : null;
  const loss = kernel.metaGradient(theta, batch, { innerSteps: K, rates: inner, firstOrder, stepWeights, ...(perGrad ? { rateGrad: perGrad } : {}) }, grad);
  let rateGrad: Float32Array | null = null;
  if (rates && perGrad) {
    rateGrad = new Float32Array(rateLayout!.size);
    for (const { key, name, step: s } of keys) {
      const i = layout.names.indexOf(name);
      const off = s * P + layout.offsets[i]!;
      const n = layout.shapes[i]!.reduce((a, b) => a * b, 1);
      const r = rateLayout!.names.indexOf(key);
      const roff = rateLayout!.offsets[r]!;
      if (rateLayout!.shapes[r]!.length === 0) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += perGrad[off + j]!;
        rateGrad[roff] = sum;
      } else for (let j = 0; j < n; j++) rateGrad[roff + j] = perGrad[off + j]!;
    }
  }
  return { loss, grad, rateGrad };
}

/** Throws when `workers` > 1 asks for the fast path's task split but the fast path cannot run (it is never silently ignored). */
function needsFastPath(o: MamlOptions, reason: string | null): void {
  if (o.workers > 1) throw new Error(`MAML workers: ${o.workers} splits the fast path's tasks over threads, but the fast path cannot run: ${reason}. Use workers: 1 (the general tfjs path runs on one thread).`);
}

/** The layout of learned rates in `initInnerLrs` order, with the shapes the tensors have (scalar or parameter-shaped). */
function learnedRateLayout(rates: Params, adapted: readonly string[], o: MamlOptions): Layout {
  return layoutOf(rateKeys(adapted, o.innerSteps).map(({ key }) => [key, rates[key]!.shape] as const));
}

/**
 * The MAML meta-gradient for one meta-batch. The fast path runs when `checkFastPath` allows (see `fastPath`);
 * otherwise the general tfjs path differentiates `mamlLoss`. The returned tensors are new and owned by the caller;
 * nothing passed in is disposed.
 */
export function mamlMetaGradient(params: Params, batch: TaskBatch, model: TaskModel, options: Partial<MamlOptions> = {}, context: MamlContext = {}): MamlGradient {
  const o = mamlOptions(options);
  const step = context.step ?? 0;
  const learned = o.learnInnerLr ? context.innerLrs ?? null : null;
  if (o.learnInnerLr && !learned) throw new Error("learnInnerLr is on but no inner rates were passed: give context.innerLrs = initInnerLrs(params, options).");
  if (o.checkpoint) return checkpointedMetaGradient(params, batch, model, o, { step, innerLrs: learned });
  const d = decideFastPath(o.fastPath as FastPathMode, () => checkMaml(params, model, o, batch, learned), "MAML");
  if (!d.use) needsFastPath(o, d.report.reason);
  if (d.use) {
    const layout = mlpLayout(d.use.sizes);
    const rateLayout = learned ? learnedRateLayout(learned, adaptedNames(params, o), o) : null;
    const r = fastMetaGradient(d.use, pack(params, layout), learned ? pack(learned, rateLayout!) : null, rateLayout, flattenBatch(batch), o, step);
    return { loss: r.loss, grads: unpack(r.grad, layout), innerLrGrads: r.rateGrad ? unpack(r.rateGrad, rateLayout!) : null, fastPath: true, fastPathReason: null };
  }
  let loss = 0;
  const all = tf.tidy(() => {
    const meta: Params = learned ? { ...params, ...learned } : params;
    const { value, grads } = valueAndGrad((m) => {
      const { picked: theta, rest: lrs } = splitParams(m, Object.keys(params));
      return mamlLoss(theta, batch, model, o, { step, innerLrs: learned ? lrs : null });
    })(meta);
    loss = value.dataSync()[0]!;
    return { ...grads };
  });
  const { picked: grads, rest: lrGrads } = splitParams(all, Object.keys(params));
  return { loss, grads, innerLrGrads: learned ? lrGrads : null, fastPath: false, fastPathReason: d.report.reason };
}

/**
 * The general-path meta-gradient with gradient checkpointing: the inner loop runs forward keeping only its iterates,
 * and the backward pass recomputes one inner step at a time (`checkpointedLoopGrad`). Same numbers as `mamlLoss`'s
 * gradient; peak memory of one inner step instead of `innerSteps`, for about one extra forward pass of time.
 */
export function checkpointedMetaGradient(params: Params, batch: TaskBatch, model: TaskModel, options: Partial<MamlOptions> = {}, context: MamlContext = {}): MamlGradient {
  const o = mamlOptions(options);
  needsFastPath(o, "checkpointedMetaGradient is the general tfjs path");
  const step = context.step ?? 0;
  const firstOrder = o.firstOrder || step < o.firstOrderUntil;
  const lrs = o.learnInnerLr ? context.innerLrs ?? null : null;
  if (o.learnInnerLr && !lrs) throw new Error("learnInnerLr is on but no inner rates were passed: give context.innerLrs = initInnerLrs(params, options).");
  const thetaNames = Object.keys(params);
  const adapted = adaptedNames(params, o);
  const tasks = batch.supportX.shape[0]!;
  const w = o.multiStepLoss ? multiStepWeights(o.innerSteps, step, o.multiStepAnneal) : null;
  const supports = Array.from({ length: o.innerSteps }, (_, s) => innerSupport(batch, o, step, s));
  const parts = (m: Params): { picked: Params; rest: Params; lr: Params | null } => {
    const { picked: theta, rest: lr } = splitParams(m, thetaNames);
    const { picked, rest } = splitParams(theta, adapted);
    return { picked, rest, lr: lrs ? lr : null };
  };
  const queryLoss = (p: Params): tf.Scalar => meanTaskLoss(o.loss, model.apply(p, batch.queryX), batch.queryY);
  try {
    const r = checkpointedLoopGrad(lrs ? { ...params, ...lrs } : params, {
      steps: o.innerSteps,
      init: (m) => tileForTasks(parts(m).picked, tasks),
      step: (x, m, s) => {
        const { rest, lr } = parts(m);
        return mamlInnerStep(x, rest, supports[s]!, model, o, firstOrder, lr, s);
      },
      hasLoss: (s) => (w ? w[s - 1]! > 0 : s === o.innerSteps),
      loss: (x, m, s) => {
        const l = queryLoss({ ...parts(m).rest, ...x });
        return w ? (tf.mul(l, w[s - 1]!) as tf.Scalar) : l;
      },
    });
    const { picked: grads, rest: lrGrads } = splitParams(r.grads, thetaNames);
    return { loss: r.value, grads, innerLrGrads: lrs ? lrGrads : null, fastPath: false, fastPathReason: "checkpoint is on (the general path recomputes each inner step)" };
  } finally {
    for (const s of supports) if (s.x !== batch.supportX) tf.dispose([s.x, s.y]);
  }
}

/**
 * Query predictions [tasks, queries, out] after MAML's own inner loop (its step count, fixed or learned rates,
 * adapted names), for evaluating a learner that adapts differently from plain SGD at one rate, such as Meta-SGD or
 * MAML++'s LSLR. No support subsets and no multi-step weighting: the predictions after the last inner step.
 */
export function mamlAdaptedPredictions(params: Params, batch: TaskBatch, model: TaskModel, options: Partial<MamlOptions> = {}, innerLrs: Params | null = null): tf.Tensor {
  const o = mamlOptions({ ...options, innerBatch: null, multiStepLoss: false, checkpoint: false });
  if (o.learnInnerLr && !innerLrs) throw new Error("mamlAdaptedPredictions: learnInnerLr is on, so pass the learned rates (Maml.adaptedLosses does).");
  return tf.tidy(() => {
    const traj = mamlInnerLoop(params, batch, model, o, true, o.learnInnerLr ? innerLrs : null);
    return model.apply(traj[traj.length - 1]!, batch.queryX);
  });
}

/** Per-task query loss after MAML's own inner loop (see `mamlAdaptedPredictions`): [tasks]. */
export function mamlAdaptedLosses(params: Params, batch: TaskBatch, model: TaskModel, options: Partial<MamlOptions> = {}, innerLrs: Params | null = null): Float32Array {
  const o = mamlOptions(options);
  return tf.tidy(() => perTaskLoss(o.loss, mamlAdaptedPredictions(params, batch, model, o, innerLrs), batch.queryY).dataSync() as Float32Array);
}

/** Everything MAML carries between outer steps. */
export interface MamlState {
  /** Meta-parameters θ (the initialisation). */
  readonly params: Params;
  /** Learned inner learning rates, or null. */
  readonly innerLrs: Params | null;
  /** Adam state over θ and the learned rates. */
  readonly adam: AdamState;
  /** Outer steps taken. */
  readonly step: number;
}

/**
 * A MAML state the fast path steps on: θ, the learned rates and Adam's moments as flat float32 arrays. Its tensors
 * (`params`, `innerLrs`, `adam`) are made on first access and owned by the state; the numbers are the same bits as
 * the tensor form's (see `adamUpdate`).
 */
class PackedMamlState implements MamlState {
  private cache: { params?: Params; innerLrs?: Params | null; adam?: AdamState } = {};

  constructor(
    /** θ in `paramLayout` order, then the learned rates in `rateLayout` order. */
    readonly x: Float32Array,
    readonly paramLayout: Layout,
    readonly rateLayout: Layout | null,
    readonly flatAdam: FlatAdamState,
    readonly step: number,
  ) {}

  /** Packs a tensor state (from `initMamlState` or the general path). */
  static from(state: MamlState, paramLayout: Layout, rateLayout: Layout | null): PackedMamlState {
    if (state instanceof PackedMamlState && state.rateLayout === rateLayout) return state;
    const all = rateLayout ? concatLayouts(paramLayout, rateLayout) : paramLayout;
    const x = new Float32Array(all.size);
    pack(state.params, paramLayout, x.subarray(0, paramLayout.size));
    if (rateLayout) pack(state.innerLrs!, rateLayout, x.subarray(paramLayout.size));
    const m = pack(state.adam.m, all);
    const v = pack(state.adam.v, all);
    return new PackedMamlState(x, paramLayout, rateLayout, { step: state.adam.step, m, v }, state.step);
  }

  get params(): Params {
    this.cache.params ??= kept(unpack(this.x, this.paramLayout));
    return this.cache.params;
  }

  get innerLrs(): Params | null {
    if (this.cache.innerLrs === undefined) this.cache.innerLrs = this.rateLayout ? kept(unpack(this.x.subarray(this.paramLayout.size), this.rateLayout)) : null;
    return this.cache.innerLrs;
  }

  get adam(): AdamState {
    if (!this.cache.adam) {
      const all = this.rateLayout ? concatLayouts(this.paramLayout, this.rateLayout) : this.paramLayout;
      this.cache.adam = { step: this.flatAdam.step, m: kept(unpack(this.flatAdam.m, all)), v: kept(unpack(this.flatAdam.v, all)) };
    }
    return this.cache.adam;
  }

  /** Shapes of θ without making tensors. */
  get shapes(): ShapeRecord {
    return shapesOf(this.paramLayout);
  }

  /** Disposes the tensors made so far. */
  dispose(): void {
    if (this.cache.params) disposeParams(this.cache.params);
    if (this.cache.innerLrs) disposeParams(this.cache.innerLrs);
    if (this.cache.adam) disposeAdam(this.cache.adam);
    this.cache = {};
  }
}

/**
 * Marks a state's lazily made tensors as kept: they belong to the state (freed by its `dispose`), so a caller's
 * tf.tidy that happens to be open on first access must not free them.
 */
function kept(p: Params): Params {
  for (const t of Object.values(p)) tf.keep(t);
  return p;
}

/** Initial MAML state from initial parameters (cloned, so the caller keeps ownership of `params`). */
export function initMamlState(params: Params, options: Partial<MamlOptions> = {}): MamlState {
  const o = mamlOptions(options);
  const p = cloneParams(params);
  const innerLrs = o.learnInnerLr ? initInnerLrs(p, o) : null;
  return { params: p, innerLrs, adam: initAdam(innerLrs ? { ...p, ...innerLrs } : p), step: 0 };
}

/** Outer learning rate at outer step `step` under the options. */
function outerLrAt(o: Pick<MamlOptions, "outerLr" | "cosine">, step: number): number {
  return o.cosine ? cosineSchedule({ base: o.outerLr, total: o.cosine.total, min: o.cosine.min ?? 0 })(step) : o.outerLr;
}

/**
 * One outer step: meta-gradient, optional clipping, Adam. Pure: returns a new state and leaves `state` intact
 * (dispose it with `disposeMamlState` when no longer needed). On the fast path the whole step runs on packed
 * arrays (no tensors); `fastPath` says which path ran and why.
 */
export function mamlStep(state: MamlState, batch: TaskBatch, model: TaskModel, options: Partial<MamlOptions> = {}): { state: MamlState; loss: number; fastPath: FastPathReport } {
  const o = mamlOptions(options);
  const packed = state instanceof PackedMamlState ? state : null;
  const rateShapes = packed ? (packed.rateLayout ? shapesOf(packed.rateLayout) : null) : state.innerLrs;
  const d = decideFastPath(o.fastPath as FastPathMode, () => checkMaml(packed ? packed.shapes : state.params, model, o, batch, rateShapes), "MAML");
  if (!d.use) needsFastPath(o, d.report.reason);
  if (d.use) {
    const paramLayout = packed?.paramLayout ?? mlpLayout(d.use.sizes);
    const rateLayout = packed ? packed.rateLayout : state.innerLrs ? learnedRateLayout(state.innerLrs, adaptedNames(state.params, o), o) : null;
    const s = PackedMamlState.from(state, paramLayout, rateLayout);
    const P = paramLayout.size;
    const r = fastMetaGradient(d.use, s.x.subarray(0, P), rateLayout ? s.x.subarray(P) : null, rateLayout, flattenBatch(batch), o, s.step);
    let g = r.grad;
    if (r.rateGrad) {
      g = new Float32Array(s.x.length);
      g.set(r.grad);
      g.set(r.rateGrad, P);
    }
    if (o.clipNorm !== null) clipFlatByGlobalNorm(g, o.clipNorm);
    const next = flatAdamStep(s.x, g, s.flatAdam, { lr: outerLrAt(o, s.step) });
    return { state: new PackedMamlState(next.theta, paramLayout, rateLayout, next.state, s.step + 1), loss: r.loss, fastPath: d.report };
  }
  const mg = mamlMetaGradient(state.params, batch, model, { ...o, fastPath: "off" }, { step: state.step, innerLrs: state.innerLrs });
  let grads: Params = mg.innerLrGrads ? { ...mg.grads, ...mg.innerLrGrads } : mg.grads;
  if (o.clipNorm !== null) {
    const clipped = clipByGlobalNorm(grads, o.clipNorm).grads;
    disposeParams(grads);
    grads = clipped;
  }
  const meta = state.innerLrs ? { ...state.params, ...state.innerLrs } : state.params;
  const r = adamStep(meta, grads, state.adam, { lr: outerLrAt(o, state.step) });
  disposeParams(grads);
  const { picked: params, rest: innerLrs } = splitParams(r.params, Object.keys(state.params));
  return { state: { params, innerLrs: state.innerLrs ? innerLrs : null, adam: r.state, step: state.step + 1 }, loss: mg.loss, fastPath: d.report };
}

/**
 * The state a learner starts from: packed (no tensors) when the fast path can run for this model, parameters and
 * options, so training does not change the number of live tensors; `state` is taken over.
 */
function packedIfFast(state: MamlState, model: TaskModel, o: MamlOptions): MamlState {
  if (o.fastPath === "off") return state;
  const adapted = adaptedNames(state.params, o);
  const c = checkFastPath({
    algorithm: "maml", model, params: state.params, loss: o.loss, adapted,
    learnedRates: state.innerLrs ? { params: state.innerLrs, expected: rateKeys(adapted, o.innerSteps).map((r) => [r.key, r.name] as const) } : undefined,
  });
  if (!c.ok) {
    needsFastPath(o, c.reason);
    return state;
  }
  const packed = PackedMamlState.from(state, mlpLayout(c.config.sizes), state.innerLrs ? learnedRateLayout(state.innerLrs, adapted, o) : null);
  disposeMamlState(state);
  return packed;
}

/** Disposes every tensor of a MAML state. */
export function disposeMamlState(state: MamlState): void {
  if (state instanceof PackedMamlState) return state.dispose();
  disposeParams(state.params);
  if (state.innerLrs) disposeParams(state.innerLrs);
  disposeAdam(state.adam);
}

/** A thin stateful wrapper over `mamlStep`. */
export class Maml extends StepLearner<MamlState> {
  readonly options: MamlOptions;

  constructor(readonly model: TaskModel, params: Params, options: Partial<MamlOptions> = {}) {
    const o = mamlOptions(options);
    super(packedIfFast(initMamlState(params, o), model, o), (s, b) => mamlStep(s, b, model, o), disposeMamlState);
    this.options = o;
  }

  /** Query predictions on `batch` after this learner's own inner loop (with its learned rates, if any). */
  predict(batch: TaskBatch): tf.Tensor {
    return mamlAdaptedPredictions(this.params, batch, this.model, this.options, this.state.innerLrs);
  }

  /** Per-task query loss on `batch` after this learner's own inner loop (with its learned rates, if any). */
  adaptedLosses(batch: TaskBatch): Float32Array {
    return mamlAdaptedLosses(this.params, batch, this.model, this.options, this.state.innerLrs);
  }

  /** The learned inner-rate tensors (owned by this learner; freed at its next step), or null. */
  innerLrTensors(): Params | null {
    return this.state.innerLrs;
  }

  /** Current learned inner rates as numbers, keyed `lr/<param>/<step>` (per-parameter rates give their mean), or null. */
  innerLrs(): Record<string, number> | null {
    if (!this.state.innerLrs) return null;
    const out: Record<string, number> = {};
    for (const [k, t] of Object.entries(this.state.innerLrs)) {
      const d = t.dataSync();
      let sum = 0;
      for (let j = 0; j < d.length; j++) sum += d[j]!;
      out[k] = sum / d.length;
    }
    return out;
  }
}
