/**
 * Seeded N-way K-shot episodes from Omniglot characters, with rotations by multiples of 90° as extra classes
 * (Santoro et al. 2016; Finn et al. 2017): a class is a (character, rotation) pair, and every drawing of a class in
 * an episode has that rotation.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import { checkBoolean, checkConfig } from "../core/validate";
import type { BatchSpec, TaskBatch, TaskFamily } from "../tasks/task-family";
import type { OmniglotImages } from "./omniglot";

/** Options of `OmniglotTasks`. */
export interface OmniglotTasksConfig {
  /** N, classes per episode. */
  readonly ways: number;
  /** Use the four rotations of each character as four classes (Santoro et al., Finn et al.). */
  readonly rotations: boolean;
  /** Indices of the characters to draw from (e.g. a train/validation split); all by default. */
  readonly characters?: readonly number[];
}

/** Default: 5-way with rotations, Finn et al.'s Omniglot setting. */
export const DEFAULT_OMNIGLOT_TASKS: OmniglotTasksConfig = {
  ways: 5, // 5-way, the common few-shot Omniglot benchmark (20-way is the official runs' setting)
  rotations: true, // Santoro et al. (2016) and Finn et al. (2017) augment classes with 90° rotations
};

/** The keys of `OmniglotTasksConfig`: any other key is a typo and an error. */
export const OMNIGLOT_TASKS_KEYS: { readonly [K in keyof OmniglotTasksConfig]-?: true } = { ways: true, rotations: true, characters: true };

/** Checks an Omniglot episode config's keys and types (the ranges need the images; the constructor checks them). */
export function omniglotTasksConfig(c: OmniglotTasksConfig): OmniglotTasksConfig {
  const WHO = "OmniglotTasks";
  checkConfig(WHO, c, OMNIGLOT_TASKS_KEYS, { name: "config", hint: "Start from DEFAULT_OMNIGLOT_TASKS: { ...DEFAULT_OMNIGLOT_TASKS, ways: 20 }.", keysWho: `${WHO} config` });
  checkBoolean(WHO, "rotations", c.rotations);
  if (c.characters !== undefined && !Array.isArray(c.characters)) throw new Error(`${WHO} characters must be a list of character indices (e.g. splitCharacters(images).train), got ${String(c.characters)}. Leave it out for every character.`);
  return c;
}

/** Rotates a square image [size*size] by `quarter` × 90° counter-clockwise. */
export function rotateSquare(src: ArrayLike<number>, size: number, quarter: number, out: Float32Array = new Float32Array(size * size), offset = 0, scale = 1): Float32Array {
  const q = ((quarter % 4) + 4) % 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sy = y;
      let sx = x;
      if (q === 1) {
        sy = x;
        sx = size - 1 - y;
      } else if (q === 2) {
        sy = size - 1 - y;
        sx = size - 1 - x;
      } else if (q === 3) {
        sy = size - 1 - x;
        sx = y;
      }
      out[offset + y * size + x] = src[sy * size + sx]! * scale;
    }
  }
  return out;
}

/**
 * Episodes of N-way K-shot classification from a set of Omniglot characters. `spec.shots` and `spec.queries` count
 * drawings PER CLASS (the N-way K-shot convention, as in BlobClassification): supportX [tasks, ways*shots, size²],
 * one-hot supportY [tasks, ways*shots, ways]. Labels are a random permutation per episode; points are shuffled.
 */
export class OmniglotTasks implements TaskFamily {
  readonly name: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly loss = "cross-entropy" as const;
  /** Character indices the episodes draw from. */
  readonly characters: readonly number[];

  constructor(readonly images: OmniglotImages, readonly config: OmniglotTasksConfig = DEFAULT_OMNIGLOT_TASKS) {
    omniglotTasksConfig(config);
    const chars = config.characters ?? images.characters.map((_, i) => i);
    for (const c of chars) if (!(Number.isInteger(c) && c >= 0 && c < images.characters.length)) throw new Error(`OmniglotTasks: character index ${c} is out of range [0, ${images.characters.length}).`);
    if (!Number.isInteger(config.ways) || config.ways < 2) throw new Error(`OmniglotTasks: ways must be an integer >= 2, got ${config.ways}.`);
    const classes = chars.length * (config.rotations ? 4 : 1);
    if (config.ways > classes) throw new Error(`OmniglotTasks: ${config.ways}-way episodes need ${config.ways} classes but there are ${classes}. Use fewer ways or more characters.`);
    this.characters = chars;
    this.name = `omniglot-${config.ways}way${config.rotations ? "-rot" : ""}`;
    this.inputSize = images.size * images.size;
    this.outputSize = config.ways;
  }

  /** Number of classes episodes draw from (characters × 4 with rotations). */
  get classCount(): number {
    return this.characters.length * (this.config.rotations ? 4 : 1);
  }

  /** Character index and rotation of class `k` (classes are numbered character-major). */
  classOf(k: number): { character: number; quarter: number } {
    const r = this.config.rotations ? 4 : 1;
    return { character: this.characters[Math.floor(k / r)]!, quarter: k % r };
  }

  /** Writes drawing `d` of class `k` into `out` at `offset` (floats in [0, 1]). */
  private write(k: number, d: number, out: Float32Array, offset: number): void {
    const { character, quarter } = this.classOf(k);
    const n = this.inputSize;
    const start = (character * this.images.drawings + d) * n;
    rotateSquare(this.images.pixels.subarray(start, start + n), this.images.size, quarter, out, offset, 1 / 255);
  }

  /** Samples a meta-batch of episodes; `shots` and `queries` are per class and together at most the drawings per character. */
  sample(rng: Rng, spec: BatchSpec): TaskBatch {
    const { ways } = this.config;
    for (const [k, v] of [["tasks", spec.tasks], ["shots", spec.shots], ["queries", spec.queries]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`OmniglotTasks.sample: ${k} must be a positive integer, got ${v}.`);
    }
    if (spec.shots + spec.queries > this.images.drawings) {
      throw new Error(`OmniglotTasks.sample: ${spec.shots} shots + ${spec.queries} queries per class exceed the ${this.images.drawings} drawings of a character.`);
    }
    const n = this.inputSize;
    const nS = ways * spec.shots;
    const nQ = ways * spec.queries;
    const sx = new Float32Array(spec.tasks * nS * n);
    const sy = new Float32Array(spec.tasks * nS * ways);
    const qx = new Float32Array(spec.tasks * nQ * n);
    const qy = new Float32Array(spec.tasks * nQ * ways);
    for (let t = 0; t < spec.tasks; t++) {
      const classes = pickDistinct(rng, this.classCount, ways); // the order is the label permutation
      const support: [number, number][] = [];
      const query: [number, number][] = [];
      classes.forEach((k, label) => {
        const draws = pickDistinct(rng, this.images.drawings, spec.shots + spec.queries);
        draws.forEach((d, i) => (i < spec.shots ? support : query).push([label, d]));
      });
      const fill = (items: [number, number][], x: Float32Array, y: Float32Array, base: number): void => {
        const order = rng.permutation(items.length);
        order.forEach((j, i) => {
          const [label, d] = items[j]!;
          this.write(classes[label]!, d, x, (base + i) * n);
          y[(base + i) * ways + label] = 1;
        });
      };
      fill(support, sx, sy, t * nS);
      fill(query, qx, qy, t * nQ);
    }
    return {
      supportX: tf.tensor3d(sx, [spec.tasks, nS, n]),
      supportY: tf.tensor3d(sy, [spec.tasks, nS, ways]),
      queryX: tf.tensor3d(qx, [spec.tasks, nQ, n]),
      queryY: tf.tensor3d(qy, [spec.tasks, nQ, ways]),
    };
  }

  /**
   * A batch for joint (non-episodic) pretraining: `points` random drawings of random classes, labelled by global
   * class index. x [1, points, size²], one-hot y [1, points, classCount] (as BlobClassification.samplePool).
   */
  sampleClasses(rng: Rng, points: number): { x: tf.Tensor3D; y: tf.Tensor3D } {
    if (!Number.isInteger(points) || points < 1) throw new Error(`OmniglotTasks.sampleClasses: points must be a positive integer, got ${points}.`);
    const n = this.inputSize;
    const C = this.classCount;
    const x = new Float32Array(points * n);
    const y = new Float32Array(points * C);
    for (let i = 0; i < points; i++) {
      const k = rng.int(C);
      this.write(k, rng.int(this.images.drawings), x, i * n);
      y[i * C + k] = 1;
    }
    return { x: tf.tensor3d(x, [1, points, n]), y: tf.tensor3d(y, [1, points, C]) };
  }
}

/** `k` distinct integers from [0, n) in random order (partial Fisher-Yates). */
export function pickDistinct(rng: Rng, n: number, k: number): number[] {
  if (k > n) throw new Error(`pickDistinct: cannot pick ${k} distinct values from ${n}.`);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, k);
}

/** Splits character indices by alphabet-free random draw into (train, validation) with `validation` characters held out. */
export function splitCharacters(images: OmniglotImages, validation: number, rng: Rng): { train: number[]; validation: number[] } {
  const n = images.characters.length;
  if (!Number.isInteger(validation) || validation < 0 || validation >= n) throw new Error(`splitCharacters: validation must be an integer in [0, ${n}), got ${validation}.`);
  const order = rng.permutation(n);
  return { validation: order.slice(0, validation).sort((a, b) => a - b), train: order.slice(validation).sort((a, b) => a - b) };
}

/** Character indices of the alphabets `heldOut` and of all others: an alphabet-level split, like background/evaluation. */
export function splitAlphabets(images: OmniglotImages, heldOut: readonly string[]): { train: number[]; heldOut: number[] } {
  for (const a of heldOut) if (!images.alphabets.includes(a)) throw new Error(`splitAlphabets: unknown alphabet "${a}"; these images have ${images.alphabets.join(", ")}.`);
  const train: number[] = [];
  const held: number[] = [];
  images.characters.forEach((c, i) => (heldOut.includes(c.alphabet) ? held : train).push(i));
  return { train, heldOut: held };
}

/**
 * Within-alphabet `ways`-way one-shot episodes, as in Lake et al.'s runs: for each alphabet, `tasksPerAlphabet`
 * episodes of `ways` of its characters, one support and one query drawing per class (two different drawers), no
 * rotation. supportX/queryX [alphabets * tasksPerAlphabet, ways, size²].
 */
export function withinAlphabetEpisodes(images: OmniglotImages, alphabets: readonly string[], ways: number, tasksPerAlphabet: number, rng: Rng): TaskBatch {
  if (alphabets.length === 0) throw new Error("withinAlphabetEpisodes: give at least one alphabet.");
  const parts = alphabets.map((a) => {
    const characters = splitAlphabets(images, [a]).heldOut;
    if (characters.length < ways) throw new Error(`withinAlphabetEpisodes: alphabet "${a}" has ${characters.length} characters, fewer than ${ways} ways.`);
    return new OmniglotTasks(images, { ways, rotations: false, characters }).sample(rng.fork(a), { tasks: tasksPerAlphabet, shots: 1, queries: 1 });
  });
  const cat = (k: keyof TaskBatch): tf.Tensor3D => (parts.length === 1 ? parts[0]![k] : tf.concat(parts.map((p) => p[k]), 0));
  const out: TaskBatch = { supportX: cat("supportX"), supportY: cat("supportY"), queryX: cat("queryX"), queryY: cat("queryY") };
  if (parts.length > 1) for (const p of parts) for (const t of [p.supportX, p.supportY, p.queryX, p.queryY]) t.dispose();
  return out;
}
