import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { assertGradientsMatch } from "../../src/autodiff/finite-diff";
import { conv2dSame, convFilterAdjoint, convInputAdjoint, convValid } from "../../src/models/conv-op";
import type { Params } from "../../src/core/params";

const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe("conv2d with derivatives of every order", () => {
  it("equals tf.conv2d with 'same' padding (strides 1, 2, 3; odd and even sides)", () => {
    const rng = new Rng(0);
    for (const [side, stride] of [[7, 2], [8, 2], [28, 2], [5, 1], [10, 3]] as const) {
      tf.tidy(() => {
        const x = rng.normalTensor([2, side, side, 3]) as tf.Tensor4D;
        const w = rng.normalTensor([3, 3, 3, 4]) as tf.Tensor4D;
        const ours = conv2dSame(x, w, stride);
        const ref = tf.conv2d(x, w, stride, "same");
        expect(ours.shape).toEqual(ref.shape);
        expect(maxAbs(ours, ref)).toBeLessThan(1e-4);
      });
    }
  });

  it("the two adjoints are the transposes of the convolution: <dy, conv(x, f)> = <adjX(dy, f), x> = <adjF(x, dy), f>", () => {
    const rng = new Rng(1);
    tf.tidy(() => {
      const x = rng.normalTensor([2, 9, 9, 3]) as tf.Tensor4D;
      const f = rng.normalTensor([3, 3, 3, 5]) as tf.Tensor4D;
      const y = convValid(x, f, 2);
      const dy = rng.normalTensor(y.shape) as tf.Tensor4D;
      const a = tf.sum(tf.mul(dy, y)).dataSync()[0]!;
      const b = tf.sum(tf.mul(convInputAdjoint(dy, f, x.shape, 2), x)).dataSync()[0]!;
      const c = tf.sum(tf.mul(convFilterAdjoint(x, dy, f.shape, 2), f)).dataSync()[0]!;
      expect(Math.abs(a - b)).toBeLessThan(1e-3 * Math.abs(a));
      expect(Math.abs(a - c)).toBeLessThan(1e-3 * Math.abs(a));
    });
  });

  it("tfjs's own conv2d cannot be differentiated twice here (why conv-op.ts exists)", () => {
    const rng = new Rng(2);
    const x = rng.normalTensor([1, 5, 5, 1]) as tf.Tensor4D;
    const w = rng.normalTensor([3, 3, 1, 2]) as tf.Tensor4D;
    const inner = (f: tf.Tensor): tf.Tensor => tf.grad((g: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, g as tf.Tensor4D, 2, "same"))))(f);
    expect(() => tf.grad((f: tf.Tensor) => tf.sum(tf.square(inner(f))))(w)).toThrow(/Conv2DBackpropFilter/);
  });

  for (const stride of [1, 2]) {
    it(`first and second derivatives in the input and the filter match finite differences (stride ${stride})`, () => {
      const rng = new Rng(3 + stride);
      const p: Params = { x: rng.normalTensor([2, 6, 6, 2]), w: rng.normalTensor([3, 3, 2, 3]) };
      const target = rng.normalTensor(conv2dSame(p.x as tf.Tensor4D, p.w as tf.Tensor4D, stride).shape);
      // A loss with a non-zero Hessian in both arguments (the square of a bilinear map).
      const f = (q: Params): tf.Scalar => tf.tidy(() => tf.sum(tf.square(tf.sub(conv2dSame(q.x as tf.Tensor4D, q.w as tf.Tensor4D, stride), target))) as tf.Scalar);
      const r = assertGradientsMatch(f, p, rng.fork("fd"), { order: "both", directions: 3 });
      expect(r.pass, r.summary).toBe(true);
      // Third order: the HVP of a gradient-norm objective (what second-order MAML's meta-gradient contains).
      const gnorm = (q: Params): tf.Scalar => tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => f({ x: a, w: b }))([q.x!, q.w!]);
        return tf.add(tf.sum(tf.square(g[0]!)), tf.sum(tf.square(g[1]!))) as tf.Scalar;
      });
      const r3 = assertGradientsMatch(gnorm, p, rng.fork("fd3"), { order: "both", directions: 2 });
      expect(r3.pass, r3.summary).toBe(true);
    });
  }
});
