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

/** The typed-array form: scales `g` in place (rounding to float32) by min(1, maxNorm / ‖g‖₂); returns the norm before clipping. */
export function clipFlatByGlobalNorm(g: Float32Array, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipFlatByGlobalNorm needs a positive maxNorm, got ${maxNorm}.`);
  let sq = 0;
  for (let j = 0; j < g.length; j++) sq += g[j]! * g[j]!;
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) {
    const scale = maxNorm / norm;
    for (let j = 0; j < g.length; j++) g[j] = g[j]! * scale;
  }
  return norm;
}
