import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { distillationLoss } from "../../src/learners/distill";

describe("distillation loss (LwF)", () => {
  it("matches a hand computation at T = 2", () => {
    const student = [[1, 0, -1], [0.5, 0.5, 2]];
    const teacher = [[2, 1, 0], [0, 1, 0]];
    const T = 2;
    const soft = (z: number[]): number[] => { const e = z.map((v) => Math.exp(v / T)); const s = e.reduce((a, b) => a + b); return e.map((v) => v / s); };
    let ref = 0;
    student.forEach((z, i) => { const p = soft(teacher[i]!); const q = soft(z); ref -= p.reduce((s, pk, k) => s + pk * Math.log(q[k]!), 0); });
    ref = (T * T * ref) / student.length;
    const got = distillationLoss(tf.tensor3d([student]), tf.tensor3d([teacher]), T);
    expect(got.dataSync()[0]).toBeCloseTo(ref, 5);
  });

  it("is smallest (the teacher's entropy) when student equals teacher", () => {
    const t = tf.tensor3d([[[1, 2, 3]]]);
    const same = distillationLoss(t, t, 1).dataSync()[0]!;
    const other = distillationLoss(tf.tensor3d([[[3, 2, 1]]]), t, 1).dataSync()[0]!;
    expect(other).toBeGreaterThan(same);
  });

  it("rejects mismatched shapes and a non-positive temperature", () => {
    expect(() => distillationLoss(tf.zeros([1, 2, 3]), tf.zeros([1, 2, 4]), 2)).toThrow(/same shape/);
    expect(() => distillationLoss(tf.zeros([1, 2, 3]), tf.zeros([1, 2, 3]), 0)).toThrow(/temperature/);
  });
});
