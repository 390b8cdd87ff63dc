import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { grad } from "../../src/autodiff/functional";
import { StatefulModule } from "../../src/autodiff/stateful";
import { SGD } from "../../src/optim/stateful";
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

describe("StatefulModule", () => {
  it("backward gives the same gradients as the functional grad on the same MLP", () => {
    const { x, y } = data();
    const p = initMlp(new Rng(1), config);
    const m = new StatefulModule(p);
    expect(Object.values(m.grad).every((g) => g === null)).toBe(true);
    const loss = m.backward((q) => mse(q, x, y));
    expect(loss).toBeCloseTo(mse(p, x, y).dataSync()[0]!, 6);
    expectClose(values(m.grad), values(grad((q) => mse(q, x, y))(p)));
    m.dispose();
  });

  it("fromModel + forward works like model.apply with the same seed", () => {
    const { x } = data();
    const model = new Mlp(config);
    const m = StatefulModule.fromModel(model, new Rng(3));
    const ref = model.init(new Rng(3));
    expectClose({ out: Array.from(m.forward(x).dataSync()) }, { out: Array.from(model.apply(ref, x).dataSync()) });
    m.dispose();
  });

  it("accumulates like PyTorch: two backward calls without zeroGrad double the gradient; zeroGrad resets to null", () => {
    const { x, y } = data();
    const m = new StatefulModule(initMlp(new Rng(1), config));
    m.backward((q) => mse(q, x, y));
    const once = values(m.grad);
    m.backward((q) => mse(q, x, y));
    const twice = values(m.grad);
    expectClose(twice, Object.fromEntries(Object.entries(once).map(([k, v]) => [k, v.map((e) => 2 * e)])));
    m.zeroGrad();
    expect(Object.values(m.grad).every((g) => g === null)).toBe(true);
    m.dispose();
  });

  it("errors say how to fix them", () => {
    const m = new StatefulModule(initMlp(new Rng(1), config));
    expect(() => new SGD(m, { lr: 0.1 }).step()).toThrow(/Call module.backward/);
    expect(() => m.forward(tf.zeros([1, 1, 1]))).toThrow(/fromModel/);
    expect(() => new SGD(m, { lr: 0 })).toThrow(/positive lr/);
    m.dispose();
    expect(() => m.params).toThrow(/disposed/);
  });

});
