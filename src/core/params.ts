/**
 * Parameters are plain named-tensor records: `{ w0: Tensor, b0: Tensor, ... }`, always passed first.
 */
import * as tf from "@tensorflow/tfjs";

/** A read-only record of named tensors: the parameter type used everywhere. */
export type Params = Readonly<Record<string, tf.Tensor>>;

/** Applies `f` to every tensor, keeping names. */
export function mapParams(p: Params, f: (t: tf.Tensor, name: string) => tf.Tensor): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(p)) out[k] = f(p[k]!, k);
  return out;
}

/** Combines two records with the same names element by element. */
export function zipParams(a: Params, b: Params, f: (x: tf.Tensor, y: tf.Tensor, name: string) => tf.Tensor): Params {
  assertSameKeys(a, b);
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(a)) out[k] = f(a[k]!, b[k]!, k);
  return out;
}

/** `a + scale * b`, per name: the SGD step when `scale` is `-lr`. */
export function addScaled(a: Params, b: Params, scale: number | Readonly<Record<string, tf.Scalar | number>>): Params {
  return zipParams(a, b, (x, y, k) => {
    const s = typeof scale === "number" ? scale : scale[k];
    if (s === undefined) throw new Error(`addScaled: no scale for parameter "${k}". Give one per name, or a single number.`);
    return tf.add(x, tf.mul(y, s));
  });
}

/** Throws a helpful error if two records do not name the same tensors. */
export function assertSameKeys(a: Params, b: Params): void {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    throw new Error(`Parameter records differ: [${ka.join(", ")}] vs [${kb.join(", ")}]. Build both from the same model.`);
  }
}

/** Disposes every tensor in a record. */
export function disposeParams(p: Params): void {
  for (const k of Object.keys(p)) p[k]!.dispose();
}

/** Deep copy (new tensors that survive disposal of the original). */
export function cloneParams(p: Params): Params {
  return mapParams(p, (t) => t.clone());
}

/** Global L2 norm over all tensors in a record, as a number. */
export function globalNorm(p: Params): number {
  return tf.tidy(() => {
    const sq = Object.values(p).map((t) => tf.sum(tf.square(t)));
    return Math.sqrt(sq.length ? tf.addN(sq).dataSync()[0]! : 0);
  });
}

/** Adds a leading task dimension by tiling: `[...shape]` becomes `[tasks, ...shape]`. */
export function tileForTasks(p: Params, tasks: number): Params {
  return mapParams(p, (t) => tf.tile(tf.expandDims(t, 0), [tasks, ...t.shape.map(() => 1)]));
}

/** Total number of scalar parameters. */
export function countParams(p: Params): number {
  return Object.values(p).reduce((n, t) => n + t.size, 0);
}
