/**
 * The outer training loop shared by every learner: sample a meta-batch, take a step, report progress.
 */
import type { Rng } from "../core/random";
import { disposeBatch, type BatchSpec, type TaskBatch, type TaskFamily } from "../tasks/task-family";

/** Progress callback: outer step (1-based), total steps, and that step's loss. */
export type OnProgress = (step: number, total: number, loss: number) => void;

/** Options of a training run. */
export interface TrainOptions {
  /** Outer steps to take. */
  readonly iterations: number;
  /** Meta-batch shape; Finn et al.'s sines use 25 tasks, 10 support and 10 query points. */
  readonly spec: BatchSpec;
  /** Called after every `progressEvery` steps and after the last one. */
  readonly onProgress?: OnProgress;
  /** How often to call `onProgress`; 1 by default (the callback decides how often to redraw). */
  readonly progressEvery?: number;
}

/** Finn et al.'s (2017) sine meta-batch: 25 tasks, K = 10 support and 10 query points. */
export const FINN_SINE_BATCH: BatchSpec = { tasks: 25, shots: 10, queries: 10 };

/** Runs `iterations` steps of `step` on fresh meta-batches from `family`; returns the per-step losses. */
export function trainLoop(family: TaskFamily, rng: Rng, options: TrainOptions, step: (batch: TaskBatch) => number): Float32Array {
  const n = options.iterations;
  if (!Number.isInteger(n) || n < 0) throw new Error(`iterations must be a non-negative integer, got ${n}.`);
  const every = options.progressEvery ?? 1;
  const losses = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const batch = family.sample(rng, options.spec);
    try {
      losses[i] = step(batch);
    } finally {
      disposeBatch(batch);
    }
    if (options.onProgress && ((i + 1) % every === 0 || i + 1 === n)) options.onProgress(i + 1, n, losses[i]!);
  }
  return losses;
}
