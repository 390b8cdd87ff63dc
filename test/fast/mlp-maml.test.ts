import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { initMlp, Mlp, type MlpConfig } from "../../src/models/mlp";
import type { TaskBatch } from "../../src/tasks/task-family";
import { disposeBatch } from "../../src/tasks/task-family";
import { defaultKernelBackend, fastMamlMetaGradient, fastMamlUnsupportedReason, kernelFor, packParams, type FlatTaskBatch } from "../../src/fast/mlp-maml";
import { hasWasmSimd } from "../../src/fast/wasm-simd";
import { mamlMetaGradient } from "../../src/learners/maml";
import { relError } from "./rel-error";

/** Sine tasks as in Finn et al. (2017): amplitude in [0.1, 5], phase in [0, π], x in [-5, 5]. */
function sineBatch(rng: Rng, tasks: number, shots: number, queries: number, outputs = 1): TaskBatch {
  const make = (n: number) => {
    const x = new Float32Array(tasks * n);
    const y = new Float32Array(tasks * n * outputs);
    for (let t = 0; t < tasks; t++) {
      const amp = rng.uniform(0.1, 5);
      const phase = rng.uniform(0, Math.PI);
      for (let p = 0; p < n; p++) {
        const xv = rng.uniform(-5, 5);
        x[t * n + p] = xv;
        for (let o = 0; o < outputs; o++) y[(t * n + p) * outputs + o] = amp * Math.sin(xv - phase + o);
      }
    }
    return [tf.tensor3d(x, [tasks, n, 1]), tf.tensor3d(y, [tasks, n, outputs])] as const;
  };
  const [supportX, supportY] = make(shots);
  const [queryX, queryY] = make(queries);
  return { supportX, supportY, queryX, queryY };
}

/** The same meta-gradient by the MAML learner's general tfjs path (nested autodiff, no fast path). */
function referenceMetaGradient(params: Params, batch: TaskBatch, model: MlpConfig, innerSteps: number, innerLr: number, firstOrder: boolean): { loss: number; grads: Params } {
  return mamlMetaGradient(params, batch, new Mlp(model), { innerSteps, innerLr, firstOrder, fastPath: false });
}

const CASES: { activation: MlpConfig["activation"]; steps: number; firstOrder: boolean }[] = [];
for (const activation of ["relu", "tanh"] as const) for (const steps of [1, 2, 5]) for (const firstOrder of [false, true]) CASES.push({ activation, steps, firstOrder });
for (const activation of ["sigmoid", "softplus", "identity"] as const) CASES.push({ activation, steps: 2, firstOrder: false });

describe("fast MLP MAML meta-gradient", () => {
  it.each(CASES)("agrees with tfjs autodiff: $activation, $steps inner steps, firstOrder=$firstOrder", ({ activation, steps, firstOrder }) => {
    const model: MlpConfig = { sizes: [1, 12, 9, 1], activation };
    const rng = new Rng(7 + steps);
    const params = initMlp(rng, model);
    const batch = sineBatch(rng, 4, 5, 6);
    const before = tf.memory().numTensors;
    const fast = fastMamlMetaGradient({ params, batch, model, innerSteps: steps, innerLr: 0.01, firstOrder });
    expect(fast).not.toBeNull();
    const ref = referenceMetaGradient(params, batch, model, steps, 0.01, firstOrder);
    expect(Math.abs(fast!.loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    expect(relError(fast!.grads, ref.grads)).toBeLessThan(1e-4);
    disposeParams(fast!.grads);
    disposeParams(ref.grads);
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
    disposeBatch(batch);
  });

  it("second order differs from first order (the Hessian term is really there)", () => {
    const model: MlpConfig = { sizes: [1, 12, 9, 1], activation: "relu" };
    const rng = new Rng(3);
    const params = initMlp(rng, model);
    const batch = sineBatch(rng, 4, 5, 6);
    const so = fastMamlMetaGradient({ params, batch, model, innerSteps: 1, innerLr: 0.1, firstOrder: false })!;
    const fo = fastMamlMetaGradient({ params, batch, model, innerSteps: 1, innerLr: 0.1, firstOrder: true })!;
    expect(relError(so.grads, fo.grads)).toBeGreaterThan(1e-3);
    disposeParams(so.grads);
    disposeParams(fo.grads);
    disposeParams(params);
    disposeBatch(batch);
  });

  it("agrees with the Finn 1-40-40-1 ReLU network at meta-batch 25, K=10 (float32 autodiff vs float64 kernel)", () => {
    const model: MlpConfig = { sizes: [1, 40, 40, 1], activation: "relu" };
    const rng = new Rng(11);
    const params = initMlp(rng, model);
    const batch = sineBatch(rng, 25, 10, 10);
    const fast = fastMamlMetaGradient({ params, batch, model, innerSteps: 1, innerLr: 0.01, firstOrder: false })!;
    const ref = referenceMetaGradient(params, batch, model, 1, 0.01, false);
    expect(relError(fast.grads, ref.grads)).toBeLessThan(1e-4);
    disposeParams(fast.grads);
    disposeParams(ref.grads);
    disposeParams(params);
    disposeBatch(batch);
  });

  it.each([
    ...(["tanh", "sigmoid", "softplus", "exp", "relu"] as const).map((activation) => ({ activation, sizes: [2, 5, 4, 3, 2] })),
    { activation: "tanh" as const, sizes: [2, 6, 5, 1] },
    { activation: "relu" as const, sizes: [1, 7, 1] },
  ])("matches central finite differences of its own meta-loss in float64: $activation, sizes $sizes", ({ activation, sizes }) => {
    const model: MlpConfig = { sizes, activation };
    const din = sizes[0]!;
    const dout = sizes[sizes.length - 1]!;
    const kernel = kernelFor(model, "js");
    const rng = new Rng(5);
    const T = 3, nS = 4, nQ = 5;
    const scale = activation === "exp" ? 0.3 : 1; // exp nets blow up on large inputs
    const lr = activation === "exp" ? 0.02 : 0.3;
    const arr = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1) * scale);
    const batch: FlatTaskBatch = { supportX: arr(T * nS * din), supportY: arr(T * nS * dout), queryX: arr(T * nQ * din), queryY: arr(T * nQ * dout), tasks: T, shots: nS, queries: nQ };
    const theta = Float64Array.from({ length: kernel.numParams }, () => rng.normal(0, 0.6));
    for (const [steps, firstOrder] of [[2, false], [1, true]] as const) {
      const g = new Float64Array(kernel.numParams);
      kernel.metaGradient(theta, batch, steps, lr, firstOrder, g);
      const scratch = new Float64Array(kernel.numParams);
      const h = 1e-6;
      let maxErr = 0;
      let maxMag = 0;
      for (let j = 0; j < theta.length; j++) {
        const tp = Float64Array.from(theta);
        tp[j] += h;
        const tm = Float64Array.from(theta);
        tm[j] -= h;
        // First order is not the gradient of any loss, so only second order is checked against differences.
        if (firstOrder) continue;
        const fd = (kernel.metaGradient(tp, batch, steps, lr, false, scratch) - kernel.metaGradient(tm, batch, steps, lr, false, scratch)) / (2 * h);
        maxErr = Math.max(maxErr, Math.abs(fd - g[j]!));
        maxMag = Math.max(maxMag, Math.abs(g[j]!));
      }
      if (!firstOrder) expect(maxErr / maxMag).toBeLessThan(1e-6);
    }
  });

  it("uses WebAssembly SIMD by default here, and it agrees with the float64 JavaScript kernels", () => {
    expect(hasWasmSimd()).toBe(true);
    expect(defaultKernelBackend(undefined)).toBe("wasm-simd");
    expect(defaultKernelBackend("js")).toBe("js");
    expect(() => defaultKernelBackend("gpu")).toThrow(/js or wasm-simd/);
    for (const activation of ["relu", "tanh", "softplus"] as const) {
      const model: MlpConfig = { sizes: [1, 40, 40, 1], activation };
      const rng = new Rng(9);
      const T = 25, nS = 10, nQ = 10;
      const arr = (n: number, s: number) => Float64Array.from({ length: n }, () => rng.uniform(-s, s));
      const batch: FlatTaskBatch = { supportX: arr(T * nS, 5), supportY: arr(T * nS, 5), queryX: arr(T * nQ, 5), queryY: arr(T * nQ, 5), tasks: T, shots: nS, queries: nQ };
      const js = kernelFor(model, "js");
      const wasm = kernelFor(model, "wasm-simd");
      const theta = Float64Array.from({ length: js.numParams }, () => rng.normal(0, 0.2));
      for (const [steps, firstOrder] of [[1, false], [5, false], [3, true], [0, false]] as const) {
        const gj = new Float64Array(js.numParams);
        const gw = new Float64Array(js.numParams);
        const lj = js.metaGradient(theta, batch, steps, 0.01, firstOrder, gj);
        const lw = wasm.metaGradient(theta, batch, steps, 0.01, firstOrder, gw);
        expect(Math.abs(lw - lj) / lj).toBeLessThan(1e-5);
        let num = 0, den = 0;
        for (let j = 0; j < gj.length; j++) {
          num += (gw[j]! - gj[j]!) ** 2;
          den += gj[j]! ** 2;
        }
        expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
      }
    }
  });

  it("grows its WebAssembly memory for large batches and switches shapes without stale buffers", () => {
    const model: MlpConfig = { sizes: [1, 40, 40, 1], activation: "relu" };
    const rng = new Rng(12);
    const js = kernelFor(model, "js");
    const wasm = kernelFor(model, "wasm-simd");
    const theta = Float64Array.from({ length: js.numParams }, () => rng.normal(0, 0.2));
    const make = (T: number, nS: number, nQ: number): FlatTaskBatch => {
      const arr = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-5, 5));
      return { supportX: arr(T * nS), supportY: arr(T * nS), queryX: arr(T * nQ), queryY: arr(T * nQ), tasks: T, shots: nS, queries: nQ };
    };
    const small = make(3, 5, 7);
    const big = make(400, 10, 100);
    const run = (k: typeof js, b: FlatTaskBatch, steps: number) => {
      const g = new Float64Array(k.numParams);
      const loss = k.metaGradient(theta, b, steps, 0.01, false, g);
      return { loss, g };
    };
    const first = run(wasm, small, 2);
    const bigW = run(wasm, big, 1);
    const bigJ = run(js, big, 1);
    const again = run(wasm, small, 2);
    expect(Math.abs(bigW.loss - bigJ.loss) / bigJ.loss).toBeLessThan(1e-5);
    let num = 0, den = 0;
    for (let j = 0; j < bigJ.g.length; j++) {
      num += (bigW.g[j]! - bigJ.g[j]!) ** 2;
      den += bigJ.g[j]! ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    expect(again.loss).toBe(first.loss);
    expect(Array.from(again.g)).toEqual(Array.from(first.g));
  });

  it("returns null (with a reason) for requests outside the fast path", () => {
    const rng = new Rng(1);
    const model: MlpConfig = { sizes: [1, 4, 1], activation: "relu" };
    const params = initMlp(rng, model);
    const batch = sineBatch(rng, 2, 3, 3);
    const base = { params, batch, model, innerSteps: 1, innerLr: 0.01, firstOrder: false };
    expect(fastMamlUnsupportedReason(base)).toBeNull();
    expect(fastMamlMetaGradient({ ...base, innerSteps: 1.5 })).toBeNull();
    expect(fastMamlMetaGradient({ ...base, model: { sizes: [1, 5, 1], activation: "relu" } })).toBeNull();
    expect(fastMamlMetaGradient({ ...base, model: { sizes: [2, 4, 1], activation: "relu" } })).toBeNull();
    const tiled = { ...params, w0: tf.zeros([2, 1, 4]) };
    expect(fastMamlUnsupportedReason({ ...base, params: tiled })).toMatch(/task-batched/);
    tiled.w0.dispose();
    disposeParams(params);
    disposeBatch(batch);
  });

  it("packs parameters in w0, b0, w1, b1 order", () => {
    const params = initMlp(new Rng(2), { sizes: [1, 3, 2], activation: "relu" });
    const theta = packParams(params, [1, 3, 2]);
    expect(theta.length).toBe(3 + 3 + 6 + 2);
    expect(Array.from(theta.subarray(6, 12))).toEqual(Array.from(params.w1!.dataSync()));
    disposeParams(params);
  });
});
