import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { DEFAULT_CLASSIFIER_PRETRAIN, pretrainClassifier } from "../../src/experiments/transfer";
import { DEFAULT_BLOBS } from "../../src/tasks/classification";
import { relError } from "../fast/rel-error";

const pretrain = { ...DEFAULT_CLASSIFIER_PRETRAIN, family: { ...DEFAULT_BLOBS, poolSize: 12 }, hidden: [16, 12], perClass: 10, steps: 60, batchSize: 32, lr: 1e-2 };

describe("classifier pretraining on the fast path", () => {
  it("matches tfjs autodiff step for step and leaks nothing", () => {
    const before = tf.memory().numTensors;
    const fast = pretrainClassifier(pretrain, new Rng(4));
    const general = pretrainClassifier({ ...pretrain, fastPath: "off" }, new Rng(4));
    expect(fast.curve.map((r) => r.step)).toEqual(general.curve.map((r) => r.step));
    fast.curve.forEach((r, i) => expect(Math.abs(r.loss - general.curve[i]!.loss) / general.curve[i]!.loss).toBeLessThan(1e-3));
    expect(Object.keys(fast.params).sort()).toEqual(Object.keys(general.params).sort());
    expect(relError(fast.params, general.params)).toBeLessThan(1e-3);
    for (const t of [...Object.values(fast.params), ...Object.values(general.params)]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects an unknown fastPath setting", () => {
    expect(() => pretrainClassifier({ ...pretrain, fastPath: "on" as "auto" }, new Rng(0))).toThrow(/ClassifierPretrainConfig fastPath must be one of "auto", "off", got "on"/);
  });
});
