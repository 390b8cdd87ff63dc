import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { adamStep, adamUpdate, flatAdamStep, initAdam, initFlatAdam, disposeAdam } from "../../src/optim/adam";
import { sgdStep } from "../../src/optim/sgd";
import { cosineSchedule } from "../../src/optim/schedule";
import { clipByGlobalNorm } from "../../src/optim/clip";
import { disposeParams } from "../../src/core/params";

describe("adamStep", () => {
  it("matches hand-computed Adam updates over two steps", () => {
    const params = { w: tf.tensor1d([1, -2]) };
    const g1 = { w: tf.tensor1d([0.5, -1]) };
    const g2 = { w: tf.tensor1d([0.1, 2]) };
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const s1 = adamStep(params, g1, initAdam(params), cfg);
    // Step 1: m̂ = g, v̂ = g², update = lr * sign(g) (up to eps).
    const w1 = s1.params.w!.dataSync();
    expect(w1[0]).toBeCloseTo(1 - 0.1, 5);
    expect(w1[1]).toBeCloseTo(-2 + 0.1, 5);
    const s2 = adamStep(s1.params, g2, s1.state, cfg);
    const expected = [0, 1].map((i) => {
      const ga = [0.5, -1][i]!, gb = [0.1, 2][i]!;
      const m = 0.9 * 0.1 * ga + 0.1 * gb;
      const v = 0.999 * 0.001 * ga * ga + 0.001 * gb * gb;
      const mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999);
      return w1[i]! - (0.1 * mh) / (Math.sqrt(vh) + 1e-8);
    });
    const w2 = s2.params.w!.dataSync();
    expect(w2[0]).toBeCloseTo(expected[0]!, 5);
    expect(w2[1]).toBeCloseTo(expected[1]!, 5);
    expect(s2.state.step).toBe(2);
    // Pure: the inputs are untouched.
    expect(Array.from(params.w.dataSync())).toEqual([1, -2]);
  });

  it("does not leak tensors when the caller disposes the old state", () => {
    let params = { w: tf.ones([3, 3]), b: tf.zeros([3]) } as Record<string, tf.Tensor>;
    let state = initAdam(params);
    const grads = { w: tf.ones([3, 3]), b: tf.ones([3]) };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const r = adamStep(params, grads, state);
      disposeParams(params);
      disposeAdam(state);
      params = { ...r.params };
      state = r.state;
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("the typed-array form of Adam", () => {
  /** Runs 40 steps of both forms on the current backend and counts entries whose float32 bits differ. */
  const mismatches = (): number => {
    const n = 3001;
    let params: Record<string, tf.Tensor> = { p: tf.randomNormal([n], 0, 1, "float32", 1) };
    let state = initAdam(params);
    let flat = { theta: Float32Array.from(params.p!.dataSync()), state: initFlatAdam(n) };
    let bad = 0;
    for (let step = 1; step <= 40; step++) {
      // Gradients of very different sizes, so the bias corrections and eps both matter.
      const g = tf.randomNormal([n], 0, step % 3 === 0 ? 1e-6 : 3, "float32", step);
      const cfg = { lr: step % 2 ? 1e-3 : 3e-2 };
      const r = adamStep(params, { p: g }, state, cfg);
      const next = flatAdamStep(flat.theta, g.dataSync(), flat.state, cfg);
      disposeParams(params);
      disposeAdam(state);
      g.dispose();
      params = { ...r.params };
      state = r.state;
      flat = next;
      const a = params.p!.dataSync();
      const m = state.m.p!.dataSync();
      for (let j = 0; j < n; j++) if (a[j] !== flat.theta[j] || m[j] !== flat.state.m[j]) bad++;
    }
    disposeParams(params);
    disposeAdam(state);
    return bad;
  };

  it("gives the same float32 bits as adamStep's tensor ops, on the default backend and on cpu", async () => {
    expect(mismatches()).toBe(0);
    const was = tf.getBackend();
    await tf.setBackend("cpu");
    try {
      expect(mismatches()).toBe(0);
    } finally {
      await tf.setBackend(was);
    }
  });

  it("flatAdamStep is pure; adamUpdate checks lengths and the 1-based step", () => {
    const theta = Float32Array.of(1, -2);
    const s0 = initFlatAdam(2);
    const r = flatAdamStep(theta, [0.5, -1], s0, { lr: 0.1 });
    expect(Array.from(theta)).toEqual([1, -2]);
    expect(s0.step).toBe(0);
    expect(Array.from(s0.m)).toEqual([0, 0]);
    expect(r.state.step).toBe(1);
    expect(r.theta[0]).toBeCloseTo(0.9, 6);
    expect(r.theta[1]).toBeCloseTo(-1.9, 6);
    expect(() => adamUpdate(theta, [1], s0.m, s0.v, 1)).toThrow(/same length/);
    expect(() => adamUpdate(theta, [1, 2], s0.m, s0.v, 0)).toThrow(/1-based/);
  });
});

describe("sgd, schedule, clipping", () => {
  it("sgdStep is θ - lr g", () => {
    const p = sgdStep({ w: tf.tensor1d([1, 2]) }, { w: tf.tensor1d([10, -10]) }, 0.01);
    expect(Array.from(p.w!.dataSync()).map((x) => +x.toFixed(5))).toEqual([0.9, 2.1]);
  });

  it("cosineSchedule goes from base to min through the midpoint, with warm-up", () => {
    const s = cosineSchedule({ base: 1, total: 100, min: 0.1 });
    expect(s(0)).toBeCloseTo(1);
    expect(s(50)).toBeCloseTo(0.55);
    expect(s(100)).toBeCloseTo(0.1);
    expect(s(500)).toBeCloseTo(0.1);
    const w = cosineSchedule({ base: 1, total: 20, warmup: 10 });
    expect(w(0)).toBeCloseTo(0.1);
    expect(w(9)).toBeCloseTo(1);
    expect(w(15)).toBeCloseTo(0.5);
    expect(() => cosineSchedule({ base: 1, total: 5, warmup: 5 })).toThrow(/total > warmup/);
  });

  it("clipByGlobalNorm scales to the max norm and leaves small gradients alone", () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
    const c = clipByGlobalNorm(g, 1);
    expect(c.norm).toBeCloseTo(5);
    expect(c.grads.a!.dataSync()[0]).toBeCloseTo(0.6);
    expect(c.grads.b!.dataSync()[0]).toBeCloseTo(0.8);
    const d = clipByGlobalNorm(g, 10);
    expect(d.grads.b!.dataSync()[0]).toBeCloseTo(4);
  });
});
