import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { grad, hvp, valueAndGrad } from "../../src/autodiff/functional";
import type { Params } from "../../src/core/params";

describe("functional grads", () => {
  it("give zeros for parameters f does not use (as JAX does), instead of tf.grads' error", () => {
    const p = { a: tf.tensor1d([1, 2]), unused: tf.tensor1d([5, 6, 7]) };
    const g = grad((q: Params) => tf.sum(tf.square(q.a!)) as tf.Scalar)(p);
    expect(Array.from(g.a!.dataSync())).toEqual([2, 4]);
    expect(Array.from(g.unused!.dataSync())).toEqual([0, 0, 0]);
  });

  it("hvp of a function linear in some parameters gives zeros for them", () => {
    // f = sum(a^3) + sum(b): H = diag(6a) for a, 0 for b.
    const p = { a: tf.tensor1d([1, -2]), b: tf.tensor1d([3]) };
    const v = { a: tf.tensor1d([1, 1]), b: tf.tensor1d([1]) };
    const h = hvp((q: Params) => tf.add(tf.sum(tf.pow(q.a!, 3)), tf.sum(q.b!)) as tf.Scalar, p, v);
    expect(Array.from(h.a!.dataSync())).toEqual([6, -12]);
    expect(Array.from(h.b!.dataSync())).toEqual([0]);
  });

  it("valueAndGrad rejects non-scalar losses with the fix", () => {
    const p = { a: tf.tensor1d([1, 2]) };
    expect(() => valueAndGrad((q: Params) => tf.square(q.a!) as tf.Scalar)(p)).toThrow(/tf.mean or tf.sum/);
    expect(() => grad(() => tf.scalar(1))({})).toThrow(/empty parameter record/);
    // The engine's tape is left clean after the error: gradients still work.
    expect(Array.from(grad((q: Params) => tf.sum(tf.square(q.a!)) as tf.Scalar)(p).a!.dataSync())).toEqual([2, 4]);
  });
});
