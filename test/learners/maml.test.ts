import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp, type MlpConfig } from "../../src/models/mlp";
import { disposeParams, type Params } from "../../src/core/params";
import { grad } from "../../src/autodiff/functional";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch, type TaskBatch } from "../../src/tasks/task-family";
import { perTaskMse } from "../../src/models/losses";
import { adaptSgd } from "../../src/learners/adapt-sgd";
import {
  Maml, initInnerLrs, mamlAdaptedLosses, mamlLoss, mamlMetaGradient, mamlStep, initMamlState, disposeMamlState, multiStepWeights,
} from "../../src/learners/maml";
import { innerSupport } from "../../src/learners/support-subset";

const flat = (p: Params): number[] => Object.keys(p).sort().flatMap((k) => Array.from(p[k]!.dataSync()));
const maxAbsDiff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
const maxAbs = (a: number[]): number => Math.max(...a.map(Math.abs));

function smallSetup(activation: "tanh" | "relu", tasks = 3, seed = 0): { model: Mlp; params: Params; batch: TaskBatch } {
  const config: MlpConfig = { sizes: [1, 8, 8, 1], activation };
  const model = new Mlp(config);
  const rng = new Rng(seed);
  const params = model.init(rng);
  const batch = new SineFamily().sample(rng, { tasks, shots: 5, queries: 6 });
  return { model, params, batch };
}

describe("MAML meta-gradient (general tfjs path)", () => {
  for (const activation of ["tanh", "relu"] as const) {
    for (const innerSteps of [1, 2]) {
      it(`matches finite differences of the full inner+outer loss (${activation}, ${innerSteps} inner steps)`, () => {
        const { model, params, batch } = smallSetup(activation);
        const opts = { innerSteps, innerLr: 0.05, fastPath: false };
        const f = (p: Params): tf.Scalar => mamlLoss(p, batch, model, opts);
        const report = checkGradients(f, params, new Rng(7), { order: 1, directions: 3 });
        expect(report.pass, report.summary).toBe(true);
        // mamlMetaGradient returns exactly the autodiff gradient of mamlLoss.
        const mg = mamlMetaGradient(params, batch, model, opts);
        const direct = grad(f)(params);
        expect(maxAbsDiff(flat(mg.grads), flat(direct))).toBeLessThan(1e-6);
        // The test has power: the same check fails on first-order MAML, whose loss has the same value but whose
        // autodiff gradient drops the Hessian term (the difference is beyond the checker's tolerance).
        const fo = mamlMetaGradient(params, batch, model, { ...opts, firstOrder: true });
        const foReport = checkGradients((p) => mamlLoss(p, batch, model, { ...opts, firstOrder: true }), params, new Rng(7), { order: 1, directions: 3 });
        expect(foReport.pass, `first-order MAML passed the check, so it cannot tell the Hessian term apart: ${foReport.summary}`).toBe(false);
        expect(mg.loss).toBeCloseTo(f(params).dataSync()[0]!, 5);
        [mg.grads, direct, fo.grads, params].forEach(disposeParams);
        disposeBatch(batch);
      });
    }
  }

  it("equals the hand-derived closed form for a linear model, Hessian term (I - αH) included", () => {
    /*
     * Model f(x) = w x + b, θ = (w, b). For task t with support (x_i, y_i), i = 1..K:
     *   L_s(θ) = (1/K) Σ (w x_i + b - y_i)²,  ∇L_s = (2/K) Σ r_i [x_i, 1],  H_s = (2/K) Σ [[x_i², x_i], [x_i, 1]] (constant).
     * One inner step: θ' = θ - α ∇L_s(θ), so dθ'/dθ = I - α H_s, and after n steps (I - α H_s)^n since H_s is constant.
     * Query loss L_q(θ') = (1/Q) Σ_j (w' x_j + b' - y_j)² with gradient ∇L_q(θ') = (2/Q) Σ r'_j [x_j, 1].
     * Meta-gradient = (1/T) Σ_t (I - α H_s,t)^n ∇L_q,t(θ'_t), computed below in float64.
     */
    const model = new Mlp({ sizes: [1, 1], activation: "identity" });
    const w = 0.7, b = -0.3, alpha = 0.1;
    const params = { w0: tf.tensor2d([[w]]), b0: tf.tensor1d([b]) };
    const batch = new SineFamily().sample(new Rng(11), { tasks: 2, shots: 4, queries: 5 });
    const sx = batch.supportX.arraySync().map((t) => t.map((r) => r[0]!));
    const sy = batch.supportY.arraySync().map((t) => t.map((r) => r[0]!));
    const qx = batch.queryX.arraySync().map((t) => t.map((r) => r[0]!));
    const qy = batch.queryY.arraySync().map((t) => t.map((r) => r[0]!));
    for (const n of [1, 2]) {
      const meta = [0, 0];
      for (let t = 0; t < 2; t++) {
        const K = sx[t]!.length, Q = qx[t]!.length;
        const H = [[0, 0], [0, 0]];
        for (const x of sx[t]!) { H[0]![0]! += (2 / K) * x * x; H[0]![1]! += (2 / K) * x; H[1]![0]! += (2 / K) * x; H[1]![1]! += 2 / K; }
        let th = [w, b];
        for (let s = 0; s < n; s++) {
          const g = [0, 0];
          sx[t]!.forEach((x, i) => { const r = th[0]! * x + th[1]! - sy[t]![i]!; g[0]! += (2 / K) * r * x; g[1]! += (2 / K) * r; });
          th = [th[0]! - alpha * g[0]!, th[1]! - alpha * g[1]!];
        }
        let v = [0, 0];
        qx[t]!.forEach((x, j) => { const r = th[0]! * x + th[1]! - qy[t]![j]!; v[0]! += (2 / Q) * r * x; v[1]! += (2 / Q) * r; });
        for (let s = 0; s < n; s++) v = [v[0]! - alpha * (H[0]![0]! * v[0]! + H[0]![1]! * v[1]!), v[1]! - alpha * (H[1]![0]! * v[0]! + H[1]![1]! * v[1]!)];
        meta[0]! += v[0]! / 2; meta[1]! += v[1]! / 2;
      }
      const mg = mamlMetaGradient(params, batch, model, { innerSteps: n, innerLr: alpha, fastPath: false });
      const gw = mg.grads.w0!.dataSync()[0]!, gb = mg.grads.b0!.dataSync()[0]!;
      expect(Math.abs(gw - meta[0]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(meta[0]!)));
      expect(Math.abs(gb - meta[1]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(meta[1]!)));
      disposeParams(mg.grads);
    }
    disposeBatch(batch);
  });

  it("first-order MAML equals the mean query gradient at the adapted parameters", () => {
    const { model, params, batch } = smallSetup("tanh", 4, 3);
    const fo = mamlMetaGradient(params, batch, model, { innerSteps: 2, innerLr: 0.05, firstOrder: true, fastPath: false });
    const adapted = adaptSgd(params, { x: batch.supportX, y: batch.supportY }, model, { steps: 2, lr: 0.05 });
    const g = grad((p) => tf.mean(perTaskMse(model.apply(p, batch.queryX), batch.queryY)) as tf.Scalar)(adapted);
    const expected: Params = Object.fromEntries(Object.entries(g).map(([k, t]) => [k, tf.sum(t, 0)])); // sum over tasks of (1/T) ∇L_q,t
    expect(maxAbsDiff(flat(fo.grads), flat(expected))).toBeLessThan(1e-5);
    [fo.grads, adapted, g, expected, params].forEach(disposeParams);
    disposeBatch(batch);
  });

  it("task batching equals a per-task loop", () => {
    const { model, params, batch } = smallSetup("relu", 3, 5);
    const opts = { innerSteps: 2, innerLr: 0.05, fastPath: false };
    const all = mamlMetaGradient(params, batch, model, opts);
    const per = [0, 1, 2].map((t) => {
      const one: TaskBatch = {
        supportX: tf.slice(batch.supportX, [t, 0, 0], [1, -1, -1]), supportY: tf.slice(batch.supportY, [t, 0, 0], [1, -1, -1]),
        queryX: tf.slice(batch.queryX, [t, 0, 0], [1, -1, -1]), queryY: tf.slice(batch.queryY, [t, 0, 0], [1, -1, -1]),
      };
      const r = mamlMetaGradient(params, one, model, opts);
      disposeBatch(one);
      return r;
    });
    const mean = flat(per[0]!.grads).map((_, i) => per.reduce((s, r) => s + flat(r.grads)[i]!, 0) / 3);
    expect(maxAbsDiff(flat(all.grads), mean)).toBeLessThan(1e-5);
    expect(all.loss).toBeCloseTo(per.reduce((s, r) => s + r.loss, 0) / 3, 5);
    disposeBatch(batch);
  });

  it("learned inner learning rates get gradients that match finite differences", () => {
    const { model, params, batch } = smallSetup("tanh", 2, 9);
    const opts = { innerSteps: 2, innerLr: 0.05, learnInnerLr: true, fastPath: false };
    const lrs = initInnerLrs(params, opts);
    expect(Object.keys(lrs)).toContain("lr/w0/1");
    const names = Object.keys(params);
    const f = (m: Params): tf.Scalar => {
      const theta = Object.fromEntries(names.map((k) => [k, m[k]!]));
      const l = Object.fromEntries(Object.keys(m).filter((k) => !names.includes(k)).map((k) => [k, m[k]!]));
      return mamlLoss(theta, batch, model, opts, { innerLrs: l });
    };
    const report = checkGradients(f, { ...params, ...lrs }, new Rng(1), { order: 1, directions: 2 });
    expect(report.pass, report.summary).toBe(true);
    const mg = mamlMetaGradient(params, batch, model, opts, { innerLrs: lrs });
    const direct = grad(f)({ ...params, ...lrs });
    expect(maxAbsDiff(flat(mg.innerLrGrads!), flat(Object.fromEntries(Object.keys(lrs).map((k) => [k, direct[k]!]))))).toBeLessThan(1e-6);
    disposeBatch(batch);
  });

  it("ANIL (head-only inner loop) matches finite differences and still trains the body", () => {
    const { model, params, batch } = smallSetup("tanh", 3, 2);
    const opts = { innerSteps: 2, innerLr: 0.1, adapt: "head" as const, fastPath: false };
    const report = checkGradients((p) => mamlLoss(p, batch, model, opts), params, new Rng(3), { order: 1 });
    expect(report.pass, report.summary).toBe(true);
    const mg = mamlMetaGradient(params, batch, model, opts);
    expect(maxAbs(Array.from(mg.grads.w0!.dataSync()))).toBeGreaterThan(0);
    disposeBatch(batch);
  });

  it("multi-step loss weights start uniform and anneal to the last step", () => {
    expect(multiStepWeights(4, 0, 100)).toEqual([0.25, 0.25, 0.25, 0.25]);
    const late = multiStepWeights(4, 1000, 100);
    expect(late[3]).toBeCloseTo(1 - 3 * 0.0075);
    expect(late.reduce((a, b) => a + b)).toBeCloseTo(1);
    const { model, params, batch } = smallSetup("relu", 2, 4);
    const single = mamlLoss(params, batch, model, { innerSteps: 3, fastPath: false }).dataSync()[0]!;
    const multiLate = mamlLoss(params, batch, model, { innerSteps: 3, multiStepLoss: true, multiStepAnneal: 1 }, { step: 1e9 }).dataSync()[0]!;
    expect(multiLate).not.toBeCloseTo(single, 6); // early steps still carry the minimum weight 0.01
    disposeBatch(batch);
  });

  it("first-order annealing uses first-order gradients before firstOrderUntil and second order after", () => {
    const { model, params, batch } = smallSetup("tanh", 2, 8);
    const base = { innerSteps: 1, innerLr: 0.1, fastPath: false };
    const fo = mamlMetaGradient(params, batch, model, { ...base, firstOrder: true });
    const so = mamlMetaGradient(params, batch, model, base);
    const early = mamlMetaGradient(params, batch, model, { ...base, firstOrderUntil: 5 }, { step: 4 });
    const late = mamlMetaGradient(params, batch, model, { ...base, firstOrderUntil: 5 }, { step: 5 });
    expect(maxAbsDiff(flat(early.grads), flat(fo.grads))).toBeLessThan(1e-7);
    expect(maxAbsDiff(flat(late.grads), flat(so.grads))).toBeLessThan(1e-7);
    disposeBatch(batch);
  });

  it("fastPath on and off give the same meta-gradient", () => {
    const { model, params, batch } = smallSetup("relu", 4, 6);
    for (const firstOrder of [false, true]) {
      const a = mamlMetaGradient(params, batch, model, { innerSteps: 2, firstOrder, fastPath: true });
      const b = mamlMetaGradient(params, batch, model, { innerSteps: 2, firstOrder, fastPath: false });
      expect(maxAbsDiff(flat(a.grads), flat(b.grads))).toBeLessThan(1e-4 * Math.max(1, maxAbs(flat(b.grads))));
      expect(a.loss).toBeCloseTo(b.loss, 4);
    }
    disposeBatch(batch);
  });
});

describe("mamlStep and Maml", () => {
  it("leaks no tensors across repeated steps, with every option on", () => {
    const { model, params, batch } = smallSetup("relu", 3, 1);
    const opts = { innerSteps: 2, learnInnerLr: true, multiStepLoss: true, clipNorm: 1, cosine: { total: 10 }, firstOrderUntil: 2, fastPath: false };
    let state = initMamlState(params, opts);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) {
      const r = mamlStep(state, batch, model, opts);
      disposeMamlState(state);
      state = r.state;
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(state.step).toBe(4);
    disposeMamlState(state);
    const m = new Maml(model, params, {});
    m.step(batch);
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) m.step(batch);
    expect(tf.memory().numTensors).toBe(n0);
    m.dispose();
    disposeBatch(batch);
  });

  it("reduces the meta-loss on sines and reports progress", () => {
    const model = new Mlp({ sizes: [1, 20, 20, 1], activation: "relu" });
    const rng = new Rng(0);
    const maml = new Maml(model, model.init(rng), { outerLr: 3e-3 });
    const seen: number[] = [];
    const losses = maml.train(new SineFamily(), rng, { iterations: 150, spec: { tasks: 10, shots: 10, queries: 10 }, onProgress: (s, total) => { if (s % 50 === 0) seen.push(s); expect(total).toBe(150); } });
    expect(seen).toEqual([50, 100, 150]);
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(100))).toBeLessThan(mean(losses.slice(0, 20)));
    expect(maml.steps).toBe(150);
    maml.dispose();
  });
});

describe("MAML options: Meta-SGD rates, support subsets, gradient checkpointing", () => {
  it("per-parameter (Meta-SGD) inner rates have the parameters' shapes and gradients that match finite differences", () => {
    const { model, params, batch } = smallSetup("tanh", 2, 5);
    const opts = { innerSteps: 1, innerLr: 0.05, learnInnerLr: true, innerLrPer: "parameter" as const, fastPath: false };
    const lrs = initInnerLrs(params, opts);
    expect(lrs["lr/w1/0"]!.shape).toEqual(params.w1!.shape);
    const names = Object.keys(params);
    const f = (m: Params): tf.Scalar => {
      const theta = Object.fromEntries(names.map((k) => [k, m[k]!]));
      const l = Object.fromEntries(Object.keys(m).filter((k) => !names.includes(k)).map((k) => [k, m[k]!]));
      return mamlLoss(theta, batch, model, opts, { innerLrs: l });
    };
    const report = checkGradients(f, { ...params, ...lrs }, new Rng(2), { order: 1, directions: 2 });
    expect(report.pass, report.summary).toBe(true);
    // With every rate equal to innerLr, the loss is plain MAML's.
    expect(f({ ...params, ...lrs }).dataSync()[0]!).toBeCloseTo(mamlLoss(params, batch, model, { innerSteps: 1, innerLr: 0.05, fastPath: false }).dataSync()[0]!, 5);
    disposeBatch(batch);
  });

  it("innerBatch adapts each task on a seeded subset of its support set: reproducible, per step, and all points when it covers the set", () => {
    const { model, params, batch } = smallSetup("relu", 3, 6);
    const sub = innerSupport(batch, { innerBatch: 2, subsetSeed: 1 }, 7, 0);
    const again = innerSupport(batch, { innerBatch: 2, subsetSeed: 1 }, 7, 0);
    const other = innerSupport(batch, { innerBatch: 2, subsetSeed: 1 }, 7, 1);
    expect(sub.x.shape).toEqual([3, 2, 1]);
    expect(Array.from(sub.x.dataSync())).toEqual(Array.from(again.x.dataSync()));
    expect(Array.from(sub.x.dataSync())).not.toEqual(Array.from(other.x.dataSync()));
    // One inner step on the subset = MAML on a batch whose support set is that subset.
    const opts = { innerSteps: 1, innerLr: 0.05, innerBatch: 2, subsetSeed: 1, fastPath: false };
    const onSubset = mamlMetaGradient(params, batch, model, opts, { step: 7 });
    const explicit = mamlMetaGradient(params, { ...batch, supportX: sub.x as tf.Tensor3D, supportY: sub.y as tf.Tensor3D }, model, { innerSteps: 1, innerLr: 0.05, fastPath: false });
    expect(maxAbsDiff(flat(onSubset.grads), flat(explicit.grads))).toBeLessThan(1e-6);
    const full = innerSupport(batch, { innerBatch: 5, subsetSeed: 1 }, 0, 0);
    expect(full.x).toBe(batch.supportX);
    expect(() => mamlMetaGradient(params, batch, model, { innerBatch: 0 })).toThrow(/innerBatch/);
    tf.dispose([sub.x, sub.y, again.x, again.y, other.x, other.y]);
    disposeBatch(batch);
  });

  for (const [label, extra, context] of [
    ["3 steps", { innerSteps: 3 }, {}],
    ["first order", { innerSteps: 2, firstOrder: true }, {}],
    ["multi-step loss", { innerSteps: 3, multiStepLoss: true }, { step: 50 }],
    ["ANIL", { innerSteps: 2, adapt: "head" as const }, {}],
    ["support subsets", { innerSteps: 2, innerBatch: 3 }, { step: 2 }],
  ] as const) {
    it(`checkpointing gives the same meta-gradient as storing the inner loop (${label})`, () => {
      const { model, params, batch } = smallSetup("tanh", 3, 3);
      const opts = { innerLr: 0.1, fastPath: false, ...extra };
      const plain = mamlMetaGradient(params, batch, model, opts, context);
      const before = tf.memory().numTensors;
      const ck = mamlMetaGradient(params, batch, model, { ...opts, checkpoint: true }, context);
      expect(ck.fastPath).toBe(false);
      expect(ck.loss).toBeCloseTo(plain.loss, 5);
      expect(maxAbsDiff(flat(ck.grads), flat(plain.grads))).toBeLessThan(1e-5 * Math.max(1, maxAbs(flat(plain.grads))));
      disposeParams(ck.grads);
      expect(tf.memory().numTensors).toBe(before);
      disposeBatch(batch);
    });
  }

  it("checkpointing returns learned-rate gradients equal to the stored path's", () => {
    const { model, params, batch } = smallSetup("tanh", 2, 4);
    const opts = { innerSteps: 2, innerLr: 0.05, learnInnerLr: true, innerLrPer: "parameter" as const, fastPath: false };
    const lrs = initInnerLrs(params, opts);
    const plain = mamlMetaGradient(params, batch, model, opts, { innerLrs: lrs });
    const ck = mamlMetaGradient(params, batch, model, { ...opts, checkpoint: true }, { innerLrs: lrs });
    expect(maxAbsDiff(flat(ck.innerLrGrads!), flat(plain.innerLrGrads!))).toBeLessThan(1e-6);
    disposeBatch(batch);
  });

  it("checkpointing keeps peak tensor memory well below the stored inner loop's at many inner steps", async () => {
    const model = new Mlp({ sizes: [1, 40, 40, 1], activation: "relu" });
    const rng = new Rng(0);
    const params = model.init(rng);
    const batch = new SineFamily().sample(rng, { tasks: 10, shots: 10, queries: 10 });
    const opts = { innerSteps: 8, innerLr: 0.01, fastPath: false };
    const plain = (await tf.profile(() => { disposeParams(mamlMetaGradient(params, batch, model, opts).grads); })).peakBytes;
    const ck = (await tf.profile(() => { disposeParams(mamlMetaGradient(params, batch, model, { ...opts, checkpoint: true }).grads); })).peakBytes;
    expect(ck).toBeLessThan(plain / 2);
    disposeParams(params);
    disposeBatch(batch);
  });
});

describe("mamlAdaptedLosses", () => {
  it("is plain SGD's per-task query loss for fixed rates and mamlLoss's mean for learned ones", () => {
    const { model, params, batch } = smallSetup("relu", 3, 11);
    const fixed = mamlAdaptedLosses(params, batch, model, { innerSteps: 2, innerLr: 0.05 });
    const sgd = adaptSgd(params, { x: batch.supportX, y: batch.supportY }, model, { steps: 2, lr: 0.05 });
    const want = tf.tidy(() => Array.from(perTaskMse(model.apply(sgd, batch.queryX), batch.queryY).dataSync()));
    Array.from(fixed).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    disposeParams(sgd);
    const opts = { innerSteps: 2, innerLr: 0.05, learnInnerLr: true, innerLrPer: "parameter" as const };
    const m = new Maml(model, params, { ...opts, fastPath: false });
    m.step(batch);
    const losses = m.adaptedLosses(batch);
    const mean = mamlLoss(m.params, batch, model, opts, { innerLrs: m.innerLrTensors() }).dataSync()[0]!;
    expect(losses.reduce((a, b) => a + b, 0) / losses.length).toBeCloseTo(mean, 5);
    expect(Object.keys(m.innerLrs()!)).toContain("lr/w0/1");
    expect(() => mamlAdaptedLosses(params, batch, model, opts)).toThrow(/learned rates/);
    m.dispose();
    disposeBatch(batch);
  });
});

describe("a fast-path Maml's parameters", () => {
  it("survive a tf.tidy that is open when they are first read", () => {
    const { model, params, batch } = smallSetup("relu", 3, 12);
    const m = new Maml(model, params, { innerSteps: 1, innerLr: 0.05 });
    m.step(batch); // the fast path leaves the state packed; its tensors are made on first read
    const first = tf.tidy(() => m.predict(batch).dataSync()[0]!);
    expect(tf.tidy(() => m.predict(batch).dataSync()[0]!)).toBe(first);
    expect(m.adaptedLosses(batch).length).toBe(3);
    m.dispose();
    disposeBatch(batch);
  });
});
