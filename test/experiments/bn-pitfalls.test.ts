import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { bnPitfallsConfig, DEFAULT_BN_PITFALLS, runBnPitfalls } from "../../src/experiments/bn-pitfalls";

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

  it("rejects a bad or unknown setting with the fix, before any training", () => {
    expect(bnPitfallsConfig({})).toEqual(DEFAULT_BN_PITFALLS);
    expect(() => bnPitfallsConfig({ step: 10 } as never)).toThrow(/unknown option "step"; known: family, model, maml, variants, steps/);
    expect(() => bnPitfallsConfig({ steps: 0 })).toThrow(/steps must be an integer >= 1, got 0/);
    expect(() => bnPitfallsConfig({ test: { tasks: 4, shots: 1.5, queries: 2 } })).toThrow(/test.shots must be an integer/);
    expect(() => bnPitfallsConfig({ modes: ["runing" as never] })).toThrow(/modes\[0\] must be one of "transductive"/);
    expect(() => bnPitfallsConfig({ modes: [] })).toThrow(/modes is empty/);
    const v = DEFAULT_BN_PITFALLS.variants[0]!;
    expect(() => bnPitfallsConfig({ variants: [v, v] })).toThrow(/variants\[1\].name must be a non-empty name no other variant uses/);
    expect(() => bnPitfallsConfig({ variants: [{ ...v, taskShiftStd: -1 }] })).toThrow(/taskShiftStd must be a number >= 0/);
    expect(() => bnPitfallsConfig({ maml: { ...DEFAULT_BN_PITFALLS.maml, innerLr: -1 } })).toThrow(/BnMaml innerLr must be a positive number/);
    const before = tf.memory().numTensors;
    expect(() => runBnPitfalls({ steps: -3 }, new Rng(0))).toThrow(/steps must be an integer/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
