import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import type { OmniglotImages } from "../../src/data/omniglot";
import type { OneShotRuns } from "../../src/data/omniglot-runs";
import { evaluateOnRuns, FEW_SHOT_METHODS, fewShotConfig, fewShotError, OMNIGLOT_PUBLISHED, runConfusion, trainFewShot, widenHead, type OmniglotFewShotConfig } from "../../src/experiments/omniglot-few-shot";
import { runsBatch } from "../../src/data/omniglot-runs";
import { OmniglotTasks } from "../../src/data/omniglot-tasks";
import { synthetic } from "./synthetic-omniglot";
import { disposeMamlState, initMamlState, mamlStep } from "../../src/learners/maml";
import { fewShotNet } from "../../src/experiments/omniglot-few-shot";
import { disposeBatch } from "../../src/tasks/task-family";

function syntheticRuns(images: OmniglotImages, ways: number): OneShotRuns {
  const n = images.size * images.size;
  const img = (c: number, d: number): Float32Array => Float32Array.from(images.pixels.subarray((c * images.drawings + d) * n, (c * images.drawings + d + 1) * n), (v) => v / 255);
  const runs = [0, 1].map((r) => {
    const training = new Float32Array(ways * n);
    const test = new Float32Array(ways * n);
    const answers: number[] = [];
    for (let c = 0; c < ways; c++) {
      training.set(img(c + r, 0), c * n);
      const a = (c * 2 + r) % ways;
      test.set(img(a + r, 1), c * n);
      answers.push(a);
    }
    return { name: `run0${r + 1}`, training, test, answers };
  });
  return { size: images.size, ways, runs };
}

const config: Partial<OmniglotFewShotConfig> = {
  net: { imageSize: 8, inChannels: 1, filters: [4, 4], kernel: 3, stride: 2, norm: "layer" },
  steps: 3,
  ways: 3,
  episode: { tasks: 2, shots: 1, queries: 1 },
  metaWays: 2, // fewer ways than the 3-way runs: evaluation widens the head
  metaEpisode: { tasks: 2, shots: 1, queries: 1 },
  testInnerSteps: 1,
  pretrainBatch: 8,
  probeSteps: 5,
  finetuneSteps: 2,
};

describe("Omniglot few-shot experiment (synthetic images)", () => {
  const images = synthetic(0, 6, 4);
  const runs = syntheticRuns(images, 3);

  for (const method of FEW_SHOT_METHODS) {
    it(`${method}: trains, scores the runs with error rates in [0, 1], reproduces under a seed, leaks no tensors`, () => {
      const before = tf.memory().numTensors;
      const a = trainFewShot(method, images, config, new Rng(1));
      const ea = evaluateOnRuns(a, runs, config);
      expect(a.losses.length).toBe(3);
      expect(Array.from(a.losses).every(Number.isFinite)).toBe(true);
      expect(ea.perRun.length).toBe(2);
      for (const e of ea.perRun) expect(e).toBeGreaterThanOrEqual(0);
      for (const e of ea.perRun) expect(e).toBeLessThanOrEqual(1);
      const b = trainFewShot(method, images, config, new Rng(1));
      expect(Array.from(b.losses)).toEqual(Array.from(a.losses));
      expect(evaluateOnRuns(b, runs, config).predicted).toEqual(ea.predicted);
      disposeParams(a.params);
      disposeParams(b.params);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("a confusion of one run counts every test image once", () => {
    const rows = runConfusion(runs, 0, [[0, 0, 2], [1, 1, 1]]);
    expect(rows.reduce((s, r) => s + r.count, 0)).toBe(3);
    expect(() => runConfusion(runs, 5, [])).toThrow(/no run 5/);
  });

  it("MAML trained 2-way scores 3-way runs through a widened head; the MLP embedding trains every method too", () => {
    const before = tf.memory().numTensors;
    const mlp: Partial<OmniglotFewShotConfig> = { ...config, embedding: "mlp", mlpHidden: [6, 5] };
    for (const method of FEW_SHOT_METHODS) {
      const a = trainFewShot(method, images, mlp, new Rng(3));
      const e = evaluateOnRuns(a, runs, mlp);
      expect(e.mean).toBeGreaterThanOrEqual(0);
      expect(e.mean).toBeLessThanOrEqual(1);
      const b = trainFewShot(method, images, mlp, new Rng(3));
      expect(Array.from(b.losses)).toEqual(Array.from(a.losses));
      disposeParams(a.params);
      disposeParams(b.params);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("on the MLP, MAML's step takes the hand-derived fast path; on the conv net it falls back and says why", () => {
    const batch = new OmniglotTasks(images, { ways: 2, rotations: true }).sample(new Rng(6), { tasks: 2, shots: 1, queries: 1 });
    for (const embedding of ["mlp", "conv"] as const) {
      const c = fewShotConfig({ ...config, embedding, mlpHidden: [6, 5] });
      const net = fewShotNet(c, 2);
      const p = net.init(new Rng(6));
      const s = initMamlState(p, { loss: "cross-entropy", innerLr: 2 });
      const r = mamlStep(s, batch, net, { loss: "cross-entropy", innerLr: 2, fastPath: "auto" });
      expect(r.fastPath.fast).toBe(embedding === "mlp");
      if (embedding === "conv") expect(r.fastPath.reason).toMatch(/not an Mlp/);
      [s, r.state].forEach(disposeMamlState);
      disposeParams(p);
    }
    disposeBatch(batch);
  });

  it("widenHead starts every class from the mean trained column, so all classes score alike before adaptation", () => {
    const w = tf.tensor2d([[1, 3], [2, 6]]);
    const b = tf.tensor1d([0.5, 1.5]);
    const h = widenHead(w, b, 4);
    expect(h.w.shape).toEqual([2, 4]);
    expect(Array.from(h.w.dataSync())).toEqual([2, 2, 2, 2, 4, 4, 4, 4]);
    expect(Array.from(h.b.dataSync())).toEqual([1, 1, 1, 1]);
    expect(() => widenHead(w, tf.tensor1d([1, 2, 3]), 4)).toThrow(/expected a head/);
    tf.dispose([w, b, h.w, h.b]);
  });

  it("checkpoints come every `every` steps and after the last, with the parameters of that step", () => {
    const seen: number[] = [];
    const r = trainFewShot("anil", images, { ...config, steps: 5 }, new Rng(4), undefined, {
      every: 2,
      onCheckpoint: (step, run) => {
        seen.push(step);
        const batch = runsBatch(runs);
        expect(fewShotError(run, batch, config)).toBeLessThanOrEqual(1);
        disposeBatch(batch);
      },
    });
    expect(seen).toEqual([2, 4, 5]);
    disposeParams(r.params);
    expect(() => trainFewShot("anil", images, config, new Rng(4), undefined, { every: 0, onCheckpoint: () => {} })).toThrow(/every must be a positive integer/);
  });

  it("the config is validated: unknown keys and bad values are errors that say what to use", () => {
    expect(() => fewShotConfig({ innerlr: 2 } as unknown as Partial<OmniglotFewShotConfig>)).toThrow(/innerlr/);
    expect(() => fewShotConfig({ embedding: "resnet" as "conv" })).toThrow(/embedding/);
    expect(() => fewShotConfig({ metaWays: 0 })).toThrow(/metaWays/);
    expect(() => fewShotConfig({ mlpHidden: [] })).toThrow(/mlpHidden/);
    expect(() => fewShotConfig({ headInit: "ones" as "zero" })).toThrow(/headInit/);
    const z = trainFewShot("maml", images, { ...config, steps: 1, headInit: "zero" }, new Rng(5));
    expect(Number.isFinite(z.losses[0])).toBe(true);
    disposeParams(z.params);
  });

  it("every published row says where it is printed and whether its number was confirmed in the paper's text", () => {
    for (const p of OMNIGLOT_PUBLISHED) {
      expect(p.error).toBeGreaterThan(0);
      expect(p.error).toBeLessThan(1);
      expect(["confirmed", "unconfirmed"]).toContain(p.status);
      expect(p.paper.length).toBeGreaterThan(0);
      expect(p.where.length).toBeGreaterThan(0);
      expect(p.evidence.length).toBeGreaterThan(0);
    }
    expect(OMNIGLOT_PUBLISHED.filter((p) => p.status === "unconfirmed").map((p) => p.method)).toEqual(["Affine model", "1-nearest neighbour (raw pixels)"]);
  });
});
