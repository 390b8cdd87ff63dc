import { describe, expect, test } from "vitest";
import { DEFAULT_POLYNOMIAL, FINN_SINE, PolynomialFamily, SineFamily } from "../../src/tasks/regression";

describe("regression family configs: field by field, fix-it errors", () => {
  test("the defaults come back", () => {
    expect(new SineFamily().config).toEqual(FINN_SINE);
    expect(new PolynomialFamily().config).toEqual(DEFAULT_POLYNOMIAL);
  });
  test.each([
    ["sine, wrong key", () => new SineFamily({ amplitudes: [1, 2] } as never), /SineFamily config: unknown option "amplitudes"; known: amplitude, phase, x/],
    ["sine, empty range", () => new SineFamily({ amplitude: [2, 1] }), /amplitude must be a finite range \[lo, hi\] with lo <= hi, got \[2,1\]/],
    ["sine, wrong type", () => new SineFamily({ phase: [0, Number.NaN] }), /phase must be a finite range/],
    ["polynomial, wrong key", () => new PolynomialFamily({ coefficients: [-1, 1] } as never), /PolynomialFamily config: unknown option "coefficients"; known: degree, coefficient, x/],
    ["polynomial, out of range", () => new PolynomialFamily({ degree: -1 }), /PolynomialFamily degree must be a non-negative integer, got -1/],
  ])("%s", (_what, make, message) => expect(make).toThrow(message));
});
