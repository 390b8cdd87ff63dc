/**
 * Elastic Weight Consolidation (Kirkpatrick et al. 2017): after each task, store the parameters θ* and the diagonal
 * of the Fisher information F there; later tasks add (λ/2) Σ_i F_i (θ_i − θ*_i)² for every stored task.
 */
import * as tf from "@tensorflow/tfjs";
import { assertSameKeys, type Params } from "../core/params";
import { valueAndGrad } from "../autodiff/functional";

/** One consolidated task: where the parameters were after it, and how much each one mattered (diagonal Fisher). */
export interface EwcAnchor {
  readonly mean: Params;
  readonly fisher: Params;
}

/**
 * Per-example log-likelihoods of examples `from .. from + count - 1`, computed with `tiled` parameters whose leading
 * dimension is `count`: example i must use slice i (metalab's MLP does this when its input is [count, 1, features]).
 * Returns [count].
 */
export type PerExampleLogLikelihood = (tiled: Params, from: number, count: number) => tf.Tensor;

/**
 * Diagonal empirical Fisher information F_i = (1/n) Σ_x (∂ log p(y|x) / ∂θ_i)² over `n` examples. Per-example
 * gradients come from one backward pass per chunk: each example gets its own copy of the parameters (a leading
 * dimension), so the gradient with respect to copy i is example i's gradient.
 */
export function fisherDiagonal(params: Params, logLikelihood: PerExampleLogLikelihood, n: number, options: { readonly chunk?: number } = {}): Params {
  const chunk = options.chunk ?? 32; // 32 copies of a 784-100-100-10 MLP are about 11 MB
  if (!Number.isInteger(n) || n < 1) throw new Error(`fisherDiagonal: n must be a positive number of examples, got ${n}.`);
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`fisherDiagonal: chunk must be a positive integer, got ${chunk}.`);
  const names = Object.keys(params);
  let sums: Record<string, tf.Tensor> = Object.fromEntries(names.map((k) => [k, tf.zerosLike(params[k]!)]));
  for (let from = 0; from < n; from += chunk) {
    const count = Math.min(chunk, n - from);
    const next = tf.tidy(() => {
      const tiled = Object.fromEntries(names.map((k) => {
        const t = params[k]!;
        return [k, tf.tile(tf.expandDims(t, 0), [count, ...t.shape.map(() => 1)])]; // [count, ...shape]
      }));
      const { value, grads } = valueAndGrad((q) => {
        const ll = logLikelihood(q, from, count);
        if (ll.rank !== 1 || ll.shape[0] !== count) throw new Error(`fisherDiagonal: the log-likelihood must return [${count}] (one value per example), got [${ll.shape}].`);
        return tf.sum(ll) as tf.Scalar;
      })(tiled);
      value.dispose();
      return Object.fromEntries(names.map((k) => [k, tf.add(sums[k]!, tf.sum(tf.square(grads[k]!), 0))]));
    });
    for (const t of Object.values(sums)) t.dispose();
    sums = next;
  }
  const out = Object.fromEntries(names.map((k) => [k, tf.div(sums[k]!, n)]));
  for (const t of Object.values(sums)) t.dispose();
  return out;
}

/** (λ/2) Σ_anchors Σ_i F_i (θ_i − θ*_i)²; differentiable in `params`; 0 when there is no anchor yet. */
export function ewcPenalty(params: Params, anchors: readonly EwcAnchor[], lambda: number): tf.Scalar {
  if (!(lambda >= 0)) throw new Error(`ewcPenalty: lambda must be >= 0, got ${lambda}.`);
  if (anchors.length === 0 || lambda === 0) return tf.scalar(0);
  const terms: tf.Tensor[] = [];
  for (const a of anchors) {
    assertSameKeys(params, a.mean);
    assertSameKeys(params, a.fisher);
    for (const k of Object.keys(params)) terms.push(tf.sum(tf.mul(a.fisher[k]!, tf.square(tf.sub(params[k]!, a.mean[k]!)))));
  }
  return tf.mul(tf.addN(terms), lambda / 2) as tf.Scalar;
}

/**
 * One anchor with the same penalty gradient as all of `anchors`: Σ_a F_a (θ − θ*_a)² = F (θ − θ*)² + const with
 * F = Σ_a F_a and θ* = Σ_a F_a θ*_a / F (θ* = 0 where F = 0). Exact, unlike online EWC (Schwarz et al. 2018), and the
 * penalty then costs one term per parameter however many tasks came before.
 */
export function mergeAnchors(anchors: readonly EwcAnchor[]): EwcAnchor {
  if (anchors.length === 0) throw new Error("mergeAnchors needs at least one anchor.");
  const names = Object.keys(anchors[0]!.mean);
  for (const a of anchors) {
    assertSameKeys(anchors[0]!.mean, a.mean);
    assertSameKeys(anchors[0]!.mean, a.fisher);
  }
  const fisher: Record<string, tf.Tensor> = {};
  const mean: Record<string, tf.Tensor> = {};
  for (const k of names) {
    const [f, m] = tf.tidy(() => {
      const F = tf.addN(anchors.map((a) => a.fisher[k]!));
      const weighted = tf.addN(anchors.map((a) => tf.mul(a.fisher[k]!, a.mean[k]!)));
      return [F, tf.where(tf.greater(F, 0), tf.div(weighted, tf.maximum(F, 1e-30)), tf.zerosLike(F))];
    });
    fisher[k] = f!;
    mean[k] = m!;
  }
  return { mean, fisher };
}

/** Disposes an anchor's tensors. */
export function disposeAnchor(a: EwcAnchor): void {
  for (const t of [...Object.values(a.mean), ...Object.values(a.fisher)]) t.dispose();
}
