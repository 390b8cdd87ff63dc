/**
 * Functional batch normalisation (Ioffe & Szegedy 2015) with explicit, pure running-statistics state, statistics
 * per task on [tasks, points, features], the evaluation modes that matter in few-shot learning (transductive or
 * not; Nichol et al. 2018), and per-step statistics and affine parameters (MAML++ BNRS/BNWB; Antoniou et al. 2019).
 * The normalisation is built from plain ops (mean, sub, sqrt, div), so second derivatives through it are right.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { activate, ACTIVATIONS, type ActivationName } from "../autodiff/activations";
import { checkBoolean, checkConfig, checkOneOf, checkPositive, checkRange } from "../core/validate";
import { dense, layerParamNames, parseLayerParam } from "./mlp";

/** Mean and (biased) variance, either per task [tasks, 1, features] or shared [features]. */
export interface BnStats {
  readonly mean: tf.Tensor;
  readonly variance: tf.Tensor;
}

/** Running statistics of one BN layer, [features] each. */
export interface BatchNormState {
  readonly runningMean: tf.Tensor;
  readonly runningVar: tf.Tensor;
}

/** Per-task statistics over the points axis: x [tasks, points, features] gives mean and variance [tasks, 1, features]. */
export function taskStats(x: tf.Tensor): BnStats {
  if (x.rank !== 3) throw new Error(`taskStats expects [tasks, points, features], got [${x.shape}].`);
  const mean = tf.mean(x, 1, true); // [tasks, 1, features]
  const variance = tf.mean(tf.square(tf.sub(x, mean)), 1, true); // [tasks, 1, features], biased as in training-mode BN
  return { mean, variance };
}

/**
 * gamma * (x - mean) / sqrt(variance + eps) + beta. gamma and beta are [features] (shared) or [tasks, features];
 * stats are [features] or [tasks, 1, features].
 */
export function batchNormalize(x: tf.Tensor, stats: BnStats, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const g = gamma.rank === 2 ? tf.expandDims(gamma, 1) : gamma; // [tasks, 1, features] or [features]
  const b = beta.rank === 2 ? tf.expandDims(beta, 1) : beta;
  const xhat = tf.div(tf.sub(x, stats.mean), tf.sqrt(tf.add(stats.variance, eps)));
  return tf.add(tf.mul(xhat, g), b);
}

/** Fresh running statistics: mean 0, variance 1 (PyTorch's defaults). */
export function initBatchNormState(features: number): BatchNormState {
  return { runningMean: tf.zeros([features]), runningVar: tf.ones([features]) };
}

/**
 * New running statistics (old ones untouched): running <- (1 - momentum) running + momentum * batch, with the batch
 * statistics averaged over tasks and the variance made unbiased with n / (n - 1), as PyTorch does.
 */
export function updateRunningStats(state: BatchNormState, batch: BnStats, points: number, momentum: number): BatchNormState {
  return tf.tidy(() => {
    const mean = tf.reshape(tf.mean(batch.mean, 0), [-1]); // [features]
    const unbias = points > 1 ? points / (points - 1) : 1;
    const variance = tf.reshape(tf.mul(tf.mean(batch.variance, 0), unbias), [-1]); // [features]
    return {
      runningMean: tf.add(tf.mul(state.runningMean, 1 - momentum), tf.mul(mean, momentum)),
      runningVar: tf.add(tf.mul(state.runningVar, 1 - momentum), tf.mul(variance, momentum)),
    };
  });
}

/** Options of the single-layer `batchNorm`. */
export interface BatchNormOptions {
  /** "train" (batch statistics, new running state), "transductive" (batch statistics), "running", or "support". */
  readonly mode: "train" | "transductive" | "running" | "support";
  /** Weight of the new batch in the running average (PyTorch: 0.1). */
  readonly momentum?: number;
  /** Added to the variance (PyTorch: 1e-5). */
  readonly eps?: number;
  /** Support features [tasks, shots, features] whose statistics normalise x in "support" mode. */
  readonly support?: tf.Tensor;
}

/** The keys of `BatchNormOptions`: any other key is a typo and an error. */
export const BATCH_NORM_KEYS: { readonly [K in keyof BatchNormOptions]-?: true } = { mode: true, momentum: true, eps: true, support: true };

/** Checks the single-layer `batchNorm`'s options field by field (unknown keys are errors); returns them unchanged. */
export function batchNormOptions(o: BatchNormOptions): BatchNormOptions {
  checkConfig("batchNorm", o, BATCH_NORM_KEYS, { hint: 'Pass e.g. { mode: "train" }.', keysWho: "batchNorm options" });
  checkOneOf("batchNorm", "mode", o.mode, ["train", "transductive", "running", "support"] as const);
  if (o.momentum !== undefined) checkRange("batchNorm", "momentum", o.momentum, 0, 1, { lo: true }, "PyTorch's default is 0.1.");
  if (o.eps !== undefined) checkPositive("batchNorm", "eps", o.eps, "PyTorch's default is 1e-5.");
  return o;
}

/**
 * One BN layer on x [tasks, points, features] with gamma and beta [features] (or [tasks, features]). Pure: returns
 * the output and the running state to use next (new tensors in "train" mode, the same state otherwise).
 */
export function batchNorm(params: { readonly gamma: tf.Tensor; readonly beta: tf.Tensor }, state: BatchNormState, x: tf.Tensor, options: BatchNormOptions): { y: tf.Tensor; state: BatchNormState } {
  batchNormOptions(options);
  const eps = options.eps ?? 1e-5;
  let stats: BnStats;
  if (options.mode === "running") {
    stats = { mean: state.runningMean, variance: state.runningVar };
  } else if (options.mode === "support") {
    if (!options.support) throw new Error('batchNorm mode "support" needs options.support (support features [tasks, shots, features]).');
    stats = taskStats(options.support);
  } else {
    stats = taskStats(x);
  }
  const y = batchNormalize(x, stats, params.gamma, params.beta, eps);
  const next = options.mode === "train" ? updateRunningStats(state, stats, x.shape[1]!, options.momentum ?? 0.1) : state;
  return { y, state: next };
}

/** Shape of a BN-MLP: dense (no bias) then BN then activation on every hidden layer, a linear output layer. */
export interface BnMlpConfig {
  /** Layer widths from input to output, e.g. [8, 32, 32, 5]. */
  readonly sizes: readonly number[];
  /** Hidden activation. */
  readonly activation: ActivationName;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Weight of the new batch in the running average. */
  readonly momentum: number;
  /** Number of separate running-statistics sets (MAML++ BNRS); 1 shares them over inner steps. */
  readonly statSets: number;
  /** Separate gamma/beta per statistics set (MAML++ BNWB); false shares them. */
  readonly perStepAffine: boolean;
}

/** Default BN-MLP for the blob family: 8-32-32-5 ReLU, PyTorch's BN constants, shared statistics. */
export const DEFAULT_BN_MLP: BnMlpConfig = {
  sizes: [8, 32, 32, 5], // matches DEFAULT_BLOBS (8 inputs, 5 ways)
  activation: "relu", // exact second derivatives in tfjs
  eps: 1e-5, // PyTorch's BatchNorm default
  momentum: 0.1, // PyTorch's BatchNorm default
  statSets: 1, // plain BN: one set of running statistics
  perStepAffine: false, // plain BN: one gamma/beta per layer
};

/** How a BN-MLP normalises. */
export type BnMode =
  /** Batch statistics per task, and new running statistics are returned. */
  | "train"
  /** Batch statistics per task from x itself (transductive: the query batch informs every prediction). */
  | "transductive"
  /** Running statistics accumulated in training (non-transductive, but averaged over tasks). */
  | "running"
  /** Statistics of the support set only (needs options.support); each query point is treated alone. */
  | "support"
  /** Each query point normalised with the support set plus itself (Nichol et al. 2018's non-transductive setting). */
  | "support-plus-one";

/** Extra inputs of `bnMlpApply`. */
export interface BnApplyOptions {
  /** Which statistics set (and affine set, if per-step) to use; clamped to statSets - 1. Default 0. */
  readonly step?: number;
  /** Support inputs [tasks, shots, in], needed by the "support" and "support-plus-one" modes. */
  readonly support?: tf.Tensor;
}

/** Number of layers with weights. */
function depth(config: BnMlpConfig): number {
  return config.sizes.length - 1;
}

/** Parameter names of the affine parameters of hidden layer l for statistics set s. */
export function bnAffineNames(config: BnMlpConfig, l: number, s: number): { gamma: string; beta: string } {
  return config.perStepAffine ? { gamma: `gamma${l}_s${s}`, beta: `beta${l}_s${s}` } : { gamma: `gamma${l}`, beta: `beta${l}` };
}

/** State names of hidden layer l, statistics set s. */
export function bnStateNames(l: number, s: number): { mean: string; variance: string } {
  return { mean: `mean${l}_s${s}`, variance: `var${l}_s${s}` };
}

/** The keys of `BnMlpConfig`: any other key is a typo and an error. */
export const BN_MLP_KEYS: { readonly [K in keyof BnMlpConfig]-?: true } = { sizes: true, activation: true, eps: true, momentum: true, statSets: true, perStepAffine: true };

/** Checks a BN-MLP's config field by field (unknown keys are errors); returns it unchanged. Called where the net is built. */
export function bnMlpConfig(config: BnMlpConfig): BnMlpConfig {
  validate(config);
  return config;
}

function validate(config: BnMlpConfig): void {
  checkConfig("BN-MLP", config, BN_MLP_KEYS, { name: "config", hint: "Start from DEFAULT_BN_MLP: { ...DEFAULT_BN_MLP, sizes: [8, 64, 5] }.", keysWho: "BN-MLP config" });
  if (!Array.isArray(config.sizes)) throw new Error(`BN-MLP sizes must be a list of layer widths, got ${String(config.sizes)}. Example: [8, 32, 32, 5].`);
  checkOneOf("BN-MLP", "activation", config.activation, ACTIVATIONS);
  checkPositive("BN-MLP", "eps", config.eps, "PyTorch's default is 1e-5.");
  checkBoolean("BN-MLP", "perStepAffine", config.perStepAffine);
  if (config.sizes.length < 3 || config.sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`BN-MLP sizes need at least one hidden layer (three positive integers), got [${config.sizes}]. Example: [8, 32, 32, 5].`);
  }
  if (!Number.isInteger(config.statSets) || config.statSets < 1) throw new Error(`BN-MLP statSets must be a positive integer, got ${config.statSets}. Use 1 for plain BN.`);
  if (!(config.momentum > 0 && config.momentum <= 1)) throw new Error(`BN-MLP momentum must be in (0, 1], got ${config.momentum}. PyTorch's default is 0.1.`);
}

/**
 * Glorot-uniform weights w0..w{L-1}, output bias b{L-1}, gamma = 1 and beta = 0 per hidden layer (per set if
 * perStepAffine). Hidden layers have no bias: BN's beta replaces it.
 */
export function initBnMlp(rng: Rng, config: BnMlpConfig = DEFAULT_BN_MLP): Params {
  validate(config);
  const p: Record<string, tf.Tensor> = {};
  const L = depth(config);
  for (let l = 0; l < L; l++) {
    const fanIn = config.sizes[l]!;
    const fanOut = config.sizes[l + 1]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const [w, b] = layerParamNames(l);
    p[w] = rng.uniformTensor([fanIn, fanOut], -limit, limit);
    if (l === L - 1) {
      p[b] = tf.zeros([fanOut]);
    } else {
      for (let s = 0; s < (config.perStepAffine ? config.statSets : 1); s++) {
        const n = bnAffineNames(config, l, s);
        p[n.gamma] = tf.ones([fanOut]);
        p[n.beta] = tf.zeros([fanOut]);
      }
    }
  }
  return p;
}

/** Fresh running statistics for every hidden layer and statistics set, as a named-tensor record. */
export function initBnMlpState(config: BnMlpConfig = DEFAULT_BN_MLP): Params {
  validate(config);
  const st: Record<string, tf.Tensor> = {};
  for (let l = 0; l < depth(config) - 1; l++) {
    for (let s = 0; s < config.statSets; s++) {
      const n = bnStateNames(l, s);
      const init = initBatchNormState(config.sizes[l + 1]!);
      st[n.mean] = init.runningMean;
      st[n.variance] = init.runningVar;
    }
  }
  return st;
}

function need(p: Params, name: string, what: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`BN-MLP ${what} "${name}" is missing; got [${Object.keys(p).join(", ")}]. Build it with initBnMlp / initBnMlpState from the same config.`);
  return t;
}

/**
 * Forward pass of a BN-MLP: x [tasks, n, in] to { y: [tasks, n, out], state }. In "train" mode the returned state
 * holds new running statistics (kept out of any enclosing tf.tidy; dispose the old state yourself); in the other
 * modes it is the state passed in. Weights may be shared or carry a leading task dimension.
 */
export function bnMlpApply(params: Params, state: Params, x: tf.Tensor, config: BnMlpConfig, mode: BnMode = "train", options: BnApplyOptions = {}): { y: tf.Tensor; state: Params } {
  if (x.rank !== 3) throw new Error(`bnMlpApply expects x of shape [tasks, points, features], got [${x.shape}].`);
  const s = Math.min(Math.max(0, Math.floor(options.step ?? 0)), config.statSets - 1);
  if (mode === "support" || mode === "support-plus-one") {
    if (!options.support) throw new Error(`BN mode "${mode}" needs options.support (the support inputs [tasks, shots, in]).`);
    if (options.support.shape[0] !== x.shape[0]) throw new Error(`BN support has ${options.support.shape[0]} tasks but x has ${x.shape[0]}; pass the same tasks.`);
  }
  if (mode === "support-plus-one") return { y: supportPlusOne(params, state, x, options.support!, config, s), state };

  const L = depth(config);
  let h = x;
  let hs = mode === "support" ? options.support! : null;
  const newState: Record<string, tf.Tensor> = { ...state };
  for (let l = 0; l < L - 1; l++) {
    const w = need(params, layerParamNames(l)[0], "parameter");
    const z = dense(h, w, zeroBias(w));
    const zs = hs ? dense(hs, w, zeroBias(w)) : null;
    const an = bnAffineNames(config, l, s);
    const gamma = need(params, an.gamma, "parameter");
    const beta = need(params, an.beta, "parameter");
    const sn = bnStateNames(l, s);
    let stats: BnStats;
    if (mode === "running") {
      stats = { mean: need(state, sn.mean, "state"), variance: need(state, sn.variance, "state") };
    } else if (zs) {
      stats = taskStats(zs);
    } else {
      stats = taskStats(z);
    }
    if (mode === "train") {
      const next = updateRunningStats({ runningMean: need(state, sn.mean, "state"), runningVar: need(state, sn.variance, "state") }, stats, z.shape[1]!, config.momentum);
      newState[sn.mean] = tf.keep(next.runningMean);
      newState[sn.variance] = tf.keep(next.runningVar);
    }
    h = activate(config.activation, batchNormalize(z, stats, gamma, beta, config.eps));
    if (zs) hs = activate(config.activation, batchNormalize(zs, stats, gamma, beta, config.eps));
  }
  const [wOut, bOut] = layerParamNames(L - 1);
  const y = dense(h, need(params, wOut, "parameter"), need(params, bOut, "parameter"));
  return { y, state: mode === "train" ? newState : state };
}

/** A zero bias of the right shape for a bias-free dense layer. */
function zeroBias(w: tf.Tensor): tf.Tensor {
  return w.rank === 3 ? tf.zeros([w.shape[0]!, w.shape[2]!]) : tf.zeros([w.shape[1]!]);
}

/** Each query point normalised together with its task's support set: a batched forward over [tasks * queries, shots + 1, in]. */
function supportPlusOne(params: Params, state: Params, x: tf.Tensor, support: tf.Tensor, config: BnMlpConfig, step: number): tf.Tensor {
  const [t, q, d] = x.shape as [number, number, number];
  const k = support.shape[1]!;
  const sup = tf.reshape(tf.tile(tf.expandDims(support, 1), [1, q, 1, 1]), [t * q, k, d]); // [tasks*queries, shots, in]
  const one = tf.reshape(x, [t * q, 1, d]); // [tasks*queries, 1, in]
  const joint = tf.concat([sup, one], 1); // [tasks*queries, shots+1, in]
  const repeated = repeatTaskParams(params, t, q);
  const { y } = bnMlpApply(repeated, state, joint, config, "transductive", { step });
  const last = tf.slice(y, [0, k, 0], [t * q, 1, y.shape[2]!]); // [tasks*queries, 1, out]
  return tf.reshape(last, [t, q, y.shape[2]!]); // [tasks, queries, out]
}

/** Repeats task-batched parameters (rank one above the shared rank) `q` times per task: [tasks, ...] to [tasks*q, ...]. */
export function repeatTaskParams(params: Params, tasks: number, q: number): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, p] of Object.entries(params)) {
    const sharedRank = parseLayerParam(name)?.kind === "weight" ? 2 : 1;
    if (p.rank === sharedRank) {
      out[name] = p;
    } else {
      if (p.shape[0] !== tasks) throw new Error(`BN-MLP parameter "${name}" has shape [${p.shape}] but there are ${tasks} tasks.`);
      const rest = p.shape.slice(1);
      out[name] = tf.reshape(tf.tile(tf.expandDims(p, 1), [1, q, ...rest.map(() => 1)]), [tasks * q, ...rest]); // [tasks*q, ...]
    }
  }
  return out;
}

/** A BN-MLP bundled with its config. */
export class BnMlp {
  constructor(readonly config: BnMlpConfig = DEFAULT_BN_MLP) {
    validate(config);
  }
  /** Fresh parameters from a seeded generator. */
  init(rng: Rng): Params {
    return initBnMlp(rng, this.config);
  }
  /** Fresh running statistics. */
  initState(): Params {
    return initBnMlpState(this.config);
  }
  /** Forward pass with explicit parameters, state and mode. */
  apply(params: Params, state: Params, x: tf.Tensor, mode: BnMode = "train", options: BnApplyOptions = {}): { y: tf.Tensor; state: Params } {
    return bnMlpApply(params, state, x, this.config, mode, options);
  }
}
