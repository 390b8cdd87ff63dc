import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { loadOmniglot, omniglotCounts, omniglotImage } from "../../src/data/omniglot";
import { loadOneShotRuns, nearestNeighbourRuns, runsBatch, runsSubEpisodes } from "../../src/data/omniglot-runs";
import { OmniglotTasks, rotateSquare, splitAlphabets, withinAlphabetEpisodes } from "../../src/data/omniglot-tasks";
import { disposeBatch } from "../../src/tasks/task-family";
import { requireSharedData, sharedOmniglotDir } from "./shared-data";
import { tmpdir } from "os";
import * as path from "path";

const dir = sharedOmniglotDir();

describe("Omniglot on the real archives (../shared/data/omniglot)", () => {
  requireSharedData();
  if (dir === null) return;
  const cacheDir = path.join(tmpdir(), "metalab-test-cache"); // kept between runs: the first run decodes, later ones read
  const images = loadOmniglot({ dir, cacheDir });

  it("counts: 8 alphabets, 242 characters (Greek and Latin once), 20 drawings each, 28×28", () => {
    expect(images.size).toBe(28);
    expect(images.drawings).toBe(20);
    expect(images.characters.length).toBe(242);
    expect(omniglotCounts(images)).toEqual([
      { alphabet: "Balinese", characters: 24 },
      { alphabet: "Early_Aramaic", characters: 22 },
      { alphabet: "Greek", characters: 24 },
      { alphabet: "Korean", characters: 40 },
      { alphabet: "Latin", characters: 26 },
      { alphabet: "Japanese_(katakana)", characters: 47 },
      { alphabet: "Sanskrit", characters: 42 },
      { alphabet: "Tagalog", characters: 17 },
    ]);
    expect(images.pixels.length).toBe(242 * 20 * 28 * 28);
    const small1 = loadOmniglot({ dir, sets: ["background_small1"], cacheDir });
    expect(small1.characters.length).toBe(136);
    expect(small1.alphabets).toEqual(["Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"]);
  });

  it("pixels: ink in [0, 1], paper at 0, strokes reach 1, about a tenth of the image inked", () => {
    let min = 255;
    let max = 0;
    let sum = 0;
    for (const v of images.pixels) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    expect(min).toBe(0);
    expect(max).toBe(255);
    const meanInk = sum / images.pixels.length / 255;
    expect(meanInk).toBeGreaterThan(0.03);
    expect(meanInk).toBeLessThan(0.25);
    const img = omniglotImage(images, 0, 0);
    expect(img[0]).toBe(0); // the corner is paper
    expect(Math.max(...img)).toBeGreaterThan(0.5);
  });


  it("episodes are deterministic under a seed, one-hot, and use rotations as classes", () => {
    const fam = new OmniglotTasks(images, { ways: 5, rotations: true });
    expect(fam.classCount).toBe(968);
    const a = fam.sample(new Rng(7), { tasks: 3, shots: 1, queries: 2 });
    const b = fam.sample(new Rng(7), { tasks: 3, shots: 1, queries: 2 });
    const c = fam.sample(new Rng(8), { tasks: 3, shots: 1, queries: 2 });
    expect(a.supportX.shape).toEqual([3, 5, 784]);
    expect(a.queryY.shape).toEqual([3, 10, 5]);
    expect(Array.from(a.supportX.dataSync())).toEqual(Array.from(b.supportX.dataSync()));
    expect(Array.from(a.queryY.dataSync())).toEqual(Array.from(b.queryY.dataSync()));
    expect(Array.from(a.supportX.dataSync())).not.toEqual(Array.from(c.supportX.dataSync()));
    const sums = tf.sum(a.queryY, 1).arraySync() as number[][];
    for (const row of sums) expect(row).toEqual([2, 2, 2, 2, 2]);
    const rot = fam.classOf(4 * 10 + 3);
    expect(rot).toEqual({ character: 10, quarter: 3 });
    const once = rotateSquare([1, 2, 3, 4], 2, 1);
    expect(Array.from(rotateSquare(rotateSquare(rotateSquare(once, 2, 1), 2, 1), 2, 1))).toEqual([1, 2, 3, 4]);
    [a, b, c].forEach(disposeBatch);
  });

  it("an alphabet-level split and within-alphabet 20-way episodes (the MAML diagnosis' validation set)", () => {
    const split = splitAlphabets(images, ["Early_Aramaic", "Balinese"]);
    expect(split.heldOut.length).toBe(22 + 24);
    expect(split.train.length).toBe(242 - 46);
    expect(split.train.some((i) => split.heldOut.includes(i))).toBe(false);
    expect(() => splitAlphabets(images, ["Klingon"])).toThrow(/unknown alphabet "Klingon"/);
    const a = withinAlphabetEpisodes(images, ["Early_Aramaic", "Balinese"], 20, 3, new Rng(5));
    const b = withinAlphabetEpisodes(images, ["Early_Aramaic", "Balinese"], 20, 3, new Rng(5));
    expect(a.supportX.shape).toEqual([6, 20, 784]);
    expect(a.queryY.shape).toEqual([6, 20, 20]);
    expect(Array.from(a.queryX.dataSync())).toEqual(Array.from(b.queryX.dataSync()));
    expect(() => withinAlphabetEpisodes(images, ["Tagalog"], 20, 1, new Rng(5))).toThrow(/17 characters, fewer than 20 ways/);
    [a, b].forEach(disposeBatch);
  });

  it("the 20 runs: 20 training and 20 test images each; raw-pixel nearest neighbour beside Koch et al.'s 21.7% accuracy", () => {
    const runs = loadOneShotRuns({ dir, size: 105, cacheDir });
    expect(runs.runs.length).toBe(20);
    expect(runs.ways).toBe(20);
    for (const r of runs.runs) {
      expect(r.test.length).toBe(20 * 105 * 105);
      expect([...r.answers].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
    const nn = nearestNeighbourRuns(runs);
    expect(nn.mean).toBeCloseTo(0.81, 6); // 324 of 400 test images wrong
    expect(Math.abs(nn.mean - (1 - 0.217))).toBeLessThan(0.05); // Koch et al. (2015), Table 2: 1-NN 21.7% correct
    const small = nearestNeighbourRuns(loadOneShotRuns({ dir, cacheDir }));
    expect(small.mean).toBeCloseTo(0.7925, 6); // at 28×28
    const batch = runsBatch(loadOneShotRuns({ dir, cacheDir }));
    expect(batch.supportX.shape).toEqual([20, 20, 784]);
    expect(batch.queryY.shape).toEqual([20, 20, 20]);
    disposeBatch(batch);
  });

  it("5-way episodes cut from the runs: each query is the run's test drawing of its support class, seeded", () => {
    const runs = loadOneShotRuns({ dir, cacheDir });
    const a = runsSubEpisodes(runs, 5, 3, new Rng(7));
    const b = runsSubEpisodes(runs, 5, 3, new Rng(7));
    expect(a.supportX.shape).toEqual([60, 5, 784]);
    expect(a.queryY.shape).toEqual([60, 5, 5]);
    expect(Array.from(a.supportX.dataSync())).toEqual(Array.from(b.supportX.dataSync()));
    // Episode 0 comes from run 1: its support rows are training drawings and its query rows the matching test drawings.
    const run = runs.runs[0]!;
    const n = 784;
    const sx = a.supportX.dataSync();
    const qx = a.queryX.dataSync();
    for (let k = 0; k < 5; k++) {
      const c = Array.from({ length: 20 }, (_, j) => j).find((j) => run.training.subarray(j * n, (j + 1) * n).every((v, i) => v === sx[k * n + i]));
      expect(c).toBeDefined();
      const t = run.answers.indexOf(c!);
      expect(run.test.subarray(t * n, (t + 1) * n).every((v, i) => v === qx[k * n + i])).toBe(true);
    }
    expect(() => runsSubEpisodes(runs, 21, 1, new Rng(0))).toThrow(/ways must be an integer from 2 to 20/);
    disposeBatch(a);
    disposeBatch(b);
  });
});
