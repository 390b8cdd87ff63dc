import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, tileForTasks } from "../../src/core/params";
import { initMlp, mlpApply } from "../../src/models/mlp";
import { layerSimilarity, linearCka, mlpLayerOutputs } from "../../src/eval/cka";

describe("linear CKA", () => {
  it("is 1 for a rotated and scaled copy, below 1 for different features, and matches a float64 computation", () => {
    const rng = new Rng(0);
    const x = rng.normalTensor([1, 30, 3]);
    const q = tf.tensor2d([[0, -1, 0], [1, 0, 0], [0, 0, 1]]); // a rotation
    const y = tf.mul(tf.matMul(x, q), 3);
    expect(linearCka(x, y)[0]).toBeCloseTo(1, 5);
    const z = rng.normalTensor([1, 30, 2]);
    const c = linearCka(x, z)[0]!;
    // float64 reference
    const X = (x.arraySync() as number[][][])[0]!, Z = (z.arraySync() as number[][][])[0]!;
    const centre = (m: number[][]) => { const mu = m[0]!.map((_, j) => m.reduce((s, r) => s + r[j]!, 0) / m.length); return m.map((r) => r.map((v, j) => v - mu[j]!)); };
    const Xc = centre(X), Zc = centre(Z);
    const cross = (a: number[][], b: number[][]) => { let s = 0; for (let i = 0; i < a[0]!.length; i++) for (let j = 0; j < b[0]!.length; j++) { const v = a.reduce((t, r, n) => t + r[i]! * b[n]![j]!, 0); s += v * v; } return s; };
    expect(c).toBeCloseTo(cross(Zc, Xc) / Math.sqrt(cross(Xc, Xc) * cross(Zc, Zc)), 5);
    expect(c).toBeLessThan(0.9);
    expect(() => linearCka(x, tf.zeros([1, 29, 3]))).toThrow(/same points/);
    tf.dispose([x, q, y, z]);
  });

  it("lists an MLP's layer outputs (the last is the output) and finds unchanged layers identical", () => {
    const rng = new Rng(1);
    const config = { sizes: [1, 6, 6, 1], activation: "relu" as const };
    const p = initMlp(rng, config);
    const x = rng.normalTensor([2, 12, 1]);
    const outs = mlpLayerOutputs(p, x, config);
    expect(outs.map((t) => t.shape)).toEqual([[2, 12, 6], [2, 12, 6], [2, 12, 1]]);
    expect(Array.from(outs[2]!.dataSync())).toEqual(Array.from(mlpApply(p, x, config).dataSync()));
    // Only the head changes: the hidden layers are identical (CKA 1), the output is not.
    const after = tf.tidy(() => ({ ...tileForTasks(p, 2), w2: tf.mul(rng.normalTensor([2, 6, 1]), 1), b2: tf.zeros([2, 1]) }));
    const sim = layerSimilarity(p, after, x, config);
    expect(sim[0]).toBeCloseTo(1, 5);
    expect(sim[1]).toBeCloseTo(1, 5);
    expect(sim[2]!).toBeLessThan(0.999);
    tf.dispose(outs);
    disposeParams(after);
    disposeParams(p);
    x.dispose();
  });
});
