/**
 * Functional Adam (Kingma & Ba 2015) over parameter records: a pure step that returns new params and state.
 */
import * as tf from "@tensorflow/tfjs";
import { mapParams, assertSameKeys, type Params } from "../core/params";

/** Adam hyper-parameters. */
export interface AdamConfig {
  /** Step size; 1e-3 is Finn et al.'s meta learning rate. */
  readonly lr: number;
  /** First-moment decay; 0.9 is the paper's default. */
  readonly beta1: number;
  /** Second-moment decay; 0.999 is the paper's default. */
  readonly beta2: number;
  /** Denominator guard; 1e-8 matches PyTorch and the paper. */
  readonly eps: number;
}

/** Defaults of Adam (PyTorch's, which the reference run uses). */
export const DEFAULT_ADAM: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Adam's moments and step count. */
export interface AdamState {
  /** Number of steps taken so far. */
  readonly step: number;
  /** First-moment estimates, same names and shapes as the params. */
  readonly m: Params;
  /** Second-moment estimates. */
  readonly v: Params;
}

/** Zero moments for `params`. */
export function initAdam(params: Params): AdamState {
  return { step: 0, m: mapParams(params, (t) => tf.zerosLike(t)), v: mapParams(params, (t) => tf.zerosLike(t)) };
}

/**
 * One bias-corrected Adam step. Pure: inputs are not disposed; the caller owns the returned tensors
 * (see `disposeAdam`). Names in `grads` must match `params`.
 */
export function adamStep(params: Params, grads: Params, state: AdamState, config: Partial<AdamConfig> = {}): { params: Params; state: AdamState } {
  const c = { ...DEFAULT_ADAM, ...config };
  assertSameKeys(params, grads);
  assertSameKeys(params, state.m);
  const step = state.step + 1;
  const bc1 = 1 - Math.pow(c.beta1, step);
  const bc2 = 1 - Math.pow(c.beta2, step);
  const out: Record<string, tf.Tensor> = {};
  const m: Record<string, tf.Tensor> = {};
  const v: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(params)) {
    const g = grads[k]!;
    const [p1, m1, v1] = tf.tidy(() => {
      const mk = tf.add(tf.mul(state.m[k]!, c.beta1), tf.mul(g, 1 - c.beta1));
      const vk = tf.add(tf.mul(state.v[k]!, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
      const update = tf.div(tf.div(mk, bc1), tf.add(tf.sqrt(tf.div(vk, bc2)), c.eps));
      return [tf.sub(params[k]!, tf.mul(update, c.lr)), mk, vk];
    });
    out[k] = p1!;
    m[k] = m1!;
    v[k] = v1!;
  }
  return { params: out, state: { step, m, v } };
}

/** Disposes Adam's moment tensors. */
export function disposeAdam(state: AdamState): void {
  for (const t of [...Object.values(state.m), ...Object.values(state.v)]) t.dispose();
}
