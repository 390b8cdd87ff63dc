/**
 * A deep MLP with optional skip connections, in the pre-activation form of He et al. (2016): an input layer
 * h = x W₀ + b₀ to `width` units, `blocks` layers h ← h + act(h) W + b (h ← act(h) W + b without skips), then a head
 * act(h) W + b. Without skips it is exactly the plain MLP of the same shape. Parameters are `w0, b0` (input layer),
 * `w1 … w{blocks}` (blocks) and the head with the largest index, so ANIL's `headNames` and every learner work
 * unchanged. Parameters may carry a leading task dimension.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import type { Params } from "../core/params";
import { activate, type ActivationName } from "../autodiff/activations";
import { dense } from "./mlp";
import { checkBoolean, checkKnownKeys } from "../core/validate";

/** Shape of a residual MLP. */
export interface ResidualMlpConfig {
  readonly input: number;
  readonly width: number;
  /** Hidden width-to-width layers after the input layer. */
  readonly blocks: number;
  readonly output: number;
  readonly activation: ActivationName;
  /** Add each block's input to its output (the skip connection); false gives a plain deep MLP of the same shape. */
  readonly residual: boolean;
  /** Blocks' initial weights are Glorot-uniform times this factor, so the sum of `blocks` branches starts small. */
  readonly blockInitScale: number;
}

/** A deep sine regressor: 1 → 40, six 40-unit blocks, 40 → 1, ReLU, with skips. */
export const DEFAULT_RESIDUAL_MLP: ResidualMlpConfig = {
  input: 1, // sine regression
  width: 40, // Finn et al.'s hidden width
  blocks: 6, // deep enough that a plain ReLU stack trains visibly worse with MAML
  output: 1, // sine regression
  activation: "relu", // the same activation as the 1-40-40-1 network
  residual: true, // the point of the model; set false for the plain baseline
  blockInitScale: 1, // plain Glorot, the same start as the MLP; use about 1/sqrt(blocks) for very deep stacks
};

function validate(c: ResidualMlpConfig): void {
  checkKnownKeys("ResidualMlp config", c, DEFAULT_RESIDUAL_MLP);
  checkBoolean("ResidualMlp", "residual", c.residual);
  for (const k of ["input", "width", "output"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`ResidualMlpConfig.${k} must be a positive integer, got ${c[k]}.`);
  }
  if (!Number.isInteger(c.blocks) || c.blocks < 0) throw new Error(`ResidualMlpConfig.blocks must be a non-negative integer, got ${c.blocks}.`);
  if (!(c.blockInitScale > 0)) throw new Error(`ResidualMlpConfig.blockInitScale must be positive, got ${c.blockInitScale}.`);
}

/** Names of the layers in order: w0 b0 (input), w1 b1 … (blocks), then the head. */
export function residualMlpParamNames(c: ResidualMlpConfig): string[] {
  return Array.from({ length: c.blocks + 2 }, (_, l) => [`w${l}`, `b${l}`]).flat();
}

/** Glorot-uniform weights and zero biases from `rng`. */
export function initResidualMlp(rng: Rng, c: ResidualMlpConfig): Params {
  validate(c);
  const sizes = [c.input, ...Array.from({ length: c.blocks + 1 }, () => c.width), c.output];
  const p: Record<string, tf.Tensor> = {};
  for (let l = 0; l + 1 < sizes.length; l++) {
    const isBlock = l >= 1 && l <= c.blocks;
    const limit = Math.sqrt(6 / (sizes[l]! + sizes[l + 1]!)) * (isBlock ? c.blockInitScale : 1);
    p[`w${l}`] = rng.uniformTensor([sizes[l]!, sizes[l + 1]!], -limit, limit);
    p[`b${l}`] = tf.zeros([sizes[l + 1]!]);
  }
  return p;
}

function need(p: Params, name: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`Residual MLP parameter "${name}" is missing; got [${Object.keys(p).join(", ")}]. Build params with initResidualMlp.`);
  return t;
}

/** Hidden features the head reads, act(h) after the last block: x [tasks, n, input] to [tasks, n, width]. */
export function residualMlpFeatures(params: Params, x: tf.Tensor, c: ResidualMlpConfig): tf.Tensor {
  let h = dense(x, need(params, "w0"), need(params, "b0"));
  for (let l = 1; l <= c.blocks; l++) {
    const f = dense(activate(c.activation, h), need(params, `w${l}`), need(params, `b${l}`));
    h = c.residual ? tf.add(h, f) : f;
  }
  return activate(c.activation, h);
}

/** Forward pass: x [tasks, n, input] to [tasks, n, output]. */
export function residualMlpApply(params: Params, x: tf.Tensor, c: ResidualMlpConfig): tf.Tensor {
  const L = c.blocks + 1;
  return dense(residualMlpFeatures(params, x, c), need(params, `w${L}`), need(params, `b${L}`));
}

/** A residual MLP bundled with its config: `apply(params, x)`, usable by every learner. */
export class ResidualMlp {
  readonly config: ResidualMlpConfig;

  constructor(config: Partial<ResidualMlpConfig> = {}) {
    this.config = { ...DEFAULT_RESIDUAL_MLP, ...config };
    validate(this.config);
  }

  /** Fresh parameters from a seeded generator. */
  init(rng: Rng): Params {
    return initResidualMlp(rng, this.config);
  }

  /** Forward pass with explicit parameters. */
  apply(params: Params, x: tf.Tensor): tf.Tensor {
    return residualMlpApply(params, x, this.config);
  }
}
