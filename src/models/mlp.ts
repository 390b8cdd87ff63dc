/**
 * A functional multilayer perceptron: `mlp.apply(params, x)` with parameters `w0, b0, w1, b1, ...`.
 * Parameters may carry a leading task dimension, so one call runs a whole meta-batch of adapted models.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import type { Params } from "../core/params";
import { activate, ACTIVATIONS, type ActivationName } from "../autodiff/activations";
import { checkConfig, checkOneOf } from "../core/validate";

/** Shape and activation of an MLP. */
export interface MlpConfig {
  /** Layer widths from input to output, e.g. [1, 40, 40, 1] for Finn et al.'s sine regressor. */
  readonly sizes: readonly number[];
  /** Hidden activation; the output layer is linear. */
  readonly activation: ActivationName;
}

/** Finn et al. (2017) sine regressor: 1-40-40-1 with ReLU. */
export const FINN_SINE_MLP: MlpConfig = { sizes: [1, 40, 40, 1], activation: "relu" };

/** Weight and bias names of layer `l`: `w{l}`, `b{l}` (the one place the MLP's parameter names are spelled). */
export function layerParamNames(l: number): [weight: string, bias: string] {
  return [`w${l}`, `b${l}`];
}

/** Which layer parameter a name is (`w3` is layer 3's weight), or null for any other name (adapters, heads, BN). */
export function parseLayerParam(name: string): { readonly kind: "weight" | "bias"; readonly layer: number } | null {
  const m = /^([wb])(\d+)$/.exec(name);
  return m === null ? null : { kind: m[1] === "w" ? "weight" : "bias", layer: Number(m[2]) };
}

/** Names of the layer parameters, in order. */
export function mlpParamNames(config: MlpConfig): string[] {
  const names: string[] = [];
  for (let l = 0; l + 1 < config.sizes.length; l++) names.push(...layerParamNames(l));
  return names;
}

/**
 * Names of the last layer (the head that ANIL and probes adapt): from a config, or, for a parameter record, the
 * present names of the highest-numbered layer, in the record's order.
 */
export function headNames(of: MlpConfig | Params): string[] {
  if (isMlpConfig(of)) return layerParamNames(of.sizes.length - 2);
  let last = -1;
  for (const k of Object.keys(of)) last = Math.max(last, parseLayerParam(k)?.layer ?? -1);
  if (last < 0) throw new Error(`headNames: no layer parameters named w0, b0, ... in [${Object.keys(of).join(", ")}]. Pass the head's names explicitly.`);
  return Object.keys(of).filter((k) => parseLayerParam(k)?.layer === last);
}

function isMlpConfig(x: MlpConfig | Params): x is MlpConfig {
  return Array.isArray((x as { sizes?: unknown }).sizes);
}

/** Glorot-uniform weights and zero biases, drawn from `rng` (same seed, same weights on every backend). */
export function initMlp(rng: Rng, config: MlpConfig): Params {
  validateMlp(config);
  const p: Record<string, tf.Tensor> = {};
  for (let l = 0; l + 1 < config.sizes.length; l++) {
    const fanIn = config.sizes[l]!;
    const fanOut = config.sizes[l + 1]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const [w, b] = layerParamNames(l);
    p[w] = rng.uniformTensor([fanIn, fanOut], -limit, limit);
    p[b] = tf.zeros([fanOut]);
  }
  return p;
}

/** The keys of `MlpConfig`: any other key is a typo and an error. */
export const MLP_CONFIG_KEYS: { readonly [K in keyof MlpConfig]-?: true } = { sizes: true, activation: true };

/** Checks an MLP's config field by field (unknown keys are errors); returns it unchanged. Called where an MLP is built. */
export function mlpConfig(config: MlpConfig, who = "MLP"): MlpConfig {
  checkConfig(who, config, MLP_CONFIG_KEYS, { name: "config", hint: 'Example: { sizes: [1, 40, 40, 1], activation: "relu" } (FINN_SINE_MLP).', keysWho: `${who} config` });
  if (!Array.isArray(config.sizes) || config.sizes.length < 2 || config.sizes.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`${who} sizes must be at least two positive integers, got ${Array.isArray(config.sizes) ? `[${config.sizes}]` : String(config.sizes)}. Example: [1, 40, 40, 1].`);
  }
  checkOneOf(who, "activation", config.activation, ACTIVATIONS);
  return config;
}

function validateMlp(config: MlpConfig): void {
  mlpConfig(config);
}

/** One dense layer; `x` is [tasks, n, in]; `w` is [in, out] (shared) or [tasks, in, out] (per task). */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (x.rank !== 3) throw new Error(`dense expects x of shape [tasks, points, features], got [${x.shape}].`);
  const [t, n, d] = x.shape as [number, number, number];
  if (w.rank === 2) {
    if (w.shape[0] !== d) throw new Error(`dense: x has ${d} features but w is [${w.shape}]. Check MlpConfig.sizes.`);
    const y = tf.matMul(tf.reshape(x, [t * n, d]), w); // [tasks*points, out]
    return tf.add(tf.reshape(y, [t, n, w.shape[1]!]), b); // [tasks, points, out]
  }
  if (w.rank === 3 && w.shape[0] === t && w.shape[1] === d) {
    return tf.add(tf.matMul(x, w), tf.expandDims(b, 1)); // [tasks, points, out], b [tasks, 1, out]
  }
  throw new Error(`dense: weight shape [${w.shape}] does not fit x [${x.shape}]. Use [in, out] or [tasks, in, out].`);
}

/** Hidden features (everything but the last layer): [tasks, n, in] to [tasks, n, hidden]. */
export function mlpFeatures(params: Params, x: tf.Tensor, config: MlpConfig): tf.Tensor {
  let h = x;
  const L = config.sizes.length - 1;
  for (let l = 0; l < L - 1; l++) {
    const [w, b] = layerParamNames(l);
    h = activate(config.activation, dense(h, need(params, w), need(params, b)));
  }
  return h;
}

/** Forward pass: x [tasks, n, in] to [tasks, n, out]. */
export function mlpApply(params: Params, x: tf.Tensor, config: MlpConfig): tf.Tensor {
  const L = config.sizes.length - 1;
  const [w, b] = layerParamNames(L - 1);
  return dense(mlpFeatures(params, x, config), need(params, w), need(params, b));
}

function need(p: Params, name: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`MLP parameter "${name}" is missing; got [${Object.keys(p).join(", ")}]. Build params with initMlp.`);
  return t;
}

/** An MLP bundled with its config, so it fits `functionalCall(model, params, x)`. */
export class Mlp {
  constructor(readonly config: MlpConfig) {
    validateMlp(config);
  }
  /** Fresh parameters from a seeded generator. */
  init(rng: Rng): Params {
    return initMlp(rng, this.config);
  }
  /** Forward pass with explicit parameters. */
  apply(params: Params, x: tf.Tensor): tf.Tensor {
    return mlpApply(params, x, this.config);
  }
}
