import { describe, expect, test } from "vitest";
import { sharpnessOptions } from "../../src/eval/sharpness";

describe("sharpnessOptions: field by field, fix-it errors", () => {
  test("defaults pass", () => expect(sharpnessOptions()).toEqual({}));
  test.each([
    ["wrong key", { iteration: 30 }, /supportSharpness options: unknown option "iteration"; known: iterations, loss, taskBatched/],
    ["wrong type", { taskBatched: 1 }, /supportSharpness taskBatched must be true or false, got 1/],
    ["out of range", { iterations: 0 }, /supportSharpness iterations must be an integer >= 1, got 0\. 30 is plenty/],
  ])("%s", (_what, options, message) => expect(() => sharpnessOptions(options as never)).toThrow(message));
});
