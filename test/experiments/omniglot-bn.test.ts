import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import type { OmniglotImages } from "../../src/data/omniglot";
import { runOmniglotBnModes } from "../../src/experiments/omniglot-bn";

function synthetic(characters: number, drawings: number): OmniglotImages {
  const rng = new Rng(0);
  const size = 6;
  const pixels = new Uint8Array(characters * drawings * size * size).map(() => rng.int(256));
  return { size, drawings, characters: Array.from({ length: characters }, (_, i) => ({ alphabet: "S", name: `c${i}`, set: "background_small1" as const })), alphabets: ["S"], pixels };
}

describe("Omniglot BN evaluation modes", () => {
  it("scores every mode on the same held-out episodes; per-example is exactly chance; reproducible; no leak", () => {
    const images = synthetic(10, 6);
    const cfg = { ways: 3, hidden: [8], steps: 3, train: { tasks: 2, shots: 1, queries: 2 }, test: { tasks: 4, shots: 1, queries: 2 }, heldOut: 3 };
    const before = tf.memory().numTensors;
    const a = runOmniglotBnModes(images, cfg, new Rng(1));
    expect(tf.memory().numTensors).toBe(before);
    expect(a.results.map((r) => r.mode)).toEqual(["transductive", "per-example", "support", "support-plus-one", "running"]);
    expect(a.results.find((r) => r.mode === "per-example")!.accuracy).toBeCloseTo(1 / 3, 5);
    expect(a.curve.length).toBe(3);
    expect(runOmniglotBnModes(images, cfg, new Rng(1)).results).toEqual(a.results);
  });
});
