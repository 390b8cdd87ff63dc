import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { DEFAULT_ADAPTATION_COMPARISON, DEFAULT_CLASSIFIER_PRETRAIN, compareAdaptation, pretrainClassifier } from "../../src/experiments/transfer";
import { DEFAULT_BLOBS } from "../../src/tasks/classification";

const family = { ...DEFAULT_BLOBS, poolSize: 12 };
const pretrain = { ...DEFAULT_CLASSIFIER_PRETRAIN, family, hidden: [16], perClass: 10, steps: 150, batchSize: 32, lr: 1e-2 };

describe("transfer experiment", () => {
  it("pretraining lowers the pool-classification loss", () => {
    const r = pretrainClassifier(pretrain, new Rng(0));
    expect(r.curve.at(-1)!.loss).toBeLessThan(0.5 * r.curve[0]!.loss);
    expect(r.params["w1"]!.shape).toEqual([16, 12]);
    for (const t of Object.values(r.params)) t.dispose();
  });

  it("compares methods on new classes: probe keeps the body, LoRA trains fewer scalars, nothing leaks", () => {
    const before = tf.memory().numTensors;
    const r = compareAdaptation({ pretrain, tasks: { tasks: 4, shots: 2, queries: 3 }, steps: 10, probeSteps: 10, lpftProbeSteps: 4 }, new Rng(1));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.summary.map((s) => s.method)).toEqual(DEFAULT_ADAPTATION_COMPARISON.methods.map((m) => m.name));
    const by = Object.fromEntries(r.summary.map((s) => [s.method, s]));
    expect(by["linear probe"]!.bodyChange).toBe(0);
    expect(by["fine-tune, random head"]!.bodyChange).toBeGreaterThan(0);
    expect(by["LoRA r=2 + head"]!.trainable).toBeLessThan(by["fine-tune, random head"]!.trainable);
    expect(by["soft prompt + head"]!.bodyChange).toBe(0);
    expect(by["soft prompt + head"]!.trainable).toBe(by["linear probe"]!.trainable + family.dim);
    for (const s of r.summary) expect(s.queryAccuracy).toBeGreaterThan(0.2);
    // Every method gets the same budget: LP-FT probes 4 steps, then fine-tunes 6.
    const steps = (m: string): number[] => r.curves.filter((c) => c.method === m).map((c) => c.step);
    for (const m of DEFAULT_ADAPTATION_COMPARISON.methods) expect(Math.max(...steps(m.name))).toBe(10);
    expect(r.curves.filter((c) => c.method === "LP-FT" && c.phase === "probe").length).toBe(4);
  });

  it("rejects an LP-FT split that leaves no fine-tuning", () => {
    expect(() => compareAdaptation({ pretrain, steps: 10, lpftProbeSteps: 10 }, new Rng(0))).toThrow(/lpftProbeSteps/);
  });
});
