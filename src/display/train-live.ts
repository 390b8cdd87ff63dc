/**
 * Meta-training with a live display: the learners' own loop (`trainLoopAsync`: one fresh meta-batch per step from
 * `family.sample(rng, spec)`, so a seed gives the same run either way), awaiting the display between steps so the
 * progress bar and loss chart update while training runs in a notebook.
 */
import { isInterrupt } from "../core/interrupt";
import type { Rng } from "../core/random";
import type { SteppingLearner } from "../learners/learner";
import { trainLoopAsync } from "../learners/train";
import { checkConfig } from "../core/validate";
import type { BatchSpec, TaskFamily } from "../tasks/task-family";
import { checkLiveTrainingFields, LIVE_TRAINING_KEYS, liveTraining, type LiveTrainingOptions } from "./live";

/** Options of `trainLive`. */
export interface TrainLiveOptions extends LiveTrainingOptions {
  /** Outer steps to take. */
  readonly iterations: number;
  /** Meta-batch shape (e.g. FINN_SINE_BATCH). */
  readonly spec: BatchSpec;
  /** Name of the loss in the chart and bar (default "meta-loss"). */
  readonly metric?: string;
}

/** The keys of `TrainLiveOptions`: `iterations` and `spec` are required, the display's are optional. */
export const TRAIN_LIVE_KEYS: { readonly [K in keyof TrainLiveOptions]-?: true } = { ...LIVE_TRAINING_KEYS, iterations: true, spec: true, metric: true };

/** Checks `trainLive`'s options field by field (unknown keys are errors); returns them unchanged. */
export function trainLiveOptions(o: TrainLiveOptions): TrainLiveOptions {
  const WHO = "trainLive";
  checkConfig(WHO, o, TRAIN_LIVE_KEYS, { hint: "Pass { iterations, spec }, e.g. { iterations: 1000, spec: FINN_SINE_BATCH }.", keysWho: `${WHO} options` });
  if (!Number.isInteger(o.iterations) || o.iterations < 0) throw new Error(`trainLive: iterations must be a non-negative integer, got ${o.iterations}.`);
  if (o.metric !== undefined && (typeof o.metric !== "string" || o.metric === "")) throw new Error(`${WHO} metric must be a non-empty string (the loss's name in the chart), got ${String(o.metric)}.`);
  checkLiveTrainingFields(WHO, o);
  return o;
}

/**
 * Trains `learner` for `iterations` steps with a live progress bar and loss chart; returns the per-step losses.
 * On Kernel > Interrupt it stops before the next step, draws the bar and chart where training stopped, and throws
 * an `InterruptedError` saying how far it got (the learner keeps its last completed step).
 */
export async function trainLive(learner: SteppingLearner, family: TaskFamily, rng: Rng, options: TrainLiveOptions): Promise<Float32Array> {
  trainLiveOptions(options);
  const { iterations: n, spec, metric = "meta-loss", ...display } = options;
  const live = liveTraining(n, { yTitle: metric, ...display }); // the y axis is named after the metric unless told otherwise
  const label = options.label ?? options.title ?? "training";
  let losses: Float32Array;
  try {
    losses = await trainLoopAsync(family, rng, { iterations: n, spec, label }, (b) => learner.step(b), (i, loss) => live.update(i, { [metric]: loss }));
  } catch (e) {
    if (isInterrupt(e)) await live.finish({ stopped: "interrupted" }).catch(() => undefined);
    throw e;
  }
  await live.finish();
  return losses;
}
