import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { valueAndGrad } from "../../src/autodiff/functional";
import { initMlp, Mlp, type MlpConfig } from "../../src/models/mlp";
import { meanTaskLoss } from "../../src/models/losses";
import { disposeBatch, type TaskBatch, type TaskLoss } from "../../src/tasks/task-family";
import { SineFamily } from "../../src/tasks/regression";
import { firstOrderKernelFor } from "../../src/fast/first-order";
import { flattenBatch, type FlatTaskBatch } from "../../src/fast/mlp-maml";
import { mlpLayout, pack, unpack } from "../../src/fast/pack";
import { disposeReptileState, reptileDelta, reptileStep, Reptile } from "../../src/learners/reptile";
import { disposePretrainState, initPretrainState, Pretrain, pretrainStep } from "../../src/learners/pretrain";
import { bodyNames, disposeRidgeState, initRidgeState, RidgeHead, ridgeLoss, ridgeStep } from "../../src/learners/ridge";
import { classBatch, relError, relErrorFlat, sineBatch } from "./rel-error";

function setup(loss: TaskLoss, activation: MlpConfig["activation"], seed: number): { model: Mlp; config: MlpConfig; params: Params; batch: TaskBatch } {
  const rng = new Rng(seed);
  const config: MlpConfig = loss === "mse" ? { sizes: [1, 12, 9, 1], activation } : { sizes: [4, 10, 8, 5], activation };
  const params = initMlp(rng, config);
  const batch = loss === "mse" ? sineBatch(rng, 5, 6, 7) : classBatch(rng, 5, 10, 15, 4, 5);
  return { model: new Mlp(config), config, params, batch };
}

/** Central differences of f at theta, in float64. */
function centralDiff(f: (th: Float64Array) => number, theta: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(theta.length);
  for (let j = 0; j < theta.length; j++) {
    const tp = Float64Array.from(theta);
    tp[j] += h;
    const tm = Float64Array.from(theta);
    tm[j] -= h;
    g[j] = (f(tp) - f(tm)) / (2 * h);
  }
  return g;
}

function flat64(rng: Rng, loss: TaskLoss, T: number, nS: number, nQ: number, din: number, dout: number): FlatTaskBatch {
  const arr = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  const y = (n: number) => {
    if (loss === "mse") return arr(n * dout);
    const out = new Float64Array(n * dout);
    for (let p = 0; p < n; p++) out[p * dout + rng.int(dout)] = 1;
    return out;
  };
  return { supportX: arr(T * nS * din), supportY: y(T * nS), queryX: arr(T * nQ * din), queryY: y(T * nQ), tasks: T, shots: nS, queries: nQ };
}

describe("fast joint pretraining", () => {
  it.each([["mse", "relu"], ["mse", "tanh"], ["cross-entropy", "relu"], ["cross-entropy", "softplus"]] as const)("gradient agrees with tfjs autodiff (%s, %s), with and without query points", (loss, activation) => {
    const { config, params, batch } = setup(loss, activation, 3);
    const kernel = firstOrderKernelFor(config, loss);
    const layout = mlpLayout(config.sizes);
    for (const useQuery of [false, true]) {
      const g = new Float32Array(layout.size);
      const l = kernel.pretrain(pack(params, layout), flattenBatch(batch), useQuery, g);
      const ref = tf.tidy(() => {
        const x = useQuery ? tf.concat([batch.supportX, batch.queryX], 1) : batch.supportX;
        const y = useQuery ? tf.concat([batch.supportY, batch.queryY], 1) : batch.supportY;
        const r = valueAndGrad((p) => meanTaskLoss(loss, new Mlp(config).apply(p, x), y))(params);
        return { loss: r.value.dataSync()[0]!, g: pack(r.grads, layout) };
      });
      expect(Math.abs(l - ref.loss) / ref.loss).toBeLessThan(1e-5);
      expect(relErrorFlat(g, ref.g)).toBeLessThan(1e-5);
    }
    disposeParams(params);
    disposeBatch(batch);
  });

  it.each([["mse", "sigmoid"], ["cross-entropy", "tanh"]] as const)("gradient matches central finite differences in float64 (%s, %s)", (loss, activation) => {
    const config: MlpConfig = { sizes: [3, 6, 5, 4], activation };
    const kernel = firstOrderKernelFor(config, loss, "js");
    const rng = new Rng(4);
    const batch = flat64(rng, loss, 3, 4, 5, 3, 4);
    const theta = Float64Array.from({ length: kernel.numParams }, () => rng.normal(0, 0.6));
    const g = new Float64Array(kernel.numParams);
    kernel.pretrain(theta, batch, true, g);
    const scratch = new Float64Array(kernel.numParams);
    expect(relErrorFlat(g, centralDiff((th) => kernel.pretrain(th, batch, true, scratch), theta))).toBeLessThan(1e-7);
  });

  it("the Pretrain learner runs on the fast path, leaks nothing, and follows the tfjs path", () => {
    const { model, params, batch } = setup("mse", "relu", 5);
    const start = tf.memory().numTensors;
    let fast = initPretrainState(params);
    let slow = initPretrainState(params);
    for (let s = 0; s < 5; s++) {
      const a = pretrainStep(fast, batch, model, { fastPath: "require" });
      const b = pretrainStep(slow, batch, model, { fastPath: "off" });
      expect(a.fastPath.fast).toBe(true);
      expect(b.fastPath.fast).toBe(false);
      expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-4);
      disposePretrainState(fast);
      disposePretrainState(slow);
      fast = a.state;
      slow = b.state;
    }
    // Adam turns gradient rounding into parameter differences of order lr · (relative gradient error), so compare loosely.
    expect(relError(fast.params, slow.params)).toBeLessThan(1e-4);
    disposePretrainState(fast);
    disposePretrainState(slow);
    expect(tf.memory().numTensors).toBe(start);
    const learner = new Pretrain(model, params);
    learner.step(batch);
    expect(learner.lastPath).toEqual({ fast: true, reason: null });
    learner.dispose();
    disposeParams(params);
    disposeBatch(batch);
  });
});

describe("fast Reptile", () => {
  it.each([["mse", "relu", true], ["mse", "tanh", false], ["cross-entropy", "relu", true]] as const)("mean adapted parameters and loss agree with the tfjs path (%s, %s, useQuery=%s)", (loss, activation, useQuery) => {
    const { model, config, params, batch } = setup(loss, activation, 6);
    const o = { innerSteps: 4, innerLr: loss === "mse" ? 0.02 : 0.3, useQuery, loss };
    const layout = mlpLayout(config.sizes);
    const mean = new Float32Array(layout.size);
    const theta = pack(params, layout);
    const l = firstOrderKernelFor(config, loss).reptile(theta, flattenBatch(batch), o.innerSteps, o.innerLr, useQuery, mean);
    const ref = reptileDelta(params, batch, model, { ...o, fastPath: "off" });
    expect(Math.abs(l - ref.loss) / ref.loss).toBeLessThan(1e-5);
    const delta = pack(ref.delta, layout);
    const fastDelta = mean.map((m, j) => m - theta[j]!);
    expect(relErrorFlat(fastDelta, delta)).toBeLessThan(1e-4);
    disposeParams(ref.delta);
    disposeParams(params);
    disposeBatch(batch);
  });

  it("equals plain SGD with finite-difference-checked float64 gradients, task by task", () => {
    const config: MlpConfig = { sizes: [2, 5, 3], activation: "tanh" };
    const kernel = firstOrderKernelFor(config, "mse", "js");
    const single = firstOrderKernelFor(config, "mse", "js");
    const rng = new Rng(7);
    const T = 3, nS = 4, nQ = 2;
    const batch = flat64(rng, "mse", T, nS, nQ, 2, 3);
    const theta = Float64Array.from({ length: kernel.numParams }, () => rng.normal(0, 0.5));
    const mean = new Float64Array(kernel.numParams);
    kernel.reptile(theta, batch, 3, 0.1, false, mean);
    const expected = new Float64Array(kernel.numParams);
    for (let t = 0; t < T; t++) {
      const one: FlatTaskBatch = { ...batch, tasks: 1, supportX: Array.from(batch.supportX).slice(t * nS * 2, (t + 1) * nS * 2), supportY: Array.from(batch.supportY).slice(t * nS * 3, (t + 1) * nS * 3), queryX: [0, 0, 0, 0], queryY: [0, 0, 0, 0, 0, 0] };
      let th = Float64Array.from(theta);
      const g = new Float64Array(kernel.numParams);
      for (let k = 0; k < 3; k++) {
        single.pretrain(th, one, false, g);
        th = th.map((v, j) => v - 0.1 * g[j]!);
      }
      th.forEach((v, j) => (expected[j] += v / T));
    }
    expect(relErrorFlat(mean, expected)).toBeLessThan(1e-12);
  });

  it("the Reptile learner runs on the fast path and can switch to the general path mid-run", () => {
    const model = new Mlp({ sizes: [1, 20, 20, 1], activation: "relu" });
    const rng = new Rng(2);
    const params = model.init(rng);
    const family = new SineFamily();
    const start = tf.memory().numTensors;
    const r = new Reptile(model, params);
    const b1 = family.sample(rng, { tasks: 5, shots: 10, queries: 10 });
    r.step(b1);
    expect(r.lastPath).toEqual({ fast: true, reason: null });
    // A packed state stepped by the general path gives the same update as the fast path (up to rounding).
    const viaFast = reptileStep({ params: r.params, step: 1 }, b1, model, { fastPath: "require" });
    const inner = (r as unknown as { state: Parameters<typeof disposeReptileState>[0] }).state;
    const viaSlow = reptileStep(inner, b1, model, { fastPath: "off" });
    expect(relError(viaFast.state.params, viaSlow.state.params)).toBeLessThan(1e-5);
    disposeReptileState(viaFast.state);
    disposeReptileState(viaSlow.state);
    r.dispose();
    disposeBatch(b1);
    expect(tf.memory().numTensors).toBe(start);
    disposeParams(params);
  });
});

describe("fast ridge head", () => {
  it.each([["relu", "auto"], ["tanh", "dual"], ["relu", "primal"], ["sigmoid", "primal"]] as const)("loss and body gradient agree with tfjs autodiff through the Gauss-Jordan solve (%s, %s)", (activation, form) => {
    const config: MlpConfig = { sizes: [1, 12, 9, 1], activation };
    const model = new Mlp(config);
    const rng = new Rng(9);
    const params = initMlp(rng, config);
    const batch = sineBatch(rng, 4, form === "primal" ? 14 : 6, 7);
    const layout = mlpLayout(config.sizes);
    const g = new Float32Array(layout.size);
    const l = firstOrderKernelFor(config, "mse").ridge(pack(params, layout), flattenBatch(batch), 0.1, form, g);
    const names = bodyNames(model);
    const ref = tf.tidy(() => {
      const head = { w2: params.w2!, b2: params.b2! };
      const body = Object.fromEntries(names.map((k) => [k, params[k]!]));
      const r = valueAndGrad((b) => ridgeLoss({ ...head, ...b }, batch, model, { lambda: 0.1, form }))(body);
      return { loss: r.value.dataSync()[0]!, g: r.grads };
    });
    expect(Math.abs(l - ref.loss) / ref.loss).toBeLessThan(1e-4);
    const fastBody = unpack(g, layout);
    expect(relError(Object.fromEntries(names.map((k) => [k, fastBody[k]!])), ref.g)).toBeLessThan(1e-3);
    expect(Array.from(fastBody.w2!.dataSync()).every((v) => v === 0)).toBe(true);
    disposeParams(fastBody);
    disposeParams(ref.g);
    disposeParams(params);
    disposeBatch(batch);
  });

  it.each(["dual", "primal"] as const)("body gradient matches central finite differences in float64 (%s)", (form) => {
    const config: MlpConfig = { sizes: [2, 6, 5, 2], activation: "tanh" };
    const kernel = firstOrderKernelFor(config, "mse", "js");
    const rng = new Rng(10);
    const batch = flat64(rng, "mse", 3, form === "dual" ? 4 : 9, 5, 2, 2);
    const theta = Float64Array.from({ length: kernel.numParams }, () => rng.normal(0, 0.7));
    const g = new Float64Array(kernel.numParams);
    kernel.ridge(theta, batch, 0.05, form, g);
    const scratch = new Float64Array(kernel.numParams);
    const fd = centralDiff((th) => kernel.ridge(th, batch, 0.05, form, scratch), theta);
    expect(relErrorFlat(g, fd)).toBeLessThan(1e-7);
  });

  it("the RidgeHead learner runs on the fast path, keeps the head, leaks nothing, and follows the tfjs path", () => {
    const model = new Mlp({ sizes: [1, 20, 20, 1], activation: "relu" });
    const rng = new Rng(3);
    const params = model.init(rng);
    const batch = new SineFamily().sample(rng, { tasks: 6, shots: 10, queries: 10 });
    const start = tf.memory().numTensors;
    let fast = initRidgeState(params, model);
    let slow = initRidgeState(params, model);
    for (let s = 0; s < 3; s++) {
      const a = ridgeStep(fast, batch, model, { fastPath: "require" });
      const b = ridgeStep(slow, batch, model, { fastPath: "off" });
      expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-3);
      disposeRidgeState(fast);
      disposeRidgeState(slow);
      fast = a.state;
      slow = b.state;
    }
    expect(relError(fast.params, slow.params)).toBeLessThan(1e-3);
    expect(Array.from(fast.params.w2!.dataSync())).toEqual(Array.from(params.w2!.dataSync()));
    disposeRidgeState(fast);
    disposeRidgeState(slow);
    expect(tf.memory().numTensors).toBe(start);
    const learner = new RidgeHead(model, params);
    learner.step(batch);
    expect(learner.lastPath?.fast).toBe(true);
    const pred = learner.predict({ x: batch.supportX, y: batch.supportY }, batch.queryX);
    expect(pred.shape).toEqual([6, 10, 1]);
    pred.dispose();
    learner.dispose();
    disposeParams(params);
    disposeBatch(batch);
  });
});
