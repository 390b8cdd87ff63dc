/**
 * Synthetic N-way K-shot classification: Gaussian blobs around class prototypes, with labels permuted per task.
 * Needs no download; every number comes from the passed-in `Rng`.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../core/random";
import { checkConfig, checkFinite, checkInteger, checkNonNegative, checkPositive } from "../core/validate";
import { batchSpec, type BatchSpec, type TaskBatch, type TaskFamily } from "./task-family";

/** Shape of the blob family. */
export interface BlobClassificationConfig {
  /** N, the number of classes per task. */
  readonly ways: number;
  /** Input dimension d. */
  readonly dim: number;
  /** Size of the global pool of prototypes that tasks draw N from; 0 draws fresh prototypes for every task. */
  readonly poolSize: number;
  /** Standard deviation of each prototype coordinate. */
  readonly prototypeStd: number;
  /** Standard deviation of points around their prototype (per coordinate). */
  readonly noiseStd: number;
  /** Standard deviation of a per-task offset added to every input of the task (a domain shift; 0 for none). */
  readonly taskShiftStd: number;
  /** Seed of the prototype pool, so the same config always means the same family. */
  readonly poolSeed: number;
}

/** Default blob family: 5-way in 8 dimensions from a pool of 64 prototypes. */
export const DEFAULT_BLOBS: BlobClassificationConfig = {
  ways: 5, // 5-way, the usual few-shot setting
  dim: 8, // small enough for fast tests, large enough that blobs rarely overlap
  poolSize: 64, // shared structure across tasks (like Omniglot characters), so meta-learning has something to learn
  prototypeStd: 1, // prototypes spread at unit scale
  noiseStd: 0.5, // overlapping enough that a 1-shot learner errs sometimes
  taskShiftStd: 0, // no domain shift by default
  poolSeed: 1234, // fixed pool: the family is a fixed distribution
};

/** Checks a blob family's config field by field (unknown keys are errors); returns it unchanged. */
export function blobClassificationConfig(c: BlobClassificationConfig, who = "BlobClassification"): BlobClassificationConfig {
  checkConfig(who, c, DEFAULT_BLOBS, { name: "config", hint: "Start from DEFAULT_BLOBS: { ...DEFAULT_BLOBS, ways: 5 }.", keysWho: `${who} config` });
  checkInteger(who, "ways", c.ways, 2, "A task needs at least two classes.");
  checkInteger(who, "dim", c.dim, 1);
  if (c.poolSize !== 0) checkInteger(who, "poolSize", c.poolSize, c.ways, "Use 0 for fresh prototypes per task, or a pool of at least `ways` prototypes.");
  checkPositive(who, "prototypeStd", c.prototypeStd);
  checkNonNegative(who, "noiseStd", c.noiseStd, "Use 0 for points exactly on their prototype.");
  checkNonNegative(who, "taskShiftStd", c.taskShiftStd, "Use 0 for no domain shift.");
  checkFinite(who, "poolSeed", c.poolSeed);
  return c;
}

/**
 * N-way K-shot Gaussian-blob classification. `spec.shots` and `spec.queries` count points PER CLASS (the N-way
 * K-shot convention), so supportX is [tasks, ways * shots, dim] and supportY one-hot [tasks, ways * shots, ways].
 * Points are shuffled within each set; class labels are a random permutation per task.
 */
export class BlobClassification implements TaskFamily {
  readonly name: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly loss = "cross-entropy" as const;
  /** Global prototype pool, [poolSize][dim], or empty when prototypes are fresh per task. */
  private readonly pool: Float32Array[];

  constructor(readonly config: BlobClassificationConfig = DEFAULT_BLOBS) {
    const c = blobClassificationConfig(config);
    this.name = `blobs-${c.ways}way-${c.dim}d`;
    this.inputSize = c.dim;
    this.outputSize = c.ways;
    this.pool = [];
    if (c.poolSize > 0) {
      const poolRng = new Rng(c.poolSeed);
      for (let i = 0; i < c.poolSize; i++) this.pool.push(poolRng.normalArray(c.dim, 0, c.prototypeStd));
    }
  }

  /** Prototypes of one task: N rows of length dim, row j is the centre of label j. */
  samplePrototypes(rng: Rng): Float32Array[] {
    const c = this.config;
    if (c.poolSize === 0) return Array.from({ length: c.ways }, () => rng.normalArray(c.dim, 0, c.prototypeStd));
    // A random subset of the pool in random order: the order is the label permutation.
    return rng.permutation(c.poolSize).slice(0, c.ways).map((i) => this.pool[i]!);
  }

  /**
   * Labelled points of every pool class with the pool index as label (no permutation): one big supervised problem,
   * x [1, poolSize * perClass, dim] and one-hot y [1, poolSize * perClass, poolSize], for pretraining a classifier.
   */
  samplePool(rng: Rng, perClass: number): { x: tf.Tensor3D; y: tf.Tensor3D } {
    const c = this.config;
    if (c.poolSize === 0) throw new Error("BlobClassification.samplePool needs a prototype pool; set poolSize > 0.");
    const P = c.poolSize;
    const n = P * perClass;
    const x = new Float32Array(n * c.dim);
    const y = new Float32Array(n * P);
    const order = rng.permutation(n);
    for (let i = 0; i < n; i++) {
      const label = order[i]! % P;
      const proto = this.pool[label]!;
      for (let d = 0; d < c.dim; d++) x[i * c.dim + d] = proto[d]! + rng.normal(0, c.noiseStd);
      y[i * P + label] = 1;
    }
    return { x: tf.tensor3d(x, [1, n, c.dim]), y: tf.tensor3d(y, [1, n, P]) };
  }

  /** Samples a meta-batch; `shots` and `queries` are per class. */
  sample(rng: Rng, spec: BatchSpec): TaskBatch {
    const c = this.config;
    batchSpec(spec, "BlobClassification.sample");
    const nS = c.ways * spec.shots;
    const nQ = c.ways * spec.queries;
    const sx = new Float32Array(spec.tasks * nS * c.dim);
    const sy = new Float32Array(spec.tasks * nS * c.ways);
    const qx = new Float32Array(spec.tasks * nQ * c.dim);
    const qy = new Float32Array(spec.tasks * nQ * c.ways);
    for (let t = 0; t < spec.tasks; t++) {
      const protos = this.samplePrototypes(rng);
      const shift = c.taskShiftStd > 0 ? rng.normalArray(c.dim, 0, c.taskShiftStd) : new Float32Array(c.dim);
      fillSet(rng, protos, shift, c, spec.shots, sx, sy, t * nS);
      fillSet(rng, protos, shift, c, spec.queries, qx, qy, t * nQ);
    }
    return {
      supportX: tf.tensor3d(sx, [spec.tasks, nS, c.dim]),
      supportY: tf.tensor3d(sy, [spec.tasks, nS, c.ways]),
      queryX: tf.tensor3d(qx, [spec.tasks, nQ, c.dim]),
      queryY: tf.tensor3d(qy, [spec.tasks, nQ, c.ways]),
    };
  }
}

/** Writes `perClass` points of every class, in shuffled order, starting at point index `offset`. */
function fillSet(rng: Rng, protos: readonly Float32Array[], shift: Float32Array, c: BlobClassificationConfig, perClass: number, x: Float32Array, y: Float32Array, offset: number): void {
  const labels: number[] = [];
  for (let j = 0; j < c.ways; j++) for (let k = 0; k < perClass; k++) labels.push(j);
  const order = rng.permutation(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[order[i]!]!;
    const p = protos[label]!;
    const row = (offset + i) * c.dim;
    for (let d = 0; d < c.dim; d++) x[row + d] = p[d]! + shift[d]! + rng.normal(0, c.noiseStd);
    y[(offset + i) * c.ways + label] = 1;
  }
}

/** Class index of each row of one-hot targets [1, n, k] (the first maximum on ties). */
export function oneHotLabels(y: tf.Tensor): Int32Array {
  const d = y.dataSync();
  const k = y.shape[2]!;
  return Int32Array.from({ length: d.length / k }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (d[i * k + j]! > d[i * k + best]!) best = j;
    return best;
  });
}

/** Points of a batch as flat rows for plotting: task, set ("support" | "query"), the first two inputs and the label. */
export function classificationRows(batch: TaskBatch): { task: number; set: string; x0: number; x1: number; label: number }[] {
  const out: { task: number; set: string; x0: number; x1: number; label: number }[] = [];
  const add = (x: tf.Tensor, y: tf.Tensor, set: string): void => {
    const xs = x.arraySync() as number[][][];
    const labels = tf.tidy(() => tf.argMax(y, -1).arraySync() as number[][]);
    xs.forEach((task, t) => task.forEach((p, i) => out.push({ task: t, set, x0: p[0]!, x1: p.length > 1 ? p[1]! : 0, label: labels[t]![i]! })));
  };
  add(batch.supportX, batch.supportY, "support");
  add(batch.queryX, batch.queryY, "query");
  return out;
}
