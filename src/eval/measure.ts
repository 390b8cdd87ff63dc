/**
 * Cost of one meta-step of a learner: wall time (median over repeated steps) and TensorFlow.js memory
 * (`tf.profile`: peak bytes held during the step and tensors allocated). For notebooks comparing learners.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import { disposeBatch, type BatchSpec, type TaskFamily } from "../tasks/task-family";
import type { SteppingLearner } from "../learners/learner";

/** Options of `measureStep`. */
export interface MeasureStepOptions {
  readonly spec: BatchSpec;
  /** Untimed steps first (JIT, wasm warm-up); default 3. */
  readonly warmup?: number;
  /** Timed steps; the median is reported (default 20). */
  readonly repeats?: number;
  /** Clock in ms (default performance.now). */
  readonly now?: () => number;
}

/** What one meta-step costs. */
export interface StepCost {
  /** Median wall time of one step in ms (machine-dependent: never compare across runs). */
  readonly msPerStep: number;
  /** Peak tensor memory during one profiled step, in bytes above what was live before it. */
  readonly peakBytes: number;
  /** Kernel outputs during one profiled step (tensors allocated, including intermediates that were freed). */
  readonly tensorsAllocated: number;
}

/** Measures time and tensor memory of `learner.step` on batches from `family` (the learner trains while measured). */
export async function measureStep(learner: SteppingLearner, family: TaskFamily, rng: Rng, o: MeasureStepOptions): Promise<StepCost> {
  const warmup = o.warmup ?? 3;
  const repeats = o.repeats ?? 20;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`measureStep: repeats must be a positive integer, got ${repeats}.`);
  const now = o.now ?? (() => performance.now());
  const times: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const batch = family.sample(rng, o.spec);
    try {
      const t0 = now();
      learner.step(batch);
      if (i >= warmup) times.push(now() - t0);
    } finally {
      disposeBatch(batch);
    }
  }
  const batch = family.sample(rng, o.spec);
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    const before = tf.memory().numBytes;
    info = await tf.profile(() => {
      learner.step(batch);
    });
    const sorted = [...times].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return { msPerStep: median, peakBytes: Math.max(0, info.peakBytes - before), tensorsAllocated: info.kernels.reduce((n: number, k: { outputShapes: unknown[] }) => n + k.outputShapes.length, 0) };
  } finally {
    disposeBatch(batch);
  }
}
