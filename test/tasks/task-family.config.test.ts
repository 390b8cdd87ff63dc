import { describe, expect, test } from "vitest";
import { batchSpec } from "../../src/tasks/task-family";

describe("batchSpec: field by field, fix-it errors", () => {
  const ok = { tasks: 4, shots: 5, queries: 15 };
  test("a good spec passes unchanged; a wider object passes unless strict", () => {
    expect(batchSpec(ok)).toBe(ok);
    expect(() => batchSpec({ ...ok, extra: 1 } as never)).not.toThrow();
  });
  test.each([
    ["wrong key (strict)", { ...ok, shot: 5 }, /tasks: unknown option "shot"; known: tasks, shots, queries/],
    ["wrong type", { ...ok, shots: "5" }, /tasks shots must be an integer >= 1, got "5"\. Shots count support points/],
    ["out of range", { ...ok, queries: 0 }, /tasks queries must be an integer >= 1, got 0/],
  ])("%s", (_what, spec, message) => {
    expect(() => batchSpec(spec as never, "tasks", true)).toThrow(message);
  });
});
