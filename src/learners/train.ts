/**
 * The one training loop: run a step function `total` times, record each step's loss, report progress, and stop at
 * the next step boundary when the kernel is interrupted (Kernel > Interrupt). Every learner's `train`, `trainLive`,
 * the transfer experiment's pretraining and the forgetting experiment's phases run through it.
 */
import { loopGuard, type LoopGuard } from "../core/interrupt";
import type { Rng } from "../core/random";
import { checkConfig, checkInteger, checkString } from "../core/validate";
import { disposeBatch, type BatchSpec, type TaskBatch, type TaskFamily } from "../tasks/task-family";

/** Progress callback: outer step (1-based), total steps, and that step's loss. */
export type OnProgress = (step: number, total: number, loss: number) => void;

/** Options of any training loop. */
export interface LoopOptions {
  /** What the loop does, in progress and interrupt messages (default "training"). */
  readonly label?: string;
  /** Called after every `progressEvery` steps and after the last one. */
  readonly onProgress?: OnProgress;
  /** How often to call `onProgress`; 1 by default (the callback decides how often to redraw). */
  readonly progressEvery?: number;
}

/** Options of a meta-training run. */
export interface TrainOptions extends LoopOptions {
  /** Outer steps to take. */
  readonly iterations: number;
  /** Meta-batch shape; Finn et al.'s sines use 25 tasks, 10 support and 10 query points. */
  readonly spec: BatchSpec;
}

/** The keys of `LoopOptions` (all optional): any other key is a typo and an error. */
export const LOOP_OPTION_KEYS: { readonly [K in keyof LoopOptions]-?: true } = { label: true, onProgress: true, progressEvery: true };

/** The keys of `TrainOptions`: `iterations` and `spec` are required, the loop's are optional. */
export const TRAIN_OPTION_KEYS: { readonly [K in keyof TrainOptions]-?: true } = { ...LOOP_OPTION_KEYS, iterations: true, spec: true };

/** Checks a loop's options field by field (unknown keys are errors); returns them unchanged. */
export function loopOptions(options: LoopOptions, who = "training loop", known: object = LOOP_OPTION_KEYS): LoopOptions {
  checkConfig(who, options, known, { hint: "Pass e.g. { label: \"training\", onProgress: (step, total, loss) => ... }.", keysWho: `${who} options` });
  if (options.label !== undefined) checkString(who, "label", options.label, "Name what the loop does, e.g. \"meta-training\".");
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new Error(`${who} onProgress must be a function (step, total, loss) => void, got ${String(options.onProgress)}. Leave it out for no callback.`);
  if (options.progressEvery !== undefined) checkInteger(who, "progressEvery", options.progressEvery, 1, "Use 1 to report every step (the callback decides how often to redraw).");
  return options;
}

/** Checks a training run's options field by field (unknown keys are errors); returns them unchanged. */
export function trainOptions(options: TrainOptions, who = "train"): TrainOptions {
  loopOptions(options, who, TRAIN_OPTION_KEYS);
  checkIterations(options.iterations, who);
  if (typeof options.spec !== "object" || options.spec === null) throw new Error(`${who} spec must be a meta-batch shape { tasks, shots, queries }, got ${String(options.spec)}. Example: FINN_SINE_BATCH.`);
  return options;
}

/** Only the loop's own fields of `options` (a `TrainOptions` carries `iterations` and `spec` too). */
function loopFields(options: LoopOptions): LoopOptions {
  const { label, onProgress, progressEvery } = options;
  return { ...(label !== undefined && { label }), ...(onProgress !== undefined && { onProgress }), ...(progressEvery !== undefined && { progressEvery }) };
}

/** Finn et al.'s (2017) sine meta-batch: 25 tasks, K = 10 support and 10 query points. */
export const FINN_SINE_BATCH: BatchSpec = { tasks: 25, shots: 10, queries: 10 };

/** What an interrupted loop tells the user about the state it leaves. */
const KEPT = "Every completed step is kept: the learner holds the state after its last completed step and can train on from there.";

/** Bookkeeping shared by the synchronous and asynchronous loops. */
class StepRun {
  readonly losses: Float32Array;
  private readonly guard: LoopGuard;
  private readonly every: number;

  constructor(readonly total: number, private readonly options: LoopOptions) {
    loopOptions(options, typeof options?.label === "string" && options.label ? options.label : "training");
    if (!Number.isInteger(total) || total < 0) throw new Error(`${options.label ?? "training"}: the number of steps must be a non-negative integer, got ${total}.`);
    this.every = options.progressEvery ?? 1;
    this.losses = new Float32Array(total);
    this.guard = loopGuard(options.label ?? "training", total, { note: KEPT });
  }

  /** Stops here (throws InterruptedError) if the kernel was interrupted; `i` steps are done. */
  before(i: number): void {
    this.guard.check(i);
  }

  after(i: number, loss: number): void {
    this.losses[i] = loss;
    if (this.options.onProgress && ((i + 1) % this.every === 0 || i + 1 === this.total)) this.options.onProgress(i + 1, this.total, this.losses[i]!);
  }

  end(): void {
    this.guard.end();
  }
}

/**
 * Runs `step(i)` for i = 0 .. total - 1 and returns the per-step losses. On an interrupt it throws an
 * `InterruptedError` before the next step, so the state `step` updates always holds a completed step.
 */
export function runSteps(total: number, step: (i: number) => number, options: LoopOptions = {}): Float32Array {
  const run = new StepRun(total, options);
  try {
    for (let i = 0; i < total; i++) {
      run.before(i);
      run.after(i, step(i));
    }
  } finally {
    run.end();
  }
  return run.losses;
}

/** `runSteps` that awaits `between(i, loss)` after each step (a live display, a yield to the event loop). */
export async function runStepsAsync(
  total: number,
  step: (i: number) => number,
  between: (i: number, loss: number) => Promise<void>,
  options: LoopOptions = {},
): Promise<Float32Array> {
  const run = new StepRun(total, options);
  try {
    for (let i = 0; i < total; i++) {
      run.before(i);
      const loss = step(i);
      run.after(i, loss);
      await between(i, loss);
    }
  } finally {
    run.end();
  }
  return run.losses;
}

function checkIterations(n: number, who: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${who}: iterations must be a non-negative integer, got ${n}. Example: { iterations: 1000, spec: FINN_SINE_BATCH }.`);
}

/** A step on a fresh meta-batch from `family` (disposed after the step): the same batches for a seed in every loop. */
function onFreshBatch(family: TaskFamily, rng: Rng, spec: BatchSpec, step: (batch: TaskBatch) => number): () => number {
  return () => {
    const batch = family.sample(rng, spec);
    try {
      return step(batch);
    } finally {
      disposeBatch(batch);
    }
  };
}

/** Runs `iterations` steps of `step` on fresh meta-batches from `family`; returns the per-step losses. */
export function trainLoop(family: TaskFamily, rng: Rng, options: TrainOptions, step: (batch: TaskBatch) => number): Float32Array {
  trainOptions(options);
  return runSteps(options.iterations, onFreshBatch(family, rng, options.spec, step), loopFields(options));
}

/** `trainLoop` that awaits `between(i, loss)` after each step; used by `trainLive`. */
export function trainLoopAsync(
  family: TaskFamily,
  rng: Rng,
  options: TrainOptions,
  step: (batch: TaskBatch) => number,
  between: (i: number, loss: number) => Promise<void>,
): Promise<Float32Array> {
  trainOptions(options);
  return runStepsAsync(options.iterations, onFreshBatch(family, rng, options.spec, step), between, loopFields(options));
}
