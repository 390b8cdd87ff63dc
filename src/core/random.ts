/**
 * Seeded, splittable pseudo-random generator (xoshiro128**, seeded through SplitMix32).
 * Every sampler and initialiser takes one of these; nothing in metalab calls `Math.random`.
 */
import * as tf from "@tensorflow/tfjs";

/** SplitMix32 step: a well-mixed 32-bit hash used to seed and to derive child streams. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a hash of a label, so `fork("tasks")` is stable across runs and machines. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seeded random stream; `split` and `fork` give independent child streams. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** Creates a stream from an integer seed (any 32-bit integer; same seed, same numbers). */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) {
      throw new Error(`Rng seed must be an integer, got ${seed}. Pass e.g. new Rng(0).`);
    }
    let x = seed >>> 0;
    x = splitmix32(x);
    this.s0 = x;
    x = splitmix32(x);
    this.s1 = x;
    x = splitmix32(x);
    this.s2 = x;
    x = splitmix32(x);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int needs a positive integer bound, got ${n}.`);
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box-Muller, caching the second value). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + std * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Float32Array of `n` uniform draws in [lo, hi). */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  /** Float32Array of `n` normal draws. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** Uniform float32 tensor of the given shape, drawn in JS so it is identical on every backend. */
  uniformTensor(shape: readonly number[], lo = 0, hi = 1): tf.Tensor {
    return tf.tensor(this.uniformArray(sizeOf(shape), lo, hi), [...shape], "float32");
  }

  /** Normal float32 tensor of the given shape, drawn in JS so it is identical on every backend. */
  normalTensor(shape: readonly number[], mean = 0, std = 1): tf.Tensor {
    return tf.tensor(this.normalArray(sizeOf(shape), mean, std), [...shape], "float32");
  }

  /** `n` independent child streams; the parent advances, so repeated calls give new children. */
  split(n: number): Rng[] {
    const out: Rng[] = [];
    for (let i = 0; i < n; i++) out.push(new Rng(this.nextUint32() ^ splitmix32(i + 0x5bd1e995)));
    return out;
  }

  /** A child stream named by a label; does not advance the parent, so the same label gives the same stream. */
  fork(label: string): Rng {
    const child = new Rng(0);
    child.s0 = splitmix32(this.s0 ^ hashLabel(label));
    child.s1 = splitmix32(this.s1 ^ child.s0);
    child.s2 = splitmix32(this.s2 ^ child.s1);
    child.s3 = splitmix32(this.s3 ^ child.s2);
    if ((child.s0 | child.s1 | child.s2 | child.s3) === 0) child.s0 = 1;
    return child;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Shorthand for `new Rng(seed)`. */
export function rng(seed: number): Rng {
  return new Rng(seed);
}
