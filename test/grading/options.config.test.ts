import { describe, expect, test } from "vitest";
import { assign, assignOptions, type AssignOptions } from "../../src/grading/assign";
import { batchOptions, gradeBatch, type BatchOptions } from "../../src/grading/grade-batch";
import type { Assignment } from "../../src/grading/assignment";

describe("assign and gradeBatch options: unknown keys and bad values are errors with the fix, before any work", () => {
  test("good options pass unchanged", () => {
    const b: BatchOptions = { jobs: 2, cellTimeoutMs: 1000, resume: true, maxFileMb: 0 };
    expect(batchOptions(b)).toBe(b);
    expect(assignOptions({ checkSolutions: false, sandbox: "none" })).toBeTruthy();
  });
  test("a mistyped option is an error listing the known ones", async () => {
    await expect(gradeBatch({} as Assignment, "/nonexistent-subs", "/nonexistent-out", { job: 2 } as unknown as BatchOptions)).rejects.toThrow(/gradeBatch options: unknown option "job"; known: cellTimeoutMs, .*jobs, resume, workRoot, onProgress, canvasColumn\./);
    await expect(assign("/nonexistent.ipynb", "/nonexistent-release", { checkSolution: false } as unknown as AssignOptions)).rejects.toThrow(/assign options: unknown option "checkSolution"; known: checkSolutions, checkStudent, run, runKernel, sandbox\./);
  });
  test("ranges and types are checked", () => {
    expect(() => batchOptions({ jobs: 0 })).toThrow(/gradeBatch jobs must be an integer >= 1, got 0\. Kernels run at once/);
    expect(() => batchOptions({ cellTimeoutMs: -5 })).toThrow(/gradeBatch cellTimeoutMs must be a positive number, got -5/);
    expect(() => assignOptions({ checkStudent: "yes" } as unknown as AssignOptions)).toThrow(/assign checkStudent must be true or false/);
  });
});
