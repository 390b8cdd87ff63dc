import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random";
import { replayBatch, replayCounts } from "../../src/learners/replay";

describe("replay mixer", () => {
  it("mixes in exactly 10% of each batch", () => {
    expect(replayCounts(128, 0.1)).toEqual({ current: 115, replayed: 13 }); // round(12.8)
    expect(replayCounts(100, 0.1)).toEqual({ current: 90, replayed: 10 });
    expect(replayCounts(32, 0)).toEqual({ current: 32, replayed: 0 });
    const b = replayBatch(new Rng(0), 50, 400, 100, 0.1);
    expect(b.current.length).toBe(90);
    expect(b.replayed.length).toBe(10);
    expect(b.current.every((i) => Number.isInteger(i) && i >= 0 && i < 50)).toBe(true);
    expect(b.replayed.every((i) => Number.isInteger(i) && i >= 0 && i < 400)).toBe(true);
  });

  it("uses the whole batch for the current task when nothing is stored yet", () => {
    const b = replayBatch(new Rng(0), 50, 0, 100, 0.1);
    expect(b.current.length).toBe(100);
    expect(b.replayed).toEqual([]);
  });

  it("is deterministic under a seed", () => {
    expect(replayBatch(new Rng(3), 50, 400, 64, 0.1)).toEqual(replayBatch(new Rng(3), 50, 400, 64, 0.1));
    expect(replayBatch(new Rng(3), 50, 400, 64, 0.1)).not.toEqual(replayBatch(new Rng(4), 50, 400, 64, 0.1));
  });

  it("rejects fractions outside [0, 1) and batches with no current example", () => {
    expect(() => replayCounts(10, 1)).toThrow(/\[0, 1\)/);
    expect(() => replayCounts(10, -0.1)).toThrow(/\[0, 1\)/);
    expect(() => replayCounts(2, 0.8)).toThrow(/no current-task example/);
    expect(() => replayBatch(new Rng(0), 0, 10, 8, 0.1)).toThrow(/at least one example/);
  });
});
