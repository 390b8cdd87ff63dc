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

/** Value and gradient of `f` at `p`; differentiable again, so it nests for second order. */
export function valueAndGrad(f: ParamFn): (p: Params) => { value: tf.Scalar; grads: Params } {
  return (p) => {
    const names = namesOf(p);
    const g = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      const value = f(record(names, xs));
      if (value.rank !== 0) throw new Error(`valueAndGrad needs a scalar loss, got shape [${value.shape}]. Reduce it with tf.mean or tf.sum.`);
      return value;
    });
    const { value, grads } = g(names.map((n) => p[n]!));
    return { value: value as tf.Scalar, grads: record(names, grads) };
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
