import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { countParams, disposeParams } from "../../src/core/params";
import { initMlp, mlpApply, type MlpConfig } from "../../src/models/mlp";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";
import { adaptLora, initLora, loraTrainableCount, mergeLora } from "../../src/learners/lora";

const cfg: MlpConfig = { sizes: [1, 20, 20, 1], activation: "relu" };

describe("LoRA", () => {
  it("equals the base model at step 0 (B starts at zero)", () => {
    const rng = new Rng(0);
    const base = initMlp(rng, cfg);
    const ad = initLora(rng, cfg, { rank: 2, alpha: 2 });
    const x = rng.normalTensor([2, 7, 1]);
    const a = mlpApply(base, x, cfg);
    const b = mlpApply(mergeLora(base, ad, cfg, { rank: 2, alpha: 2 }), x, cfg);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0);
  });

  it("trains far fewer parameters than full fine-tuning, and the count matches the adapters", () => {
    const rng = new Rng(1);
    const lora = { rank: 2, alpha: 2 };
    const ad = initLora(rng, cfg, lora);
    expect(loraTrainableCount(cfg, lora)).toBe(countParams(ad));
    expect(loraTrainableCount(cfg, lora)).toBe(2 * (1 + 20) + 2 * (20 + 20));
    expect(loraTrainableCount(cfg, lora, true)).toBe(countParams(ad) + 21);
    expect(loraTrainableCount(cfg, lora)).toBeLessThan(countParams(initMlp(rng, cfg)) / 3);
  });

  it("adapts per task, lowers the support loss, leaves the base weights alone, and does not leak", () => {
    const rng = new Rng(2);
    const base = initMlp(rng, cfg);
    const b = new SineFamily().sample(rng, { tasks: 3, shots: 10, queries: 10 });
    const before = tf.memory().numTensors;
    const w0 = Array.from(base["w0"]!.dataSync());
    const r = adaptLora(base, b, cfg, { steps: 10, lr: 0.01, trainHead: true, lora: { rank: 2, alpha: 2 } }, rng);
    expect(r.history).toHaveLength(11);
    expect(r.history[0]!.step).toBe(0);
    expect(r.history.at(-1)!.supportLoss).toBeLessThan(r.history[0]!.supportLoss);
    expect(r.adapter["loraA0"]!.shape).toEqual([3, 1, 2]);
    expect(r.params["w0"]!.shape).toEqual([3, 1, 20]);
    expect(Array.from(base["w0"]!.dataSync())).toEqual(w0);
    disposeParams(r.adapter);
    disposeParams(r.params);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(b);
  });
});
