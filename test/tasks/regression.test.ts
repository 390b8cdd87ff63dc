import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { SineFamily, PolynomialFamily, linearFamily, linspace } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";

describe("SineFamily", () => {
  it("samples batched [tasks, points, 1] tensors whose targets are a sin(x - phase) within the ranges", () => {
    const fam = new SineFamily();
    const b = fam.sample(new Rng(1), { tasks: 7, shots: 5, queries: 9 });
    expect(b.supportX.shape).toEqual([7, 5, 1]);
    expect(b.queryY.shape).toEqual([7, 9, 1]);
    const sx = b.supportX.dataSync();
    const sy = b.supportY.dataSync();
    const { amplitude, phase } = b.tasks.params;
    for (let t = 0; t < 7; t++) {
      expect(amplitude![t]!).toBeGreaterThanOrEqual(0.1);
      expect(amplitude![t]!).toBeLessThanOrEqual(5);
      expect(phase![t]!).toBeGreaterThanOrEqual(0);
      expect(phase![t]!).toBeLessThanOrEqual(Math.PI);
      for (let i = 0; i < 5; i++) {
        const x = sx[t * 5 + i]!;
        expect(Math.abs(x)).toBeLessThanOrEqual(5);
        expect(sy[t * 5 + i]!).toBeCloseTo(amplitude![t]! * Math.sin(x - phase![t]!), 5);
      }
    }
    disposeBatch(b);
  });

  it("is reproducible: same seed, same tasks; other seed, other tasks", () => {
    const fam = new SineFamily({ amplitude: [1, 2] });
    const a = fam.sample(new Rng(3), { tasks: 4, shots: 3, queries: 3 });
    const b = fam.sample(new Rng(3), { tasks: 4, shots: 3, queries: 3 });
    const c = fam.sample(new Rng(4), { tasks: 4, shots: 3, queries: 3 });
    expect(Array.from(a.queryY.dataSync())).toEqual(Array.from(b.queryY.dataSync()));
    expect(Array.from(a.queryY.dataSync())).not.toEqual(Array.from(c.queryY.dataSync()));
    for (const v of a.tasks.params.amplitude!) expect(v >= 1 && v <= 2).toBe(true);
    [a, b, c].forEach(disposeBatch);
  });

  it("gridBatch puts the same 100-point linspace(-5, 5) grid under every task", () => {
    const fam = new SineFamily();
    const tasks = fam.sampleTasks(new Rng(0), 3);
    const b = fam.gridBatch(tasks, new Rng(1), { shots: 10 });
    expect(b.queryX.shape).toEqual([3, 100, 1]);
    const qx = b.queryX.dataSync();
    expect(qx[0]).toBeCloseTo(-5, 6);
    expect(qx[99]).toBeCloseTo(5, 6);
    expect(qx[100]).toBeCloseTo(-5, 6);
    const curves = fam.trueCurves(tasks, linspace(-5, 5, 100));
    expect(curves[2]![50]!).toBeCloseTo(b.queryY.dataSync()[250]!, 5);
    disposeBatch(b);
  });

  it("rejects bad ranges with a hint", () => {
    expect(() => new SineFamily({ amplitude: [2, 1] })).toThrow(/lo <= hi/);
    expect(() => new SineFamily().sample(new Rng(0), { tasks: 0, shots: 1, queries: 1 })).toThrow(/positive integer/);
  });
});

describe("PolynomialFamily", () => {
  it("linear tasks are c1 x + c0", () => {
    const fam = linearFamily();
    expect(fam.name).toBe("linear");
    const b = fam.sample(new Rng(2), { tasks: 3, shots: 4, queries: 2 });
    const x = b.supportX.dataSync();
    const y = b.supportY.dataSync();
    const { c0, c1 } = b.tasks.params;
    for (let t = 0; t < 3; t++) for (let i = 0; i < 4; i++) expect(y[t * 4 + i]!).toBeCloseTo(c1![t]! * x[t * 4 + i]! + c0![t]!, 5);
    disposeBatch(b);
  });

  it("cubic tasks evaluate the polynomial", () => {
    const fam = new PolynomialFamily({ degree: 3, x: [-1, 1] });
    const tasks = fam.sampleTasks(new Rng(5), 2);
    const x = new Float32Array([0.5, -0.25]);
    const y = fam.targetsOf(tasks, 1, x);
    const c = [0, 1, 2, 3].map((i) => tasks.params[`c${i}`]![1]!);
    for (let j = 0; j < 2; j++) expect(y[j]!).toBeCloseTo(c[0]! + c[1]! * x[j]! + c[2]! * x[j]! ** 2 + c[3]! * x[j]! ** 3, 5);
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
