/**
 * Gradient clipping by global norm (Pascanu et al. 2013).
 */
import * as tf from "@tensorflow/tfjs";
import { globalNorm, mapParams, type Params } from "../core/params";

/** Scales all gradients by min(1, maxNorm / ‖g‖₂) over the whole record; returns new tensors and the norm before clipping. */
export function clipByGlobalNorm(grads: Params, maxNorm: number): { grads: Params; norm: number } {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm needs a positive maxNorm, got ${maxNorm}.`);
  const norm = globalNorm(grads);
  const scale = norm > maxNorm ? maxNorm / norm : 1;
  return { grads: mapParams(grads, (g) => tf.mul(g, scale)), norm };
}
