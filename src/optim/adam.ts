/**
 * Adam (Kingma & Ba 2015) in two forms that give the same numbers bit for bit: a pure step over named-tensor records
 * (`adamStep`) and the same float32 arithmetic over flat typed arrays (`adamUpdate`, `flatAdamStep`), which the fast
 * paths use so a meta-step makes no tensor round trip.
 */
import * as tf from "@tensorflow/tfjs";
import { mapParams, assertSameKeys, type Params } from "../core/params";
import { checkNonNegative, checkPositive, checkRange, withDefaults } from "../core/validate";

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

/** Adam's config with defaults filled in; throws a fix-it error for an unknown key or a value out of range. */
export function adamConfig(config: Partial<AdamConfig> = {}): AdamConfig {
  const c = withDefaults("Adam", config, DEFAULT_ADAM, { name: "config", keysWho: "Adam config" });
  checkNonNegative("Adam", "lr", c.lr, "The usual value is 1e-3 (0 only at the end of an annealed schedule)."); // a schedule may reach 0
  checkRange("Adam", "beta1", c.beta1, 0, 1, { hi: true }, "The paper's value is 0.9.");
  checkRange("Adam", "beta2", c.beta2, 0, 1, { hi: true }, "The paper's value is 0.999.");
  checkPositive("Adam", "eps", c.eps, "The paper's value is 1e-8.");
  return c;
}

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
  const c = adamConfig(config);
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

/** Adam's moments over a flat parameter vector (the typed-array form of `AdamState`). */
export interface FlatAdamState {
  /** Number of steps taken so far. */
  readonly step: number;
  /** First-moment estimates, one per parameter. */
  readonly m: Float32Array;
  /** Second-moment estimates. */
  readonly v: Float32Array;
}

/** Zero moments for `n` parameters. */
export function initFlatAdam(n: number): FlatAdamState {
  return { step: 0, m: new Float32Array(n), v: new Float32Array(n) };
}

/**
 * Step `step` (1-based) of Adam in place on flat arrays. Every operation is rounded to float32 in the order
 * `adamStep` runs its tensor ops, so both forms give identical bits (tested on the wasm and cpu backends).
 */
export function adamUpdate(theta: Float32Array | Float64Array, grad: ArrayLike<number>, m: Float32Array, v: Float32Array, step: number, config: Partial<AdamConfig> = {}): void {
  const c = { ...DEFAULT_ADAM, ...config };
  const n = theta.length;
  if (grad.length !== n || m.length !== n || v.length !== n) throw new Error(`adamUpdate: theta, grad, m and v need the same length, got ${n}, ${grad.length}, ${m.length}, ${v.length}.`);
  if (!Number.isInteger(step) || step < 1) throw new Error(`adamUpdate: step is 1-based, got ${step}.`);
  const f = Math.fround;
  const b1 = f(c.beta1);
  const c1 = f(1 - c.beta1);
  const b2 = f(c.beta2);
  const c2 = f(1 - c.beta2);
  const bc1 = f(1 - Math.pow(c.beta1, step));
  const bc2 = f(1 - Math.pow(c.beta2, step));
  const eps = f(c.eps);
  const lr = f(c.lr);
  for (let j = 0; j < n; j++) {
    const g = f(grad[j]!);
    const mj = f(f(m[j]! * b1) + f(g * c1));
    const vj = f(f(v[j]! * b2) + f(f(g * g) * c2));
    m[j] = mj;
    v[j] = vj;
    const update = f(f(mj / bc1) / f(f(Math.sqrt(f(vj / bc2))) + eps));
    theta[j] = f(theta[j]! - f(update * lr));
  }
}

/** One Adam step on flat arrays. Pure: returns new arrays and leaves `theta` and `state` intact. */
export function flatAdamStep(theta: Float32Array, grad: ArrayLike<number>, state: FlatAdamState, config: Partial<AdamConfig> = {}): { theta: Float32Array; state: FlatAdamState } {
  const next = Float32Array.from(theta);
  const m = Float32Array.from(state.m);
  const v = Float32Array.from(state.v);
  adamUpdate(next, grad, m, v, state.step + 1, config);
  return { theta: next, state: { step: state.step + 1, m, v } };
}
