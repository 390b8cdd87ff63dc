import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { DEFAULT_BN_PITFALLS, runBnPitfalls } from "../../src/experiments/bn-pitfalls";

describe("BN pitfalls experiment", () => {
  it("returns a curve per variant and a row per variant and mode, deterministically and without leaks", () => {
    const cfg = { steps: 4, test: { tasks: 4, shots: 1, queries: 2 }, variants: DEFAULT_BN_PITFALLS.variants.slice(1, 3) };
    const before = tf.memory().numTensors;
    let calls = 0;
    const a = runBnPitfalls(cfg, new Rng(0), () => calls++);
    expect(tf.memory().numTensors).toBe(before);
    expect(calls).toBe(8);
    expect(a.curves).toHaveLength(8);
    expect(a.results).toHaveLength(2 * DEFAULT_BN_PITFALLS.modes.length);
    for (const r of a.results.filter((r) => r.mode === "per-example")) expect(r.accuracy).toBeCloseTo(0.2, 5);
    const b = runBnPitfalls(cfg, new Rng(0));
    expect(b.results).toEqual(a.results);
  });
});
