/**
 * Representation similarity by linear centred kernel alignment (CKA; Kornblith et al. 2019), the measure used to ask
 * whether MAML's inner loop changes a network's features or only its head (Raghu et al. 2020 used CCA, which CKA
 * refines). CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) on column-centred activations: 1 when the two representations
 * agree up to rotation and scale, near 0 when unrelated.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { activate } from "../autodiff/activations";
import { dense, type MlpConfig } from "../models/mlp";

/** Linear CKA per task between X [tasks, n, d1] and Y [tasks, n, d2] (the same n points): [tasks]. */
export function linearCka(x: tf.Tensor, y: tf.Tensor): Float32Array {
  if (x.rank !== 3 || y.rank !== 3 || x.shape[0] !== y.shape[0] || x.shape[1] !== y.shape[1]) {
    throw new Error(`linearCka expects X [tasks, n, d1] and Y [tasks, n, d2] on the same points, got [${x.shape}] and [${y.shape}].`);
  }
  return tf.tidy(() => {
    const xc = tf.sub(x, tf.mean(x, 1, true)); // centre each feature over the points
    const yc = tf.sub(y, tf.mean(y, 1, true));
    const fro2 = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.square(tf.matMul(a, b, true, false)), [1, 2]); // ‖aᵀb‖²_F per task
    const num = fro2(yc, xc);
    const den = tf.sqrt(tf.mul(fro2(xc, xc), fro2(yc, yc)));
    return tf.div(num, tf.add(den, 1e-30)).dataSync() as Float32Array;
  });
}

/** Every layer's output of an MLP (hidden activations, then the linear output): x [tasks, n, in] to a list of [tasks, n, width]. */
export function mlpLayerOutputs(params: Params, x: tf.Tensor, config: MlpConfig): tf.Tensor[] {
  const L = config.sizes.length - 1;
  const out: tf.Tensor[] = [];
  let h = x;
  for (let l = 0; l < L; l++) {
    const w = params[`w${l}`];
    const b = params[`b${l}`];
    if (!w || !b) throw new Error(`mlpLayerOutputs: parameter w${l} or b${l} is missing; build params for this MlpConfig.`);
    const z = dense(h, w, b);
    h = l < L - 1 ? activate(config.activation, z) : z;
    out.push(h);
  }
  return out;
}

/**
 * How much each layer's representation changes when `before` (shared) becomes `after` (task-batched, e.g. adapted by
 * an inner loop), measured by CKA on the inputs `x` [tasks, n, in] and averaged over tasks: one number per layer.
 */
export function layerSimilarity(before: Params, after: Params, x: tf.Tensor, config: MlpConfig): number[] {
  return tf.tidy(() => {
    const a = mlpLayerOutputs(before, x, config);
    const b = mlpLayerOutputs(after, x, config);
    return a.map((t, l) => {
      const c = linearCka(t, b[l]!);
      return c.reduce((s, v) => s + v, 0) / c.length;
    });
  });
}
