import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random";
import { measureStep } from "../../src/eval/measure";
import { SineFamily } from "../../src/tasks/regression";
import type { TaskBatch } from "../../src/tasks/task-family";

describe("measureStep", () => {
  it("reports median time, peak bytes and allocations of one step, without leaking", async () => {
    const learner = { step: (b: TaskBatch): number => tf.tidy(() => tf.mean(tf.square(tf.sub(b.supportY, 1))).dataSync()[0]!) };
    let t = 0;
    const before = tf.memory().numTensors;
    const cost = await measureStep(learner, new SineFamily(), new Rng(0), { spec: { tasks: 2, shots: 4, queries: 4 }, repeats: 5, now: () => (t += 2) });
    expect(tf.memory().numTensors).toBe(before);
    expect(cost.msPerStep).toBe(2);
    // sub, square, mean produce 3 tensors; the largest intermediate is [2, 4, 1] float32 = 32 bytes, two alive at once.
    expect(cost.tensorsAllocated).toBeGreaterThanOrEqual(3);
    expect(cost.peakBytes).toBeGreaterThanOrEqual(32);
  });
});
