import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { grad, hvp, valueAndGrad } from "../../src/autodiff/functional";
import type { Params } from "../../src/core/params";
import { Rng } from "../../src/core/random";
import { FINN_SINE_MLP, initMlp, mlpApply, type MlpConfig } from "../../src/models/mlp";

/** Mean squared error of the MLP on a fixed sine batch x, y of shape [tasks, points, 1]. */
function sineLoss(config: MlpConfig, tasks = 2, points = 10, seed = 7): (p: Params) => tf.Scalar {
  const r = new Rng(seed);
  const x = r.uniformTensor([tasks, points, 1], -5, 5);
  const y = tf.sin(x);
  return (p) => tf.mean(tf.square(tf.sub(mlpApply(p, x, config), y))) as tf.Scalar;
}

/**
 * initMlp with random biases: at zero biases a relu net has pre-activations within 1e-7 of a kink (measured), where a
 * central difference at any float32 step crosses the kink; a trained net sits at a generic point like this one.
 */
function genericPoint(config: MlpConfig, seed = 1): Params {
  const r = new Rng(seed);
  const p = initMlp(r, config);
  return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, k.startsWith("b") ? r.normalTensor(t.shape, 0, 0.5) : t]));
}

describe("MLP loss gradients agree with finite differences", () => {
  const configs: Record<string, MlpConfig> = {
    "relu 1-40-40-1 (Finn et al.)": FINN_SINE_MLP,
    "tanh 1-40-40-1": { sizes: [1, 40, 40, 1], activation: "tanh" },
    "sigmoid 2-8-3": { sizes: [2, 8, 3], activation: "sigmoid" },
  };
  for (const [name, config] of Object.entries(configs)) {
    it(`${name}: first and second order`, () => {
      const inputs = config.sizes[0]!;
      const outputs = config.sizes[config.sizes.length - 1]!;
      const r = new Rng(3);
      const x = r.uniformTensor([2, 10, inputs], -5, 5);
      const y = r.normalTensor([2, 10, outputs]);
      const f = (p: Params) => tf.mean(tf.square(tf.sub(mlpApply(p, x, config), y))) as tf.Scalar;
      const report = checkGradients(f, genericPoint(config), new Rng(2));
      expect(report.pass, report.summary).toBe(true);
      expect(report.first!.maxRelError).toBeLessThan(5e-3);
      expect(report.second!.maxRelError).toBeLessThan(5e-3);
    });
  }

  it("the tanh MLP's HVP is far from what raw tf.tanh would give (the measured bug this guards)", () => {
    const config: MlpConfig = { sizes: [1, 40, 40, 1], activation: "tanh" };
    const r = new Rng(3);
    const x = r.uniformTensor([2, 10, 1], -5, 5);
    const y = tf.sin(x);
    const p = genericPoint(config);
    const rawTanhLoss = (q: Params) => {
      let h = tf.reshape(x, [20, 1]); // [tasks*points, 1]
      for (let l = 0; l < 2; l++) h = tf.tanh(tf.add(tf.matMul(h, q[`w${l}`]!), q[`b${l}`]!));
      return tf.mean(tf.square(tf.sub(tf.add(tf.matMul(h, q.w2!), q.b2!), tf.reshape(y, [20, 1])))) as tf.Scalar;
    };
    // Same forward value, so the two losses differ only in their second derivatives.
    expect(rawTanhLoss(p).dataSync()[0]).toBeCloseTo(sineLossFor(config, x, y)(p).dataSync()[0]!, 5);
    const raw = checkGradients(rawTanhLoss, p, new Rng(2));
    expect(raw.first!.pass).toBe(true);
    expect(raw.second!.pass).toBe(false);
  });
});

function sineLossFor(config: MlpConfig, x: tf.Tensor, y: tf.Tensor): (p: Params) => tf.Scalar {
  return (p) => tf.mean(tf.square(tf.sub(mlpApply(p, x, config), y))) as tf.Scalar;
}

describe("task-batched parameters", () => {
  it("mlpApply with [tasks, in, out] weights equals a loop over tasks", () => {
    const config: MlpConfig = { sizes: [2, 5, 3], activation: "tanh" };
    const tasks = 3;
    const r = new Rng(9);
    const perTask = Array.from({ length: tasks }, () => initMlp(r, config));
    // Non-zero biases so the bias broadcast is exercised too.
    const biased: Params[] = perTask.map((p) => ({ ...p, b0: r.normalTensor([5]), b1: r.normalTensor([3]) }));
    const batched: Params = Object.fromEntries(Object.keys(biased[0]!).map((k) => [k, tf.stack(biased.map((p) => p[k]!))]));
    const x = r.normalTensor([tasks, 4, 2]);
    const together = mlpApply(batched, x, config).arraySync() as number[][][];
    for (let t = 0; t < tasks; t++) {
      const xt = tf.slice(x, [t, 0, 0], [1, 4, 2]); // [1, 4, 2]
      const alone = mlpApply(biased[t]!, xt, config).arraySync() as number[][][];
      alone[0]!.forEach((row, i) => row.forEach((v, j) => expect(together[t]![i]![j]!).toBeCloseTo(v, 5)));
    }
  });
});

describe("determinism", () => {
  it("the same seed gives bit-identical initMlp parameters and gradients", () => {
    const bits = (p: Params) => Object.keys(p).map((k) => Array.from(new Uint32Array(Float32Array.from(p[k]!.dataSync()).buffer)));
    const a = initMlp(new Rng(42), FINN_SINE_MLP);
    const b = initMlp(new Rng(42), FINN_SINE_MLP);
    expect(bits(a)).toEqual(bits(b));
    const c = initMlp(new Rng(43), FINN_SINE_MLP);
    expect(bits(a)).not.toEqual(bits(c));
    const f = sineLoss(FINN_SINE_MLP);
    expect(bits(grad(f)(a))).toEqual(bits(grad(f)(b)));
    const v = initMlp(new Rng(5), FINN_SINE_MLP);
    expect(bits(hvp(f, a, v))).toEqual(bits(hvp(f, b, v)));
  });
});

describe("memory", () => {
  it("grad, valueAndGrad and hvp leak no tensors over repeated calls", () => {
    const config: MlpConfig = { sizes: [1, 16, 16, 1], activation: "tanh" };
    const f = sineLoss(config);
    const p = initMlp(new Rng(1), config);
    const v = initMlp(new Rng(2), config);
    const once = () => {
      const g = grad(f)(p);
      const { value, grads } = valueAndGrad(f)(p);
      const h = hvp(f, p, v);
      for (const r of [g, grads, h]) for (const t of Object.values(r)) t.dispose();
      value.dispose();
    };
    once();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) once();
    expect(tf.memory().numTensors).toBe(before);
  });
});
