import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { runForgetting, type HeadMode } from "../../src/experiments/continual";

const short = { stepsA: 40, stepsB: 40, evalEvery: 10, hidden: [16, 12] } as const;

describe("forgetting runs on the fast path", () => {
  it.each([
    { heads: "shared", replay: 0 },
    { heads: "shared", replay: 0.25 },
    { heads: "multi-frozen", replay: 0.1 },
    { heads: "multi-train", replay: 0.1 },
    { heads: "lwf", replay: 0 },
    { heads: "lwf", replay: 0.1 },
  ] as { heads: HeadMode; replay: number }[])("match tfjs autodiff ($heads, replay $replay) and leak nothing", ({ heads, replay }) => {
    const before = tf.memory().numTensors;
    const fast = runForgetting({ ...short, heads, replay }, new Rng(3));
    expect(tf.memory().numTensors).toBe(before);
    const general = runForgetting({ ...short, heads, replay, fastPath: "off" }, new Rng(3));
    expect(fast.rows.map((r) => [r.phase, r.step])).toEqual(general.rows.map((r) => [r.phase, r.step]));
    // LwF without replay starts phase B with student = teacher on A's head: its gradient there is exactly 0, which
    // the fast path computes to ~1e-17 and tfjs to float32 rounding noise (~1e-9), and Adam scales that noise up to
    // steps of about lr. So phase B of that run matches only loosely; every other row matches to rounding.
    const noisy = heads === "lwf" && replay === 0;
    fast.rows.forEach((r, i) => {
      const g = general.rows[i]!;
      const tol = noisy && r.phase === "B" ? 0.05 : 1e-3;
      expect(Math.abs(r.lossA - g.lossA) / g.lossA).toBeLessThan(tol);
      expect(Math.abs(r.lossB - g.lossB) / g.lossB).toBeLessThan(tol);
      expect(Math.abs(r.accA - g.accA)).toBeLessThanOrEqual(noisy && r.phase === "B" ? 0.03 : 0.011);
      expect(Math.abs(r.accB - g.accB)).toBeLessThanOrEqual(noisy && r.phase === "B" ? 0.03 : 0.011);
    });
  });
});
