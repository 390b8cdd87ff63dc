import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { forgettingSweep, runForgetting } from "../../src/experiments/continual";

const small = { stepsA: 120, stepsB: 120, evalEvery: 40, hidden: [24] } as const;

describe("catastrophic forgetting", () => {
  it("without replay, training on B raises A's loss and drops its accuracy (shared head)", () => {
    const { summary, rows } = runForgetting({ ...small, replay: 0, heads: "shared" }, new Rng(0));
    expect(summary.accABefore).toBeGreaterThan(0.7);
    expect(summary.lossAAfter).toBeGreaterThan(2 * summary.lossABefore);
    expect(summary.forgetting).toBeGreaterThan(0.3);
    expect(summary.accBAfter).toBeGreaterThan(0.7);
    expect(rows.map((r) => r.step)).toEqual([0, 40, 80, 120, 160, 200, 240]);
  });

  it("replay of A's data reduces forgetting, more replay reduces it more; same seed, same result; no leaks", () => {
    const before = tf.memory().numTensors;
    const { summaries } = forgettingSweep(small, ["shared"], [0, 0.25], new Rng(0));
    const [none, quarter] = summaries as [(typeof summaries)[0], (typeof summaries)[0]];
    expect(quarter.accABefore).toBe(none.accABefore); // identical phase A across remedies
    expect(quarter.forgetting).toBeLessThan(none.forgetting - 0.2);
    expect(quarter.lossAAfter).toBeLessThan(none.lossAAfter);
    expect(tf.memory().numTensors).toBe(before);
    const again = runForgetting({ ...small, replay: 0.25, heads: "shared" }, new Rng(0)).summary;
    expect(again).toEqual(quarter);
  });

  it("LwF and multi-head variants run and keep A's accuracy closer to its pre-B value than a shared head", () => {
    const shared = runForgetting({ ...small, heads: "shared" }, new Rng(1)).summary;
    const lwf = runForgetting({ ...small, heads: "lwf" }, new Rng(1)).summary;
    const multi = runForgetting({ ...small, heads: "multi-train", replay: 0.1 }, new Rng(1)).summary;
    expect(lwf.forgetting).toBeLessThan(shared.forgetting);
    expect(multi.forgetting).toBeLessThan(shared.forgetting);
  });

  it("rejects a replay fraction outside [0, 1)", () => {
    expect(() => runForgetting({ replay: 1 }, new Rng(0))).toThrow(/replay/);
  });

  it("weight decay is a leak: with A's head frozen, the body features only A used decay and A is forgotten more; no leaks", () => {
    const before = tf.memory().numTensors;
    const tight = runForgetting({ ...small, heads: "multi-frozen" }, new Rng(2)).summary;
    const leaky = runForgetting({ ...small, heads: "multi-frozen", weightDecay: 1 }, new Rng(2)).summary;
    expect(tf.memory().numTensors).toBe(before);
    expect(leaky.forgetting).toBeGreaterThan(tight.forgetting + 0.05);
    expect(leaky.accBAfter).toBeGreaterThan(0.7);
    expect(() => runForgetting({ weightDecay: -1 }, new Rng(0))).toThrow(/weightDecay/);
    expect(() => runForgetting({ weightDecay: 100 }, new Rng(0))).toThrow(/weightDecay/);
  });
});
