import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { activate, ACTIVATIONS } from "../../src/autodiff/activations";
import { hvp } from "../../src/autodiff/functional";
import type { Params } from "../../src/core/params";
import { Rng } from "../../src/core/random";

/** f(w) = sum(act(x w)^2) has a non-trivial Hessian in w for every activation. */
function lossFor(name: (typeof ACTIVATIONS)[number], x: tf.Tensor) {
  return (p: Params) => tf.sum(tf.square(activate(name, tf.matMul(x, p.w!)))) as tf.Scalar;
}

describe("second derivatives of activations", () => {
  for (const name of ACTIVATIONS) {
    it(`${name}: HVP matches central differences of the gradient`, () => {
      const r = new Rng(11);
      const x = r.normalTensor([5, 3], 0, 0.7);
      const w = r.normalTensor([3, 2], 0, 0.7);
      const v = r.normalTensor([3, 2]);
      const f = lossFor(name, x);
      const auto = hvp(f, { w }, { w: v }).w!.arraySync() as number[][];
      const eps = 1e-2;
      const g = (s: number) => tf.tidy(() => tf.grad((ww: tf.Tensor) => f({ w: ww }))(tf.add(w, tf.mul(v, s))).arraySync() as number[][]);
      const gp = g(eps);
      const gm = g(-eps);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) {
        const fd = (gp[i]![j]! - gm[i]![j]!) / (2 * eps);
        expect(auto[i]![j]!).toBeCloseTo(fd, 1);
      }
    });
  }
});
