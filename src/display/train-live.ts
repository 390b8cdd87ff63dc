/**
 * Meta-training with a live display: the same loop as the learners' `train` (one fresh meta-batch per step from
 * `family.sample(rng, spec)`, so a seed gives the same run either way), but it awaits the display between steps
 * so the progress bar and loss chart update while training runs in a notebook.
 */
import type { Rng } from "../core/random";
import type { SteppingLearner } from "../learners/learner";
import { disposeBatch, type BatchSpec, type TaskBatch, type TaskFamily } from "../tasks/task-family";
import { liveTraining, type LiveTrainingOptions } from "./live";

/** Options of `trainLive`. */
export interface TrainLiveOptions extends LiveTrainingOptions {
  /** Outer steps to take. */
  readonly iterations: number;
  /** Meta-batch shape (e.g. FINN_SINE_BATCH). */
  readonly spec: BatchSpec;
  /** Name of the loss in the chart and bar (default "meta-loss"). */
  readonly metric?: string;
}

/** Trains `learner` for `iterations` steps with a live progress bar and loss chart; returns the per-step losses. */
export async function trainLive(learner: SteppingLearner, family: TaskFamily, rng: Rng, options: TrainLiveOptions): Promise<Float32Array> {
  const n = options.iterations;
  if (!Number.isInteger(n) || n < 0) throw new Error(`trainLive: iterations must be a non-negative integer, got ${n}.`);
  const metric = options.metric ?? "meta-loss";
  const live = liveTraining(n, options);
  const losses = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const batch = family.sample(rng, options.spec);
    try {
      losses[i] = learner.step(batch);
    } finally {
      disposeBatch(batch);
    }
    await live.update(i, { [metric]: losses[i]! });
  }
  await live.finish();
  return losses;
}
