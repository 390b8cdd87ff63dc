import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { disposeParams, type Params } from "../../src/core/params";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";
import { adaptSgd } from "../../src/learners/adapt-sgd";
import { Reptile, reptileStep } from "../../src/learners/reptile";
import { Pretrain } from "../../src/learners/pretrain";
import { RidgeHead, ridgeSolve, solveSpd, withBias, ridgeLoss } from "../../src/learners/ridge";
import { innerSupport } from "../../src/learners/support-subset";

const flat = (p: Params): number[] => Object.keys(p).sort().flatMap((k) => Array.from(p[k]!.dataSync()));

/** Float64 ridge solution by the normal equations with Gaussian elimination (partial pivoting). */
function ridge64(phi: number[][], y: number[], lambda: number): number[] {
  const h = phi[0]!.length;
  const A = Array.from({ length: h }, (_, i) => Array.from({ length: h + 1 }, (_, j) =>
    j < h ? phi.reduce((s, r) => s + r[i]! * r[j]!, 0) + (i === j ? lambda : 0) : phi.reduce((s, r, n) => s + r[i]! * y[n]!, 0)));
  for (let k = 0; k < h; k++) {
    let p = k;
    for (let i = k + 1; i < h; i++) if (Math.abs(A[i]![k]!) > Math.abs(A[p]![k]!)) p = i;
    [A[k], A[p]] = [A[p]!, A[k]!];
    for (let i = 0; i < h; i++) if (i !== k) { const f = A[i]![k]! / A[k]![k]!; for (let j = k; j <= h; j++) A[i]![j]! -= f * A[k]![j]!; }
  }
  return A.map((r, i) => r[h]! / r[i]!);
}

describe("adaptSgd", () => {
  it("is per-task SGD on each task's mean loss and leaks nothing", () => {
    const model = new Mlp({ sizes: [1, 6, 1], activation: "tanh" });
    const rng = new Rng(0);
    const params = model.init(rng);
    const b = new SineFamily().sample(rng, { tasks: 3, shots: 4, queries: 1 });
    const all = adaptSgd(params, { x: b.supportX, y: b.supportY }, model, { steps: 3, lr: 0.1 });
    const one = adaptSgd(params, { x: tf.slice(b.supportX, [1, 0, 0], [1, -1, -1]), y: tf.slice(b.supportY, [1, 0, 0], [1, -1, -1]) }, model, { steps: 3, lr: 0.1 });
    for (const k of Object.keys(params)) {
      const a = Array.from(tf.slice(all[k]!, [1], [1]).dataSync()), o = Array.from(one[k]!.dataSync());
      a.forEach((v, i) => expect(v).toBeCloseTo(o[i]!, 5));
    }
    disposeParams(all); disposeParams(one);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) disposeParams(adaptSgd(params, { x: b.supportX, y: b.supportY }, model, { steps: 2, lr: 0.1, onStep: () => undefined }));
    expect(tf.memory().numTensors).toBe(before);
    const probe = adaptSgd(params, { x: b.supportX, y: b.supportY }, model, { steps: 2, lr: 0.1, trainable: ["w1", "b1"] });
    expect(Array.from(tf.slice(probe.w0!, [2], [1]).dataSync())).toEqual(Array.from(params.w0!.dataSync()));
    disposeParams(probe);
    disposeBatch(b);
  });
});

describe("Reptile", () => {
  it("moves θ by ε toward the mean of the adapted parameters", () => {
    const model = new Mlp({ sizes: [1, 8, 1], activation: "relu" });
    const rng = new Rng(1);
    const params = model.init(rng);
    const b = new SineFamily().sample(rng, { tasks: 4, shots: 5, queries: 5 });
    const opts = { innerSteps: 3, innerLr: 0.02, outerStepSize: 0.3 };
    const r = reptileStep({ params, step: 0 }, b, model, opts);
    const x = tf.concat([b.supportX, b.queryX], 1), y = tf.concat([b.supportY, b.queryY], 1);
    const phi = adaptSgd(params, { x, y }, model, { steps: 3, lr: 0.02 });
    for (const k of Object.keys(params)) {
      const expected = tf.tidy(() => tf.add(tf.mul(params[k]!, 0.7), tf.mul(tf.mean(phi[k]!, 0), 0.3)).dataSync());
      Array.from(r.state.params[k]!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    }
    const learner = new Reptile(model, params, opts);
    learner.step(b);
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) learner.step(b);
    expect(tf.memory().numTensors).toBe(n0);
    learner.dispose();
    disposeBatch(b);
  });
});

describe("Pretrain baseline", () => {
  it("reduces the joint regression loss without leaking", () => {
    const model = new Mlp({ sizes: [1, 16, 16, 1], activation: "relu" });
    const rng = new Rng(2);
    const p = new Pretrain(model, model.init(rng), { lr: 3e-3 });
    const fam = new SineFamily();
    p.train(fam, rng, { iterations: 2, spec: { tasks: 5, shots: 10, queries: 1 } });
    const n0 = tf.memory().numTensors;
    const losses = p.train(fam, rng, { iterations: 100, spec: { tasks: 10, shots: 10, queries: 1 } });
    expect(tf.memory().numTensors).toBe(n0);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(80))).toBeLessThan(mean(losses.slice(0, 10)));
    p.dispose();
  });
});

describe("ridge head", () => {
  it("solveSpd solves batched SPD systems", () => {
    const A = tf.tensor3d([[[4, 1], [1, 3]], [[2, 0.5], [0.5, 1]]]);
    const B = tf.tensor3d([[[1], [2]], [[3], [-1]]]);
    const X = solveSpd(A, B).arraySync() as number[][][];
    // [[4,1],[1,3]] x = [1,2] → x = [1/11, 7/11]
    expect(X[0]![0]![0]).toBeCloseTo(1 / 11, 5);
    expect(X[0]![1]![0]).toBeCloseTo(7 / 11, 5);
    expect(X[1]![0]![0]! * 2 + X[1]![1]![0]! * 0.5).toBeCloseTo(3, 5);
  });

  it("primal and dual forms equal the float64 normal-equations solution", () => {
    const rng = new Rng(4);
    for (const [n, h] of [[5, 8], [12, 4]] as const) {
      const phi = rng.normalTensor([2, n, h]);
      const y = rng.normalTensor([2, n, 1]);
      const P = phi.arraySync() as number[][][], Y = y.arraySync() as number[][][];
      for (const form of ["primal", "dual"] as const) {
        const W = ridgeSolve(phi, y, 0.5, form).arraySync() as number[][][];
        for (let t = 0; t < 2; t++) {
          const ref = ridge64(P[t]!, Y[t]!.map((r) => r[0]!), 0.5);
          ref.forEach((v, i) => expect(Math.abs(W[t]![i]![0]! - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
        }
      }
    }
  });

  it("the gradient through the solve w.r.t. features and body parameters matches finite differences", () => {
    const rng = new Rng(5);
    const phi0 = rng.normalTensor([2, 6, 4]);
    const y = rng.normalTensor([2, 6, 1]);
    const q = rng.normalTensor([2, 3, 4]);
    for (const form of ["primal", "dual"] as const) {
      const f = (p: Params): tf.Scalar => tf.sum(tf.square(tf.matMul(p.q!, ridgeSolve(p.phi!, y, 0.3, form)))) as tf.Scalar;
      const report = checkGradients(f, { phi: phi0, q }, new Rng(6), { order: 1, directions: 3 });
      expect(report.pass, report.summary).toBe(true);
    }
    const model = new Mlp({ sizes: [1, 8, 8, 1], activation: "tanh" });
    const params = model.init(rng);
    const b = new SineFamily().sample(rng, { tasks: 3, shots: 5, queries: 5 });
    const report = checkGradients((p) => ridgeLoss(p, b, model, { lambda: 0.1 }), params, new Rng(8), { order: 1, directions: 2 });
    expect(report.pass, report.summary).toBe(true);
    disposeBatch(b);
    expect(withBias(tf.zeros([1, 2, 3])).shape).toEqual([1, 2, 4]);
  });

  it("RidgeHead trains the body, leaves the MLP head alone and leaks nothing", () => {
    const model = new Mlp({ sizes: [1, 16, 16, 1], activation: "relu" });
    const rng = new Rng(3);
    const init = model.init(rng);
    const r = new RidgeHead(model, init);
    const fam = new SineFamily();
    r.train(fam, rng, { iterations: 2, spec: { tasks: 4, shots: 10, queries: 10 } });
    const n0 = tf.memory().numTensors;
    r.train(fam, rng, { iterations: 5, spec: { tasks: 4, shots: 10, queries: 10 } });
    expect(tf.memory().numTensors).toBe(n0);
    expect(flat({ w2: r.params.w2! })).toEqual(flat({ w2: init.w2! }));
    expect(flat({ w0: r.params.w0! })).not.toEqual(flat({ w0: init.w0! }));
    r.dispose();
  });
});

describe("Reptile with inner minibatches (the subset strategy)", () => {
  it("adapts each inner step on that step's seeded subset of the task's points", () => {
    const model = new Mlp({ sizes: [1, 8, 1], activation: "relu" });
    const rng = new Rng(5);
    const params = model.init(rng);
    const b = new SineFamily().sample(rng, { tasks: 3, shots: 6, queries: 6 });
    const opts = { innerSteps: 3, innerLr: 0.02, outerStepSize: 1, innerBatch: 4, subsetSeed: 9 };
    const r = reptileStep({ params, step: 2 }, b, model, opts);
    // The same thing by hand: concatenate support and query, take innerSupport's subset for each step.
    const x = tf.concat([b.supportX, b.queryX], 1), y = tf.concat([b.supportY, b.queryY], 1);
    const phi = adaptSgd(params, { x, y }, model, { steps: 3, lr: 0.02, supportAt: (s) => innerSupport({ x, y }, opts, 2, s - 1) });
    for (const k of Object.keys(params)) {
      const expected = tf.tidy(() => tf.mean(phi[k]!, 0).dataSync());
      Array.from(r.state.params[k]!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    }
    const full = reptileStep({ params, step: 2 }, b, model, { ...opts, innerBatch: null });
    expect(flat(full.state.params)).not.toEqual(flat(r.state.params));
    [r.state.params, full.state.params, phi].forEach(disposeParams);
    tf.dispose([x, y]);
    expect(() => new Reptile(model, params, { innerBatch: -1 })).toThrow(/innerBatch/);
    disposeBatch(b);
  });
});
