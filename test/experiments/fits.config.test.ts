import { describe, expect, test } from "vitest";
import { fitRowsOptions } from "../../src/experiments/fits";

describe("fitRowsOptions: field by field, fix-it errors", () => {
  const ok = { supportX: Float32Array.of(0, 1), supportY: Float32Array.of(1, 2), grid: Float32Array.of(0, 0.5, 1), steps: [0, 1], lr: 0.01 };
  test("good options pass unchanged", () => expect(fitRowsOptions({ ...ok, extra: { panel: "a" } })).toMatchObject({ lr: 0.01 }));
  test.each([
    ["wrong key", { ...ok, step: [1] }, /fitRows options: unknown option "step"; known: supportX, supportY, grid, steps, lr, extra/],
    ["wrong type", { ...ok, grid: [0, 1] }, /fitRows grid must be a Float32Array/],
    ["out of range", { ...ok, steps: [0, -1] }, /fitRows steps must be a list of at least 1 integer >= 0, got \[0, -1\]\. List the step counts/],
    ["mismatch", { ...ok, supportY: Float32Array.of(1) }, /2 support inputs but 1 targets; pass one task's K points/],
  ])("%s", (_what, options, message) => expect(() => fitRowsOptions(options as never)).toThrow(message));
});
