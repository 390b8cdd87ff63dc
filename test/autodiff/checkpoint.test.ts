import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { grad, valueAndGrad } from "../../src/autodiff/functional";
import { checkpointedLoopGrad, vjp, type UnrolledLoop } from "../../src/autodiff/checkpoint";

const flat = (p: Params): number[] => Object.keys(p).sort().flatMap((k) => Array.from(p[k]!.dataSync()));

/** A loop whose step holds a gradient (like MAML's inner SGD): x ← x − a ∇_x Σ tanh-free cubic(x, m). */
function toyLoop(steps: number, lossEvery: boolean): UnrolledLoop {
  const inner = (x: Params, m: Params): tf.Scalar => tf.sum(tf.add(tf.mul(m.c!, tf.pow(x.v!, 3)), tf.mul(tf.square(tf.sub(x.v!, m.t!)), 0.5))) as tf.Scalar;
  return {
    steps,
    init: (m) => ({ v: tf.mul(m.t!, 2) }),
    step: (x, m) => {
      const g = grad((q) => inner(q, m))(x);
      return { v: tf.sub(x.v!, tf.mul(g.v!, m.a!)) };
    },
    hasLoss: (s) => lossEvery || s === steps,
    loss: (x, m, s) => tf.mul(tf.sum(tf.square(tf.sub(x.v!, m.target!))), 1 / s) as tf.Scalar,
  };
}

function unrolled(loop: UnrolledLoop, m: Params): tf.Scalar {
  let x = loop.init(m);
  let total: tf.Scalar = tf.scalar(0);
  for (let s = 1; s <= loop.steps; s++) {
    x = loop.step(x, m, s - 1);
    if (loop.hasLoss(s)) total = tf.add(total, loop.loss(x, m, s));
  }
  return total;
}

describe("checkpointedLoopGrad", () => {
  for (const lossEvery of [false, true]) {
    it(`equals differentiating the unrolled loop (second order inside each step; losses at ${lossEvery ? "every step" : "the last step"})`, () => {
      const rng = new Rng(3);
      const m: Params = { c: rng.normalTensor([4], 0, 0.3), t: rng.normalTensor([4]), a: tf.scalar(0.2), target: rng.normalTensor([4]) };
      const loop = toyLoop(4, lossEvery);
      const direct = tf.tidy(() => { const r = valueAndGrad((p) => unrolled(loop, p))(m); return { v: r.value.dataSync()[0]!, g: flat(r.grads) }; });
      const before = tf.memory().numTensors;
      const ck = checkpointedLoopGrad(m, loop);
      expect(ck.value).toBeCloseTo(direct.v, 4);
      flat(ck.grads).forEach((g, i) => expect(g).toBeCloseTo(direct.g[i]!, 4));
      disposeParams(ck.grads);
      expect(tf.memory().numTensors).toBe(before);
      disposeParams(m);
    });
  }

  it("keeps one step's intermediates alive instead of all of them", async () => {
    const rng = new Rng(4);
    const m: Params = { c: rng.normalTensor([2000], 0, 0.3), t: rng.normalTensor([2000]), a: tf.scalar(0.1), target: rng.normalTensor([2000]) };
    const loop = toyLoop(12, false);
    const plain = (await tf.profile(() => { tf.tidy(() => { valueAndGrad((p) => unrolled(loop, p))(m); }); })).peakBytes;
    const ck = (await tf.profile(() => { disposeParams(checkpointedLoopGrad(m, loop).grads); })).peakBytes;
    expect(ck).toBeLessThan(plain / 2);
    disposeParams(m);
  });

  it("vjp is the gradient of ⟨f(p), cotangent⟩", () => {
    const p = { a: tf.tensor1d([1, 2, 3]) };
    const ct = { y: tf.tensor1d([1, -1, 2]) };
    const g = vjp((q) => ({ y: tf.square(q.a!) }), p, ct);
    expect(Array.from(g.a!.dataSync())).toEqual([2, -4, 12]);
    tf.dispose([p.a, ct.y, g.a!]);
  });

  it("rejects a loop without steps", () => {
    expect(() => checkpointedLoopGrad({ a: tf.scalar(1) }, { ...toyLoop(1, false), steps: 0 })).toThrow(/positive integer/);
  });
});
