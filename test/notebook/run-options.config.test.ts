import { describe, expect, test } from "vitest";
import { runNotebook, runOptions, type RunOptions } from "../../src/notebook/runner";
import type { Notebook } from "../../src/notebook/ipynb";

const empty = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } as unknown as Notebook;

describe("runNotebook's options: unknown keys and out-of-range limits are errors with the fix (no kernel starts)", () => {
  test("good options pass unchanged", () => {
    const o: RunOptions = { cellTimeoutMs: 1000, timeoutMs: 0, memoryMb: 512, uid: 0, allowErrors: true };
    expect(runOptions(o)).toBe(o);
  });
  test("a mistyped option is an error listing the known ones, before any kernel starts", async () => {
    await expect(runNotebook(empty, { cellTimeout: 1000 } as unknown as RunOptions)).rejects.toThrow(/runNotebook options: unknown option "cellTimeout"; known: kernelName, kernelSpec, cwd, .*cellTimeoutMs, .*wrapKernel\./);
  });
  test("limits and ids are checked", () => {
    expect(() => runOptions({ cellTimeoutMs: -1 })).toThrow(/runNotebook cellTimeoutMs must be a number >= 0, got -1\. Leave it out for the default\./);
    expect(() => runOptions({ memoryMb: Number.NaN })).toThrow(/runNotebook memoryMb must be a number >= 0/);
    expect(() => runOptions({ uid: 1.5 })).toThrow(/runNotebook uid must be an integer >= 0, got 1\.5/);
  });
});
