import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { initMlp, mlpApply, type MlpConfig } from "../../src/models/mlp";
import { meanTaskLoss } from "../../src/models/losses";
import { BlobClassification } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { PROMPT, adaptPrompt, promptedApply } from "../../src/learners/soft-prompt";

const config: MlpConfig = { sizes: [8, 12, 12, 5], activation: "tanh" };

describe("soft prompt (a learned input offset on a frozen MLP)", () => {
  it("is the base model at δ = 0 and the base model on x + δ otherwise; gradients in δ match finite differences", () => {
    const rng = new Rng(0);
    const base = initMlp(rng, config);
    const x = rng.normalTensor([2, 3, 8]);
    const zero = promptedApply({ ...base, [PROMPT]: tf.zeros([1, 8]) }, x, config).dataSync();
    Array.from(mlpApply(base, x, config).dataSync()).forEach((v, i) => expect(zero[i]!).toBeCloseTo(v, 6));
    const delta = rng.normalTensor([2, 1, 8]);
    const moved = promptedApply({ ...base, [PROMPT]: delta }, x, config).dataSync();
    Array.from(mlpApply(base, tf.add(x, delta), config).dataSync()).forEach((v, i) => expect(moved[i]!).toBeCloseTo(v, 6));
    const y = tf.oneHot(tf.tensor2d([[0, 1, 2], [3, 4, 0]], [2, 3], "int32"), 5).toFloat();
    const r = checkGradients((p) => meanTaskLoss("cross-entropy", promptedApply({ ...base, ...p }, x, config), y), { [PROMPT]: delta }, new Rng(1));
    expect(r.pass, r.summary).toBe(true);
    expect(() => promptedApply(base, x, config)).toThrow(/prompt/);
    tf.dispose([x, delta, y]);
    disposeParams(base);
  });

  it("trains only the prompt (and head): the body is untouched, the support loss falls, nothing leaks", () => {
    const rng = new Rng(2);
    const base = initMlp(rng, config);
    const batch = new BlobClassification().sample(rng, { tasks: 4, shots: 3, queries: 4 });
    const before = tf.memory().numTensors;
    const r = adaptPrompt(base, batch, config, { steps: 15, lr: 0.2, loss: "cross-entropy", trainHead: true });
    expect(r.trainableParams).toBe(8 + 13 * 5);
    expect(r.history[15]!.supportLoss).toBeLessThan(r.history[0]!.supportLoss);
    expect(Array.from(r.params.w0!.dataSync())).toEqual(Array.from(base.w0!.dataSync()));
    expect(r.trained[PROMPT]!.shape).toEqual([4, 1, 8]);
    disposeParams(r.trained);
    disposeParams(r.params);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    disposeParams(base);
  });
});
