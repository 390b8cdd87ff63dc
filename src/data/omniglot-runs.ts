/**
 * The 20 official 20-way one-shot classification runs of Lake et al. (2015) (`all_runs.zip`): each run has one
 * training drawing of each of 20 characters from the evaluation alphabets and 20 test drawings to classify.
 */
import { existsSync, statSync } from "fs";
import * as path from "path";
import { cachedArrays } from "./array-cache";
import * as tf from "@tensorflow/tfjs";
import type { TaskBatch } from "../tasks/task-family";
import type { Rng } from "../core/random";
import { pickDistinct } from "./omniglot-tasks";
import { DataError } from "./errors";
import { checkConfig } from "../core/validate";
import { checkDataFolderFields, checkOmniglotSize, OMNIGLOT_ORIGINAL_SIZE, OMNIGLOT_RUNS_ARCHIVE, omniglotDir, omniglotFix } from "./omniglot";
import { decodeGrayPng } from "./png";
import { resizeLanczos } from "./resize";
import { readZip } from "./zip";

/** One run: 20 training images (class order), 20 test images, and each test image's true training class. */
export interface OneShotRun {
  readonly name: string;
  /** [classes][size * size] ink in [0, 1]; row c is `training/class{c+1}.png`. */
  readonly training: Float32Array;
  /** [tests][size * size]; row i is `test/item{i+1}.png`. */
  readonly test: Float32Array;
  /** answers[i] = training class (0-based) of test image i, from `class_labels.txt`. */
  readonly answers: readonly number[];
}

/** The runs and their image size. */
export interface OneShotRuns {
  readonly size: number;
  readonly ways: number;
  readonly runs: readonly OneShotRun[];
}

/** Options of `loadOneShotRuns`. */
export interface LoadRunsOptions {
  readonly dir?: string;
  /** Side length; 28 by default, 105 keeps the originals. */
  readonly size?: number;
  /** Read and write the decoded-array cache (default true). */
  readonly cache?: boolean;
  /** Cache folder; default `<cache root>/arrays`. */
  readonly cacheDir?: string;
}

/** The keys of `LoadRunsOptions` (all optional): any other key is a typo and an error. */
export const LOAD_RUNS_KEYS: { readonly [K in keyof LoadRunsOptions]-?: true } = { dir: true, size: true, cache: true, cacheDir: true };

/** Checks `loadOneShotRuns`'s options field by field (unknown keys are errors); returns them unchanged. */
export function loadRunsOptions(o: LoadRunsOptions): LoadRunsOptions {
  const WHO = "loadOneShotRuns";
  checkConfig(WHO, o, LOAD_RUNS_KEYS, { hint: "Pass {} for the defaults, or { size: 105 } for the originals.", keysWho: `${WHO} options` });
  checkDataFolderFields(WHO, o);
  if (o.size !== undefined) checkOmniglotSize(WHO, o.size);
  return o;
}

function ink(bytes: Uint8Array, name: string, size: number, fix: string): Float32Array {
  const png = decodeGrayPng(bytes, name, fix);
  if (png.width !== OMNIGLOT_ORIGINAL_SIZE || png.height !== OMNIGLOT_ORIGINAL_SIZE) {
    throw new DataError(`${name} is ${png.width}×${png.height}, not ${OMNIGLOT_ORIGINAL_SIZE}×${OMNIGLOT_ORIGINAL_SIZE}.`, name, `This is not an Omniglot drawing. ${fix}`);
  }
  const x = new Float32Array(png.pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = 1 - png.pixels[i]! / 255;
  const r = resizeLanczos(x, png.width, png.height, size, size);
  for (let i = 0; i < r.length; i++) r[i] = Math.min(1, Math.max(0, r[i]!));
  return r;
}

/**
 * Reads the runs from `all_runs.zip`. Each run folder must hold `class_labels.txt` (lines "test/itemNN.png
 * training/classMM.png") and every file it names; a missing or broken file is a `DataError` naming it.
 */
export function loadOneShotRuns(options: LoadRunsOptions = {}): OneShotRuns {
  loadRunsOptions(options);
  const dir = options.dir ?? omniglotDir();
  const size = options.size ?? 28;
  const file = path.join(dir, OMNIGLOT_RUNS_ARCHIVE);
  if (options.cache === false || !existsSync(file)) return decodeRuns(file, dir, size);
  const st = statSync(file);
  const c = cachedArrays(`omniglot-runs-${size}-${st.size}-${Math.floor(st.mtimeMs)}`, () => {
    const r = decodeRuns(file, dir, size);
    const all = new Float32Array(r.runs.reduce((n, x) => n + x.training.length + x.test.length, 0));
    let o = 0;
    for (const x of r.runs) {
      all.set(x.training, o);
      all.set(x.test, o + x.training.length);
      o += x.training.length + x.test.length;
    }
    return { bytes: new Uint8Array(all.buffer), meta: { ways: r.ways, runs: r.runs.map((x) => ({ name: x.name, answers: x.answers })) } };
  }, options.cacheDir);
  const floats = new Float32Array(c.bytes.buffer.slice(c.bytes.byteOffset, c.bytes.byteOffset + c.bytes.byteLength));
  const n = size * size;
  let o = 0;
  const runs = c.meta.runs.map((m) => {
    const training = floats.slice(o, o + c.meta.ways * n);
    const test = floats.slice(o + c.meta.ways * n, o + (c.meta.ways + m.answers.length) * n);
    o += (c.meta.ways + m.answers.length) * n;
    return { name: m.name, training, test, answers: m.answers };
  });
  return { size, ways: c.meta.ways, runs };
}

function decodeRuns(file: string, dir: string, size: number): OneShotRuns {
  const fix = omniglotFix(dir);
  const files = readZip(file, { fix });
  const runNames = [...new Set([...files.keys()].map((n) => n.split("/")[0]!).filter((n) => /^run\d+$/.test(n)))].sort();
  if (runNames.length === 0) throw new DataError(`${file} holds no run folders (run01/, run02/, ...).`, file, `It is not the one-shot runs archive. ${fix}`);
  let ways = -1;
  const runs = runNames.map((run) => {
    const labelsName = `${run}/class_labels.txt`;
    const labels = files.get(labelsName);
    if (!labels) throw new DataError(`${file}: ${labelsName} is missing.`, `${file}:${labelsName}`, `The archive is incomplete. ${fix}`);
    const pairs = new TextDecoder()
      .decode(labels)
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== "")
      .map((l, i) => {
        const parts = l.split(/\s+/);
        if (parts.length !== 2) throw new DataError(`${file}:${labelsName} line ${i + 1} is "${l}", not "<test image> <training image>".`, `${file}:${labelsName}`, `The file is corrupt. ${fix}`);
        return parts.map((p) => p.replace(/^.*?(test|training)\//, `${run}/$1/`)) as [string, string];
      });
    const classNames = [...new Set(pairs.map((p) => p[1]))].sort();
    const testNames = pairs.map((p) => p[0]).sort();
    if (ways >= 0 && classNames.length !== ways) throw new DataError(`${file}:${labelsName} names ${classNames.length} classes where other runs have ${ways}.`, `${file}:${labelsName}`, fix);
    ways = classNames.length;
    const read = (name: string): Float32Array => {
      const bytes = files.get(name);
      if (!bytes) throw new DataError(`${file}: ${name} (named in ${labelsName}) is missing.`, `${file}:${name}`, `The run folder is incomplete. ${fix}`);
      return ink(bytes, `${file}:${name}`, size, fix);
    };
    const n = size * size;
    const training = new Float32Array(classNames.length * n);
    classNames.forEach((c, i) => training.set(read(c), i * n));
    const test = new Float32Array(testNames.length * n);
    testNames.forEach((t, i) => test.set(read(t), i * n));
    const answerOf = new Map(pairs.map((p) => [p[0], classNames.indexOf(p[1])]));
    return { name: run, training, test, answers: testNames.map((t) => answerOf.get(t)!) };
  });
  return { size, ways, runs };
}

/**
 * The runs as one task batch: support = the training images with labels 0..ways-1 (one-hot), query = the test images
 * with their true labels. supportX [runs, ways, size²], queryX [runs, tests, size²].
 */
export function runsBatch(r: OneShotRuns): TaskBatch {
  const n = r.size * r.size;
  const T = r.runs.length;
  const W = r.ways;
  const Q = r.runs[0]!.answers.length;
  const sx = new Float32Array(T * W * n);
  const sy = new Float32Array(T * W * W);
  const qx = new Float32Array(T * Q * n);
  const qy = new Float32Array(T * Q * W);
  r.runs.forEach((run, t) => {
    sx.set(run.training, t * W * n);
    for (let c = 0; c < W; c++) sy[(t * W + c) * W + c] = 1;
    qx.set(run.test, t * Q * n);
    run.answers.forEach((a, i) => (qy[(t * Q + i) * W + a] = 1));
  });
  return {
    supportX: tf.tensor3d(sx, [T, W, n]),
    supportY: tf.tensor3d(sy, [T, W, W]),
    queryX: tf.tensor3d(qx, [T, Q, n]),
    queryY: tf.tensor3d(qy, [T, Q, W]),
  };
}

/**
 * N-way 1-shot episodes cut from the runs (for the 5-way setting of Finn et al. 2017 on the runs' unseen
 * characters): each episode picks `ways` of a run's classes (seeded), its support is their training drawings and its
 * queries the run's test drawings of those classes. supportX [runs * perRun, ways, size²], queryX [.., ways, size²].
 */
export function runsSubEpisodes(r: OneShotRuns, ways: number, perRun: number, rng: Rng): TaskBatch {
  if (!Number.isInteger(ways) || ways < 2 || ways > r.ways) throw new Error(`runsSubEpisodes: ways must be an integer from 2 to ${r.ways}, got ${ways}.`);
  if (!Number.isInteger(perRun) || perRun < 1) throw new Error(`runsSubEpisodes: perRun must be a positive integer, got ${perRun}.`);
  const n = r.size * r.size;
  const T = r.runs.length * perRun;
  const sx = new Float32Array(T * ways * n);
  const qx = new Float32Array(T * ways * n);
  const y = new Float32Array(T * ways * ways);
  let t = 0;
  for (const run of r.runs) {
    const testOf = new Map<number, number>();
    run.answers.forEach((a, i) => testOf.set(a, i));
    for (let e = 0; e < perRun; e++, t++) {
      const classes = pickDistinct(rng, r.ways, ways);
      classes.forEach((c, k) => {
        const i = testOf.get(c);
        if (i === undefined) throw new Error(`runsSubEpisodes: run ${run.name} has no test drawing of class ${c + 1}.`);
        sx.set(run.training.subarray(c * n, (c + 1) * n), (t * ways + k) * n);
        qx.set(run.test.subarray(i * n, (i + 1) * n), (t * ways + k) * n);
        y[(t * ways + k) * ways + k] = 1;
      });
    }
  }
  return {
    supportX: tf.tensor3d(sx, [T, ways, n]),
    supportY: tf.tensor3d(y, [T, ways, ways]),
    queryX: tf.tensor3d(qx, [T, ways, n]),
    queryY: tf.tensor3d(y, [T, ways, ways]),
  };
}

/** Per-run error rates of predicted classes (`predicted[run][test]`) and their mean: the number Lake et al. report. */
export function runErrors(r: OneShotRuns, predicted: readonly (readonly number[])[]): { perRun: number[]; mean: number } {
  if (predicted.length !== r.runs.length) throw new Error(`runErrors: ${predicted.length} runs of predictions for ${r.runs.length} runs.`);
  const perRun = r.runs.map((run, t) => {
    const p = predicted[t]!;
    if (p.length !== run.answers.length) throw new Error(`runErrors: run ${run.name} has ${run.answers.length} test images but ${p.length} predictions.`);
    return run.answers.filter((a, i) => p[i] !== a).length / run.answers.length;
  });
  return { perRun, mean: perRun.reduce((a, b) => a + b, 0) / perRun.length };
}

/** Class scores [runs, tests, ways] (higher = more likely) to predicted classes per run. */
export function argmaxRows(scores: tf.Tensor): number[][] {
  return tf.tidy(() => tf.argMax(scores, -1).arraySync() as number[][]);
}

/**
 * Nearest neighbour on raw pixels: each test image gets the class of the closest training image (Euclidean, or
 * cosine). The protocol check beside Lake et al.'s and Koch et al.'s published nearest-neighbour figure.
 */
export function nearestNeighbourRuns(r: OneShotRuns, metric: "euclidean" | "cosine" = "euclidean"): { perRun: number[]; mean: number; predicted: number[][] } {
  const n = r.size * r.size;
  const predicted = r.runs.map((run) => {
    const W = run.training.length / n;
    const norms = Array.from({ length: W }, (_, c) => Math.sqrt(run.training.subarray(c * n, (c + 1) * n).reduce((s, v) => s + v * v, 0)) || 1);
    return run.answers.map((_, i) => {
      const q = run.test.subarray(i * n, (i + 1) * n);
      const qn = Math.sqrt(q.reduce((s, v) => s + v * v, 0)) || 1;
      let best = -1;
      let bestScore = Infinity;
      for (let c = 0; c < W; c++) {
        let d = 0;
        let dot = 0;
        for (let k = 0; k < n; k++) {
          const a = q[k]!;
          const b = run.training[c * n + k]!;
          d += (a - b) * (a - b);
          dot += a * b;
        }
        const score = metric === "euclidean" ? d : -dot / (qn * norms[c]!);
        if (score < bestScore) {
          bestScore = score;
          best = c;
        }
      }
      return best;
    });
  });
  return { ...runErrors(r, predicted), predicted };
}
