import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import { Mlp, type MlpConfig } from "../../src/models/mlp";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";
import { mamlMetaGradient } from "../../src/learners/maml";
import { relError } from "./rel-error";

describe("fast path inside the MAML learner", () => {
  it.each([
    { activation: "relu", steps: 1, firstOrder: false },
    { activation: "relu", steps: 5, firstOrder: false },
    { activation: "relu", steps: 2, firstOrder: true },
    { activation: "tanh", steps: 2, firstOrder: false },
  ] as const)("is selected automatically and matches fastPath: false ($activation, $steps steps, firstOrder=$firstOrder)", ({ activation, steps, firstOrder }) => {
    const config: MlpConfig = { sizes: [1, 40, 40, 1], activation };
    const model = new Mlp(config);
    const rng = new Rng(4);
    const params = model.init(rng);
    const batch = new SineFamily().sample(rng, { tasks: 8, shots: 10, queries: 10 });
    const before = tf.memory().numTensors;
    const fast = mamlMetaGradient(params, batch, model, { innerSteps: steps, firstOrder });
    const general = mamlMetaGradient(params, batch, model, { innerSteps: steps, firstOrder, fastPath: false });
    expect(fast.fastPath).toBe(true);
    expect(general.fastPath).toBe(false);
    expect(Math.abs(fast.loss - general.loss) / general.loss).toBeLessThan(1e-5);
    expect(relError(fast.grads, general.grads)).toBeLessThan(1e-4);
    disposeParams(fast.grads);
    disposeParams(general.grads);
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
    disposeBatch(batch);
  });
});
