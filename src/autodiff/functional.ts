/**
 * Functional gradients over named-tensor records: `grad(f)(params)`, in the style of JAX and torch.func.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { stopGradient } from "./activations";

/** A scalar-valued function of a parameter record. */
export type ParamFn = (p: Params) => tf.Scalar;

function namesOf(p: Params): string[] {
  const names = Object.keys(p);
  if (names.length === 0) throw new Error("Cannot differentiate with respect to an empty parameter record.");
  return names;
}

function record(names: readonly string[], ts: readonly tf.Tensor[]): Params {
  const out: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => (out[n] = ts[i]!));
  return out;
}

/**
 * Value and gradient of `f` at `p`; differentiable again, so it nests for second order.
 * A parameter `f` does not use gets a zero gradient (as in JAX), instead of tf.grads' error.
 */
export function valueAndGrad(f: ParamFn): (p: Params) => { value: tf.Scalar; grads: Params } {
  return (p) => {
    const names = namesOf(p);
    const xs = names.map((n) => p[n]!);
    const { value, grads } = tf.engine().gradients(() => {
      const v = f(record(names, xs));
      if (!(v instanceof tf.Tensor)) throw new Error("valueAndGrad: f must return a tf.Scalar (a tensor), not a number. Wrap it with tf.scalar.");
      if (v.rank !== 0) throw new Error(`valueAndGrad needs a scalar loss, got shape [${v.shape}]. Reduce it with tf.mean or tf.sum.`);
      return v;
    }, xs, undefined, true);
    // engine.gradients returns null (typed as Tensor) for inputs f does not reach.
    const filled = xs.map((x, i) => grads[i] ?? tf.zerosLike(x));
    return { value: value as tf.Scalar, grads: record(names, filled) };
  };
}

/** Gradient of `f` at `p`, as a record with the same names. */
export function grad(f: ParamFn): (p: Params) => Params {
  const vg = valueAndGrad(f);
  return (p) => {
    const { value, grads } = vg(p);
    value.dispose();
    return grads;
  };
}

/** Hessian-vector product H(p) v by differentiating <grad f(p), v> (forward-over-reverse is not in tfjs). */
export function hvp(f: ParamFn, p: Params, v: Params): Params {
  return grad((q) => {
    const g = grad(f)(q);
    const terms = Object.keys(g).map((k) => tf.sum(tf.mul(g[k]!, stopGradient(v[k]!))));
    return tf.addN(terms) as tf.Scalar;
  })(p);
}

/** Calls a model's apply function with an explicit parameter record (torch.func.functional_call). */
export function functionalCall<X, Y>(model: { apply(params: Params, x: X): Y }, params: Params, x: X): Y {
  return model.apply(params, x);
}
