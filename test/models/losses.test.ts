import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { perTaskMse, perTaskCrossEntropy, summedTaskLoss, meanTaskLoss, perTaskAccuracy } from "../../src/models/losses";

describe("losses", () => {
  it("per-task MSE averages over points and outputs of each task", () => {
    const pred = tf.tensor3d([[[1], [2]], [[0], [0]]]);
    const y = tf.tensor3d([[[0], [0]], [[3], [1]]]);
    expect(Array.from(perTaskMse(pred, y).dataSync())).toEqual([2.5, 5]);
    expect(summedTaskLoss("mse", pred, y).dataSync()[0]).toBeCloseTo(7.5);
    expect(meanTaskLoss("mse", pred, y).dataSync()[0]).toBeCloseTo(3.75);
  });

  it("cross-entropy matches -log softmax of the true class, and its gradient is softmax - y", () => {
    const logits = tf.tensor3d([[[1, 2, 3]], [[0, 0, 0]]]);
    const y = tf.tensor3d([[[0, 0, 1]], [[1, 0, 0]]]);
    const ce = perTaskCrossEntropy(logits, y).dataSync();
    const z = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(ce[0]!).toBeCloseTo(z - 3, 5);
    expect(ce[1]!).toBeCloseTo(Math.log(3), 5);
    const g = tf.grad((l: tf.Tensor) => summedTaskLoss("cross-entropy", l, y))(logits).dataSync();
    expect(g[2]!).toBeCloseTo(Math.exp(3 - z) - 1, 5);
    expect(g[3]!).toBeCloseTo(1 / 3 - 1, 5);
    expect(Array.from(perTaskAccuracy(logits, y).dataSync())).toEqual([1, 1]);
  });

  it("rejects mismatched shapes", () => {
    expect(() => perTaskMse(tf.zeros([2, 3, 1]), tf.zeros([2, 3]))).toThrow(/tasks, points, outputs/);
  });
});
