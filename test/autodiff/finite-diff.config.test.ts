import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { checkGradients, checkNumericGradient, gradCheckOptions, type GradCheckOptions } from "../../src/autodiff/finite-diff";
import type { Params } from "../../src/core/params";
import { Rng } from "../../src/core/random";

const f = (p: Params) => tf.sum(tf.pow(p.a!, 3)) as tf.Scalar;
const p = (): Params => ({ a: tf.tensor1d([0.5, -1.2, 2]) });
const cube = (x: readonly number[]) => x.reduce((s, v) => s + v ** 3, 0);
const cubeGrad = (x: readonly number[]) => x.map((v) => 3 * v * v);

describe("checkGradients' and checkNumericGradient's options: unknown keys and bad values are errors with the fix", () => {
  test("good options pass unchanged and the checks still pass", () => {
    const o: GradCheckOptions = { order: 1, dtype: "float32", directions: 3, eps: 1e-2, steps: 4, rtol: 1e-2, atol: 0 };
    expect(gradCheckOptions("checkGradients", o)).toBe(o);
    expect(checkGradients(f, p(), new Rng(1), { order: 1, directions: 3 }).pass).toBe(true);
    expect(checkNumericGradient(cube, cubeGrad, [0.3, -0.7], new Rng(2), { directions: 3, steps: 2 }).pass).toBe(true);
  });
  test("a mistyped option is an error listing the known ones", () => {
    expect(() => checkGradients(f, p(), new Rng(1), { orders: 1 } as unknown as GradCheckOptions)).toThrow(/checkGradients options: unknown option "orders"; known: order, dtype, directions, eps, steps, rtol, atol\./);
    expect(() => checkNumericGradient(cube, cubeGrad, [1], new Rng(1), { order: 1 } as unknown as GradCheckOptions)).toThrow(/checkNumericGradient options: unknown option "order"; known: dtype, directions, eps, steps, rtol, atol\./);
  });
  test("bad values name the field and the fix; directions and steps keep their 'positive integer' message", () => {
    expect(() => checkGradients(f, p(), new Rng(1), { directions: 0 })).toThrow(/checkGradients: directions must be a positive integer, got 0\. Leave it out for the default \(2\)\./);
    expect(() => checkGradients(f, p(), new Rng(1), { steps: 1.5 })).toThrow(/checkGradients: steps must be a positive integer, got 1\.5/);
    expect(() => checkNumericGradient(cube, cubeGrad, [1], new Rng(1), { steps: 0 })).toThrow(/checkNumericGradient: steps must be a positive integer, got 0/);
    expect(() => checkGradients(f, p(), new Rng(1), { eps: 0 })).toThrow(/checkGradients: eps must be positive, got 0\. Try 0\.01 for float32\./);
    expect(() => checkNumericGradient(cube, cubeGrad, [1], new Rng(1), { rtol: -1 })).toThrow(/checkNumericGradient: rtol must be positive, got -1\. Try 0\.000001 for float64\./);
    expect(() => checkGradients(f, p(), new Rng(1), { atol: Number.NaN })).toThrow(/checkGradients atol must be a number >= 0, got NaN\. Try 0\.0001 for float32\./);
    expect(() => checkGradients(f, p(), new Rng(1), { order: 3 as 1 })).toThrow(/checkGradients order must be one of 1, 2, "both", got 3\./);
    expect(() => checkGradients(f, p(), new Rng(1), { dtype: "float16" as "float32" })).toThrow(/checkGradients dtype must be one of "float32", "float64", got "float16"\./);
  });
});
