import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";
import { innerSupport } from "../../src/learners/support-subset";

describe("innerSupport (the subset strategy)", () => {
  it("draws distinct points of each task's own support set, with their targets, reproducibly per (seed, outer, inner) step", () => {
    const batch = new SineFamily().sample(new Rng(0), { tasks: 4, shots: 6, queries: 1 });
    const a = innerSupport(batch, { innerBatch: 3, subsetSeed: 2 }, 5, 1);
    const b = innerSupport({ x: batch.supportX, y: batch.supportY }, { innerBatch: 3, subsetSeed: 2 }, 5, 1);
    const c = innerSupport(batch, { innerBatch: 3, subsetSeed: 2 }, 6, 1);
    expect(a.x.shape).toEqual([4, 3, 1]);
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(Array.from(a.x.dataSync())).not.toEqual(Array.from(c.x.dataSync()));
    const xs = batch.supportX.arraySync() as number[][][];
    const ys = batch.supportY.arraySync() as number[][][];
    const ax = a.x.arraySync() as number[][][];
    const ay = a.y.arraySync() as number[][][];
    ax.forEach((task, t) => {
      const rows = task.map(([v]) => xs[t]!.findIndex(([u]) => u === v));
      expect(new Set(rows).size).toBe(3);
      rows.forEach((j, i) => expect(ay[t]![i]![0]).toBe(ys[t]![j]![0]));
    });
    tf.dispose([a.x, a.y, b.x, b.y, c.x, c.y]);
    disposeBatch(batch);
  });

  it("returns the support set itself when the subset covers it, and rejects bad sizes", () => {
    const batch = new SineFamily().sample(new Rng(1), { tasks: 2, shots: 4, queries: 1 });
    expect(innerSupport(batch, { innerBatch: null, subsetSeed: 0 }, 0, 0).x).toBe(batch.supportX);
    expect(innerSupport(batch, { innerBatch: 4, subsetSeed: 0 }, 0, 0).x).toBe(batch.supportX);
    expect(() => innerSupport(batch, { innerBatch: 1.5, subsetSeed: 0 }, 0, 0)).toThrow(/positive integer/);
    disposeBatch(batch);
  });
});
