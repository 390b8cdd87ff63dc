import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { initMlp, Mlp, type MlpConfig } from "../../src/models/mlp";
import { disposeBatch, type TaskBatch, type TaskLoss } from "../../src/tasks/task-family";
import { defaultKernelBackend, kernelFor, type FlatTaskBatch, type MamlKernelOptions } from "../../src/fast/mlp-maml";
import { packParams } from "../../src/fast/pack";
import { hasWasmSimd } from "../../src/fast/wasm-simd";
import { initInnerLrs, mamlMetaGradient, type MamlOptions } from "../../src/learners/maml";
import { classBatch, relError, relErrorFlat, sineBatch } from "./rel-error";

interface Case {
  readonly loss: TaskLoss;
  readonly activation: MlpConfig["activation"];
  readonly steps: number;
  readonly firstOrder: boolean;
  readonly adapt?: MamlOptions["adapt"];
  readonly learn?: "tensor" | "parameter";
  readonly multi?: boolean;
}

const CASES: Case[] = [];
for (const activation of ["relu", "tanh"] as const) for (const steps of [1, 2, 5]) for (const firstOrder of [false, true]) CASES.push({ loss: "mse", activation, steps, firstOrder });
for (const activation of ["sigmoid", "softplus", "identity"] as const) CASES.push({ loss: "mse", activation, steps: 2, firstOrder: false });
// N-way softmax cross-entropy (labs 04, 05, 09).
for (const activation of ["relu", "tanh"] as const) for (const [steps, firstOrder] of [[1, false], [2, false], [3, true]] as const) CASES.push({ loss: "cross-entropy", activation, steps, firstOrder });
// ANIL, a middle layer only, learned rates per tensor (MAML++ LSLR) and per parameter (Meta-SGD), the multi-step loss.
for (const loss of ["mse", "cross-entropy"] as const) {
  CASES.push({ loss, activation: "tanh", steps: 2, firstOrder: false, adapt: "head" });
  CASES.push({ loss, activation: "relu", steps: 1, firstOrder: false, adapt: "head" });
  CASES.push({ loss, activation: "tanh", steps: 2, firstOrder: true, adapt: "head" });
  CASES.push({ loss, activation: "softplus", steps: 3, firstOrder: false, adapt: ["w1", "b1"] });
  CASES.push({ loss, activation: "tanh", steps: 2, firstOrder: false, learn: "tensor" });
  CASES.push({ loss, activation: "relu", steps: 3, firstOrder: true, learn: "tensor" });
  CASES.push({ loss, activation: "sigmoid", steps: 2, firstOrder: false, learn: "parameter" });
  CASES.push({ loss, activation: "relu", steps: 3, firstOrder: false, multi: true });
  CASES.push({ loss, activation: "tanh", steps: 3, firstOrder: true, multi: true });
  CASES.push({ loss, activation: "tanh", steps: 3, firstOrder: false, multi: true, learn: "tensor", adapt: "head" });
}

function setup(c: Case, seed: number): { model: Mlp; params: Params; batch: TaskBatch } {
  const rng = new Rng(seed);
  const config: MlpConfig = c.loss === "mse" ? { sizes: [1, 12, 9, 1], activation: c.activation } : { sizes: [4, 10, 8, 5], activation: c.activation };
  const model = new Mlp(config);
  const params = initMlp(rng, config);
  const batch = c.loss === "mse" ? sineBatch(rng, 4, 5, 6) : classBatch(rng, 4, 10, 15, 4, 5);
  return { model, params, batch };
}

describe("fast MAML meta-gradient against the general tfjs path", () => {
  it.each(CASES)("$loss, $activation, $steps steps, firstOrder=$firstOrder, adapt=$adapt, learned rates=$learn, multi-step=$multi", (c) => {
    const { model, params, batch } = setup(c, 7 + c.steps);
    const options: Partial<MamlOptions> = {
      loss: c.loss, innerSteps: c.steps, innerLr: c.loss === "mse" ? 0.01 : 0.3, firstOrder: c.firstOrder,
      ...(c.adapt ? { adapt: c.adapt } : {}),
      ...(c.learn ? { learnInnerLr: true, innerLrPer: c.learn } : {}),
      ...(c.multi ? { multiStepLoss: true, multiStepAnneal: 4 } : {}),
    };
    // Learned rates away from their initial value, different per tensor and step, so their layout matters.
    const lrs = c.learn ? tf.tidy(() => Object.fromEntries(Object.entries(initInnerLrs(params, options)).map(([k, t], i) => [k, tf.mul(t, tf.add(0.7, tf.mul(tf.randomUniform(t.shape, 0, 1, "float32", i), 0.6)))]))) : null;
    const context = { step: 2, innerLrs: lrs };
    const before = tf.memory().numTensors;
    const fast = mamlMetaGradient(params, batch, model, { ...options, fastPath: "require" }, context);
    const ref = mamlMetaGradient(params, batch, model, { ...options, fastPath: "off" }, context);
    expect(fast.fastPath).toBe(true);
    expect(ref.fastPath).toBe(false);
    expect(ref.fastPathReason).toBe('fastPath is "off"');
    expect(Math.abs(fast.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    expect(relError(fast.grads, ref.grads)).toBeLessThan(1e-4);
    if (c.learn) {
      expect(Object.keys(fast.innerLrGrads!).sort()).toEqual(Object.keys(ref.innerLrGrads!).sort());
      for (const k of Object.keys(ref.innerLrGrads!)) expect(fast.innerLrGrads![k]!.shape).toEqual(ref.innerLrGrads![k]!.shape);
      expect(relError(fast.innerLrGrads!, ref.innerLrGrads!)).toBeLessThan(1e-4);
      disposeParams(fast.innerLrGrads!);
      disposeParams(ref.innerLrGrads!);
    }
    disposeParams(fast.grads);
    disposeParams(ref.grads);
    expect(tf.memory().numTensors).toBe(before);
    if (lrs) disposeParams(lrs);
    disposeParams(params);
    disposeBatch(batch);
  });

  it("second order differs from first order (the Hessian term is really there), also for ANIL and cross-entropy", () => {
    for (const c of [{ loss: "mse", adapt: "all" }, { loss: "cross-entropy", adapt: "head" }] as const) {
      const { model, params, batch } = setup({ loss: c.loss, activation: "relu", steps: 1, firstOrder: false }, 3);
      const o = { loss: c.loss, innerSteps: 1, innerLr: 0.3, adapt: c.adapt, fastPath: "require" } as const;
      const so = mamlMetaGradient(params, batch, model, o);
      const fo = mamlMetaGradient(params, batch, model, { ...o, firstOrder: true });
      expect(relError(so.grads, fo.grads)).toBeGreaterThan(1e-3);
      [so.grads, fo.grads, params].forEach(disposeParams);
      disposeBatch(batch);
    }
  });

  it("agrees with the Finn 1-40-40-1 ReLU network at meta-batch 25, K=10", () => {
    const config: MlpConfig = { sizes: [1, 40, 40, 1], activation: "relu" };
    const rng = new Rng(11);
    const params = initMlp(rng, config);
    const batch = sineBatch(rng, 25, 10, 10);
    const fast = mamlMetaGradient(params, batch, new Mlp(config), { fastPath: "require" });
    const ref = mamlMetaGradient(params, batch, new Mlp(config), { fastPath: "off" });
    expect(relError(fast.grads, ref.grads)).toBeLessThan(1e-4);
    [fast.grads, ref.grads, params].forEach(disposeParams);
    disposeBatch(batch);
  });
});

/** A flat float64 batch for the JavaScript kernels: regression targets, or one-hot labels for cross-entropy. */
function flatBatch(rng: Rng, loss: TaskLoss, T: number, nS: number, nQ: number, din: number, dout: number, scale: number): FlatTaskBatch {
  const arr = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1) * scale);
  const labels = (n: number) => {
    const y = new Float64Array(n * dout);
    for (let p = 0; p < n; p++) y[p * dout + rng.int(dout)] = 1;
    return y;
  };
  const y = (n: number) => (loss === "mse" ? arr(n * dout) : labels(n));
  return { supportX: arr(T * nS * din), supportY: y(T * nS), queryX: arr(T * nQ * din), queryY: y(T * nQ), tasks: T, shots: nS, queries: nQ };
}

describe("fast MAML kernels in float64 against central finite differences of their own meta-loss", () => {
  const FD_CASES = [
    ...(["tanh", "sigmoid", "softplus", "exp", "relu"] as const).map((activation) => ({ activation, sizes: [2, 5, 4, 3, 2], loss: "mse" as const })),
    { activation: "tanh" as const, sizes: [2, 6, 5, 1], loss: "mse" as const },
    { activation: "relu" as const, sizes: [1, 7, 1], loss: "mse" as const },
    { activation: "tanh" as const, sizes: [3, 6, 5, 4], loss: "cross-entropy" as const },
    { activation: "softplus" as const, sizes: [3, 5, 4, 3], loss: "cross-entropy" as const },
  ];
  it.each(FD_CASES)("$loss, $activation, sizes $sizes: uniform α, and per-parameter rates with frozen lower layers and the multi-step loss", ({ activation, sizes, loss }) => {
    const model: MlpConfig = { sizes, activation };
    const kernel = kernelFor(model, loss, "js");
    const P = kernel.numParams;
    const rng = new Rng(5);
    const scale = activation === "exp" ? 0.3 : 1; // exp nets blow up on large inputs
    const lr = activation === "exp" ? 0.02 : 0.3;
    const batch = flatBatch(rng, loss, 3, 4, 5, sizes[0]!, sizes[sizes.length - 1]!, scale);
    const theta = Float64Array.from({ length: P }, () => rng.normal(0, 0.6));
    const K = 3;
    // Rates per step and parameter; layer 0 frozen (rate 0), so the lower-layer shortcuts are exercised.
    const w0 = sizes[0]! * sizes[1]! + sizes[1]!;
    const rates = Float64Array.from({ length: K * P }, (_, j) => (j % P < w0 ? 0 : lr * rng.uniform(0.3, 1.2)));
    const variants: { name: string; opts: MamlKernelOptions; fdRates: boolean }[] = [
      { name: "uniform α, 2 steps", opts: { innerSteps: 2, rates: { uniform: lr }, firstOrder: false }, fdRates: false },
      { name: "per-parameter rates, multi-step", opts: { innerSteps: K, rates: { uniform: null, perParam: rates, lowestLayer: 1 }, firstOrder: false, stepWeights: [0.2, 0.3, 0.5] }, fdRates: true },
    ];
    for (const { opts, fdRates } of variants) {
      const g = new Float64Array(P);
      const rateGrad = fdRates ? new Float64Array(K * P) : undefined;
      kernel.metaGradient(theta, batch, { ...opts, ...(rateGrad ? { rateGrad } : {}) }, g);
      const scratch = new Float64Array(P);
      const h = 1e-6;
      const f = (th: Float64Array, r: Float64Array | null) => kernel.metaGradient(th, batch, r ? { ...opts, rates: { ...opts.rates, perParam: r } } : opts, scratch);
      let maxErr = 0;
      let maxMag = 0;
      for (let j = 0; j < P; j++) {
        const tp = Float64Array.from(theta);
        tp[j] += h;
        const tm = Float64Array.from(theta);
        tm[j] -= h;
        const fd = (f(tp, null) - f(tm, null)) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - g[j]!));
        maxMag = Math.max(maxMag, Math.abs(g[j]!));
      }
      expect(maxErr / maxMag).toBeLessThan(1e-6);
      expect(maxMag).toBeGreaterThan(0);
      if (rateGrad) {
        let rErr = 0;
        let rMag = 0;
        for (let j = 0; j < K * P; j += 7) {
          if (rates[j] === 0) continue; // frozen entries have no rate to learn
          const rp = Float64Array.from(rates);
          rp[j] += h;
          const rm = Float64Array.from(rates);
          rm[j] -= h;
          const fd = (f(theta, rp) - f(theta, rm)) / (2 * h);
          rErr = Math.max(rErr, Math.abs(fd - rateGrad[j]!));
          rMag = Math.max(rMag, Math.abs(rateGrad[j]!));
        }
        expect(rErr / rMag).toBeLessThan(1e-6);
      }
    }
  });
});

describe("fast MAML kernels: SIMD float32 against float64 JavaScript, buffers", () => {
  it("uses WebAssembly SIMD by default here, and it agrees with the float64 JavaScript kernels", () => {
    expect(hasWasmSimd()).toBe(true);
    expect(defaultKernelBackend(undefined)).toBe("wasm-simd");
    expect(defaultKernelBackend("js")).toBe("js");
    expect(() => defaultKernelBackend("gpu")).toThrow(/js or wasm-simd/);
    for (const [activation, loss] of [["relu", "mse"], ["tanh", "mse"], ["softplus", "mse"], ["relu", "cross-entropy"], ["tanh", "cross-entropy"]] as const) {
      const model: MlpConfig = { sizes: loss === "mse" ? [1, 40, 40, 1] : [8, 32, 32, 5], activation };
      const rng = new Rng(9);
      const T = 25;
      const batch = flatBatch(rng, loss, T, 10, 10, model.sizes[0]!, model.sizes[3]!, 5);
      const js = kernelFor(model, loss, "js");
      const wasm = kernelFor(model, loss, "wasm-simd");
      const P = js.numParams;
      const theta = Float64Array.from({ length: P }, () => rng.normal(0, 0.2));
      const rates = Float64Array.from({ length: 2 * P }, (_, j) => (j % P < model.sizes[0]! * 40 ? 0 : 0.01 * rng.uniform(0.5, 1.5)));
      const variants: MamlKernelOptions[] = [
        { innerSteps: 1, rates: { uniform: 0.01 }, firstOrder: false },
        { innerSteps: 5, rates: { uniform: 0.01 }, firstOrder: false },
        { innerSteps: 3, rates: { uniform: 0.01 }, firstOrder: true },
        { innerSteps: 0, rates: { uniform: 0.01 }, firstOrder: false },
        { innerSteps: 2, rates: { uniform: null, perParam: rates, lowestLayer: 1 }, firstOrder: false, stepWeights: [0.4, 0.6] },
      ];
      for (const opts of variants) {
        const gj = new Float64Array(P);
        const gw = new Float64Array(P);
        const rj = opts.rates.uniform === null ? new Float64Array(2 * P) : undefined;
        const rw = opts.rates.uniform === null ? new Float64Array(2 * P) : undefined;
        const lj = js.metaGradient(theta, batch, { ...opts, ...(rj ? { rateGrad: rj } : {}) }, gj);
        const lw = wasm.metaGradient(theta, batch, { ...opts, ...(rw ? { rateGrad: rw } : {}) }, gw);
        expect(Math.abs(lw - lj) / lj).toBeLessThan(1e-5);
        expect(relErrorFlat(gw, gj)).toBeLessThan(loss === "mse" ? 1e-5 : 1e-4);
        if (rj) expect(relErrorFlat(rw!, rj)).toBeLessThan(1e-4);
      }
    }
  });

  it("grows its WebAssembly memory for large batches and switches shapes without stale buffers", () => {
    const model: MlpConfig = { sizes: [1, 40, 40, 1], activation: "relu" };
    const rng = new Rng(12);
    const js = kernelFor(model, "mse", "js");
    const wasm = kernelFor(model, "mse", "wasm-simd");
    const theta = Float64Array.from({ length: js.numParams }, () => rng.normal(0, 0.2));
    const make = (T: number, nS: number, nQ: number): FlatTaskBatch => {
      const arr = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-5, 5));
      return { supportX: arr(T * nS), supportY: arr(T * nS), queryX: arr(T * nQ), queryY: arr(T * nQ), tasks: T, shots: nS, queries: nQ };
    };
    const small = make(3, 5, 7);
    const big = make(400, 10, 100);
    const run = (k: typeof js, b: FlatTaskBatch, steps: number) => {
      const g = new Float64Array(k.numParams);
      const loss = k.metaGradient(theta, b, { innerSteps: steps, rates: { uniform: 0.01 }, firstOrder: false }, g);
      return { loss, g };
    };
    const first = run(wasm, small, 2);
    const bigW = run(wasm, big, 1);
    const bigJ = run(js, big, 1);
    const again = run(wasm, small, 2);
    expect(Math.abs(bigW.loss - bigJ.loss) / bigJ.loss).toBeLessThan(1e-5);
    expect(relErrorFlat(bigW.g, bigJ.g)).toBeLessThan(1e-5);
    expect(again.loss).toBe(first.loss);
    expect(Array.from(again.g)).toEqual(Array.from(first.g));
  });

  it("checks its arguments with errors that say what is expected", () => {
    const k = kernelFor({ sizes: [1, 4, 1], activation: "relu" }, "mse", "js");
    const b = flatBatch(new Rng(1), "mse", 2, 3, 3, 1, 1, 1);
    const g = new Float64Array(k.numParams);
    const theta = new Float64Array(k.numParams);
    expect(() => k.metaGradient(new Float64Array(3), b, { innerSteps: 1, rates: { uniform: 0.1 }, firstOrder: false }, g)).toThrow(/need 13 entries/);
    expect(() => k.metaGradient(theta, b, { innerSteps: 1.5, rates: { uniform: 0.1 }, firstOrder: false }, g)).toThrow(/non-negative integer/);
    expect(() => k.metaGradient(theta, b, { innerSteps: 2, rates: { uniform: null, perParam: new Float64Array(5) }, firstOrder: false }, g)).toThrow(/innerSteps × 13/);
    expect(() => k.metaGradient(theta, b, { innerSteps: 2, rates: { uniform: 0.1 }, firstOrder: false, stepWeights: [1] }, g)).toThrow(/one weight per inner step/);
  });

  it("packs parameters in w0, b0, w1, b1 order", () => {
    const params = initMlp(new Rng(2), { sizes: [1, 3, 2], activation: "relu" });
    const theta = packParams(params, [1, 3, 2]);
    expect(theta.length).toBe(3 + 3 + 6 + 2);
    expect(Array.from(theta.subarray(6, 12))).toEqual(Array.from(params.w1!.dataSync()));
    disposeParams(params);
  });
});
