import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { assertGradientsMatch } from "../../src/autodiff/finite-diff";
import { BlobClassification, DEFAULT_BLOBS } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { DEFAULT_BN_MLP, initBnMlp, initBnMlpState, type BnMlpConfig } from "../../src/models/batchnorm";
import { BnMaml, bnMamlEvaluate, bnMamlLoss, bnMamlStep, disposeBnMaml, initBnMaml } from "../../src/learners/bn-maml";

const fam = new BlobClassification({ ...DEFAULT_BLOBS, ways: 3, dim: 4 });

describe("BN-MAML", () => {
  it("meta-gradient (second order through BN) matches finite differences", () => {
    const cfg: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [4, 5, 3], activation: "softplus" };
    const rng = new Rng(0);
    const params = initBnMlp(rng, cfg);
    const st = initBnMlpState(cfg);
    const b = fam.sample(rng, { tasks: 2, shots: 2, queries: 2 });
    for (const firstOrder of [false]) { // FOMAML is not the gradient of the meta-loss, so only exact MAML is checked
      const f = (p: typeof params): tf.Scalar => bnMamlLoss(p, st, b, cfg, { innerSteps: 2, innerLr: 0.3, firstOrder });
      expect(assertGradientsMatch(f, params, rng.fork(String(firstOrder)), { order: 1, directions: 2 }).pass).toBe(true);
    }
    disposeBatch(b);
  });

  it("trains, accumulates running statistics per step set, and does not leak per step", () => {
    const cfg: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [4, 16, 3], statSets: 2, perStepAffine: true };
    const rng = new Rng(1);
    let st = initBnMaml(rng.fork("init"), cfg);
    const losses: number[] = [];
    let count = 0;
    for (let i = 0; i < 60; i++) {
      const b = fam.sample(rng, { tasks: 4, shots: 1, queries: 4 });
      const r = bnMamlStep(st, b, cfg, { innerSteps: 1 });
      st = r.state;
      losses.push(r.loss);
      disposeBatch(b);
      if (i === 9) count = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(count);
    const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)));
    const m0 = Array.from(st.bnState["mean0_s0"]!.dataSync());
    const m1 = Array.from(st.bnState["mean0_s1"]!.dataSync());
    expect(m0.some((v) => v !== 0)).toBe(true);
    expect(m0).not.toEqual(m1);
    disposeBnMaml(st);
  });

  it("per-example transductive evaluation is exactly chance: a batch of one normalises every point to beta", () => {
    const cfg: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [4, 8, 3] };
    const st = initBnMaml(new Rng(2), cfg);
    const b = fam.sample(new Rng(3), { tasks: 3, shots: 2, queries: 4 });
    expect(bnMamlEvaluate(st, b, cfg, "per-example").accuracy).toBeCloseTo(1 / 3, 5);
    for (const mode of ["transductive", "support", "support-plus-one", "running"] as const) {
      const r = bnMamlEvaluate(st, b, cfg, mode);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
    disposeBatch(b);
    disposeBnMaml(st);
  });
});

describe("BnMaml class", () => {
  it("wraps the pure step and evaluation", () => {
    const cfg: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [4, 8, 3] };
    const learner = new BnMaml(cfg, new Rng(5), { innerSteps: 1 });
    const b = fam.sample(new Rng(6), { tasks: 2, shots: 1, queries: 2 });
    expect(Number.isFinite(learner.step(b))).toBe(true);
    expect(learner.evaluate(b, "per-example").accuracy).toBeCloseTo(1 / 3, 5);
    learner.dispose();
    disposeBatch(b);
  });
});
