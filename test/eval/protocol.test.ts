import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { perTaskMse } from "../../src/models/losses";
import { adaptationCurves, heldOutSet, heldOutSetFrom, disposeHeldOut, writeCsv } from "../../src/eval/protocol";
import { learnerCurves, trimmedMean } from "../../src/eval/protocol";
import { ridgePredict } from "../../src/learners/ridge";

describe("evaluation protocol", () => {
  const model = new Mlp({ sizes: [1, 8, 8, 1], activation: "relu" });
  const params = model.init(new Rng(0));
  const protocol = { tasks: 20, shots: [5, 10], steps: 3 };

  it("is seeded: same tasks for every K and every call, 100 grid queries", () => {
    const a = heldOutSet(protocol);
    const b = heldOutSet(protocol);
    expect(Array.from(a.tasks.params.amplitude!)).toEqual(Array.from(b.tasks.params.amplitude!));
    expect(a.batches.get(10)!.queryX.shape).toEqual([20, 100, 1]);
    expect(a.batches.get(5)!.supportX.shape).toEqual([20, 5, 1]);
    expect(Array.from(a.batches.get(5)!.queryY.dataSync())).toEqual(Array.from(a.batches.get(10)!.queryY.dataSync()));
    disposeHeldOut(a);
    disposeHeldOut(b);
  });

  it("heldOutSetFrom uses the given tasks and support inputs", () => {
    const tasks = { count: 2, params: { amplitude: new Float32Array([1, 2]), phase: new Float32Array([0, 0.5]) } };
    const set = heldOutSetFrom(tasks, new Map([[3, new Float32Array([0, 1, 2, -1, -2, -3])]]));
    const b = set.batches.get(3)!;
    expect(b.supportY.dataSync()[4]).toBeCloseTo(2 * Math.sin(-2 - 0.5), 5);
    expect(b.queryX.shape).toEqual([2, 100, 1]);
    expect(() => heldOutSetFrom(tasks, new Map([[4, new Float32Array(3)]]))).toThrow(/expected 2 tasks x 4 shots/);
    disposeHeldOut(set);
  });

  it("gives one row per learner, K and step; step 0 is the unadapted query MSE; no leaks", () => {
    const before = tf.memory().numTensors;
    const df = adaptationCurves([
      { name: "random", params, model },
      { name: "ridge", params, model, predict: (s, qx) => ridgePredict(params, s, qx, model) },
    ], protocol);
    expect(tf.memory().numTensors).toBe(before);
    expect(df.height).toBe(2 * 2 * 4);
    expect(df.columns).toEqual(["learner", "K", "step", "mse", "median", "sem", "max", "trimmed", "diverged"]);
    const rows = df.toRecords() as { learner: string; K: number; step: number; mse: number }[];
    const set = heldOutSet(protocol);
    const b = set.batches.get(5)!;
    const m0 = tf.tidy(() => tf.mean(perTaskMse(model.apply(params, b.queryX), b.queryY)).dataSync()[0]!);
    const r0 = rows.find((r) => r.learner === "random" && r.K === 5 && r.step === 0)!;
    expect(r0.mse).toBeCloseTo(m0, 4);
    const curve = rows.filter((r) => r.learner === "random" && r.K === 10).map((r) => r.mse);
    expect(curve[3]!).toBeLessThan(curve[0]!); // SGD on the support helps on the grid
    const ridge = rows.filter((r) => r.learner === "ridge" && r.K === 10).map((r) => r.mse);
    expect(new Set(ridge).size).toBe(1);
    disposeHeldOut(set);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "metalab-")), "curves.csv");
    writeCsv(df, file);
    expect(fs.readFileSync(file, "utf8").split("\n")[0]).toBe("learner,K,step,mse,median,sem,max,trimmed,diverged");
  });
});

describe("robust summaries", () => {
  it("trimmedMean drops the same number of tasks at each end and treats NaN as the largest", () => {
    expect(trimmedMean([1, 2, 3, 4, 1e18], 0.2)).toBeCloseTo(3, 12);
    expect(trimmedMean([5, NaN, 1, 2, 3], 0.2)).toBeCloseTo(10 / 3, 12);
    expect(trimmedMean([1, 2], 0)).toBe(1.5);
    expect(() => trimmedMean([1], 0.5)).toThrow(/trim/);
  });

  it("counts a task as diverged when its query MSE passes divergedAbove or is not finite", () => {
    const model = new Mlp({ sizes: [1, 8, 1], activation: "relu" });
    const params = model.init(new Rng(3));
    const rows = learnerCurves({ name: "big lr", params: params, model: model }, heldOutSet({ tasks: 20, shots: [5] }), { steps: 3, lr: 2, divergedAbove: 100 });
    const last = rows.at(-1)!;
    expect(last.diverged).toBeGreaterThan(0);
    expect(last.trimmed).toBeLessThanOrEqual(last.max);
    expect(rows[0]!.diverged).toBe(0);
    for (const t of Object.values(params)) t.dispose();
  });
});
