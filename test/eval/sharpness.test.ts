import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { supportSharpness } from "../../src/eval/sharpness";

describe("supportSharpness", () => {
  it("equals the top eigenvalue of the closed-form Hessian for a linear model, per task", () => {
    // f(x) = w x + b with mean squared error: H = (2/K) Σ [[x², x], [x, 1]], independent of targets and params.
    const model = new Mlp({ sizes: [1, 1], activation: "identity" });
    const params = { w0: tf.tensor2d([[0.3]]), b0: tf.tensor1d([0.1]) };
    const xs = [[1, 2, 3], [-4, 0.5, 4]];
    const x = tf.tensor3d(xs.map((t) => t.map((v) => [v])));
    const y = tf.zerosLike(x);
    const before = tf.memory().numTensors;
    const lam = supportSharpness(params, { x, y }, model, new Rng(0), { iterations: 50 });
    expect(tf.memory().numTensors).toBe(before);
    xs.forEach((t, i) => {
      const K = t.length;
      const a = (2 / K) * t.reduce((s, v) => s + v * v, 0), b = (2 / K) * t.reduce((s, v) => s + v, 0), d = 2;
      const top = (a + d) / 2 + Math.sqrt(((a - d) / 2) ** 2 + b * b);
      expect(lam[i]!).toBeCloseTo(top, 3);
    });
  });
});
