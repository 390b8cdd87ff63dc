import { describe, expect, test } from "vitest";
import { assignOptions } from "../../src/grading/assign";
import type { Assignment } from "../../src/grading/assignment";
import { batchOptions } from "../../src/grading/grade-batch";
import { checkGradeLimits, GRADE_OPTION_KEYS, gradeOptions, gradeSubmission, pickGradeOptions, type GradeOptions } from "../../src/grading/grade-one";

describe("gradeSubmission's options: unknown keys and bad values are errors with the fix, before any kernel runs", () => {
  test("good options pass unchanged", () => {
    const o: GradeOptions = { workRoot: "/tmp/w", cellTimeoutMs: 1000, timeoutMs: 60_000, memoryMb: 512, maxOutputBytes: 10_000, maxFileMb: 0, maxProcs: 8, sandbox: "none", kernelUser: { uid: 1000, gid: 1000 }, fileLabel: "ann.ipynb", runKernel: async () => Promise.reject(new Error("unused")) };
    expect(gradeOptions(o)).toBe(o);
    expect(gradeOptions({ workRoot: "/tmp/w", kernelUser: undefined, reference: undefined })).toBeTruthy();
  });
  test("a mistyped option, or a batch's own field, is an error listing the known ones", async () => {
    await expect(gradeSubmission({} as Assignment, "/nonexistent.ipynb", "ann", { workRoot: "/tmp/w", cellTimeout: 5 } as unknown as GradeOptions)).rejects.toThrow(
      /gradeSubmission options: unknown option "cellTimeout"; known: cellTimeoutMs, timeoutMs, memoryMb, maxOutputBytes, workRoot, .*fileLabel\./,
    );
    expect(() => gradeOptions({ workRoot: "/tmp/w", jobs: 2 } as unknown as GradeOptions)).toThrow(/unknown option "jobs"/);
  });
  test("bad values name the field and the fix", () => {
    expect(() => gradeOptions({} as GradeOptions)).toThrow(/gradeSubmission workRoot must be a non-empty string, got undefined\. Pass a scratch folder/);
    expect(() => gradeOptions({ workRoot: "/w", cellTimeoutMs: 0 })).toThrow(/gradeSubmission cellTimeoutMs must be a positive number, got 0\. Milliseconds per cell/);
    expect(() => gradeOptions({ workRoot: "/w", timeoutMs: Number.POSITIVE_INFINITY })).toThrow(/gradeSubmission timeoutMs must be a positive number, got Infinity/);
    expect(() => gradeOptions({ workRoot: "/w", memoryMb: -1 })).toThrow(/gradeSubmission memoryMb must be a positive number, got -1\. Megabytes/);
    expect(() => gradeOptions({ workRoot: "/w", maxOutputBytes: 1.5 })).toThrow(/gradeSubmission maxOutputBytes must be an integer >= 1, got 1\.5/);
    expect(() => gradeOptions({ workRoot: "/w", maxFileMb: -1 })).toThrow(/gradeSubmission maxFileMb must be a number >= 0, got -1\. Megabytes, e\.g\. 100; 0 turns the limit off\./);
    expect(() => gradeOptions({ workRoot: "/w", maxProcs: 0 })).toThrow(/gradeSubmission maxProcs must be an integer >= 1/);
    expect(() => gradeOptions({ workRoot: "/w", sandbox: "docker" as "none" })).toThrow(/gradeSubmission sandbox must be one of "bubblewrap", "none", got "docker"/);
    expect(() => gradeOptions({ workRoot: "/w", kernelUser: { uid: -1, gid: 0 } })).toThrow(/gradeSubmission kernelUser\.uid must be an integer >= 0/);
    expect(() => gradeOptions({ workRoot: "/w", runKernel: "bwrap" as unknown as GradeOptions["runKernel"] })).toThrow(/gradeSubmission runKernel must be a function/);
    expect(() => checkGradeLimits("grade-one", { cellTimeoutMs: Number.NaN })).toThrow(/grade-one cellTimeoutMs must be a positive number, got NaN/);
  });
  test("gradeBatch checks the grade fields up front the same way", () => {
    expect(() => batchOptions({ maxOutputBytes: 0 })).toThrow(/gradeBatch maxOutputBytes must be an integer >= 1, got 0/);
    expect(() => batchOptions({ sandbox: "docker" as "none" })).toThrow(/gradeBatch sandbox must be one of/);
    expect(() => batchOptions({ resume: "yes" as unknown as boolean })).toThrow(/gradeBatch resume must be true or false/);
  });
  test("pickGradeOptions keeps only the grade fields, so gradeBatch's own (jobs, resume, onProgress, canvasColumn) never reach gradeSubmission", () => {
    const batch = batchOptions({ jobs: 3, resume: true, onProgress: () => undefined, canvasColumn: "HW1", cellTimeoutMs: 1000, maxFileMb: 0, sandbox: "none", kernelUser: undefined });
    const picked = pickGradeOptions(batch);
    expect(picked).toEqual({ cellTimeoutMs: 1000, maxFileMb: 0, sandbox: "none", kernelUser: undefined });
    expect(Object.keys(picked).every((k) => k in GRADE_OPTION_KEYS)).toBe(true);
    expect(gradeOptions({ ...picked, workRoot: "/tmp/w" })).toBeTruthy();
  });
});

describe("assign's run limits are checked up front as gradeSubmission checks them", () => {
  test("a mistyped or out-of-range limit is an error naming it", () => {
    expect(assignOptions({ run: { cellTimeoutMs: 60_000, maxFileMb: 0 } })).toBeTruthy();
    expect(() => assignOptions({ run: { cellTimeout: 5 } as unknown as { cellTimeoutMs: number } })).toThrow(/assign run: unknown option "cellTimeout"; known: cellTimeoutMs, timeoutMs, memoryMb, maxOutputBytes, maxFileMb\./);
    expect(() => assignOptions({ run: { timeoutMs: 0 } })).toThrow(/assign run timeoutMs must be a positive number, got 0\. Milliseconds for the whole notebook/);
  });
});
