import { describe, expect, test } from "vitest";
import { LoopGuard, loopGuard, loopGuardOptions, runningLoops, type LoopGuardOptions } from "../../src/core/interrupt";

describe("loopGuard's options: unknown keys and bad values are errors with the fix, before the loop is registered", () => {
  test("good options pass unchanged and the guard still records the loop", () => {
    const o: LoopGuardOptions = { unit: "runs", note: "" };
    expect(loopGuardOptions(o)).toBe(o);
    const g = loopGuard("sweep", 3, { unit: "runs", note: "Kept the finished runs." });
    try {
      g.check(1);
      expect(runningLoops().at(-1)).toEqual({ label: "sweep", done: 1, total: 3, unit: "runs" });
    } finally {
      g.end();
    }
  });
  test("a mistyped option is an error listing the known ones, and no loop is left registered", () => {
    const before = runningLoops().length;
    expect(() => new LoopGuard("sweep", 3, { units: "runs" } as unknown as LoopGuardOptions)).toThrow(/loopGuard options: unknown option "units"; known: unit, note\./);
    expect(runningLoops().length).toBe(before);
  });
  test("bad values name the field and the fix", () => {
    expect(() => loopGuard("sweep", 3, { unit: "" })).toThrow(/loopGuard unit must be a non-empty string, got ""\. A plural unit name/);
    expect(() => loopGuard("sweep", 3, { note: 5 as unknown as string })).toThrow(/loopGuard note must be a string, got 5\. Say what the interrupted state means/);
  });
});
