/**
 * Activations with correct second derivatives.
 * TensorFlow.js 4.22 differentiates tanh, sigmoid, exp and softmax through their saved outputs, which drops the
 * dependence on the input and gives wrong Hessian-vector products (tfjs issue 3252). Each custom gradient here saves
 * the input and recomputes, so `grad(grad(f))` is right.
 */
import * as tf from "@tensorflow/tfjs";

/** Names of the activations metalab offers. */
export const ACTIVATIONS = ["relu", "tanh", "sigmoid", "softplus", "exp", "identity"] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Builds a unary op whose gradient `dy * derivative(x)` is recomputed from the saved input, so it nests correctly. */
function unaryWithRecomputedGrad(forward: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      value: forward(x),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.mul(dy as tf.Tensor, derivative(saved[0]!)),
    };
  });
  return (x) => op(x);
}

/** tanh with a recomputing gradient: d tanh = 1 - tanh(x)^2. */
export const tanh = unaryWithRecomputedGrad(tf.tanh, (x) => tf.sub(1, tf.square(tf.tanh(x))));

/** sigmoid with a recomputing gradient: d s = s(x) (1 - s(x)). */
export const sigmoid = unaryWithRecomputedGrad(tf.sigmoid, (x) => {
  const s = tf.sigmoid(x);
  return tf.mul(s, tf.sub(1, s));
});

/** exp with a recomputing gradient: d exp = exp(x). */
export const exp = unaryWithRecomputedGrad(tf.exp, (x) => tf.exp(x));

/** Identity in the forward pass with a zero gradient (tfjs has no stopGradient). */
export const stopGradient = (() => {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    return { value: tf.clone(x), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
  });
  return (x: tf.Tensor): tf.Tensor => op(x);
})();

/** Max over the last axis (keeping it) with a zero gradient; the max runs inside the custom op, so no Equal is taped. */
const rowMaxNoGrad = (() => {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return { value: tf.max(x, -1, true), gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.zerosLike(saved[0]!) };
  });
  return (x: tf.Tensor): tf.Tensor => op(x);
})();

/** Log-softmax over the last axis, built from ops whose second derivatives are right. */
export function logSoftmax(logits: tf.Tensor): tf.Tensor {
  const m = rowMaxNoGrad(logits); // [..., 1], a constant shift: log-softmax does not depend on it
  const shifted = tf.sub(logits, m);
  return tf.sub(shifted, tf.log(tf.sum(exp(shifted), -1, true)));
}

/** Softmax over the last axis with correct second derivatives. */
export function softmax(logits: tf.Tensor): tf.Tensor {
  return exp(logSoftmax(logits));
}

/** Applies an activation by name. relu and softplus are already right to second order in tfjs. */
export function activate(name: ActivationName, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case "relu":
      return tf.relu(x);
    case "tanh":
      return tanh(x);
    case "sigmoid":
      return sigmoid(x);
    case "softplus":
      return tf.softplus(x);
    case "exp":
      return exp(x);
    case "identity":
      return x;
  }
}
