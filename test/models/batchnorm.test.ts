import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import type { Params } from "../../src/core/params";
import { disposeParams, tileForTasks } from "../../src/core/params";
import { assertGradientsMatch } from "../../src/autodiff/finite-diff";
import { perTaskCrossEntropy as crossEntropyPerTask } from "../../src/models/losses";
import {
  DEFAULT_BN_MLP,
  batchNorm,
  batchNormalize,
  bnMlpApply,
  initBnMlp,
  initBnMlpState,
  taskStats,
  updateRunningStats,
  type BnMlpConfig,
} from "../../src/models/batchnorm";

function arr(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe("batch normalisation", () => {
  it("matches a hand computation, per task", () => {
    // task 0 feature values 1, 2, 3: mean 2, var 2/3; task 1 values 0, 0, 6: mean 2, var 8.
    const x = tf.tensor3d([[[1], [2], [3]], [[0], [0], [6]]]);
    const st = taskStats(x);
    expect(arr(st.mean)).toEqual([2, 2]);
    expect(arr(st.variance)[0]).toBeCloseTo(2 / 3, 6);
    expect(arr(st.variance)[1]).toBeCloseTo(8, 5);
    const y = batchNormalize(x, st, tf.tensor1d([2]), tf.tensor1d([0.5]), 1e-5);
    const s0 = Math.sqrt(2 / 3 + 1e-5);
    const s1 = Math.sqrt(8 + 1e-5);
    const want = [(-1 / s0) * 2 + 0.5, 0.5, (1 / s0) * 2 + 0.5, (-2 / s1) * 2 + 0.5, (-2 / s1) * 2 + 0.5, (4 / s1) * 2 + 0.5];
    arr(y).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it("updates running statistics PyTorch-style (momentum, task average, unbiased variance)", () => {
    const x = tf.tensor3d([[[1], [2], [3]], [[0], [0], [6]]]);
    const st = taskStats(x);
    const next = updateRunningStats({ runningMean: tf.tensor1d([0]), runningVar: tf.tensor1d([1]) }, st, 3, 0.1);
    expect(arr(next.runningMean)[0]).toBeCloseTo(0.9 * 0 + 0.1 * 2, 6);
    const meanVar = (2 / 3 + 8) / 2;
    expect(arr(next.runningVar)[0]).toBeCloseTo(0.9 * 1 + 0.1 * meanVar * 1.5, 5);
  });
});

describe("BN-MLP", () => {
  const cfg: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [3, 6, 5, 4], activation: "softplus" };

  it("has second derivatives that match finite differences (transductive and support modes)", () => {
    const rng = new Rng(0);
    const params = initBnMlp(rng, cfg);
    const state = initBnMlpState(cfg);
    const xs = rng.normalTensor([2, 6, 3]);
    const xq = rng.normalTensor([2, 5, 3]);
    const yq = tf.oneHot(tf.tensor2d([[0, 1, 2, 3, 0], [1, 1, 2, 3, 3]], [2, 5], "int32"), 4).toFloat();
    for (const mode of ["transductive", "support", "support-plus-one"] as const) {
      const f = (p: Params): tf.Scalar => tf.sum(crossEntropyPerTask(bnMlpApply(p, state, xq, cfg, mode, { support: xs }).y, yq)) as tf.Scalar;
      const report = assertGradientsMatch(f, params, rng.fork(mode), { directions: 1 });
      expect(report.pass).toBe(true);
    }
  });

  it("returns new running statistics in train mode and leaves the old ones unchanged", () => {
    const rng = new Rng(1);
    const params = initBnMlp(rng, cfg);
    const state = initBnMlpState(cfg);
    const x = rng.normalTensor([2, 7, 3], 3, 1);
    const { y, state: next } = bnMlpApply(params, state, x, cfg, "train");
    expect(y.shape).toEqual([2, 7, 4]);
    expect(arr(state["mean0_s0"]!).every((v) => v === 0)).toBe(true);
    const z = tf.matMul(tf.reshape(x, [14, 3]), params["w0"]!);
    const want = tf.mul(tf.mean(z, 0), 0.1);
    arr(next["mean0_s0"]!).forEach((v, i) => expect(v).toBeCloseTo(arr(want)[i]!, 5));
  });

  it("transductive statistics absorb a shifted query batch; support statistics do not", () => {
    const rng = new Rng(2);
    const params = initBnMlp(rng, cfg);
    const state = initBnMlpState(cfg);
    const xs = rng.normalTensor([1, 8, 3]);
    const xq = rng.normalTensor([1, 8, 3]);
    const shifted = tf.add(xq, 3); // the whole query batch moved by +3 in every input
    const outT = bnMlpApply(params, state, xq, cfg, "transductive").y;
    const outTs = bnMlpApply(params, state, shifted, cfg, "transductive").y;
    const outS = bnMlpApply(params, state, xq, cfg, "support", { support: xs }).y;
    const outSs = bnMlpApply(params, state, shifted, cfg, "support", { support: xs }).y;
    const outO = bnMlpApply(params, state, xq, cfg, "support-plus-one", { support: xs }).y;
    const outOs = bnMlpApply(params, state, shifted, cfg, "support-plus-one", { support: xs }).y;
    const diff = (a: tf.Tensor, b: tf.Tensor): number => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    // Mean subtraction per query batch removes a common shift exactly: transductive predictions ignore it.
    expect(diff(outT, outTs)).toBeLessThan(1e-4);
    // Non-transductive modes see the shift, and seeing yourself in the statistics shrinks it.
    const dS = diff(outS, outSs);
    const dO = diff(outO, outOs);
    expect(dS).toBeGreaterThan(0.1);
    expect(dO).toBeGreaterThan(0.01);
    expect(dO).toBeLessThan(dS);
  });

  it("support-plus-one equals a hand-built batch of support plus that point", () => {
    const rng = new Rng(3);
    const params = tileForTasks(initBnMlp(rng, cfg), 2); // task-batched params are repeated per query
    const state = initBnMlpState(cfg);
    const xs = rng.normalTensor([2, 4, 3]);
    const xq = rng.normalTensor([2, 3, 3]);
    const out = bnMlpApply(params, state, xq, cfg, "support-plus-one", { support: xs }).y;
    const t = 1;
    const q = 2;
    const one = tf.slice(xq, [t, q, 0], [1, 1, 3]);
    const joint = tf.concat([tf.slice(xs, [t, 0, 0], [1, 4, 3]), one], 1);
    const pOne: Params = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, tf.slice(v, [t], [1])]));
    const ref = bnMlpApply(pOne, state, joint, cfg, "transductive").y;
    const got = arr(tf.slice(out, [t, q, 0], [1, 1, 4]));
    const want = arr(tf.slice(ref, [0, 4, 0], [1, 1, 4]));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
  });

  it("keeps separate statistics and affine parameters per step (MAML++ BNRS/BNWB)", () => {
    const c: BnMlpConfig = { ...cfg, statSets: 3, perStepAffine: true };
    const rng = new Rng(4);
    const params = initBnMlp(rng, c);
    expect(Object.keys(params)).toContain("gamma0_s2");
    let state = initBnMlpState(c);
    const x = rng.normalTensor([1, 6, 3], 2, 1);
    state = bnMlpApply(params, state, x, c, "train", { step: 1 }).state;
    expect(arr(state["mean0_s0"]!).every((v) => v === 0)).toBe(true);
    expect(arr(state["mean0_s1"]!).some((v) => v !== 0)).toBe(true);
    // running mode with step 1 uses set 1, so it differs from set 0
    const a = bnMlpApply(params, state, x, c, "running", { step: 0 }).y;
    const b = bnMlpApply(params, state, x, c, "running", { step: 1 }).y;
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!).toBeGreaterThan(1e-3);
  });

  it("does not leak tensors", () => {
    const rng = new Rng(5);
    const params = initBnMlp(rng, cfg);
    const state = initBnMlpState(cfg);
    const xs = rng.normalTensor([2, 4, 3]);
    const xq = rng.normalTensor([2, 3, 3]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.tidy(() => {
        bnMlpApply(params, state, xq, cfg, "support-plus-one", { support: xs });
        bnMlpApply(params, state, xq, cfg, "running");
      });
      const next = tf.tidy(() => bnMlpApply(params, state, xq, cfg, "train").state);
      for (const k of Object.keys(next)) if (next[k] !== state[k]) next[k]!.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
  });
});

describe("single-layer batchNorm", () => {
  it("normalises to zero mean and unit variance per task in train mode, and uses running or support statistics otherwise", () => {
    const rng = new Rng(9);
    const x = rng.normalTensor([2, 50, 3], 4, 2);
    const p = { gamma: tf.ones([3]), beta: tf.zeros([3]) };
    const st = { runningMean: tf.zeros([3]), runningVar: tf.ones([3]) };
    const tr = batchNorm(p, st, x, { mode: "train" });
    const m = tf.mean(tr.y, 1);
    const v = tf.mean(tf.square(tr.y), 1);
    arr(m).forEach((a) => expect(Math.abs(a)).toBeLessThan(1e-4));
    arr(v).forEach((a) => expect(a).toBeCloseTo(1, 3));
    expect(arr(tr.state.runningMean).every((a) => a > 0.2)).toBe(true); // 0.1 * ~4
    const run = batchNorm(p, st, x, { mode: "running" });
    expect(tf.max(tf.abs(tf.sub(run.y, tf.div(x, Math.sqrt(1 + 1e-5))))).dataSync()[0]!).toBeLessThan(1e-5);
    expect(run.state).toBe(st);
    const sup = batchNorm(p, st, x, { mode: "support", support: tf.slice(x, [0, 0, 0], [2, 10, 3]) });
    expect(sup.y.shape).toEqual([2, 50, 3]);
    expect(() => batchNorm(p, st, x, { mode: "support" })).toThrow(/support/);
  });
});
