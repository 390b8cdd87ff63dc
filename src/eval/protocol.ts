/**
 * The K-shot evaluation protocol of Finn et al. (2017) as run by the reference: fixed, seeded held-out tasks,
 * K random support points, SGD adaptation (lr 0.01, each task its own gradient), query MSE on a 100-point grid
 * after 0..N steps. Any learner's initialisation can be evaluated; all tasks adapt in one batched call.
 */
import { checkInteger, checkPositive, withDefaults } from "../core/validate";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import pl, { type DataFrame } from "nodejs-polars";
import { loopGuard } from "../core/interrupt";
import type { Params } from "../core/params";
import { Rng } from "../core/random";
import { perTaskMse } from "../models/losses";
import { adaptSgd, fastSgdCurves, type SupportSet } from "../learners/adapt-sgd";
import type { TaskModel } from "../learners/model";
import { linspace, SineFamily, type RegressionBatch, type RegressionFamily, type RegressionTasks } from "../tasks/regression";
import { disposeBatch } from "../tasks/task-family";
/** The table type the curves come in, re-exported so notebooks can name it without importing nodejs-polars (TS2742). */
export type { DataFrame };

/** Settings of the evaluation; `DEFAULT_PROTOCOL` is the reference's. */
export interface EvalProtocol {
  /** Task family the held-out tasks come from. */
  readonly family: RegressionFamily;
  /** Number of held-out tasks. */
  readonly tasks: number;
  /** Support-set sizes K to evaluate. */
  readonly shots: readonly number[];
  /** Adaptation steps; the curve has steps + 1 points (0..steps). */
  readonly steps: number;
  /** SGD step size at test time. */
  readonly lr: number;
  /** Seed of the held-out tasks and support points (kept apart from training seeds). */
  readonly seed: number;
  /** Query inputs shared by every task. */
  readonly grid: Float32Array;
  /** "auto" adapts a plain Mlp on the fast path (learners/adapt-sgd.ts `fastSgdCurves`); "off" always uses tfjs autodiff. */
  readonly fastPath: "auto" | "off";
  /** Fraction of tasks dropped at each end for the trimmed mean. */
  readonly trim: number;
  /** A task whose query MSE exceeds this (or is not finite) counts as diverged. */
  readonly divergedAbove: number;
}

/** The reference's protocol: 1000 sine tasks, K = 5, 10, 20, 10 SGD steps at 0.01, 100 grid points on [-5, 5]. */
export const DEFAULT_PROTOCOL: EvalProtocol = {
  family: new SineFamily(), // Finn et al.'s sine distribution
  tasks: 1000, // the reference's held-out set size
  shots: [5, 10, 20], // Finn et al.'s K values
  steps: 10, // Finn et al. plot up to 10 gradient steps
  lr: 0.01, // the inner rate MAML was trained with, as in the reference
  seed: 1234, // the reference's evaluation seed (our generator differs, so the tasks do too)
  grid: linspace(-5, 5, 100), // the reference's query grid
  fastPath: "auto", // the same curves as tfjs autodiff to float32 rounding, without tensors per task
  trim: 0.01, // 10 of 1000 tasks at each end: more than the handful that diverge, far fewer than would bias the mean
  divergedAbove: 100, // 25 times the MSE of predicting 0 on these sines (about 4): the fit has left the data
};

/** A learner to evaluate: its initialisation, or a closed-form predictor (e.g. a ridge head). */
export interface EvalLearner {
  /** Label in the results. */
  readonly name: string;
  /** Initialisation θ (shared, no task dimension). */
  readonly params: Params;
  readonly model: TaskModel;
  /** Names adapted by SGD (all by default; the head only for a linear probe). */
  readonly trainable?: readonly string[];
  /** Closed-form adaptation: query predictions [tasks, queries, out] from the support set; its curve is flat in steps. */
  readonly predict?: (support: SupportSet, queryX: tf.Tensor) => tf.Tensor;
}

/** An evaluation protocol with defaults filled in; throws a fix-it error for a bad or unknown field. */
export function evalProtocol(protocol: Partial<EvalProtocol> = {}): EvalProtocol {
  const p = withDefaults("EvalProtocol", protocol, DEFAULT_PROTOCOL, { name: "protocol" });
  const WHO = "EvalProtocol";
  checkInteger(WHO, "tasks", p.tasks);
  if (p.shots.length === 0) throw new Error("EvalProtocol shots must list at least one support size K, e.g. [5, 10, 20].");
  for (const k of p.shots) checkInteger(WHO, "shots entry", k);
  checkInteger(WHO, "steps", p.steps, 0);
  checkPositive(WHO, "lr", p.lr, "Finn et al. adapt with 0.01 at test time.");
  checkInteger(WHO, "seed", p.seed, 0);
  if (p.fastPath !== "auto" && p.fastPath !== "off") throw new Error(`EvalProtocol fastPath must be "auto" or "off", got "${String(p.fastPath)}".`);
  if (!(p.trim >= 0 && p.trim < 0.5)) throw new Error(`EvalProtocol trim must be in [0, 0.5), got ${p.trim}. Use e.g. 0.01 to drop 1% of tasks at each end.`);
  checkPositive(WHO, "divergedAbove", p.divergedAbove, "A query MSE above it counts as a diverged task; 100 is 25 times predicting 0 on sines.");
  if (p.grid.length === 0) throw new Error("EvalProtocol grid is empty; pass the query inputs, e.g. linspace(-5, 5, 100).");
  return p;
}

/** The held-out tasks and, per K, their support points and grid queries. */
export interface HeldOutSet {
  readonly tasks: RegressionTasks;
  readonly batches: ReadonlyMap<number, RegressionBatch>;
}

/** Builds the seeded held-out set: the same tasks for every K (as in the reference), support drawn per K. */
export function heldOutSet(protocol: Partial<EvalProtocol> = {}): HeldOutSet {
  const p = evalProtocol(protocol);
  const root = new Rng(p.seed);
  const tasks = p.family.sampleTasks(root.fork("held-out tasks"), p.tasks);
  const batches = new Map<number, RegressionBatch>();
  for (const k of p.shots) batches.set(k, p.family.gridBatch(tasks, root.fork(`support K=${k}`), { shots: k, grid: p.grid }));
  return { tasks, batches };
}

/** A held-out set from explicit tasks and support inputs per K (e.g. the PyTorch reference's own draw). */
export function heldOutSetFrom(tasks: RegressionTasks, supportX: ReadonlyMap<number, Float32Array>, protocol: Partial<EvalProtocol> = {}): HeldOutSet {
  const p = evalProtocol(protocol);
  const batches = new Map<number, RegressionBatch>();
  for (const [k, x] of supportX) batches.set(k, p.family.gridBatchAt(tasks, x, k, p.grid));
  return { tasks, batches };
}

/** Disposes the tensors of a held-out set. */
export function disposeHeldOut(set: HeldOutSet): void {
  for (const b of set.batches.values()) disposeBatch(b);
}

/** One row of the results. */
export interface CurveRow {
  readonly learner: string;
  readonly K: number;
  readonly step: number;
  /** Mean over tasks of the query MSE (what the reference reports). */
  readonly mse: number;
  /** Median over tasks: robust to a few diverging tasks. */
  readonly median: number;
  /** Standard error of the mean over tasks. */
  readonly sem: number;
  /** Largest per-task query MSE. */
  readonly max: number;
  /** Mean after dropping the `trim` fraction of tasks at each end (robust to a few diverging tasks). */
  readonly trimmed: number;
  /** Tasks whose query MSE is above `divergedAbove` or not finite. */
  readonly diverged: number;
}

/** Mean of the sorted values after dropping ⌊trim·n⌋ at each end. */
export function trimmedMean(values: ArrayLike<number>, trim: number): number {
  if (!(trim >= 0 && trim < 0.5)) throw new Error(`trimmedMean: trim must be in [0, 0.5), got ${trim}. Use e.g. 0.01 to drop 1% at each end.`);
  const sorted = Float64Array.from(values, (v) => (Number.isNaN(v) ? Infinity : v)).sort(); // NaN sorts as a diverged task
  const k = Math.floor(trim * sorted.length);
  const kept = sorted.subarray(k, sorted.length - k);
  return kept.reduce((a, b) => a + b, 0) / kept.length;
}

function summarise(learner: string, K: number, step: number, perTask: Float32Array, p: Pick<EvalProtocol, "trim" | "divergedAbove">): CurveRow {
  const n = perTask.length;
  const mean = perTask.reduce((a, b) => a + b, 0) / n;
  const sorted = Float64Array.from(perTask).sort();
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const variance = perTask.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(n - 1, 1);
  const diverged = perTask.reduce((c, v) => c + (v <= p.divergedAbove ? 0 : 1), 0);
  return { learner, K, step, mse: mean, median, sem: Math.sqrt(variance / n), max: sorted[n - 1]!, trimmed: trimmedMean(perTask, p.trim), diverged };
}

/** Adaptation curves of one learner on a held-out set: one row per K and step. */
export function learnerCurves(learner: EvalLearner, set: HeldOutSet, protocol: Partial<EvalProtocol> = {}): CurveRow[] {
  const p = evalProtocol(protocol);
  const rows: CurveRow[] = [];
  const guard = loopGuard(`evaluating ${learner.name}`, set.batches.size, { unit: "support sizes" });
  try {
    let done = 0;
    for (const [K, b] of set.batches) {
      guard.check(done++);
      rows.push(...curvesAt(learner, K, b, p));
    }
  } finally {
    guard.end();
  }
  return rows;
}

/** The rows of one support size K. */
function curvesAt(learner: EvalLearner, K: number, b: RegressionBatch, p: EvalProtocol): CurveRow[] {
  const rows: CurveRow[] = [];
  const support = { x: b.supportX, y: b.supportY };
  if (learner.predict) {
    const perTask = tf.tidy(() => perTaskMse(learner.predict!(support, b.queryX), b.queryY).dataSync() as Float32Array);
    for (let s = 0; s <= p.steps; s++) rows.push(summarise(learner.name, K, s, perTask, p));
    return rows;
  }
  if (p.fastPath === "auto") {
    const fast = fastSgdCurves(learner.params, support, { x: b.queryX, y: b.queryY }, learner.model, { steps: p.steps, lr: p.lr, ...(learner.trainable ? { trainable: learner.trainable } : {}) });
    if ("curves" in fast) return fast.curves.map((perTask, s) => summarise(learner.name, K, s, perTask, p));
  }
  const adapted = adaptSgd(learner.params, support, learner.model, {
    steps: p.steps, lr: p.lr, ...(learner.trainable ? { trainable: learner.trainable } : {}),
    onStep: (s, params) => {
      const perTask = tf.tidy(() => perTaskMse(learner.model.apply(params, b.queryX), b.queryY).dataSync() as Float32Array);
      rows.push(summarise(learner.name, K, s, perTask, p));
    },
  });
  for (const t of Object.values(adapted)) t.dispose();
  return rows;
}

/** Adaptation curves of several learners as a DataFrame with columns learner, K, step, mse, median, sem, max, trimmed, diverged. */
export function adaptationCurves(learners: readonly EvalLearner[], protocol: Partial<EvalProtocol> = {}): pl.DataFrame {
  const set = heldOutSet(protocol);
  try {
    return curvesFrame(learners.flatMap((l) => learnerCurves(l, set, protocol)));
  } finally {
    disposeHeldOut(set);
  }
}

/** Rows to a typed DataFrame (K and step as integers). */
export function curvesFrame(rows: readonly CurveRow[]): pl.DataFrame {
  return pl.DataFrame([
    pl.Series("learner", rows.map((r) => r.learner), pl.Utf8),
    pl.Series("K", rows.map((r) => r.K), pl.Int32),
    pl.Series("step", rows.map((r) => r.step), pl.Int32),
    pl.Series("mse", rows.map((r) => r.mse), pl.Float64),
    pl.Series("median", rows.map((r) => r.median), pl.Float64),
    pl.Series("sem", rows.map((r) => r.sem), pl.Float64),
    pl.Series("max", rows.map((r) => r.max), pl.Float64),
    pl.Series("trimmed", rows.map((r) => r.trimmed), pl.Float64),
    pl.Series("diverged", rows.map((r) => r.diverged), pl.Int32),
  ]);
}

/** Writes a DataFrame as CSV, creating the folder if needed. */
export function writeCsv(df: pl.DataFrame, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  df.writeCSV(file);
}
