import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { supportSharpness } from "../../src/eval/sharpness";
import { sgdStability } from "../../src/eval/stability";

describe("sgdStability", () => {
  it("on a linear model (constant Hessian), SGD diverges exactly when α·λmax > 2", () => {
    const model = new Mlp({ sizes: [1, 1], activation: "identity" });
    const params = { w0: tf.tensor2d([[0.5]]), b0: tf.tensor1d([0.2]) };
    const x = tf.tensor3d([[[0.1], [0.3], [0.2]], [[2], [-3], [4]], [[1], [-1], [0.5]]]);
    const y = tf.tidy(() => tf.mul(x, -1));
    const lam = supportSharpness(params, { x, y }, model, new Rng(0), { iterations: 60 });
    const before = tf.memory().numTensors;
    const rows = sgdStability(params, { x, y }, model, lam, { alphas: [0.05, 0.2, 0.6], steps: 30 });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows).toHaveLength(9);
    for (const r of rows) {
      expect(r.alphaSharpness).toBeCloseTo(r.alpha * r.sharpness, 6);
      if (Math.abs(r.alphaSharpness - 2) > 0.1) expect(r.diverged, `α=${r.alpha}, αλ=${r.alphaSharpness}`).toBe(r.alphaSharpness > 2);
    }
    expect(rows.some((r) => r.diverged)).toBe(true);
    expect(rows.some((r) => !r.diverged)).toBe(true);
    expect(() => sgdStability(params, { x, y }, model, [1])).toThrow(/sharpness values/);
    tf.dispose([x, y, params.w0, params.b0]);
  });
});
