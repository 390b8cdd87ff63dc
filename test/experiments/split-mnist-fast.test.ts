import { beforeAll, afterAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { loadMnist, splitMnist } from "../../src/data/mnist";
import { disposeSplitMnistData, methodsFor, prepareSplitMnist, runSplitMnist, SCENARIOS, type SplitMnistData } from "../../src/experiments/split-mnist";

/** Short runs: 100 training and 50 test digits per task, a 24-unit MLP, 12 steps per task. */
const short = { hidden: [24], stepsPerTask: 12, batchSize: 16, evalEvery: 4, fisherSamples: 20 } as const;
let data: SplitMnistData;

beforeAll(() => {
  data = prepareSplitMnist(splitMnist(loadMnist(), new Rng(0)), new Rng(0), { trainPerTask: 100, testPerTask: 50 });
});
afterAll(() => disposeSplitMnistData(data));

const cases = SCENARIOS.flatMap((scenario) => methodsFor(scenario).map((method) => ({ scenario, method })));

describe("Split-MNIST runs on the fast path", () => {
  it.each(cases)("match tfjs autodiff ($scenario-incremental, $method), leak nothing, and pass the parameters to onTaskEnd", ({ scenario, method }) => {
    const before = tf.memory().numTensors;
    const seenFast: number[][] = [];
    const seenGeneral: number[][] = [];
    const fast = runSplitMnist(data, { ...short, scenario, method }, new Rng(5), undefined, (_t, p) => seenFast.push(Array.from(p["w0"]!.dataSync().slice(0, 50))));
    expect(tf.memory().numTensors).toBe(before);
    const general = runSplitMnist(data, { ...short, scenario, method, fastPath: "off" }, new Rng(5), undefined, (_t, p) => seenGeneral.push(Array.from(p["w0"]!.dataSync().slice(0, 50))));
    expect(fast.rows.map((r) => [r.step, r.task])).toEqual(general.rows.map((r) => [r.step, r.task]));
    fast.rows.forEach((r, i) => expect(Math.abs(r.accuracy - general.rows[i]!.accuracy)).toBeLessThanOrEqual(0.021)); // one test digit of 50
    expect(Math.abs(fast.summary.averageAccuracy - general.summary.averageAccuracy)).toBeLessThan(0.01);
    expect(seenFast.length).toBe(seenGeneral.length);
    seenFast.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - seenGeneral[i]![j]!)).toBeLessThan(1e-3)));
  });
});
