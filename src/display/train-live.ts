/**
 * Meta-training with a live display: the learners' own loop (`trainLoopAsync`: one fresh meta-batch per step from
 * `family.sample(rng, spec)`, so a seed gives the same run either way), awaiting the display between steps so the
 * progress bar and loss chart update while training runs in a notebook.
 */
import { isInterrupt } from "../core/interrupt";
import type { Rng } from "../core/random";
import type { SteppingLearner } from "../learners/learner";
import { trainLoopAsync } from "../learners/train";
import type { BatchSpec, TaskFamily } from "../tasks/task-family";
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

/**
 * Trains `learner` for `iterations` steps with a live progress bar and loss chart; returns the per-step losses.
 * On Kernel > Interrupt it stops before the next step, draws the bar and chart where training stopped, and throws
 * an `InterruptedError` saying how far it got (the learner keeps its last completed step).
 */
export async function trainLive(learner: SteppingLearner, family: TaskFamily, rng: Rng, options: TrainLiveOptions): Promise<Float32Array> {
  const n = options.iterations;
  if (!Number.isInteger(n) || n < 0) throw new Error(`trainLive: iterations must be a non-negative integer, got ${n}.`);
  const metric = options.metric ?? "meta-loss";
  const live = liveTraining(n, { yTitle: metric, ...options }); // the y axis is named after the metric unless told otherwise
  let losses: Float32Array;
  try {
    losses = await trainLoopAsync(family, rng, { ...options, label: options.label ?? options.title ?? "training" }, (b) => learner.step(b), (i, loss) => live.update(i, { [metric]: loss }));
  } catch (e) {
    if (isInterrupt(e)) await live.finish({ stopped: "interrupted" }).catch(() => undefined);
    throw e;
  }
  await live.finish();
  return losses;
}
