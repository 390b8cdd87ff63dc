/**
 * Test-time adaptation of a pretrained MLP to each task of a batch: linear probe (head only, closed form or SGD),
 * full fine-tuning, probe-then-fine-tune (LP-FT; Kumar et al. 2022), with the head re-initialised at random, at zero,
 * or kept. Pure functions: inputs are not disposed, results are new task-batched params plus a loss history.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { headNames, layerParamNames, mlpApply, mlpFeatures, parseLayerParam, type MlpConfig } from "../models/mlp";
import { meanTaskLoss } from "../models/losses";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { checkBoolean, checkInteger, checkKnownKeys, checkNonNegative, checkOneOf, checkPositive } from "../core/validate";
import { adaptSgd, type SupportSet } from "./adapt-sgd";

/** How the head starts before adaptation. */
export type HeadInit =
  /** The pretrained head as is. */
  | "keep"
  /** Fresh Glorot-uniform weights and zero bias (the usual "new task, new head"). */
  | "random"
  /** All zeros: the output starts at exactly 0, and the body gets no gradient at step 1. */
  | "zero";

/** Which parameters adapt, and how. */
export type AdaptationMethod =
  /** Linear probe: fit only the head on frozen features. */
  | "probe"
  /** Full fine-tuning: SGD on every parameter. */
  | "finetune"
  /** Probe first, then fine-tune everything from the probed head (Kumar et al. 2022). */
  | "lpft";

/** Options of `adapt`. */
export interface AdaptOptions {
  readonly method: AdaptationMethod;
  /** Fine-tuning SGD steps (and probe steps for method "probe" with the SGD solver). */
  readonly steps: number;
  /** Fine-tuning step size. */
  readonly lr: number;
  /** Loss; defaults to "mse". */
  readonly loss?: TaskLoss;
  /** Head initialisation before anything else; default "keep". */
  readonly headInit?: HeadInit;
  /** Probe solver: "closed-form" ridge least squares (default for mse) or "sgd" (default for cross-entropy). */
  readonly probeSolver?: "closed-form" | "sgd";
  /** Ridge penalty of the closed-form probe; default 1e-4. */
  readonly ridge?: number;
  /** SGD steps of the probe phase of LP-FT (and of "probe" with the SGD solver if given); default `steps`. */
  readonly probeSteps?: number;
  /** SGD step size of the probe phase; default `lr`. */
  readonly probeLr?: number;
}

/** Every key `AdaptOptions` may have, each with its default (`undefined`: derived from other options). */
const ADAPT_OPTION_KEYS: Record<keyof AdaptOptions, unknown> = {
  method: undefined, // required
  steps: undefined, // required
  lr: undefined, // required
  loss: "mse", // regression is the common case in the labs
  headInit: "keep", // the pretrained head as is
  probeSolver: undefined, // closed form for mse, SGD for cross-entropy
  ridge: 1e-4, // just enough to make ΦᵀΦ invertible
  probeSteps: undefined, // `steps`
  probeLr: undefined, // `lr`
};

/** Checks `adapt`'s options; throws a fix-it error naming the bad or unknown option. */
export function adaptOptions(o: AdaptOptions): AdaptOptions {
  const WHO = "adapt";
  checkKnownKeys("adapt options", o, ADAPT_OPTION_KEYS);
  checkOneOf(WHO, "method", o.method, ["probe", "finetune", "lpft"] as const);
  checkInteger(WHO, "steps", o.steps, 0, "Use 0 for no fine-tuning steps.");
  checkPositive(WHO, "lr", o.lr);
  if (o.loss !== undefined) checkOneOf(WHO, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.headInit !== undefined) checkOneOf(WHO, "headInit", o.headInit, ["keep", "random", "zero"] as const);
  if (o.probeSolver !== undefined) checkOneOf(WHO, "probeSolver", o.probeSolver, ["closed-form", "sgd"] as const);
  if (o.ridge !== undefined) checkNonNegative(WHO, "ridge", o.ridge);
  if (o.probeSteps !== undefined) checkInteger(WHO, "probeSteps", o.probeSteps, 0);
  if (o.probeLr !== undefined) checkPositive(WHO, "probeLr", o.probeLr);
  return o;
}

/** Checks what LoRA's and the soft prompt's options share: SGD steps and size, the loss, and whether the head trains. */
export function checkAdapterBudget(who: string, o: { readonly steps: number; readonly lr: number; readonly loss?: TaskLoss; readonly trainHead?: boolean }): void {
  checkInteger(who, "steps", o.steps, 0, "Use 0 for no adaptation.");
  checkPositive(who, "lr", o.lr);
  if (o.loss !== undefined) checkOneOf(who, "loss", o.loss, ["mse", "cross-entropy"] as const);
  if (o.trainHead !== undefined) checkBoolean(who, "trainHead", o.trainHead);
}

/** One recorded point of an adaptation run, averaged over tasks (polars-friendly). */
export interface AdaptationRow {
  /** "probe" or "finetune". */
  readonly phase: string;
  /** Step counted from the start of the whole run (0 = before any update). */
  readonly step: number;
  readonly supportLoss: number;
  readonly queryLoss: number;
  /** Query accuracy for cross-entropy tasks, null for regression. */
  readonly queryAccuracy: number | null;
}

/** Adapted task-batched params and the history of losses. */
export interface AdaptationResult {
  readonly params: Params;
  readonly history: AdaptationRow[];
}

/** Returns params with the head (last layer) replaced: random Glorot-uniform, zeros, or unchanged (cloned). */
export function initHead(params: Params, config: MlpConfig, init: HeadInit, rng: Rng): Params {
  const L = config.sizes.length - 1;
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(params)) out[k] = v.clone();
  if (init === "keep") return out;
  const [w, b] = layerParamNames(config.sizes.length - 2);
  const fanIn = config.sizes[L - 1]!;
  const fanOut = config.sizes[L]!;
  out[w]!.dispose();
  out[b]!.dispose();
  if (init === "zero") {
    out[w] = tf.zeros([fanIn, fanOut]);
  } else {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    out[w] = rng.uniformTensor([fanIn, fanOut], -limit, limit);
  }
  out[b] = tf.zeros([fanOut]);
  return out;
}

/**
 * Closed-form ridge least squares for the head on frozen features, per task: minimises
 * |[phi 1] W - y|^2 + ridge |W|^2 (bias unpenalised). Body params are returned shared (cloned, not tiled);
 * the head is [tasks, hidden, out] and [tasks, out].
 */
export function closedFormProbe(params: Params, support: SupportSet, config: MlpConfig, ridge = 1e-4): Params {
  const [wName, bName] = layerParamNames(config.sizes.length - 2);
  const phi = tf.tidy(() => mlpFeatures(params, support.x, config)); // [tasks, shots, hidden]
  const [tasks, n, h] = phi.shape as [number, number, number];
  const out = support.y.shape[2]!;
  const F = phi.arraySync() as number[][][];
  const Y = support.y.arraySync() as number[][][];
  phi.dispose();
  const W = new Float32Array(tasks * h * out);
  const B = new Float32Array(tasks * out);
  for (let t = 0; t < tasks; t++) {
    // Normal equations in float64 over the augmented features [phi, 1]: (A^T A + ridge I') w = A^T y.
    const m = h + 1;
    const ata = Array.from({ length: m }, () => new Float64Array(m));
    const aty = Array.from({ length: m }, () => new Float64Array(out));
    for (let i = 0; i < n; i++) {
      const a = [...F[t]![i]!, 1];
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < m; c++) ata[r]![c]! += a[r]! * a[c]!;
        for (let o = 0; o < out; o++) aty[r]![o]! += a[r]! * Y[t]![i]![o]!;
      }
    }
    for (let r = 0; r < h; r++) ata[r]![r]! += ridge;
    const sol = solveFloat64(ata, aty);
    for (let r = 0; r < h; r++) for (let o = 0; o < out; o++) W[(t * h + r) * out + o] = sol[r]![o]!;
    for (let o = 0; o < out; o++) B[t * out + o] = sol[h]![o]!;
  }
  const res: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(params)) res[k] = v.clone();
  res[wName]!.dispose();
  res[bName]!.dispose();
  res[wName] = tf.tensor3d(W, [tasks, h, out]);
  res[bName] = tf.tensor2d(B, [tasks, out]);
  return res;
}

/**
 * Solves M X = R for symmetric M by Gaussian elimination with partial pivoting (float64; M is small). Not ridge.ts's
 * `solveSpd`, which is float32 and differentiable: the probe needs no gradient but float64 accuracy at tiny ridges.
 */
function solveFloat64(M: Float64Array[], R: Float64Array[]): Float64Array[] {
  const m = M.length;
  const A = M.map((r) => Float64Array.from(r));
  const X = R.map((r) => Float64Array.from(r));
  const k = X[0]!.length;
  for (let c = 0; c < m; c++) {
    let piv = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[piv]![c]!)) piv = r;
    if (Math.abs(A[piv]![c]!) < 1e-12) throw new Error("closedFormProbe: the normal equations are singular. Use a positive ridge (e.g. 1e-4).");
    [A[c], A[piv]] = [A[piv]!, A[c]!];
    [X[c], X[piv]] = [X[piv]!, X[c]!];
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const f = A[r]![c]! / A[c]![c]!;
      if (f === 0) continue;
      for (let j = c; j < m; j++) A[r]![j]! -= f * A[c]![j]!;
      for (let j = 0; j < k; j++) X[r]![j]! -= f * X[c]![j]!;
    }
  }
  for (let r = 0; r < m; r++) for (let j = 0; j < k; j++) X[r]![j]! /= A[r]![r]!;
  return X;
}

/** Mean support loss, query loss and (for cross-entropy) query accuracy of task-batched or shared params. */
export function evaluateAdapted(params: Params, batch: TaskBatch, config: MlpConfig, loss: TaskLoss): { supportLoss: number; queryLoss: number; queryAccuracy: number | null } {
  const ts = tf.tidy(() => {
    const ps = mlpApply(params, batch.supportX, config);
    const pq = mlpApply(params, batch.queryX, config);
    const out: tf.Tensor[] = [meanTaskLoss(loss, ps, batch.supportY), meanTaskLoss(loss, pq, batch.queryY)];
    if (loss === "cross-entropy") out.push(tf.mean(tf.cast(tf.equal(tf.argMax(pq, -1), tf.argMax(batch.queryY, -1)), "float32")));
    return out;
  });
  const v = ts.map((t) => t.dataSync()[0]!);
  ts.forEach((t) => t.dispose());
  return { supportLoss: v[0]!, queryLoss: v[1]!, queryAccuracy: v.length > 2 ? v[2]! : null };
}

/**
 * Adapts a pretrained MLP to every task of `batch` (support set only; the query set is used for the history) with
 * the chosen method and head initialisation. Returns task-batched params and a per-step history.
 */
export function adapt(params: Params, batch: TaskBatch, config: MlpConfig, options: AdaptOptions, rng: Rng): AdaptationResult {
  adaptOptions(options);
  const loss = options.loss ?? "mse";
  const solver = options.probeSolver ?? (loss === "mse" ? "closed-form" : "sgd");
  const model = { apply: (p: Params, x: tf.Tensor) => mlpApply(p, x, config) };
  const support = { x: batch.supportX, y: batch.supportY };
  const history: AdaptationRow[] = [];
  const record = (phase: string, step: number, p: Params): void => {
    history.push({ phase, step, ...evaluateAdapted(p, batch, config, loss) });
  };
  const start = initHead(params, config, options.headInit ?? "keep", rng);
  record("init", 0, start);
  let current = start;
  let offset = 0;
  if (options.method === "probe" || options.method === "lpft") {
    const probeSteps = options.probeSteps ?? options.steps;
    let probed: Params;
    if (solver === "closed-form") {
      probed = closedFormProbe(current, support, config, options.ridge ?? 1e-4);
      offset = 1;
      record("probe", offset, probed);
    } else {
      probed = adaptSgd(current, support, model, {
        steps: probeSteps,
        lr: options.probeLr ?? options.lr,
        loss,
        trainable: headNames(config),
        onStep: (s, p) => s > 0 && record("probe", s, p),
      });
      offset = probeSteps;
    }
    disposeRecord(current);
    current = probed;
    if (options.method === "probe") return { params: current, history };
  }
  const tasks = batch.supportX.shape[0]!;
  const batched = tf.tidy(() => tileShared(current, tasks));
  disposeRecord(current);
  const tuned = adaptSgd(batched, support, model, {
    steps: options.steps,
    lr: options.lr,
    loss,
    taskBatched: true,
    onStep: (s, p) => s > 0 && record("finetune", offset + s, p),
  });
  disposeRecord(batched);
  return { params: tuned, history };
}

/** Tiles every shared parameter to a leading task dimension (task-batched ones are cloned). */
function tileShared(p: Params, tasks: number): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(p)) {
    const sharedRank = parseLayerParam(k)?.kind === "weight" ? 2 : 1;
    out[k] = v.rank === sharedRank ? tf.tile(tf.expandDims(v, 0), [tasks, ...v.shape.map(() => 1)]) : v.clone();
  }
  return out;
}

function disposeRecord(p: Params): void {
  for (const t of Object.values(p)) t.dispose();
}

