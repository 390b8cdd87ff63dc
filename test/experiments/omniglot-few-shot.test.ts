import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import type { OmniglotImages } from "../../src/data/omniglot";
import type { OneShotRuns } from "../../src/data/omniglot-runs";
import { evaluateOnRuns, FEW_SHOT_METHODS, runConfusion, trainFewShot, type OmniglotFewShotConfig } from "../../src/experiments/omniglot-few-shot";

/** Tiny synthetic "characters": 8×8 images, each class a random pattern plus per-drawing noise. */
function synthetic(seed: number, characters: number, drawings: number): OmniglotImages {
  const rng = new Rng(seed);
  const size = 8;
  const n = size * size;
  const pixels = new Uint8Array(characters * drawings * n);
  for (let c = 0; c < characters; c++) {
    const proto = rng.uniformArray(n);
    for (let d = 0; d < drawings; d++) for (let i = 0; i < n; i++) pixels[(c * drawings + d) * n + i] = Math.round(255 * Math.min(1, Math.max(0, proto[i]! + rng.normal(0, 0.1))));
  }
  return { size, drawings, characters: Array.from({ length: characters }, (_, i) => ({ alphabet: "Synthetic", name: `character${i}`, set: "background_small1" as const })), alphabets: ["Synthetic"], pixels };
}

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

  it("MAML refuses to score tasks with a different number of ways than it was trained on", () => {
    const a = trainFewShot("maml", images, { ...config, steps: 1 }, new Rng(2));
    expect(() => evaluateOnRuns(a, syntheticRuns(images, 4), config)).toThrow(/meta-trained 3-way/);
    disposeParams(a.params);
  });
});
