/**
 * Cost of one meta-step of a learner: wall time (median over repeated steps) and TensorFlow.js memory
 * (`tf.profile`: peak bytes held during the step and tensors allocated). For notebooks comparing learners.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import { checkConfig, checkFunction, checkInteger } from "../core/validate";
import { batchSpec, disposeBatch, type BatchSpec, type TaskFamily } from "../tasks/task-family";
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

/** The keys of `MeasureStepOptions`, each with why it defaults as it does (`spec` is required). */
export const MEASURE_STEP_OPTION_KEYS: { readonly [K in keyof MeasureStepOptions]-?: true } = {
  spec: true, // Required: the batch shape sets the cost.
  warmup: true, // 3: the first steps compile kernels (wasm, WebGL) and would inflate the median.
  repeats: true, // 20: enough for a stable median in a few seconds.
  now: true, // performance.now: sub-millisecond and monotonic.
};

/** Checks `measureStep`'s options: unknown keys, `spec` (strict), `warmup` an integer >= 0, `repeats` a positive integer, `now` a function. Returns them unchanged. */
export function measureStepOptions(o: MeasureStepOptions): MeasureStepOptions {
  const WHO = "measureStep";
  checkConfig(WHO, o, MEASURE_STEP_OPTION_KEYS, { hint: "Pass e.g. { spec: { tasks: 4, shots: 5, queries: 15 } }.", keysWho: `${WHO} options` });
  batchSpec(o.spec, `${WHO}.spec`, true);
  if (o.warmup !== undefined) checkInteger(WHO, "warmup", o.warmup, 0, "Untimed steps first, e.g. 3; 0 times from the first step.");
  if (o.repeats !== undefined && (!Number.isInteger(o.repeats) || o.repeats < 1)) throw new Error(`measureStep: repeats must be a positive integer, got ${o.repeats}. Timed steps, e.g. 20.`);
  if (o.now !== undefined) checkFunction(WHO, "now", o.now, "Pass a clock in ms (e.g. () => performance.now()), or leave it out.");
  return o;
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
  measureStepOptions(o);
  const warmup = o.warmup ?? 3;
  const repeats = o.repeats ?? 20;
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
