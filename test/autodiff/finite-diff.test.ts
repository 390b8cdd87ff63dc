import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { assertGradientsMatch, checkGradients, FD_TOLERANCES } from "../../src/autodiff/finite-diff";
import type { Params } from "../../src/core/params";
import { Rng } from "../../src/core/random";

/** x -> x^3 with a deliberately wrong first derivative (2x^2 instead of 3x^2). */
const wrongCube = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return { value: tf.pow(x, 3), gradFunc: (dy: tf.Tensor | tf.Tensor[], s: tf.Tensor[]) => tf.mul(dy as tf.Tensor, tf.mul(2, tf.square(s[0]!))) };
});

/** x -> x^3 whose first derivative is right but is computed from a constant copy of x, so its second derivative is 0. */
const flatSecondCube = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const frozen = tf.tensor(x.dataSync(), x.shape);
  save([frozen]);
  return { value: tf.pow(x, 3), gradFunc: (dy: tf.Tensor | tf.Tensor[], s: tf.Tensor[]) => tf.mul(dy as tf.Tensor, tf.mul(3, tf.square(s[0]!))) };
});

function params(seed: number): Params {
  const r = new Rng(seed);
  return { a: r.normalTensor([4, 3]), b: r.normalTensor([3]) };
}

describe("checkGradients", () => {
  it("passes a correct function, first and second order, with small errors", () => {
    const f = (p: Params) => tf.add(tf.sum(tf.pow(p.a!, 3)), tf.sum(tf.mul(tf.sin(p.b!), tf.sum(p.a!, 0)))) as tf.Scalar;
    const report = checkGradients(f, params(1), new Rng(2));
    expect(report.pass).toBe(true);
    expect(report.first!.maxRelError).toBeLessThan(1e-3);
    expect(report.second!.maxRelError).toBeLessThan(1e-3);
    expect(report.summary).toMatch(/first order.*ok\nsecond order.*ok/);
  });

  it("catches a wrong first derivative", () => {
    const f = (p: Params) => tf.sum(wrongCube(p.a!) as tf.Tensor) as tf.Scalar;
    const report = checkGradients(f, params(1), new Rng(2), { order: 1 });
    expect(report.pass).toBe(false);
    expect(report.first!.pass).toBe(false);
    expect(report.second).toBeUndefined();
    expect(report.first!.maxRelError).toBeGreaterThan(0.1);
  });

  it("catches a wrong second derivative when the first is right", () => {
    const f = (p: Params) => tf.sum(flatSecondCube(p.a!) as tf.Tensor) as tf.Scalar;
    const report = checkGradients(f, params(1), new Rng(2));
    expect(report.first!.pass).toBe(true);
    expect(report.second!.pass).toBe(false);
  });

  it("assertGradientsMatch throws a message naming the failing order and the fix", () => {
    const f = (p: Params) => tf.sum(wrongCube(p.a!) as tf.Tensor) as tf.Scalar;
    expect(() => assertGradientsMatch(f, params(1), new Rng(2))).toThrow(/first order.*FAILED[\s\S]*issue 3252/);
    const ok = (p: Params) => tf.sum(tf.square(p.a!)) as tf.Scalar;
    expect(assertGradientsMatch(ok, params(1), new Rng(2)).pass).toBe(true);
  });

  it("is deterministic for a given seed", () => {
    const f = (p: Params) => tf.sum(tf.exp(tf.mul(0.3, p.a!))) as tf.Scalar;
    const a = checkGradients(f, params(1), new Rng(5));
    const b = checkGradients(f, params(1), new Rng(5));
    expect(a.summary).toBe(b.summary);
  });

  it("tolerates float32 noise on large values through its relative and absolute tolerance", () => {
    // f is about 1e4, so a float32 central difference has visible round-off; the report must still pass.
    const f = (p: Params) => tf.add(1e4, tf.sum(tf.square(tf.mul(30, p.a!)))) as tf.Scalar;
    expect(checkGradients(f, params(3), new Rng(4)).pass).toBe(true);
  });

  it("rejects non-scalar functions and bad options with a fix in the message", () => {
    const f = (p: Params) => tf.square(p.a!) as tf.Scalar;
    expect(() => checkGradients(f, params(1), new Rng(1))).toThrow(/scalar/);
    expect(() => checkGradients(f, params(1), new Rng(1), { directions: 0 })).toThrow(/positive integer/);
    expect(FD_TOLERANCES.float32.rtol).toBeGreaterThan(FD_TOLERANCES.float64.rtol);
  });

  it("does not leak tensors", () => {
    const p = params(1);
    const f = (q: Params) => tf.sum(tf.tanh(q.a!)) as tf.Scalar;
    checkGradients(f, p, new Rng(1), { order: 1 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) checkGradients(f, p, new Rng(i));
    expect(tf.memory().numTensors).toBe(before);
  });
});
