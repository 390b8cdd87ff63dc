import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { valueAndGrad } from "../../src/autodiff/functional";
import { DEFAULT_BN_MLP, initBnMlp, initBnMlpState, type BnMlpConfig } from "../../src/models/batchnorm";
import { bnMamlEvaluate, bnMamlLoss, bnMamlStep, disposeBnMaml, initBnMaml, type BnEvalMode, type BnMamlOptions, type BnMamlState } from "../../src/learners/bn-maml";
import { BnMamlKernel } from "../../src/fast/bn-maml";
import { BnMlpNet, bnParamLayout } from "../../src/fast/bn-mlp-net";
import { JsOps } from "../../src/fast/math-ops";
import { flattenBatch } from "../../src/fast/mlp-maml";
import { lossScale, copyInto } from "../../src/fast/mlp-net";
import { pack, unpack } from "../../src/fast/pack";
import { checkBnFastPath } from "../../src/fast/eligibility";
import { disposeBatch, type TaskBatch, type TaskLoss } from "../../src/tasks/task-family";
import { classBatch, relError, relErrorFlat, sineBatch } from "./rel-error";

interface Case {
  readonly loss: TaskLoss;
  readonly activation: BnMlpConfig["activation"];
  readonly steps: number;
  readonly firstOrder: boolean;
  readonly perStep: boolean;
  readonly sizes: readonly number[];
}

const CASES: Case[] = [];
for (const perStep of [false, true]) for (const [steps, firstOrder] of [[1, false], [2, false], [2, true]] as const) CASES.push({ loss: "cross-entropy", activation: "relu", steps, firstOrder, perStep, sizes: [4, 10, 8, 5] });
for (const activation of ["tanh", "softplus", "sigmoid"] as const) CASES.push({ loss: "cross-entropy", activation, steps: 2, firstOrder: false, perStep: false, sizes: [4, 10, 8, 5] });
CASES.push({ loss: "mse", activation: "relu", steps: 2, firstOrder: false, perStep: true, sizes: [1, 12, 9, 1] });
CASES.push({ loss: "mse", activation: "tanh", steps: 1, firstOrder: false, perStep: false, sizes: [1, 12, 1] });
CASES.push({ loss: "cross-entropy", activation: "relu", steps: 3, firstOrder: false, perStep: false, sizes: [6, 7, 3] });

function configOf(c: Case): BnMlpConfig {
  return { ...DEFAULT_BN_MLP, sizes: c.sizes, activation: c.activation, statSets: c.perStep ? c.steps + 1 : 1, perStepAffine: c.perStep };
}

/** Parameters away from γ = 1, β = 0 and running statistics away from 0/1, so every term is exercised. */
function setup(c: Case, seed: number): { config: BnMlpConfig; params: Params; state: Params; batch: TaskBatch } {
  const rng = new Rng(seed);
  const config = configOf(c);
  const init = initBnMlp(rng, config);
  const params: Params = Object.fromEntries(Object.entries(init).map(([k, t]) => [k, k.startsWith("gamma") || k.startsWith("beta") ? tf.add(t, rng.normalTensor(t.shape, 0, 0.3)) : tf.clone(t)]));
  disposeParams(init);
  const st0 = initBnMlpState(config);
  const state: Params = Object.fromEntries(Object.entries(st0).map(([k, t]) => [k, k.startsWith("var") ? tf.add(t, rng.uniformTensor(t.shape, 0, 1)) : rng.normalTensor(t.shape, 0, 0.5)]));
  disposeParams(st0);
  const [din, dout] = [c.sizes[0]!, c.sizes[c.sizes.length - 1]!];
  const batch = c.loss === "mse" ? sineBatch(rng, 3, 6, 7, dout) : classBatch(rng, 3, 6, 9, din, dout);
  return { config, params, state, batch };
}

function optionsOf(c: Case, fastPath: BnMamlOptions["fastPath"]): Partial<BnMamlOptions> {
  return { loss: c.loss, innerSteps: c.steps, innerLr: c.loss === "mse" ? 0.02 : 0.3, firstOrder: c.firstOrder, outerLr: 3e-3, fastPath };
}

function stateOf(params: Params, bnState: Params): BnMamlState {
  const p: Params = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, tf.clone(t)]));
  const s: Params = Object.fromEntries(Object.entries(bnState).map(([k, t]) => [k, tf.clone(t)]));
  return { params: p, bnState: s, adam: { step: 0, m: Object.fromEntries(Object.entries(p).map(([k, t]) => [k, tf.zerosLike(t)])), v: Object.fromEntries(Object.entries(p).map(([k, t]) => [k, tf.zerosLike(t)])) } };
}

describe("fast BN-MAML against the general tfjs path", () => {
  it.each(CASES)("$loss, $activation, $steps steps, firstOrder=$firstOrder, per-step=$perStep, sizes=$sizes", (c) => {
    const { config, params, state, batch } = setup(c, 11 + c.steps);
    // Meta-gradient: the general path's gradient of bnMamlLoss, the fast kernel's (float32 SIMD, the default backend).
    const o = optionsOf(c, "off");
    let generalLoss = 0;
    const general = tf.tidy(() => {
      const { value, grads } = valueAndGrad((p) => bnMamlLoss(p, state, batch, config, o))(params);
      generalLoss = value.dataSync()[0]!;
      return grads;
    });
    const pl = bnParamLayout(config);
    const kernel = new BnMamlKernel(config, c.loss);
    const grad = new Float32Array(pl.size);
    const loss = kernel.metaGradient(pack(params, pl), flattenBatch(batch), { innerSteps: c.steps, innerLr: o.innerLr!, firstOrder: c.firstOrder }, grad);
    expect(Math.abs(loss - generalLoss) / generalLoss).toBeLessThan(1e-5);
    const fastGrads = unpack(grad, pl);
    expect(relError(fastGrads, general)).toBeLessThan(1e-4);
    disposeParams(fastGrads);
    disposeParams(general);

    // One full step each way: same loss, parameters, running statistics and Adam moments.
    const fastStep = bnMamlStep(stateOf(params, state), batch, config, optionsOf(c, "require"));
    const offStep = bnMamlStep(stateOf(params, state), batch, config, o);
    expect(fastStep.fastPath.fast).toBe(true);
    expect(offStep.fastPath.fast).toBe(false);
    expect(Math.abs(fastStep.loss - offStep.loss) / offStep.loss).toBeLessThan(1e-5);
    expect(relError(fastStep.state.params, offStep.state.params)).toBeLessThan(1e-5); // Adam's first step is ±lr where |g| is tiny
    expect(relError(fastStep.state.bnState, offStep.state.bnState)).toBeLessThan(1e-6);
    expect(relError(fastStep.state.adam.m, offStep.state.adam.m)).toBeLessThan(1e-4);

    // Every evaluation mode, after the step (running statistics moved).
    for (const mode of ["transductive", "per-example", "support", "support-plus-one", "running"] as BnEvalMode[]) {
      const f = bnMamlEvaluate(fastStep.state, batch, config, mode, optionsOf(c, "require"));
      const g = bnMamlEvaluate(offStep.state, batch, config, mode, o);
      expect(Math.abs(f.loss - g.loss) / g.loss, mode).toBeLessThan(1e-4);
      expect(Math.abs(f.accuracy - g.accuracy), mode).toBeLessThan(1e-6);
    }
    disposeBnMaml(fastStep.state);
    disposeBnMaml(offStep.state);
    disposeParams(params);
    disposeParams(state);
    disposeBatch(batch);
  });
});

describe("float64 BN kernels against finite differences", () => {
  it.each(CASES.filter((c) => !c.firstOrder))("meta-gradient and Hessian-vector product: $loss, $activation, $steps steps, per-step=$perStep", (c) => {
    const { config, params, state, batch } = setup(c, 31 + c.steps);
    const pl = bnParamLayout(config);
    const theta = Float64Array.from(pack(params, pl));
    const fb = flattenBatch(batch);
    const kernel = new BnMamlKernel(config, c.loss, "js");
    const options = { innerSteps: c.steps, innerLr: c.loss === "mse" ? 0.02 : 0.3, firstOrder: false };
    const grad = new Float64Array(pl.size);
    kernel.metaGradient(theta, fb, options, grad);
    // Central differences per coordinate (steps this small rarely cross a ReLU kink), as for the MLP kernels.
    const scratch = new Float64Array(pl.size);
    const step = 1e-6;
    let maxErr = 0;
    let maxMag = 0;
    for (let j = 0; j < pl.size; j++) {
      const plus = Float64Array.from(theta);
      plus[j] += step;
      const minus = Float64Array.from(theta);
      minus[j] -= step;
      const fd = (kernel.metaGradient(plus, fb, options, scratch) - kernel.metaGradient(minus, fb, options, scratch)) / (2 * step);
      maxErr = Math.max(maxErr, Math.abs(fd - grad[j]!));
      maxMag = Math.max(maxMag, Math.abs(grad[j]!));
    }
    expect(maxMag).toBeGreaterThan(0);
    expect(maxErr / maxMag).toBeLessThan(1e-6);
    const rng = new Rng(5);

    // The Hessian-vector product of one task's support loss against differences of its gradient.
    const net = new BnMlpNet(config, c.loss, new JsOps());
    const nS = fb.shots;
    const din = config.sizes[0]!;
    const dout = config.sizes[config.sizes.length - 1]!;
    net.reset();
    net.prepareHvp(nS);
    const pass = net.makePass(nS);
    const ops = net.ops;
    const th = ops.alloc(pl.size);
    const v = ops.alloc(pl.size);
    const hv = ops.alloc(pl.size);
    const g1 = ops.alloc(pl.size);
    const g2 = ops.alloc(pl.size);
    const x = ops.alloc(nS * din);
    const y = ops.alloc(nS * dout);
    const h = ops.heap();
    copyInto(h, Array.from(fb.supportX).slice(0, nS * din), x);
    copyInto(h, Array.from(fb.supportY).slice(0, nS * dout), y);
    const s = lossScale(c.loss, nS, dout);
    const cS = s.factor / s.divisor;
    const set = c.perStep ? 1 : 0;
    const dirV = Float64Array.from({ length: pl.size }, () => rng.normal(0, 1));
    copyInto(h, dirV, v);
    const gradAt = (t: ArrayLike<number>, out: number) => {
      copyInto(h, t, th);
      pass.A[0] = x;
      net.forward(th, pass, set);
      net.backward(th, pass, y, cS, out, set);
    };
    const e = 1e-6;
    gradAt(theta.map((a, j) => a + e * dirV[j]!), g1);
    gradAt(theta.map((a, j) => a - e * dirV[j]!), g2);
    const fdHv = Array.from({ length: pl.size }, (_, j) => (h[g1 + j]! - h[g2 + j]!) / (2 * e));
    gradAt(theta, g1);
    net.hvp(th, pass, y, cS, v, hv, set);
    expect(relErrorFlat(Array.from(h.subarray(hv, hv + pl.size)), fdHv)).toBeLessThan(1e-6);
    disposeParams(params);
    disposeParams(state);
    disposeBatch(batch);
  });
});

describe("BN-MAML fast path selection", () => {
  it("packs the learner state (no tensors per step) and trains like the general path", () => {
    const config: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [4, 12, 12, 3], statSets: 3, perStepAffine: true };
    const rng = new Rng(3);
    const batches = Array.from({ length: 20 }, () => classBatch(rng, 4, 8, 8, 4, 3)); // 8 points per task: batch variances well away from 0
    const o: Partial<BnMamlOptions> = { innerSteps: 2, innerLr: 0.3, outerLr: 3e-3 };
    let fast = initBnMaml(new Rng(9), config);
    let off = initBnMaml(new Rng(9), config);
    const before = tf.memory().numTensors;
    const initial = 3 * Object.keys(fast.params).length + Object.keys(fast.bnState).length; // params, Adam's m and v, statistics
    for (const b of batches) {
      const r = bnMamlStep(fast, b, config, o);
      expect(r.fastPath).toEqual({ fast: true, reason: null });
      fast = r.state;
    }
    expect(tf.memory().numTensors).toBe(before - initial); // the first step consumed the tensor state; the packed one has none
    for (const b of batches) off = bnMamlStep(off, b, config, { ...o, fastPath: "off" }).state;
    expect(relError(fast.params, off.params)).toBeLessThan(1e-4);
    expect(relError(fast.bnState, off.bnState)).toBeLessThan(1e-4);
    disposeBnMaml(fast);
    disposeBnMaml(off);
    batches.forEach(disposeBatch);
  });

  it("says why not, and throws under \"require\"", () => {
    const config: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [4, 8, 3] };
    const params = initBnMlp(new Rng(1), config);
    const state = initBnMlpState(config);
    expect(checkBnFastPath({ config, params, state, loss: "cross-entropy" }).ok).toBe(true);
    const wrong = { ...config, statSets: 2 };
    const r = checkBnFastPath({ config: wrong, params, state, loss: "cross-entropy" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/running statistics/);
    const bad = checkBnFastPath({ config: { ...config, activation: "leakyRelu" as never }, params, state, loss: "cross-entropy" });
    expect(bad.ok).toBe(false);
    const st = initBnMaml(new Rng(2), config);
    const b = classBatch(new Rng(3), 2, 2, 2, 5, 3);
    expect(() => bnMamlStep(st, b, config, { fastPath: "require" })).toThrow(/fastPath is "require", but inputs have 5 features/);
    disposeBnMaml(st);
    disposeBatch(b);
    disposeParams(params);
    disposeParams(state);
  });
});

