import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import type { Params } from "../../src/core/params";
import { grad } from "../../src/autodiff/functional";
import { assertGradientsMatch } from "../../src/autodiff/finite-diff";
import { logSoftmax } from "../../src/autodiff/activations";
import { initMlp, mlpApply, type MlpConfig } from "../../src/models/mlp";
import { ewcPenalty, fisherDiagonal, mergeAnchors, type EwcAnchor } from "../../src/learners/ewc";

const mlp: MlpConfig = { sizes: [4, 5, 3], activation: "relu" };

function anchorFrom(rng: Rng, p: Params): EwcAnchor {
  return {
    mean: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.add(v, rng.normalTensor(v.shape, 0, 0.3))])),
    fisher: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, rng.uniformTensor(v.shape, 0, 2)])),
  };
}

describe("EWC penalty", () => {
  it("equals (λ/2) Σ F (θ − θ*)² summed over anchors, and 0 without anchors", () => {
    const p = { a: tf.tensor1d([1, 2]), b: tf.tensor2d([[3]]) };
    const anchors: EwcAnchor[] = [
      { mean: { a: tf.tensor1d([0, 2]), b: tf.tensor2d([[1]]) }, fisher: { a: tf.tensor1d([2, 5]), b: tf.tensor2d([[0.5]]) } },
      { mean: { a: tf.tensor1d([1, 0]), b: tf.tensor2d([[3]]) }, fisher: { a: tf.tensor1d([1, 1]), b: tf.tensor2d([[9]]) } },
    ];
    // anchor 1: 2·1 + 5·0 + 0.5·4 = 4; anchor 2: 0 + 1·4 + 0 = 4; (10/2)·8 = 40
    expect(ewcPenalty(p, anchors, 10).dataSync()[0]).toBeCloseTo(40, 5);
    expect(ewcPenalty(p, [], 10).dataSync()[0]).toBe(0);
    expect(() => ewcPenalty(p, anchors, -1)).toThrow(/lambda/);
  });

  it("its gradient is λ F (θ − θ*) and agrees with finite differences", () => {
    const rng = new Rng(0);
    const p = initMlp(rng, mlp);
    const anchors = [anchorFrom(rng, p), anchorFrom(rng, p)];
    const lambda = 3;
    const f = (q: Params): tf.Scalar => ewcPenalty(q, anchors, lambda);
    assertGradientsMatch(f, p, rng, { order: "both" });
    const g = grad(f)(p);
    for (const k of Object.keys(p)) {
      const expected = tf.addN(anchors.map((a) => tf.mul(tf.mul(a.fisher[k]!, tf.sub(p[k]!, a.mean[k]!)), lambda)));
      expect(tf.max(tf.abs(tf.sub(g[k]!, expected))).dataSync()[0]).toBeLessThan(1e-5);
    }
  });
});

describe("diagonal Fisher", () => {
  it("equals the mean of squared per-example gradients computed one example at a time, for any chunk size", () => {
    const rng = new Rng(1);
    const p = initMlp(rng, mlp);
    const n = 7;
    const x = rng.normalTensor([n, 4]);
    const labels = [0, 2, 1, 1, 0, 2, 2];
    const y = tf.oneHot(tf.tensor1d(labels, "int32"), 3);
    const logLik = (q: Params, xi: tf.Tensor, yi: tf.Tensor): tf.Tensor => tf.sum(tf.mul(yi, logSoftmax(mlpApply(q, xi, mlp))), -1); // [a, 1]
    const loop: Record<string, tf.Tensor> = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.zerosLike(v)]));
    for (let i = 0; i < n; i++) {
      const xi = tf.reshape(tf.slice(x, [i, 0], [1, -1]), [1, 1, 4]);
      const yi = tf.reshape(tf.slice(y, [i, 0], [1, -1]), [1, 1, 3]);
      const g = grad((q) => tf.sum(logLik(q, xi, yi)) as tf.Scalar)(p);
      for (const k of Object.keys(p)) loop[k] = tf.add(loop[k]!, tf.div(tf.square(g[k]!), n));
    }
    for (const chunk of [1, 3, 32]) {
      const F = fisherDiagonal(p, (tiled, from, count) => {
        const xs = tf.reshape(tf.slice(x, [from, 0], [count, -1]), [count, 1, 4]);
        const ys = tf.reshape(tf.slice(y, [from, 0], [count, -1]), [count, 1, 3]);
        return tf.reshape(logLik(tiled, xs, ys), [count]);
      }, n, { chunk });
      for (const k of Object.keys(p)) {
        expect(F[k]!.shape).toEqual(p[k]!.shape);
        expect(tf.max(tf.abs(tf.sub(F[k]!, loop[k]!))).dataSync()[0]).toBeLessThan(1e-6);
      }
    }
    expect(tf.sum(loop["w0"]!).dataSync()[0]).toBeGreaterThan(0);
  });

  it("rejects a log-likelihood of the wrong shape", () => {
    const p = initMlp(new Rng(0), mlp);
    expect(() => fisherDiagonal(p, () => tf.zeros([2, 2]), 4)).toThrow(/one value per example/);
    expect(() => fisherDiagonal(p, () => tf.zeros([1]), 0)).toThrow(/positive number/);
  });
});

describe("merged EWC anchors", () => {
  it("give the same penalty gradient as the separate anchors (the values differ by a constant)", () => {
    const rng = new Rng(5);
    const p = initMlp(rng, mlp);
    const anchors = [anchorFrom(rng, p), anchorFrom(rng, p), anchorFrom(rng, p)];
    const merged = mergeAnchors(anchors);
    const gSep = grad((q) => ewcPenalty(q, anchors, 2))(p);
    const gMer = grad((q) => ewcPenalty(q, [merged], 2))(p);
    for (const k of Object.keys(p)) expect(tf.max(tf.abs(tf.sub(gSep[k]!, gMer[k]!))).dataSync()[0]).toBeLessThan(1e-4);
    const q = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.add(v, 0.5)]));
    const gap = (r: Params): number => ewcPenalty(r, anchors, 2).dataSync()[0]! - ewcPenalty(r, [merged], 2).dataSync()[0]!;
    expect(gap(q)).toBeCloseTo(gap(p), 3);
  });
});
