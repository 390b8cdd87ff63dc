import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { valueAndGrad } from "../../src/autodiff/functional";
import { logSoftmax } from "../../src/autodiff/activations";
import { initMlp, mlpApply, type MlpConfig } from "../../src/models/mlp";
import { distillationLoss } from "../../src/learners/distill";
import { ewcPenalty } from "../../src/learners/ewc";
import { headFastPathReason, HeadTrainer, type HeadNetSpec } from "../../src/learners/head-train";
import { relError } from "../fast/rel-error";

/** A body 6-10-8 with three heads of widths 3, 2, 3 (one output layer of 8 columns), and 40 data rows. */
function setup(seed: number): { spec: HeadNetSpec; params: Params; data: Float32Array; rng: Rng } {
  const rng = new Rng(seed);
  const mlp: MlpConfig = { sizes: [6, 10, 8, 8], activation: "tanh" };
  const full = initMlp(rng, mlp);
  const params: Record<string, tf.Tensor> = { w0: full["w0"]!, b0: tf.add(full["b0"]!, 0.1), w1: full["w1"]!, b1: tf.add(full["b1"]!, -0.05) };
  const widths = [3, 2, 3];
  let at = 0;
  widths.forEach((w, h) => {
    params[`h${h}_w`] = tf.slice(full["w2"]!, [0, at], [-1, w]);
    params[`h${h}_b`] = rng.normalTensor([w], 0, 0.2);
    at += w;
  });
  disposeParams({ b0: full["b0"]!, b1: full["b1"]!, w2: full["w2"]!, b2: full["b2"]! });
  const spec: HeadNetSpec = { sizes: [6, 10, 8], activation: "tanh", heads: widths.map((width, h) => ({ w: `h${h}_w`, b: `h${h}_b`, width })) };
  const data = Float32Array.from({ length: 40 * 6 }, () => rng.normal(0, 1));
  return { spec, params, data, rng };
}

/** Logits of heads [first, first + count) on rows of `data`, as tfjs computes them. */
function tfLogits(p: Params, x: tf.Tensor, heads: number[]): tf.Tensor {
  const w = tf.concat(heads.map((h) => p[`h${h}_w`]!), 1);
  const b = tf.concat(heads.map((h) => p[`h${h}_b`]!), 0);
  return mlpApply({ w0: p["w0"]!, b0: p["b0"]!, w1: p["w1"]!, b1: p["b1"]!, w2: w, b2: b }, x, { sizes: [6, 10, 8, w.shape[1]!], activation: "tanh" });
}

describe("HeadTrainer (fast multi-head training) against tfjs autodiff", () => {
  it("packs and unpacks, and gives the loss and gradient of cross-entropy, per-row heads, distillation and EWC", () => {
    const { spec, params, data, rng } = setup(1);
    expect(headFastPathReason(spec, params)).toBeNull();
    const trainer = new HeadTrainer(spec, params, data);
    const back = trainer.unpack();
    expect(relError(back, params)).toBe(0);
    disposeParams(back);
    const teacherParams: Params = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, tf.add(t, rng.normalTensor(t.shape, 0, 0.3))]));
    const teacher = trainer.pack(teacherParams);
    const rowsA = [3, 7, 7, 12, 30, 1];
    const rowsB = [5, 9, 22, 39];
    const labels01 = [2, 0, 1, 4, 3, 0]; // classes within heads 0..1 (5 columns)
    const perRow = [0, 2, 0, 2]; // a head per row (heads 0 and 2 are both 3 wide)
    const perRowLabels = [2, 1, 0, 0];
    const fisher = Float32Array.from({ length: trainer.theta.length }, () => rng.uniform(0, 2));
    const mean = Float32Array.from(trainer.theta, (v) => v + rng.normal(0, 0.1));
    const grad = new Float32Array(trainer.theta.length);
    const loss = trainer.lossAndGrad({
      blocks: [
        { rows: rowsA, terms: [{ heads: { first: 0, count: 2 }, weight: 0.7, labels: labels01 }, { heads: { first: 2, count: 1 }, weight: 0.4, distill: { teacher, temperature: 2 } }] },
        { rows: rowsB, terms: [{ heads: { perRow }, weight: 0.3, labels: perRowLabels }] },
      ],
      ewc: { mean, fisher, lambda: 5 },
    }, grad);
    const rowsOf = (r: number[]) => tf.tensor3d(r.flatMap((i) => Array.from(data.subarray(i * 6, i * 6 + 6))), [1, r.length, 6]);
    const meanP = trainer.unpack(mean);
    const fisherP = trainer.unpack(fisher);
    const { value, grads } = tf.tidy(() => valueAndGrad((p) => {
      const xa = rowsOf(rowsA);
      const xb = rowsOf(rowsB);
      const ce = (z: tf.Tensor, y: number[], k: number) => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(y, "int32"), k).expandDims(0), logSoftmax(z)), -1)));
      const t1 = tf.mul(ce(tfLogits(p, xa, [0, 1]), labels01, 5), 0.7);
      const t2 = tf.mul(distillationLoss(tfLogits(p, xa, [2]), tfLogits(teacherParams, xa, [2]), 2), 0.4);
      // Per-row heads: each row scored by its own head.
      const zb = tf.concat(perRow.map((h, i) => tfLogits(p, tf.slice(xb, [0, i, 0], [1, 1, 6]), [h])), 1);
      const t3 = tf.mul(ce(zb, perRowLabels, 3), 0.3);
      return tf.addN([t1, t2, t3, ewcPenalty(p, [{ mean: meanP, fisher: fisherP }], 5)]) as tf.Scalar;
    })(params));
    expect(Math.abs(loss - value.dataSync()[0]!) / value.dataSync()[0]!).toBeLessThan(1e-5);
    const fastGrads = trainer.unpack(grad);
    expect(relError(fastGrads, grads)).toBeLessThan(1e-5);
    for (const r of [fastGrads, grads, meanP, fisherP, teacherParams, params]) disposeParams(r);
    value.dispose();
  });
});
