import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { Mlp, mlpFeatures } from "../../src/models/mlp";
import { BlobClassification } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { ridgeSolve, withBias } from "../../src/learners/ridge";
import { logisticNewtonSolve } from "../../src/learners/newton-head";
import {
  ConvexHead, headFeatureGradients, HEAD_BIAS, HEAD_LOG_LAMBDA, HEAD_SCALE, convexHeadLoss, convexHeadPredict, initConvexHeadState, disposeConvexHeadState, convexHeadOptions,
} from "../../src/learners/convex-head";

const model = new Mlp({ sizes: [8, 12, 6, 5], activation: "tanh" });

describe("ConvexHead (R2-D2 ridge and MetaOptNet-style logistic heads)", () => {
  it("predicts α Φ_q W + β with W solved on the support features", () => {
    const rng = new Rng(0);
    const b = new BlobClassification().sample(rng, { tasks: 2, shots: 2, queries: 3 });
    for (const solver of ["ridge", "logistic"] as const) {
      const o = { solver, learnLambda: true, learnScale: true, lambda: 0.5 };
      const s = initConvexHeadState(model.init(rng), model, o);
      const p: Params = { ...s.params, [HEAD_SCALE]: tf.scalar(2), [HEAD_BIAS]: tf.scalar(-0.5) };
      const got = convexHeadPredict(p, { x: b.supportX, y: b.supportY }, b.queryX, model, o).dataSync();
      const want = tf.tidy(() => {
        const phiS = withBias(mlpFeatures(p, b.supportX, model.config));
        const w = solver === "ridge" ? ridgeSolve(phiS, b.supportY, 0.5) : logisticNewtonSolve(phiS, b.supportY, 0.5);
        return tf.add(tf.mul(tf.matMul(withBias(mlpFeatures(p, b.queryX, model.config)), w), 2), -0.5).dataSync();
      });
      Array.from(got).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
      expect(Math.exp(s.params[HEAD_LOG_LAMBDA]!.dataSync()[0]!)).toBeCloseTo(0.5, 6);
      disposeConvexHeadState(s);
    }
    disposeBatch(b);
  });

  for (const solver of ["ridge", "logistic"] as const) {
    it(`meta-gradients into the body, λ, α and β match finite differences (${solver})`, () => {
      const rng = new Rng(1);
      const b = new BlobClassification().sample(rng, { tasks: 2, shots: 2, queries: 2 });
      const o = { solver, learnLambda: true, learnScale: true, lambda: 1, newtonSteps: 3 };
      const s = initConvexHeadState(model.init(rng), model, o);
      const r = checkGradients((p) => convexHeadLoss(p, b, model, o), s.params, new Rng(2), { order: 1, directions: 2 });
      expect(r.pass, r.summary).toBe(true);
      disposeConvexHeadState(s);
      disposeBatch(b);
    });
  }

  it("meta-training raises query accuracy and leaks nothing", () => {
    const rng = new Rng(3);
    const family = new BlobClassification();
    const head = new ConvexHead(model, model.init(rng), { learnScale: true, learnLambda: true, outerLr: 3e-3 });
    const test = family.sample(rng.fork("test"), { tasks: 20, shots: 1, queries: 5 });
    const before = head.accuracy(test);
    head.train(family, rng.fork("train"), { iterations: 60, spec: { tasks: 8, shots: 1, queries: 5 } });
    const n0 = tf.memory().numTensors;
    head.train(family, rng.fork("more"), { iterations: 3, spec: { tasks: 8, shots: 1, queries: 5 } });
    expect(tf.memory().numTensors).toBe(n0);
    expect(head.accuracy(test)).toBeGreaterThan(before);
    expect(head.head().scale).not.toBe(1);
    head.dispose();
    disposeBatch(test);
  });

  it("rejects inconsistent options", () => {
    expect(() => convexHeadOptions({ lambda: 0 })).toThrow(/lambda/);
    expect(() => convexHeadOptions({ solver: "logistic", loss: "mse" })).toThrow(/cross-entropy/);
    expect(() => convexHeadOptions({ solver: "svm" as never })).toThrow(/solver/);
    const p = model.init(new Rng(0));
    expect(() => convexHeadPredict(p, { x: tf.zeros([1, 2, 8]), y: tf.zeros([1, 2, 5]) }, tf.zeros([1, 2, 8]), model, { learnScale: true })).toThrow(/initHeadMeta/);
    disposeParams(p);
  });
});

describe("headFeatureGradients", () => {
  it("gives the per-point norms of the query loss's gradient with respect to support and query features", () => {
    const rng = new Rng(4);
    const phiS = rng.normalTensor([1, 4, 3]), phiQ = rng.normalTensor([1, 5, 3]);
    const yS = rng.normalTensor([1, 4, 1]), yQ = rng.normalTensor([1, 5, 1]);
    const g = headFeatureGradients(phiS, yS, phiQ, yQ, { loss: "mse", lambda: 0.5 });
    expect(g.support[0]).toHaveLength(4);
    expect(g.query[0]).toHaveLength(5);
    // Query features: ∂/∂φ_q of mean (φ_q W − y)² is 2 r_q W / m, so the norm is 2 |r_q| ‖W‖ / m.
    const w = ridgeSolve(phiS, yS, 0.5);
    const r = tf.sub(tf.matMul(phiQ, w), yQ).dataSync();
    const wn = Math.sqrt(tf.sum(tf.square(w)).dataSync()[0]!);
    g.query[0]!.forEach((v, i) => expect(v).toBeCloseTo((2 * Math.abs(r[i]!) * wn) / 5, 4));
    expect(g.support[0]!.every((v) => v > 0)).toBe(true);
    tf.dispose([phiS, phiQ, yS, yQ, w]);
  });
});
