import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { grad } from "../../src/autodiff/functional";
import { StatefulModule } from "../../src/autodiff/stateful";
import { Adam, SGD } from "../../src/optim/stateful";
import type { Params } from "../../src/core/params";
import { Rng } from "../../src/core/random";
import { initMlp, Mlp, mlpApply, type MlpConfig } from "../../src/models/mlp";

const config: MlpConfig = { sizes: [1, 8, 8, 1], activation: "tanh" };

function data(seed = 4): { x: tf.Tensor; y: tf.Tensor } {
  const r = new Rng(seed);
  const x = r.uniformTensor([1, 12, 1], -5, 5);
  return { x, y: tf.sin(x) };
}

function mse(p: Params, x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(tf.sub(mlpApply(p, x, config), y))) as tf.Scalar;
}

function values(p: Params | Readonly<Record<string, tf.Tensor | null>>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, t ? Array.from(t.dataSync()) : []]));
}

function expectClose(a: Record<string, number[]>, b: Record<string, number[]>, digits = 6): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) a[k]!.forEach((v, i) => expect(v).toBeCloseTo(b[k]![i]!, digits));
}

describe("stateful SGD and Adam", () => {
  it("SGD.step equals p - lr * grad, and momentum follows torch.optim.SGD", () => {
    const { x, y } = data();
    const p0 = initMlp(new Rng(1), config);
    const m = new StatefulModule(p0);
    const opt = new SGD(m, { lr: 0.1, momentum: 0.9 });
    const g1 = grad((q) => mse(q, x, y))(p0);
    m.backward((q) => mse(q, x, y));
    opt.step();
    const p1 = Object.fromEntries(Object.keys(p0).map((k) => [k, tf.sub(p0[k]!, tf.mul(g1[k]!, 0.1))]));
    expectClose(values(m.params), values(p1));
    opt.zeroGrad();
    // Second step: buffer = 0.9 * g1 + g2.
    const g2 = grad((q) => mse(q, x, y))(p1);
    m.backward((q) => mse(q, x, y));
    opt.step();
    const p2 = Object.fromEntries(Object.keys(p0).map((k) => [k, tf.sub(p1[k]!, tf.mul(tf.add(tf.mul(g1[k]!, 0.9), g2[k]!), 0.1))]));
    expectClose(values(m.params), values(p2), 5);
    opt.dispose();
    m.dispose();
  });

  it("Adam.step equals the bias-corrected update written out by hand, over two steps", () => {
    const { x, y } = data();
    const p0 = initMlp(new Rng(1), config);
    const m = new StatefulModule(p0);
    const opt = new Adam(m, { lr: 0.01 });
    let p: Params = p0;
    let mom: Params = Object.fromEntries(Object.keys(p0).map((k) => [k, tf.zerosLike(p0[k]!)]));
    let vel: Params = mom;
    for (let t = 1; t <= 2; t++) {
      const g = grad((q) => mse(q, x, y))(p);
      mom = Object.fromEntries(Object.keys(p).map((k) => [k, tf.add(tf.mul(mom[k]!, 0.9), tf.mul(g[k]!, 0.1))]));
      vel = Object.fromEntries(Object.keys(p).map((k) => [k, tf.add(tf.mul(vel[k]!, 0.999), tf.mul(tf.square(g[k]!), 0.001))]));
      const cur = p;
      p = Object.fromEntries(Object.keys(p).map((k) => {
        const mHat = tf.div(mom[k]!, 1 - 0.9 ** t);
        const vHat = tf.div(vel[k]!, 1 - 0.999 ** t);
        return [k, tf.sub(cur[k]!, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), 1e-8)), 0.01))];
      }));
      opt.zeroGrad();
      m.backward((q) => mse(q, x, y));
      opt.step();
      expectClose(values(m.params), values(p), 5);
    }
    opt.dispose();
    m.dispose();
  });

  it("a training loop with backward / step / zeroGrad lowers the loss and leaks no tensors", () => {
    const { x, y } = data();
    const start = tf.memory().numTensors;
    const m = StatefulModule.fromModel(new Mlp(config), new Rng(2));
    const opt = new Adam(m, { lr: 0.01 });
    const loop = (n: number) => {
      let last = 0;
      for (let i = 0; i < n; i++) {
        opt.zeroGrad();
        last = m.backward(() => tf.mean(tf.square(tf.sub(m.forward(x), y))) as tf.Scalar);
        opt.step();
      }
      return last;
    };
    const first = loop(1);
    const before = tf.memory().numTensors;
    const later = loop(30);
    expect(tf.memory().numTensors).toBe(before);
    expect(later).toBeLessThan(first);
    opt.dispose();
    m.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

});
