import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { initMlp, Mlp, type MlpConfig } from "../../src/models/mlp";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";
import { adamStep, disposeAdam, initAdam } from "../../src/optim/adam";
import { FastMamlTrainer } from "../../src/fast/fast-maml-trainer";
import { mamlMetaGradient } from "../../src/learners/maml";

describe("FastMamlTrainer", () => {
  it("follows tfjs autodiff + adamStep over several meta-steps (Finn sine setting, second order)", () => {
    const before = tf.memory().numTensors;
    const model: MlpConfig = { sizes: [1, 40, 40, 1], activation: "relu" };
    const family = new SineFamily();
    const init = initMlp(new Rng(0), model);
    const trainer = new FastMamlTrainer(init, { model, innerSteps: 1, innerLr: 0.01, firstOrder: false, adam: { lr: 1e-2 } });
    let params: Params = init;
    let state = initAdam(init);
    const rng = new Rng(1);
    for (let s = 0; s < 4; s++) {
      const batch = family.sample(rng, { tasks: 5, shots: 10, queries: 10 });
      const fastLoss = trainer.metaStep(batch);
      const ref = mamlMetaGradient(params, batch, new Mlp(model), { innerSteps: 1, innerLr: 0.01, firstOrder: false, fastPath: false });
      expect(Math.abs(fastLoss - ref.loss) / ref.loss).toBeLessThan(1e-4);
      const next = adamStep(params, ref.grads, state, { lr: 1e-2 });
      disposeParams(ref.grads);
      if (params !== init) disposeParams(params);
      disposeAdam(state);
      params = next.params;
      state = next.state;
      disposeBatch(batch);
    }
    const fast = trainer.params();
    for (const k of Object.keys(params)) {
      const a = fast[k]!.dataSync();
      const b = params[k]!.dataSync();
      let num = 0;
      let den = 0;
      for (let i = 0; i < b.length; i++) {
        num += (a[i]! - b[i]!) ** 2;
        den += b[i]! ** 2;
      }
      // Adam normalises tiny gradient differences into parameter differences of order lr, so compare loosely.
      expect(Math.sqrt(num / Math.max(den, 1e-12))).toBeLessThan(1e-3);
    }
    expect(trainer.step).toBe(4);
    disposeParams(fast);
    disposeParams(params);
    disposeParams(init);
    disposeAdam(state);
    expect(tf.memory().numTensors).toBe(before);
  });
});
