import { beforeAll, afterAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import type { Params } from "../../src/core/params";
import { grad } from "../../src/autodiff/functional";
import { perTaskCrossEntropy } from "../../src/models/losses";
import { loadMnist, splitMnist } from "../../src/data/mnist";
import {
  headLogits,
  disposeSplitMnistData,
  initSplitMnistParams,
  methodsFor,
  prepareSplitMnist,
  runSplitMnist,
  splitMnistSweep,
  scenarioLogits,
  scenarioTargets,
  SPLIT_MNIST_TASKS,
  type SplitMnistData,
  type SplitMnistSummary,
} from "../../src/experiments/split-mnist";
import { isInterrupt, requestInterrupt } from "../../src/core/interrupt";
import { PUBLISHED_SPLIT_MNIST, readSplitMnistBench, splitMnistComparison } from "../../src/experiments/split-mnist-published";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

/** A small quick run: 120 training and 60 test digits per task, a 32-unit MLP, 30 steps per task. */
const small = { hidden: [32], stepsPerTask: 30, batchSize: 32, evalEvery: 30, fisherSamples: 32 } as const;
let data: SplitMnistData;

beforeAll(() => {
  data = prepareSplitMnist(splitMnist(loadMnist(), new Rng(0)), new Rng(0), { trainPerTask: 120, testPerTask: 60 });
});
afterAll(() => disposeSplitMnistData(data));

const noTime = (s: SplitMnistSummary): Omit<SplitMnistSummary, "trainMs"> => {
  const { trainMs: _t, ...rest } = s;
  return rest;
};

describe("Split-MNIST tasks and scenarios", () => {
  it("groups the digits into five tasks of two, with a seeded subset per task", () => {
    expect(SPLIT_MNIST_TASKS).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    expect(data.trainByTask.map((t) => t.length)).toEqual([120, 120, 120, 120, 120]);
    data.trainByTask.forEach((idx, t) => expect(idx.every((i) => Math.floor(data.trainDigits[i]! / 2) === t)).toBe(true));
    expect(data.testX.map((x) => x.shape)).toEqual(Array(5).fill([1, 60, 784]));
    const again = prepareSplitMnist(splitMnist(loadMnist(), new Rng(0)), new Rng(0), { trainPerTask: 120, testPerTask: 60 });
    expect(Array.from(again.trainDigits)).toEqual(Array.from(data.trainDigits));
    expect(Array.from(again.trainX.dataSync().subarray(0, 5000))).toEqual(Array.from(data.trainX.dataSync().subarray(0, 5000)));
    disposeSplitMnistData(again);
  });

  it("task-incremental head mask: an example is scored by its own task's head only; other heads get exactly zero gradient", () => {
    const p = initSplitMnistParams(new Rng(0), "task", [8]);
    const digits = [4, 5, 0, 4]; // tasks 3, 3, 1, 3 (indices 2, 2, 0, 2)
    const x = new Rng(1).uniformTensor([1, 4, 784]);
    const loss = (q: Params): tf.Scalar => tf.mean(perTaskCrossEntropy(scenarioLogits(q, x, "task", [8], digits, 10), scenarioTargets(digits, 1, "task", 10))) as tf.Scalar;
    const g = grad(loss)(p);
    for (let h = 0; h < 5; h++) {
      const norm = tf.sum(tf.abs(g[`head${h}_w`]!)).dataSync()[0]!;
      if (h === 0 || h === 2) expect(norm).toBeGreaterThan(0);
      else expect(norm).toBe(0);
    }
    // Each example's two logits are exactly those of its own head.
    const picked = scenarioLogits(p, x, "task", [8], digits, 10).arraySync() as number[][][];
    const own = (h: number): number[][] => (headLogits(p, x, [8], [h]).arraySync() as number[][][])[0]!;
    expect(picked[0]![0]).toEqual(own(2)[0]);
    expect(picked[0]![2]).toEqual(own(0)[2]);
    // Changing another task's head leaves the scores unchanged.
    const q = { ...p, head1_w: tf.add(p["head1_w"]!, 3), head4_b: tf.add(p["head4_b"]!, 1) };
    expect(scenarioLogits(q, x, "task", [8], digits, 10).arraySync()).toEqual(picked);
  });

  it("class-incremental scores the classes seen so far; domain-incremental labels the digit's position in its pair", () => {
    const p = initSplitMnistParams(new Rng(0), "class", [8]);
    const x = new Rng(1).uniformTensor([1, 3, 784]);
    expect(scenarioLogits(p, x, "class", [8], [0, 3, 2], 4).shape).toEqual([1, 3, 4]);
    expect(scenarioLogits(p, x, "class", [8], [0, 3, 2], 10).shape).toEqual([1, 3, 10]);
    expect(Array.from(scenarioTargets([0, 3, 2], 1, "class", 4).dataSync())).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
    expect(Array.from(scenarioTargets([6, 9], 1, "domain", 2).dataSync())).toEqual([1, 0, 0, 1]);
    expect(() => scenarioTargets([5], 1, "class", 4)).toThrow(/not among the 4 active/);
    expect(Object.keys(initSplitMnistParams(new Rng(0), "domain", [8])).sort()).toEqual(["b0", "head0_b", "head0_w", "w0"]);
  });
});

describe("Split-MNIST runs (small, quick)", () => {
  it("same seed, same result; every method sees the same first task; no tensor leaks", () => {
    const before = tf.memory().numTensors;
    const runs = methodsFor("task").filter((m) => m !== "joint").map((method) => runSplitMnist(data, { ...small, stepsPerTask: 10, evalEvery: 10, scenario: "task", method }, new Rng(1)).summary);
    for (const r of runs) expect(r.accuracyMatrix[0]).toEqual(runs[0]!.accuracyMatrix[0]);
    const again = runSplitMnist(data, { ...small, stepsPerTask: 10, evalEvery: 10, scenario: "task", method: "replay" }, new Rng(1)).summary;
    expect(noTime(again)).toEqual(noTime(runs.find((r) => r.method === "replay")!));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("replay freezes the old heads; replay-heads keeps training them", () => {
    const firstHead = (method: "replay" | "replay-heads"): { after1: number[]; after5: number[] } => {
      const seen: number[][] = [];
      runSplitMnist(data, { ...small, scenario: "task", method }, new Rng(2), undefined, (t, p) => {
        if (t === 1 || t === 5) seen.push(Array.from(p["head0_w"]!.dataSync()));
      });
      return { after1: seen[0]!, after5: seen[1]! };
    };
    const frozen = firstHead("replay");
    expect(frozen.after5).toEqual(frozen.after1);
    const training = firstHead("replay-heads");
    expect(training.after5).not.toEqual(training.after1);
  });

  it("forgetting measurably drops with 10% replay (class-incremental), and joint training beats fine-tuning", () => {
    const run = (method: "none" | "replay-heads" | "joint"): SplitMnistSummary => runSplitMnist(data, { ...small, scenario: "class", method }, new Rng(3)).summary;
    const none = run("none");
    const replay = run("replay-heads");
    const joint = run("joint");
    expect(none.forgetting!).toBeGreaterThan(0.9); // fine-tuning forgets earlier classes almost completely
    // 30 steps of 3 replayed digits per task already keep part of them (0.99 -> 0.88 here; 0.99 -> 0.30 in the bench).
    expect(replay.forgetting!).toBeLessThan(none.forgetting! - 0.05);
    expect(replay.averageAccuracy).toBeGreaterThan(none.averageAccuracy + 0.05);
    expect(joint.averageAccuracy).toBeGreaterThan(none.averageAccuracy + 0.3);
    expect(joint.forgetting).toBeNull();
    expect(none.accuracyMatrix.map((r) => r.length)).toEqual([1, 2, 3, 4, 5]);
  });

  it("LwF and EWC run in every scenario and keep accuracies in [0, 1]", () => {
    for (const scenario of ["task", "domain", "class"] as const) {
      for (const method of ["lwf", "ewc"] as const) {
        const s = runSplitMnist(data, { ...small, stepsPerTask: 10, evalEvery: 10, scenario, method }, new Rng(4)).summary;
        expect(s.finalAccuracies.length).toBe(5);
        expect(s.finalAccuracies.every((a) => a >= 0 && a <= 1)).toBe(true);
      }
    }
  });

  it("rejects configurations that do not make sense, saying how to fix them", () => {
    expect(() => runSplitMnist(data, { scenario: "domain", method: "replay-heads" }, new Rng(0))).toThrow(/methodsFor/);
    expect(() => runSplitMnist(data, { replayFraction: 0 }, new Rng(0))).toThrow(/replayFraction/);
    expect(() => runSplitMnist(data, { batchSize: 4, replayFraction: 0.1 }, new Rng(0))).toThrow(/replays no example/);
    expect(() => runSplitMnist(data, { hidden: [] }, new Rng(0))).toThrow(/hidden/);
    expect(methodsFor("domain")).not.toContain("replay-heads");
  });
});

describe("published Split-MNIST numbers", () => {
  it("sit beside ours by method and scenario, with no invented cells", () => {
    const rows = splitMnistComparison([
      { scenario: "class", method: "none", averageAccuracy: 0.2 },
      { scenario: "class", method: "none", averageAccuracy: 0.1 },
      { scenario: "task", method: "replay", averageAccuracy: 0.99 },
    ]);
    const none = rows.find((r) => r.method === "none")!;
    expect(none["class-IL"]).toBeCloseTo(15, 6);
    expect(none["class-IL (paper)"]).toBe(19.9);
    expect(none["task-IL"]).toBeNull();
    expect(rows.find((r) => r.method === "replay")!["task-IL (paper)"]).toBeNull(); // the paper has no exact-replay row
    expect(PUBLISHED_SPLIT_MNIST.find((r) => r.ours === "ewc")!.accuracy).toEqual({ task: { value: 98.64, source: "VT2019" }, domain: { value: 63.95, source: "VT2019" }, class: { value: 20.01, source: "VT2019" } });
  });
});

describe("reading the bench results", () => {
  it("reads bench/results/split-mnist.json, and names a missing or malformed file with the fix", () => {
    const b = readSplitMnistBench();
    expect(b.runs.length).toBeGreaterThanOrEqual(17);
    expect(b.seeds.length).toBeGreaterThanOrEqual(1);
    const dir = mkdtempSync(path.join(tmpdir(), "metalab-bench-"));
    expect(() => readSplitMnistBench(path.join(dir, "nope.json"))).toThrow(/nope\.json are missing.*node dist\/bench\/split-mnist\.js/);
    writeFileSync(path.join(dir, "bad.json"), "{");
    expect(() => readSplitMnistBench(path.join(dir, "bad.json"))).toThrow(/not valid JSON/);
    writeFileSync(path.join(dir, "empty.json"), '{"runs": []}');
    expect(() => readSplitMnistBench(path.join(dir, "empty.json"))).toThrow(/hold no runs/);
  });
});

describe("Split-MNIST under Kernel > Interrupt", () => {
  const caught = (f: () => unknown): Error => {
    try {
      f();
    } catch (e) {
      if (isInterrupt(e)) return e;
      throw e;
    }
    throw new Error("the sweep was not interrupted");
  };

  it("a sweep stops at its next run and says how far it got", () => {
    const e = caught(() => splitMnistSweep(data, { ...small, stepsPerTask: 5 }, ["task"], ["none", "ewc"], new Rng(0), () => requestInterrupt()));
    expect(e.message).toMatch(/^Interrupted\. Split-MNIST sweep: 1 of 2 runs done\./);
  });

  it("a run stops at its next step inside a task, names the task, and leaks no tensors", () => {
    const before = tf.memory().numTensors;
    const e = caught(() => runSplitMnist(data, { ...small, scenario: "task", method: "ewc" }, new Rng(0), (done) => {
      if (done === 40) requestInterrupt();
    }));
    expect(e.message).toMatch(/task-incremental ewc, task 2 of 5: 10 of 30 steps done/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
