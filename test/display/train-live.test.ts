import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random";
import { trainLive } from "../../src/display/train-live";
import { captureDisplays } from "../../src/display/sink";
import { trainLoop } from "../../src/learners/train";
import { SineFamily } from "../../src/tasks/regression";
import type { TaskBatch } from "../../src/tasks/task-family";

const learner = { step: (b: TaskBatch): number => tf.tidy(() => tf.mean(tf.square(b.supportY)).dataSync()[0]!) };

describe("trainLive", () => {
  it("takes the same meta-batches as trainLoop for a seed, shows bar and chart, and leaks nothing", async () => {
    const family = new SineFamily();
    const spec = { tasks: 4, shots: 5, queries: 5 };
    const expected = trainLoop(family, new Rng(3), { iterations: 12, spec }, (b) => learner.step(b));
    const before = tf.memory().numTensors;
    const cap = captureDisplays();
    let losses: Float32Array;
    try {
      losses = await trainLive(learner, family, new Rng(3), { iterations: 12, spec, title: "t" });
    } finally {
      cap.restore();
    }
    expect(Array.from(losses)).toEqual(Array.from(expected));
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(cap.messages.map((m) => m.transient.display_id)).size).toBe(2);
  });
});
