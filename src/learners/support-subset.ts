/**
 * The subset strategy: each inner step of a task adapts on a random subset of its support set, as Reptile's inner
 * minibatches do (Nichol et al. 2018), so a large task costs a small task's memory per step while every step sees
 * different points.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../core/random";
import type { SupportSet } from "./adapt-sgd";

/** Which support points each inner step uses. */
export interface SubsetOptions {
  /** Points per task per inner step; null (or at least the support size) uses them all. */
  readonly innerBatch: number | null;
  /** Seed of the subsets; outer step and inner step each fork their own stream from it. */
  readonly subsetSeed: number;
}

/**
 * The support points inner step `s` of outer step `outerStep` uses: `support` itself, or `innerBatch` points per task
 * drawn without replacement from a stream fixed by (subsetSeed, outerStep, s). New tensors in the second case.
 */
export function innerSupport(support: SupportSet | { readonly supportX: tf.Tensor; readonly supportY: tf.Tensor }, o: SubsetOptions, outerStep: number, s: number): SupportSet {
  const x = "x" in support ? support.x : support.supportX;
  const y = "y" in support ? support.y : support.supportY;
  const [tasks, shots] = x.shape as [number, number, number];
  if (o.innerBatch === null || o.innerBatch >= shots) return { x, y };
  if (!(Number.isInteger(o.innerBatch) && o.innerBatch >= 1)) throw new Error(`innerBatch must be a positive integer or null, got ${o.innerBatch}.`);
  const size = o.innerBatch;
  const rng = new Rng(o.subsetSeed).fork(`outer ${outerStep}`).fork(`inner ${s}`);
  const idx: number[] = []; // row indices into the [tasks * shots] flattened support set
  for (let t = 0; t < tasks; t++) idx.push(...rng.permutation(shots).slice(0, size).map((i) => t * shots + i));
  const pick = (a: tf.Tensor): tf.Tensor => {
    const d = a.shape[2]!;
    return tf.reshape(tf.gather(tf.reshape(a, [tasks * shots, d]), tf.tensor1d(idx, "int32")), [tasks, size, d]); // [tasks, innerBatch, d]
  };
  return tf.tidy(() => ({ x: pick(x), y: pick(y) }));
}
