/**
 * Plain gradient descent over parameter records.
 */
import * as tf from "@tensorflow/tfjs";
import { zipParams, type Params } from "../core/params";

/** θ − lr·g per name; pure (inputs are not disposed). */
export function sgdStep(params: Params, grads: Params, lr: number): Params {
  return zipParams(params, grads, (p, g) => tf.tidy(() => tf.sub(p, tf.mul(g, lr))));
}
