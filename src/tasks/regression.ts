/**
 * Parametric 1-D regression families (sines, polynomials): each task is a function y = f_task(x) drawn from a
 * seeded distribution, and its true parameters are kept so notebooks can plot the true curves.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import { checkKnownKeys } from "../core/validate";
import type { BatchSpec, TaskBatch, TaskFamily } from "./task-family";

/** A closed interval [lo, hi] for uniform sampling. */
export type Range = readonly [number, number];

/** A set of sampled tasks: one Float32Array of length `count` per named task parameter (e.g. amplitude, phase). */
export interface RegressionTasks {
  readonly count: number;
  readonly params: Readonly<Record<string, Float32Array>>;
}

/** A batch that also carries the true parameters of its tasks. */
export interface RegressionBatch extends TaskBatch {
  readonly tasks: RegressionTasks;
}

/** `n` evenly spaced points from `lo` to `hi` inclusive (numpy/torch linspace). */
export function linspace(lo: number, hi: number, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 1) throw new Error(`linspace needs a positive integer count, got ${n}.`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = n === 1 ? lo : lo + ((hi - lo) * i) / (n - 1);
  return out;
}

/** Options of `gridBatch`: support points are random, query points are a fixed grid shared by every task. */
export interface GridSpec {
  /** Support points per task (K). */
  readonly shots: number;
  /** Query grid; default 100 points on linspace(-5, 5), the reference evaluation. */
  readonly grid?: Float32Array;
}

/** A 1-D regression family whose tasks are functions with named, sampled parameters. */
export abstract class RegressionFamily implements TaskFamily {
  abstract readonly name: string;
  readonly inputSize = 1;
  readonly outputSize = 1;
  readonly loss = "mse" as const;
  /** Range the inputs x are drawn from. */
  abstract readonly xRange: Range;

  /** Draws `n` tasks' parameters. */
  abstract sampleTasks(rng: Rng, n: number): RegressionTasks;

  /** True targets of task `t` at inputs `x`. */
  abstract targetsOf(tasks: RegressionTasks, t: number, x: Float32Array): Float32Array;

  /** Samples `spec.tasks` tasks, then `shots` support and `queries` query inputs per task, all from `rng`. */
  sample(rng: Rng, spec: BatchSpec): RegressionBatch {
    checkSpec(spec);
    const tasks = this.sampleTasks(rng, spec.tasks);
    return this.batchFor(tasks, rng, spec.shots, spec.queries);
  }

  /** Support and query sets with inputs drawn uniformly from `xRange`, for given tasks. */
  batchFor(tasks: RegressionTasks, rng: Rng, shots: number, queries: number): RegressionBatch {
    const n = tasks.count;
    const sx = rng.uniformArray(n * shots, this.xRange[0], this.xRange[1]);
    const qx = rng.uniformArray(n * queries, this.xRange[0], this.xRange[1]);
    return this.build(tasks, sx, shots, qx, queries);
  }

  /** Random support inputs and a fixed query grid (the evaluation protocol's 100 points on [-5, 5]). */
  gridBatch(tasks: RegressionTasks, rng: Rng, spec: GridSpec): RegressionBatch {
    const sx = rng.uniformArray(tasks.count * spec.shots, this.xRange[0], this.xRange[1]);
    return this.gridBatchAt(tasks, sx, spec.shots, spec.grid);
  }

  /** Given support inputs [tasks * shots] (e.g. another library's held-out set) and the fixed query grid. */
  gridBatchAt(tasks: RegressionTasks, supportX: Float32Array, shots: number, grid: Float32Array = linspace(-5, 5, 100)): RegressionBatch {
    if (supportX.length !== tasks.count * shots) {
      throw new Error(`gridBatchAt: expected ${tasks.count} tasks x ${shots} shots = ${tasks.count * shots} support inputs, got ${supportX.length}.`);
    }
    const qx = new Float32Array(tasks.count * grid.length);
    for (let t = 0; t < tasks.count; t++) qx.set(grid, t * grid.length);
    return this.build(tasks, supportX, shots, qx, grid.length);
  }

  /** True curves of every task at `x`: an array of `tasks.count` Float32Arrays (for plotting). */
  trueCurves(tasks: RegressionTasks, x: Float32Array): Float32Array[] {
    return Array.from({ length: tasks.count }, (_, t) => this.targetsOf(tasks, t, x));
  }

  private build(tasks: RegressionTasks, sx: Float32Array, shots: number, qx: Float32Array, queries: number): RegressionBatch {
    const n = tasks.count;
    const sy = new Float32Array(n * shots);
    const qy = new Float32Array(n * queries);
    for (let t = 0; t < n; t++) {
      sy.set(this.targetsOf(tasks, t, sx.subarray(t * shots, (t + 1) * shots)), t * shots);
      qy.set(this.targetsOf(tasks, t, qx.subarray(t * queries, (t + 1) * queries)), t * queries);
    }
    return {
      supportX: tf.tensor3d(sx, [n, shots, 1]),
      supportY: tf.tensor3d(sy, [n, shots, 1]),
      queryX: tf.tensor3d(qx, [n, queries, 1]),
      queryY: tf.tensor3d(qy, [n, queries, 1]),
      tasks,
    };
  }
}

function checkSpec(spec: BatchSpec): void {
  for (const k of ["tasks", "shots", "queries"] as const) {
    if (!Number.isInteger(spec[k]) || spec[k] < 1) throw new Error(`BatchSpec.${k} must be a positive integer, got ${spec[k]}.`);
  }
}

function checkRange(name: string, r: Range): void {
  if (!(Number.isFinite(r[0]) && Number.isFinite(r[1]) && r[0] <= r[1])) {
    throw new Error(`${name} must be a finite range [lo, hi] with lo <= hi, got [${r}].`);
  }
}

/** Ranges of the sine family; targets are amplitude * sin(x - phase). */
export interface SineFamilyConfig {
  readonly amplitude: Range;
  readonly phase: Range;
  readonly x: Range;
}

/** Finn et al. (2017): amplitude U[0.1, 5], phase U[0, π], x U[-5, 5]. */
export const FINN_SINE: SineFamilyConfig = { amplitude: [0.1, 5], phase: [0, Math.PI], x: [-5, 5] };

/** Sine regression (Finn et al. 2017): task parameters `amplitude` and `phase`. */
export class SineFamily extends RegressionFamily {
  readonly name = "sine";
  readonly config: SineFamilyConfig;
  readonly xRange: Range;

  constructor(config: Partial<SineFamilyConfig> = {}) {
    super();
    checkKnownKeys("SineFamily config", config, FINN_SINE);
    this.config = { ...FINN_SINE, ...config };
    checkRange("amplitude", this.config.amplitude);
    checkRange("phase", this.config.phase);
    checkRange("x", this.config.x);
    this.xRange = this.config.x;
  }

  /** Amplitude then phase per task, in task order (a fixed draw order keeps seeds reproducible). */
  sampleTasks(rng: Rng, n: number): RegressionTasks {
    const amplitude = new Float32Array(n);
    const phase = new Float32Array(n);
    for (let t = 0; t < n; t++) {
      amplitude[t] = rng.uniform(this.config.amplitude[0], this.config.amplitude[1]);
      phase[t] = rng.uniform(this.config.phase[0], this.config.phase[1]);
    }
    return { count: n, params: { amplitude, phase } };
  }

  targetsOf(tasks: RegressionTasks, t: number, x: Float32Array): Float32Array {
    const a = tasks.params.amplitude![t]!;
    const p = tasks.params.phase![t]!;
    return x.map((v) => a * Math.sin(v - p));
  }
}

/** Ranges of the polynomial family; targets are sum_i c_i x^i. */
export interface PolynomialFamilyConfig {
  /** Degree d; 1 gives linear regression y = c1 x + c0. */
  readonly degree: number;
  /** Range of every coefficient c_0 .. c_d. */
  readonly coefficient: Range;
  readonly x: Range;
}

/** Linear tasks y = c1 x + c0 with c U[-1, 1] on x U[-5, 5]: targets stay within the sine family's scale. */
export const DEFAULT_POLYNOMIAL: PolynomialFamilyConfig = { degree: 1, coefficient: [-1, 1], x: [-5, 5] };

/** Polynomial regression: task parameters `c0` .. `c{degree}`. */
export class PolynomialFamily extends RegressionFamily {
  readonly name: string;
  readonly config: PolynomialFamilyConfig;
  readonly xRange: Range;

  constructor(config: Partial<PolynomialFamilyConfig> = {}) {
    super();
    checkKnownKeys("PolynomialFamily config", config, DEFAULT_POLYNOMIAL);
    this.config = { ...DEFAULT_POLYNOMIAL, ...config };
    if (!Number.isInteger(this.config.degree) || this.config.degree < 0) {
      throw new Error(`PolynomialFamily degree must be a non-negative integer, got ${this.config.degree}.`);
    }
    checkRange("coefficient", this.config.coefficient);
    checkRange("x", this.config.x);
    this.xRange = this.config.x;
    this.name = this.config.degree === 1 ? "linear" : `polynomial${this.config.degree}`;
  }

  sampleTasks(rng: Rng, n: number): RegressionTasks {
    const d = this.config.degree;
    const cs = Array.from({ length: d + 1 }, () => new Float32Array(n));
    for (let t = 0; t < n; t++) for (let i = 0; i <= d; i++) cs[i]![t] = rng.uniform(this.config.coefficient[0], this.config.coefficient[1]);
    const params: Record<string, Float32Array> = {};
    cs.forEach((c, i) => (params[`c${i}`] = c));
    return { count: n, params };
  }

  targetsOf(tasks: RegressionTasks, t: number, x: Float32Array): Float32Array {
    const d = this.config.degree;
    const c = Array.from({ length: d + 1 }, (_, i) => tasks.params[`c${i}`]![t]!);
    return x.map((v) => {
      let y = 0;
      for (let i = d; i >= 0; i--) y = y * v + c[i]!; // Horner
      return y;
    });
  }
}

/** Linear regression tasks y = c1 x + c0 (a degree-1 PolynomialFamily). */
export function linearFamily(config: Partial<Omit<PolynomialFamilyConfig, "degree">> = {}): PolynomialFamily {
  return new PolynomialFamily({ ...config, degree: 1 });
}
