import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { classificationAccuracy } from "../../src/models/losses";
import { BlobClassification, DEFAULT_BLOBS, oneHotLabels } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";

describe("BlobClassification", () => {
  const fam = new BlobClassification();

  it("gives N-way K-shot shapes with balanced one-hot labels", () => {
    const b = fam.sample(new Rng(0), { tasks: 3, shots: 2, queries: 4 });
    expect(b.supportX.shape).toEqual([3, 10, 8]);
    expect(b.supportY.shape).toEqual([3, 10, 5]);
    expect(b.queryX.shape).toEqual([3, 20, 8]);
    const counts = tf.sum(b.supportY, 1).arraySync() as number[][];
    for (const row of counts) expect(row).toEqual([2, 2, 2, 2, 2]);
    const rowSums = tf.sum(b.queryY, 2).dataSync();
    expect(Array.from(rowSums).every((v) => v === 1)).toBe(true);
    disposeBatch(b);
  });

  it("is seeded: same seed, same batch; different seed, different batch", () => {
    const a = fam.sample(new Rng(5), { tasks: 2, shots: 1, queries: 1 });
    const b = fam.sample(new Rng(5), { tasks: 2, shots: 1, queries: 1 });
    const c = fam.sample(new Rng(6), { tasks: 2, shots: 1, queries: 1 });
    expect(Array.from(a.supportX.dataSync())).toEqual(Array.from(b.supportX.dataSync()));
    expect(Array.from(a.supportX.dataSync())).not.toEqual(Array.from(c.supportX.dataSync()));
    [a, b, c].forEach(disposeBatch);
  });

  it("permutes labels per task: the same prototype gets different labels across tasks", () => {
    // With a pool of exactly N prototypes every task uses the same N centres, so only the label order differs.
    const small = new BlobClassification({ ...DEFAULT_BLOBS, poolSize: 5, noiseStd: 0 });
    const protos = [0, 1, 2, 3].map((s) => small.samplePrototypes(new Rng(s)).map((p) => p[0]!));
    const orders = protos.map((p) => JSON.stringify(p));
    expect(new Set(orders).size).toBeGreaterThan(1);
    expect(new Set(protos.map((p) => JSON.stringify([...p].sort()))).size).toBe(1);
  });

  it("nearest-prototype classification from the support mean is well above chance", () => {
    const b = fam.sample(new Rng(1), { tasks: 4, shots: 5, queries: 10 });
    const logits = tf.tidy(() => {
      const counts = tf.sum(b.supportY, 1); // [tasks, ways]
      const centres = tf.div(tf.matMul(b.supportY, b.supportX, true, false), tf.expandDims(counts, 2)); // [tasks, ways, dim]
      const d = tf.sum(tf.square(tf.sub(tf.expandDims(b.queryX, 2), tf.expandDims(centres, 1))), -1); // [tasks, q, ways]
      return tf.neg(d);
    });
    expect(classificationAccuracy(logits, b.queryY)).toBeGreaterThan(0.8);
    logits.dispose();
    disposeBatch(b);
  });

  it("rejects bad configs with a fix", () => {
    expect(() => new BlobClassification({ ...DEFAULT_BLOBS, poolSize: 3 })).toThrow(/poolSize/);
  });
});

describe("BlobClassification.samplePool", () => {
  it("labels points by pool index, balanced, and centred on the pool prototypes", () => {
    const fam = new BlobClassification({ ...DEFAULT_BLOBS, poolSize: 6, noiseStd: 0.01 });
    const { x, y } = fam.samplePool(new Rng(0), 3);
    expect(x.shape).toEqual([1, 18, 8]);
    expect(y.shape).toEqual([1, 18, 6]);
    expect(Array.from(tf.sum(y, 1).dataSync())).toEqual([3, 3, 3, 3, 3, 3]);
  });
});

describe("oneHotLabels", () => {
  it("reads the class index of each one-hot row [1, n, k]", () => {
    const y = tf.tensor3d([[[0, 1, 0], [1, 0, 0], [0, 0, 1]]]);
    expect(Array.from(oneHotLabels(y))).toEqual([1, 0, 2]);
    y.dispose();
  });
});
