import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp, headNames } from "../../src/models/mlp";
import { adaptationCurves, type EvalLearner } from "../../src/eval/protocol";

const rows = (df: ReturnType<typeof adaptationCurves>) => df.toRecords() as { learner: string; K: number; step: number; mse: number; median: number; max: number }[];

describe("adaptation curves on the fast path", () => {
  it.each(["relu", "tanh"] as const)("match tfjs autodiff for whole-network and head-only SGD (%s) and leak nothing", (activation) => {
    const model = new Mlp({ sizes: [1, 24, 16, 1], activation });
    const params = model.init(new Rng(2));
    const learners: EvalLearner[] = [
      { name: "all", params, model },
      { name: "head", params, model, trainable: headNames(params) },
    ];
    const protocol = { tasks: 30, shots: [5, 10], steps: 6, lr: 0.02 };
    const before = tf.memory().numTensors;
    const fast = rows(adaptationCurves(learners, protocol));
    expect(tf.memory().numTensors).toBe(before);
    const general = rows(adaptationCurves(learners, { ...protocol, fastPath: "off" }));
    expect(fast.map((r) => [r.learner, r.K, r.step])).toEqual(general.map((r) => [r.learner, r.K, r.step]));
    fast.forEach((r, i) => {
      const g = general[i]!;
      for (const k of ["mse", "median", "max"] as const) expect(Math.abs(r[k] - g[k]) / g[k]).toBeLessThan(1e-4);
    });
    // Adaptation does lower the query error, and a head-only curve differs from the whole-network one.
    expect(fast.find((r) => r.learner === "all" && r.K === 10 && r.step === 6)!.mse).toBeLessThan(fast.find((r) => r.learner === "all" && r.K === 10 && r.step === 0)!.mse);
    for (const t of Object.values(params)) t.dispose();
  });

  it("rejects an unknown fastPath setting", () => {
    expect(() => adaptationCurves([], { fastPath: "on" as "auto" })).toThrow(/fastPath must be "auto" or "off"/);
  });
});
