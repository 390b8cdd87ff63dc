/**
 * A functional convolutional network for few-shot image classification: the 4-block net of Vinyals et al. (2016) and
 * Finn et al. (2017) (3×3 convolutions, stride 2, normalisation, ReLU, then a mean over the remaining positions and a
 * linear head). Convolutions go through `conv2dSame` (conv-op.ts), whose derivatives of every order are right on
 * every backend; task-batched filters [tasks, k, k, in, out] run one convolution per task.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { checkConfig } from "../core/validate";
import { dense } from "./mlp";
import { conv2dSame } from "./conv-op";

/** How each block normalises its activations. */
export type ConvNorm =
  /** No normalisation. */
  | "none"
  /** Layer norm per image over positions and channels, with per-channel scale and shift: the same in training and testing. */
  | "layer"
  /** Batch norm with the statistics of each task's points in the call (Finn et al.'s transductive use). */
  | "batch";

/** Shape of a conv net. */
export interface ConvNetConfig {
  /** Input images are square: side length. */
  readonly imageSize: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels of each block. */
  readonly filters: readonly number[];
  /** Kernel side. */
  readonly kernel: number;
  /** Stride of every block (2 halves the side, as Finn et al. do for Omniglot instead of max-pooling). */
  readonly stride: number;
  readonly norm: ConvNorm;
  /** Outputs of the linear head; 0 for an embedding network without a head (Prototypical Networks). */
  readonly outputs: number;
}

/** Finn et al.'s (2017) Omniglot net: 4 blocks of 64 3×3 filters with stride 2 on 28×28 images; layer norm here. */
export const OMNIGLOT_CONV: ConvNetConfig = {
  imageSize: 28, // the usual downsampled Omniglot
  inChannels: 1, // grey levels
  filters: [64, 64, 64, 64], // Vinyals et al. (2016), Finn et al. (2017), Snell et al. (2017)
  kernel: 3, // 3×3 as in those papers
  stride: 2, // Finn et al.'s Omniglot variant: strided convolutions, no max-pool
  norm: "layer", // per-image normalisation: no transductive leak between test points (see notebook 04)
  outputs: 5, // 5-way
};

/** The keys of `ConvNetConfig`: any other key is a typo and an error. */
export const CONV_NET_KEYS: { readonly [K in keyof ConvNetConfig]-?: true } = { imageSize: true, inChannels: true, filters: true, kernel: true, stride: true, norm: true, outputs: true };

/** Checks a conv net's config field by field (unknown keys are errors); returns it unchanged. Called where the net is built. */
export function convNetConfig(c: ConvNetConfig): ConvNetConfig {
  validate(c);
  return c;
}

function validate(c: ConvNetConfig): void {
  checkConfig("ConvNet", c, CONV_NET_KEYS, { name: "config", hint: "Start from OMNIGLOT_CONV: { ...OMNIGLOT_CONV, filters: [32, 32] }.", keysWho: "ConvNet config" });
  if (!Array.isArray(c.filters)) throw new Error(`ConvNet filters must be a list of output channels per block, got ${String(c.filters)}. Example: [64, 64, 64, 64].`);
  const ints = [c.imageSize, c.inChannels, c.kernel, c.stride, ...c.filters];
  if (ints.some((v) => !Number.isInteger(v) || v < 1) || c.filters.length < 1) {
    throw new Error(`ConvNet: imageSize, inChannels, kernel, stride and every filters entry must be positive integers (got ${JSON.stringify(c)}). Example: OMNIGLOT_CONV.`);
  }
  if (!Number.isInteger(c.outputs) || c.outputs < 0) throw new Error(`ConvNet: outputs must be 0 (no head) or a positive integer, got ${c.outputs}.`);
  if (!["none", "layer", "batch"].includes(c.norm)) throw new Error(`ConvNet: norm must be "none", "layer" or "batch", got "${c.norm}".`);
}

/** Side length after each block ("same" padding: ceil(side / stride)). */
export function convSides(c: ConvNetConfig): number[] {
  const out: number[] = [];
  let s = c.imageSize;
  for (let l = 0; l < c.filters.length; l++) {
    s = Math.ceil(s / c.stride);
    out.push(s);
  }
  return out;
}

/** Width of the embedding (the last block's channels, after the mean over positions). */
export function convEmbeddingSize(c: ConvNetConfig): number {
  return c.filters[c.filters.length - 1]!;
}

/**
 * Parameters: block l has `w{l}` [k·k·in, out] (He-uniform; rank 2 like an MLP's weights, so `tileForTasks` and
 * the learners treat it the same; reshaped to tf.conv2d's [k, k, in, out] inside), `b{l}` [out] = 0 and, with normalisation, `gamma{l}` = 1,
 * `beta{l}` = 0; the head (if any) is `w{L}` [embedding, outputs] (Glorot-uniform), `b{L}` = 0, so `headNames` finds it.
 */
export function initConvNet(rng: Rng, c: ConvNetConfig): Params {
  validate(c);
  const p: Record<string, tf.Tensor> = {};
  let cin = c.inChannels;
  c.filters.forEach((cout, l) => {
    const fanIn = c.kernel * c.kernel * cin;
    const limit = Math.sqrt(6 / fanIn);
    p[`w${l}`] = rng.uniformTensor([fanIn, cout], -limit, limit);
    p[`b${l}`] = tf.zeros([cout]);
    if (c.norm !== "none") {
      p[`gamma${l}`] = tf.ones([cout]);
      p[`beta${l}`] = tf.zeros([cout]);
    }
    cin = cout;
  });
  if (c.outputs > 0) {
    const L = c.filters.length;
    const e = convEmbeddingSize(c);
    const limit = Math.sqrt(6 / (e + c.outputs));
    p[`w${L}`] = rng.uniformTensor([e, c.outputs], -limit, limit);
    p[`b${L}`] = tf.zeros([c.outputs]);
  }
  return p;
}

function need(p: Params, name: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`ConvNet parameter "${name}" is missing; got [${Object.keys(p).join(", ")}]. Build params with initConvNet from the same config.`);
  return t;
}

/** True if `t` carries a leading task dimension (one rank above its shared rank). */
function batched(t: tf.Tensor, sharedRank: number): boolean {
  return t.rank === sharedRank + 1;
}

/** Broadcasts a per-channel vector [c] or task-batched [tasks, c] against [tasks, m, c]. */
function perChannel(v: tf.Tensor): tf.Tensor {
  return v.rank === 2 ? tf.expandDims(v, 1) : v;
}

/** Embedding: x [tasks, points, side²·ch] to [tasks, points, channels] (mean over the last block's positions). */
export function convFeatures(params: Params, x: tf.Tensor, c: ConvNetConfig): tf.Tensor3D {
  if (x.rank !== 3) throw new Error(`ConvNet expects x of shape [tasks, points, features], got [${x.shape}].`);
  const [T, P, D] = x.shape as [number, number, number];
  const side = c.imageSize;
  if (D !== side * side * c.inChannels) throw new Error(`ConvNet: inputs have ${D} features but the config expects ${side}×${side}×${c.inChannels} = ${side * side * c.inChannels}.`);
  let h: tf.Tensor4D = tf.reshape(x, [T * P, side, side, c.inChannels]);
  const sides = convSides(c);
  let cin = c.inChannels;
  c.filters.forEach((cout, l) => {
    const o = sides[l]!;
    const w = need(params, `w${l}`);
    const shape: [number, number, number, number] = [c.kernel, c.kernel, cin, cout];
    let y: tf.Tensor4D; // [T*P, o, o, cout]
    if (batched(w, 2)) {
      if (w.shape[0] !== T) throw new Error(`ConvNet: task-batched filter w${l} has ${w.shape[0]} tasks but x has ${T}.`);
      const xs = tf.split(h, T, 0); // one [P, side, side, cin] per task
      const ws = tf.unstack(w, 0);
      y = tf.concat(xs.map((xt, t) => conv2dSame(xt as tf.Tensor4D, tf.reshape(ws[t]!, shape), c.stride)), 0) as tf.Tensor4D;
    } else {
      y = conv2dSame(h, tf.reshape(w, shape), c.stride);
    }
    let z: tf.Tensor = tf.reshape(y, [T, P * o * o, cout]);
    z = tf.add(z, perChannel(need(params, `b${l}`)));
    if (c.norm === "batch") {
      const mean = tf.mean(z, 1, true); // per task and channel, over points and positions: [T, 1, cout]
      const centred = tf.sub(z, mean);
      const variance = tf.mean(tf.square(centred), 1, true);
      z = tf.div(centred, tf.sqrt(tf.add(variance, 1e-5)));
    } else if (c.norm === "layer") {
      const perImage = tf.reshape(z, [T, P, o * o * cout]);
      const mean = tf.mean(perImage, 2, true); // per image: [T, P, 1]
      const centred = tf.sub(perImage, mean);
      const variance = tf.mean(tf.square(centred), 2, true);
      z = tf.reshape(tf.div(centred, tf.sqrt(tf.add(variance, 1e-5))), [T, P * o * o, cout]);
    }
    if (c.norm !== "none") z = tf.add(tf.mul(z, perChannel(need(params, `gamma${l}`))), perChannel(need(params, `beta${l}`)));
    h = tf.reshape(tf.relu(z), [T * P, o, o, cout]);
    cin = cout;
  });
  const last = sides[sides.length - 1]!;
  const e = convEmbeddingSize(c);
  return tf.mean(tf.reshape(h, [T, P, last * last, e]), 2) as tf.Tensor3D; // [T, P, e]
}

/** Forward pass: x [tasks, points, side²·ch] to logits [tasks, points, outputs] (or the embedding when outputs = 0). */
export function convApply(params: Params, x: tf.Tensor, c: ConvNetConfig): tf.Tensor {
  const f = convFeatures(params, x, c);
  if (c.outputs === 0) return f;
  const L = c.filters.length;
  return dense(f, need(params, `w${L}`), need(params, `b${L}`)); // w [e, out] or [T, e, out]
}

/** A conv net bundled with its config: `apply(params, x)`, `features(params, x)`, `init(rng)`. */
export class ConvNet {
  constructor(readonly config: ConvNetConfig) {
    validate(config);
  }
  /** Fresh parameters from a seeded generator. */
  init(rng: Rng): Params {
    return initConvNet(rng, this.config);
  }
  /** Logits (or the embedding for a head-less net). */
  apply(params: Params, x: tf.Tensor): tf.Tensor {
    return convApply(params, x, this.config);
  }
  /** The embedding before the head. */
  features(params: Params, x: tf.Tensor): tf.Tensor3D {
    return convFeatures(params, x, this.config);
  }
}
