import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { initMlp, Mlp, type MlpConfig } from "../../src/models/mlp";
import { SineFamily } from "../../src/tasks/regression";
import { BlobClassification } from "../../src/tasks/classification";
import { disposeBatch, type TaskBatch, type TaskFamily } from "../../src/tasks/task-family";
import { FastMamlTrainer } from "../../src/fast/fast-maml-trainer";
import { fastMamlTrainerConfig } from "../../src/fast/fast-maml-config";
import { flattenBatch, MlpMamlKernel, type FlatTaskBatch, type KernelBackend, type MamlKernelOptions } from "../../src/fast/mlp-maml";
import { disposeWorkerPools, MamlWorkerPool, workerScript } from "../../src/fast/worker-pool";
import { claimTask, openClaims, spinsOf } from "../../src/fast/worker-protocol";
import { Maml, mamlOptions, type MamlOptions } from "../../src/learners/maml";

// The worker threads load the compiled dist/src/fast/maml-worker.js (and through it dist's kernels), so these tests
// need `npm run build` to be current; without a build they are skipped, like the other tests that run dist.
const ROOT = path.resolve(__dirname, "..", "..");
const built = fs.existsSync(path.join(ROOT, "dist", "src", "fast", "maml-worker.js"));

afterAll(() => disposeWorkerPools());

/** The bytes of a float32 array, for bit-for-bit comparison. */
function bytes(a: Float32Array | Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Fixed flat sine batches (7 tasks: blocks of 2/2/3 and 3/4 tasks, not a multiple of 2 or 3). */
function sineBatches(n: number, tasks = 7): FlatTaskBatch[] {
  const rng = new Rng(11);
  const family = new SineFamily();
  return Array.from({ length: n }, () => {
    const b = family.sample(rng, { tasks, shots: 5, queries: 6 });
    const f = flattenBatch(b);
    disposeBatch(b);
    return f;
  });
}

/** θ after `steps` meta-steps of a FastMamlTrainer with `workers` threads. */
function trainerTheta(model: MlpConfig, workers: number, innerSteps: number, firstOrder: boolean, batches: FlatTaskBatch[], backend?: KernelBackend): { theta: Float32Array; losses: number[] } {
  const init = initMlp(new Rng(0), model);
  const t = new FastMamlTrainer(init, { model, innerSteps, innerLr: 0.05, firstOrder, workers, ...(backend ? { backend } : {}) });
  disposeParams(init);
  const losses = batches.map((b) => t.metaStep(b));
  const theta = t.theta.slice();
  t.dispose();
  return { theta, losses };
}

describe.skipIf(!built)("FastMamlTrainer with workers (needs npm run build)", () => {
  const model: MlpConfig = { sizes: [1, 20, 20, 1], activation: "relu" };
  const batches = sineBatches(3);
  for (const firstOrder of [false, true]) {
    for (const innerSteps of [1, 5]) {
      it(`1, 2 and 3 threads give the same bits (${firstOrder ? "first" : "second"} order, ${innerSteps} inner steps)`, () => {
        const one = trainerTheta(model, 1, innerSteps, firstOrder, batches);
        for (const workers of [2, 3]) {
          const r = trainerTheta(model, workers, innerSteps, firstOrder, batches);
          expect(bytes(r.theta).equals(bytes(one.theta)), `workers ${workers}: rebuild dist (npm run build) if the kernels changed`).toBe(true);
          expect(r.losses).toEqual(one.losses);
        }
      });
    }
  }

  it("the JavaScript (float64) kernels split with the same bits too", () => {
    const one = trainerTheta(model, 1, 2, false, batches, "js");
    const two = trainerTheta(model, 2, 2, false, batches, "js");
    expect(bytes(two.theta).equals(bytes(one.theta))).toBe(true);
    expect(two.losses).toEqual(one.losses);
  });

  it("more threads than tasks, and a batch shape that changes between steps", () => {
    const mixed = [...sineBatches(1, 2), ...sineBatches(1, 9), ...sineBatches(1, 1)];
    const one = trainerTheta(model, 1, 1, false, mixed);
    const four = trainerTheta(model, 4, 1, false, mixed);
    expect(bytes(four.theta).equals(bytes(one.theta))).toBe(true);
  });

  it("many small steps: the same bits, and every task accounted for (in order, kept, from a worker or taken back)", () => {
    const many = sineBatches(40, 4);
    const one = trainerTheta(model, 1, 1, true, many);
    const two = trainerTheta(model, 2, 1, true, many);
    expect(bytes(two.theta).equals(bytes(one.theta))).toBe(true);
    const pool = new MamlWorkerPool({ model, workers: 2 });
    const g = new Float32Array(pool.numParams);
    const th = new Float32Array(pool.numParams).fill(0.05);
    for (const b of many) pool.metaGradient(th, b, { innerSteps: 1, rates: { uniform: 0.01 }, firstOrder: true }, g);
    const st = pool.stats;
    expect(st.steps).toBe(40);
    expect(st.fromWorkers + st.kept + st.takenBack).toBeLessThanOrEqual(40 * 4);
    pool.dispose();
  });

  it("dispose() ends the worker threads and the trainer cannot step afterwards", () => {
    const init = initMlp(new Rng(0), model);
    const t = new FastMamlTrainer(init, { model, innerSteps: 1, innerLr: 0.01, firstOrder: false, workers: 2 });
    disposeParams(init);
    t.metaStep(batches[0]!);
    t.dispose();
    expect(() => t.metaStep(batches[0]!)).toThrow(/after dispose/);
    const pool = new MamlWorkerPool({ model, workers: 3 });
    expect(pool.running).toBe(0); // started lazily
    const g = new Float32Array(pool.numParams);
    pool.metaGradient(new Float32Array(pool.numParams).fill(0.1), batches[0]!, { innerSteps: 1, rates: { uniform: 0.01 }, firstOrder: false }, g);
    expect(pool.running).toBe(2);
    const bad = { ...batches[0]!, supportX: Array.from(batches[0]!.supportX).slice(1) };
    expect(() => pool.metaGradient(new Float32Array(pool.numParams), bad, { innerSteps: 1, rates: { uniform: 0.01 }, firstOrder: false }, g)).toThrow(/batch arrays do not match/);
    pool.dispose();
    expect(pool.running).toBe(0);
  });
});

/** Trains a Maml learner for `steps` steps on fixed batches; returns θ (and the learned rates) as bytes. */
function learnerBits(model: Mlp, family: TaskFamily, options: Partial<MamlOptions>, steps: number): { theta: Buffer[]; rates: Buffer[]; losses: number[] } {
  const rng = new Rng(5);
  const init = model.init(rng.fork("init"));
  const learner = new Maml(model, init, options);
  disposeParams(init);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const b: TaskBatch = family.sample(rng, { tasks: 5, shots: 4, queries: 4 });
    losses.push(learner.step(b));
    disposeBatch(b);
  }
  expect(learner.lastPath).toEqual({ fast: true, reason: null });
  const dump = (p: Params | null) => (p ? Object.keys(p).sort().map((k) => Buffer.from(p[k]!.dataSync().slice().buffer)) : []);
  const out = { theta: dump(learner.params), rates: dump(learner.innerLrTensors()), losses };
  learner.dispose();
  return out;
}

describe.skipIf(!built)("the Maml learner with workers (needs npm run build)", () => {
  const sine = new SineFamily();
  const sineModel = new Mlp({ sizes: [1, 16, 16, 1], activation: "tanh" });
  const variants: [string, Partial<MamlOptions>][] = [
    ["MAML, second order", { innerSteps: 2 }],
    ["first-order MAML", { innerSteps: 2, firstOrder: true }],
    ["first order then second (firstOrderUntil)", { innerSteps: 1, firstOrderUntil: 2 }],
    ["ANIL (head only)", { innerSteps: 2, adapt: "head" }],
    ["MAML++ LSLR with the multi-step loss", { innerSteps: 3, learnInnerLr: true, multiStepLoss: true, multiStepAnneal: 2 }],
    ["Meta-SGD (per-parameter rates)", { innerSteps: 2, learnInnerLr: true, innerLrPer: "parameter" }],
    ["clipped meta-gradient", { innerSteps: 1, clipNorm: 0.1 }],
  ];
  for (const [name, o] of variants) {
    it(`${name}: 1, 2 and 3 threads give the same bits`, () => {
      const before = tf.memory().numTensors;
      const one = learnerBits(sineModel, sine, { ...o, workers: 1 }, 3);
      for (const workers of [2, 3]) {
        const r = learnerBits(sineModel, sine, { ...o, workers }, 3);
        expect(r.theta.every((b, i) => b.equals(one.theta[i]!)), `workers ${workers}`).toBe(true);
        expect(r.rates.every((b, i) => b.equals(one.rates[i]!))).toBe(true);
        expect(r.losses).toEqual(one.losses);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("cross-entropy classification: 1 and 2 threads give the same bits", () => {
    const family = new BlobClassification();
    const model = new Mlp({ sizes: [8, 16, 5], activation: "relu" });
    const one = learnerBits(model, family, { loss: "cross-entropy", workers: 1 }, 3);
    const two = learnerBits(model, family, { loss: "cross-entropy", workers: 2 }, 3);
    expect(two.theta.every((b, i) => b.equals(one.theta[i]!))).toBe(true);
    expect(two.losses).toEqual(one.losses);
  });
});

describe("the kernel's split API (no threads, runs without a build)", () => {
  const model: MlpConfig = { sizes: [2, 12, 3], activation: "tanh" };
  const P = 2 * 12 + 12 + 12 * 3 + 3;
  const batch = (() => {
    const rng = new Rng(3);
    const T = 6;
    const arr = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
    return { supportX: arr(T * 4 * 2), supportY: arr(T * 4 * 3), queryX: arr(T * 5 * 2), queryY: arr(T * 5 * 3), tasks: T, shots: 4, queries: 5 };
  })();
  const theta = Float32Array.from({ length: P }, (_, i) => Math.sin(i) * 0.3);
  const cases: [string, KernelBackend, MamlKernelOptions][] = [
    ["uniform rate, second order", "wasm-simd", { innerSteps: 2, rates: { uniform: 0.1 }, firstOrder: false }],
    ["learned per-parameter rates, multi-step loss", "wasm-simd", { innerSteps: 3, rates: { uniform: null, perParam: new Float32Array(3 * P).fill(0.05) }, firstOrder: false, stepWeights: [0.2, 0.3, 0.5], rateGrad: new Float32Array(3 * P) }],
    ["float64 JavaScript kernels, learned rates", "js", { innerSteps: 2, rates: { uniform: null, perParam: new Float32Array(2 * P).fill(0.05), lowestLayer: 1 }, firstOrder: true, rateGrad: new Float32Array(2 * P) }],
  ];
  for (const [name, backend, o] of cases) {
    it(`tasks run in order, kept, or on another kernel, added in task order, give metaGradient's bits (${name})`, () => {
      const ref = new MlpMamlKernel(model.sizes, model.activation, "mse", backend);
      const g1 = new Float32Array(P);
      const l1 = ref.metaGradient(theta, batch, o, g1);
      const r1 = o.rateGrad ? o.rateGrad.slice() : null;
      const main = new MlpMamlKernel(model.sizes, model.activation, "mse", backend);
      const other = new MlpMamlKernel(model.sizes, model.activation, "mse", backend);
      main.startSplit(theta, batch, o);
      other.startSplit(theta, batch, o);
      const K = o.innerSteps;
      const f64 = backend === "js";
      const out = (n: number) => (f64 ? new Float64Array(n) : new Float32Array(n));
      const sums = new Float64Array(K);
      // Task 0 in order; 3 and 1 kept out of order; 2, 4 and 5 from the other kernel.
      main.taskInOrder(0, sums);
      main.taskKept(3);
      main.taskKept(1);
      const far = [2, 4, 5].map((t) => {
        const v = out(P);
        const r = o.rateGrad ? out(K * P) : null;
        const l = new Float64Array(K);
        other.taskOut(t, v, r, l);
        return { t, v, r, l };
      });
      main.addKept(1, sums);
      main.addTask(2, far[0]!.v, far[0]!.r, far[0]!.l, sums);
      main.addKept(3, sums);
      for (const f of far.slice(1)) main.addTask(f.t, f.v, f.r, f.l, sums);
      const g2 = new Float32Array(P);
      const r2 = o.rateGrad ? new Float32Array(o.rateGrad.length) : undefined;
      main.readSums(g2, r2);
      expect(bytes(g2).equals(bytes(g1))).toBe(true);
      if (r1) expect(bytes(r2!).equals(bytes(r1))).toBe(true);
      const w = o.stepWeights ?? null;
      const l2 = w ? w.reduce((a, wk, s) => a + (wk * sums[s]!) / batch.tasks, 0) : sums[K - 1]! / batch.tasks;
      expect(l2).toBe(l1);
    });
  }
});

describe("workers validation", () => {
  it("MAML workers is an integer from 1 to 64, default 1", () => {
    expect(mamlOptions().workers).toBe(1);
    for (const bad of [0, 65, 1.5, -1, NaN, "2" as never]) expect(() => mamlOptions({ workers: bad })).toThrow(/MAML workers must be an integer from 1 to 64, got .*Use 1 for one thread/);
    expect(mamlOptions({ workers: 64 }).workers).toBe(64);
  });

  it("workers > 1 needs the fast path: off, checkpoint, innerBatch and a non-Mlp model are errors, not silently one thread", () => {
    expect(() => mamlOptions({ workers: 2, fastPath: "off" })).toThrow(/fastPath is "off".*Use workers: 1/);
    expect(() => mamlOptions({ workers: 2, fastPath: false })).toThrow(/fastPath is "off"/);
    expect(() => mamlOptions({ workers: 2, checkpoint: true })).toThrow(/checkpoint is on.*Use workers: 1/);
    expect(() => mamlOptions({ workers: 2, innerBatch: 3 })).toThrow(/innerBatch is on.*Use workers: 1/);
    const model = new Mlp({ sizes: [1, 8, 1], activation: "relu" });
    const init = model.init(new Rng(0));
    const notMlp = { apply: (p: Params, x: tf.Tensor) => model.apply(p, x) };
    expect(() => new Maml(notMlp, init, { workers: 2 })).toThrow(/workers: 2 splits the fast path's tasks.*not an Mlp.*Use workers: 1/);
    disposeParams(init);
  });

  it("FastMamlTrainer and MamlWorkerPool check workers", () => {
    const model: MlpConfig = { sizes: [1, 8, 1], activation: "relu" };
    expect(() => fastMamlTrainerConfig({ model, innerSteps: 1, innerLr: 0.01, firstOrder: false, workers: 0 })).toThrow(/FastMamlTrainer workers must be an integer from 1 to 64/);
    expect(() => new MamlWorkerPool({ model, workers: 100 })).toThrow(/MamlWorkerPool workers must be an integer from 1 to 64/);
  });

  it("claims hand out each task of the open step once, and none of another step", () => {
    const claim = new BigInt64Array(new SharedArrayBuffer(8));
    openClaims(claim, 7);
    expect(claimTask(claim, 6, 3)).toBe(-1); // a late worker from step 6
    expect([claimTask(claim, 7, 3), claimTask(claim, 7, 3), claimTask(claim, 7, 3)]).toEqual([0, 1, 2]);
    expect(claimTask(claim, 7, 3)).toBe(-1); // all taken
    openClaims(claim, 8);
    expect(claimTask(claim, 7, 3)).toBe(-1);
    expect(claimTask(claim, 8, 3)).toBe(0);
    openClaims(claim, 0x3fffffff);
    expect(claimTask(claim, 0x3fffffff, 1)).toBe(0);
  });

  it("METALAB_WORKER_SPIN takes a non-negative integer and falls back to 0 (sleep at once)", () => {
    expect(spinsOf(undefined)).toBe(0);
    expect(spinsOf("")).toBe(0);
    expect(spinsOf("20000")).toBe(20000);
    for (const bad of ["-1", "1.5", "lots"]) expect(spinsOf(bad)).toBe(0);
  });

  it("finds the built worker script from src or dist, and says when there is none", () => {
    expect(workerScript(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "no-build-")), "src", "fast"))).toBeNull();
    if (built) {
      expect(workerScript(path.join(ROOT, "src", "fast"))).toBe(path.join(ROOT, "dist", "src", "fast", "maml-worker.js"));
      expect(workerScript(path.join(ROOT, "dist", "src", "fast"))).toBe(path.join(ROOT, "dist", "src", "fast", "maml-worker.js"));
    }
  });
});
