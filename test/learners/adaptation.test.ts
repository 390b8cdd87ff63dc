import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import { initMlp, mlpApply, mlpFeatures, type MlpConfig } from "../../src/models/mlp";
import { SineFamily } from "../../src/tasks/regression";
import { BlobClassification } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { adapt, adaptOptions, closedFormProbe, initHead } from "../../src/learners/adaptation";

const cfg: MlpConfig = { sizes: [1, 16, 16, 1], activation: "relu" };

function maxAbs(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe("adaptation", () => {
  it("zero head init gives exactly zero output", () => {
    const rng = new Rng(0);
    const p = initMlp(rng, cfg);
    const z = initHead(p, cfg, "zero", rng);
    const y = mlpApply(z, rng.normalTensor([2, 5, 1]), cfg);
    expect(tf.max(tf.abs(y)).dataSync()[0]).toBe(0);
    const r = initHead(p, cfg, "random", rng);
    expect(maxAbs(r["w2"]!, p["w2"]!)).toBeGreaterThan(0);
    expect(maxAbs(r["w0"]!, p["w0"]!)).toBe(0);
  });

  it("the closed-form probe solves least squares: zero gradient at the solution and it beats the original head", () => {
    const rng = new Rng(1);
    const p = initMlp(rng, cfg);
    const fam = new SineFamily();
    const b = fam.sample(rng, { tasks: 3, shots: 40, queries: 10 });
    const probed = closedFormProbe(p, { x: b.supportX, y: b.supportY }, cfg, 1e-6);
    // Normal equations: Phi^T (Phi w + b - y) = 0 and sum(Phi w + b - y) = 0, per task.
    const res = tf.sub(mlpApply(probed, b.supportX, cfg), b.supportY); // [tasks, shots, 1]
    const phi = mlpFeatures(p, b.supportX, cfg); // [tasks, shots, 16]
    const gw = tf.matMul(phi, res, true, false); // [tasks, 16, 1]
    const scale = tf.max(tf.abs(tf.matMul(phi, b.supportY, true, false))).dataSync()[0]!;
    expect(tf.max(tf.abs(gw)).dataSync()[0]! / scale).toBeLessThan(1e-3);
    expect(Math.abs(tf.sum(res).dataSync()[0]!) / scale).toBeLessThan(1e-3);
    disposeBatch(b);
  });

  it("a probe leaves the body unchanged and lowers the support loss", () => {
    const rng = new Rng(2);
    const p = initMlp(rng, cfg);
    const b = new SineFamily().sample(rng, { tasks: 4, shots: 10, queries: 10 });
    for (const solver of ["closed-form", "sgd"] as const) {
      const { params, history } = adapt(p, b, cfg, { method: "probe", probeSolver: solver, steps: 20, lr: 0.01 }, rng);
      for (const k of ["w0", "b0", "w1", "b1"]) {
        const body = params[k]!;
        const ref = body.rank === p[k]!.rank ? p[k]! : tf.tile(tf.expandDims(p[k]!, 0), [4, ...p[k]!.shape.map(() => 1)]);
        expect(maxAbs(body, ref)).toBe(0);
      }
      expect(maxAbs(params["w2"]!, tf.expandDims(p["w2"]!, 0))).toBeGreaterThan(0);
      expect(history.at(-1)!.supportLoss).toBeLessThan(history[0]!.supportLoss);
      disposeParams(params);
    }
    disposeBatch(b);
  });

  it("LP-FT probes then fine-tunes every parameter; fine-tune and LP-FT histories have the right lengths", () => {
    const rng = new Rng(3);
    const p = initMlp(rng, cfg);
    const b = new SineFamily().sample(rng, { tasks: 2, shots: 10, queries: 10 });
    const ft = adapt(p, b, cfg, { method: "finetune", steps: 5, lr: 0.01, headInit: "random" }, rng);
    expect(ft.history.map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5]);
    const lpft = adapt(p, b, cfg, { method: "lpft", steps: 5, lr: 0.01 }, rng);
    expect(lpft.history.map((r) => r.phase)).toEqual(["init", "probe", "finetune", "finetune", "finetune", "finetune", "finetune"]);
    expect(maxAbs(lpft.params["w0"]!, tf.expandDims(p["w0"]!, 0))).toBeGreaterThan(0);
    disposeParams(ft.params);
    disposeParams(lpft.params);
    disposeBatch(b);
  });

  it("works for classification (SGD probe on cross-entropy) with accuracy in the history, without leaks", () => {
    const rng = new Rng(4);
    const fam = new BlobClassification();
    const c: MlpConfig = { sizes: [8, 16, 5], activation: "relu" };
    const p = initMlp(rng, c);
    const b = fam.sample(rng, { tasks: 2, shots: 5, queries: 5 });
    const before = tf.memory().numTensors;
    const r = adapt(p, b, c, { method: "lpft", loss: "cross-entropy", steps: 3, probeSteps: 10, lr: 0.1, headInit: "zero" }, rng);
    expect(r.history[0]!.queryAccuracy).not.toBeNull();
    expect(r.history.at(-1)!.supportLoss).toBeLessThan(r.history[0]!.supportLoss);
    disposeParams(r.params);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(b);
  });

  it("rejects a bad or unknown option with the fix", () => {
    const ok = { method: "finetune", steps: 5, lr: 0.01 } as const;
    expect(adaptOptions(ok)).toBe(ok);
    expect(() => adaptOptions({ ...ok, method: "lora" as never })).toThrow(/adapt method must be one of "probe", "finetune", "lpft", got "lora"/);
    expect(() => adaptOptions({ ...ok, steps: -1 })).toThrow(/steps must be an integer >= 0/);
    expect(() => adaptOptions({ ...ok, lr: 0 })).toThrow(/lr must be a positive number/);
    expect(() => adaptOptions({ ...ok, headinit: "zero" } as never)).toThrow(/unknown option "headinit"; known: .*headInit/);
    expect(() => adaptOptions({ ...ok, probeSolver: "lsq" as never })).toThrow(/probeSolver must be one of "closed-form", "sgd"/);
    expect(() => adaptOptions({ ...ok, ridge: -1e-3 })).toThrow(/ridge must be a number >= 0/);
  });
});
