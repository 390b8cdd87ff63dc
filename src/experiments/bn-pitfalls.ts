/**
 * The BatchNorm-in-meta-learning experiment behind notebook 04: meta-train BN-MAML variants on blob tasks (with and
 * without a per-task input shift), then score the same adapted models under every BN evaluation mode.
 */
import { loopGuard } from "../core/interrupt";
import { checkBoolean, checkInteger, checkKnownKeys, checkNonNegative, checkOneOf } from "../core/validate";
import type { Rng } from "../core/random";
import { DEFAULT_BN_MLP, type BnMlpConfig } from "../models/batchnorm";
import { BlobClassification, DEFAULT_BLOBS, type BlobClassificationConfig } from "../tasks/classification";
import { disposeBatch, type BatchSpec } from "../tasks/task-family";
import { bnMamlEvaluate, bnMamlOptions, bnMamlStep, disposeBnMaml, initBnMaml, DEFAULT_BN_MAML, type BnEvalMode, type BnMamlOptions, type BnMamlState } from "../learners/bn-maml";
import { trainLoop } from "../learners/train";

/** Called after each meta-training step of each variant. */
export type BnProgress = (done: number, total: number, info: { variant: string; loss: number }) => void;

/** A BN-MAML variant: a name, the family's task shift and whether statistics/affine parameters are per inner step. */
export interface BnVariant {
  readonly name: string;
  /** Standard deviation of the per-task input offset (0: all tasks share one input distribution). */
  readonly taskShiftStd: number;
  /** MAML++ BNRS + BNWB: a statistics set and gamma/beta per inner step (and one for the query pass). */
  readonly perStep: boolean;
}

/** Settings of the whole experiment. */
export interface BnPitfallsConfig {
  readonly family: BlobClassificationConfig;
  readonly model: BnMlpConfig;
  readonly maml: BnMamlOptions;
  readonly variants: readonly BnVariant[];
  /** Meta-training steps per variant. */
  readonly steps: number;
  /** Meta-batch during training; shots and queries are per class. */
  readonly train: BatchSpec;
  /** Held-out tasks for evaluation. */
  readonly test: BatchSpec;
  /** Evaluation modes to score. */
  readonly modes: readonly BnEvalMode[];
}

/** Default experiment: 5-way 1-shot, no shift vs shift 2, shared vs per-step statistics. */
export const DEFAULT_BN_PITFALLS: BnPitfallsConfig = {
  family: DEFAULT_BLOBS, // 5-way blobs in 8 dimensions
  model: DEFAULT_BN_MLP, // 8-32-32-5 ReLU with BN
  maml: { ...DEFAULT_BN_MAML, innerSteps: 2 }, // two inner steps so per-step statistics have something to separate
  variants: [
    { name: "shared stats, no shift", taskShiftStd: 0, perStep: false },
    { name: "shared stats, task shift", taskShiftStd: 2, perStep: false },
    { name: "per-step stats, no shift", taskShiftStd: 0, perStep: true },
    { name: "per-step stats, task shift", taskShiftStd: 2, perStep: true },
  ],
  steps: 500, // keeps the notebook within minutes (4 variants x 1,000 steps took 194 s on a loaded 2-core machine)
  train: { tasks: 8, shots: 1, queries: 5 }, // 5-way 1-shot, 25 query points per task
  test: { tasks: 200, shots: 1, queries: 5 }, // 200 tasks: accuracy standard error about 1%
  modes: ["transductive", "per-example", "support", "support-plus-one", "running"],
};

const BN_EVAL_MODES: readonly BnEvalMode[] = ["transductive", "per-example", "support", "support-plus-one", "running"];

/** The experiment's config with defaults filled in; throws a fix-it error for a bad or unknown setting. */
export function bnPitfallsConfig(config: Partial<BnPitfallsConfig> = {}): BnPitfallsConfig {
  checkKnownKeys("BnPitfalls config", config, DEFAULT_BN_PITFALLS);
  const WHO = "BnPitfalls";
  const c: BnPitfallsConfig = { ...DEFAULT_BN_PITFALLS, ...config, maml: bnMamlOptions(config.maml ?? DEFAULT_BN_PITFALLS.maml) };
  checkInteger(WHO, "steps", c.steps);
  for (const which of ["train", "test"] as const) {
    checkKnownKeys(`BnPitfalls ${which}`, c[which], DEFAULT_BN_PITFALLS[which]);
    for (const k of ["tasks", "shots", "queries"] as const) checkInteger(WHO, `${which}.${k}`, c[which][k]);
  }
  if (c.modes.length === 0) throw new Error(`BnPitfalls modes is empty; give at least one of ${BN_EVAL_MODES.join(", ")}.`);
  c.modes.forEach((m, i) => checkOneOf(WHO, `modes[${i}]`, m, BN_EVAL_MODES));
  if (c.variants.length === 0) throw new Error("BnPitfalls variants is empty; give at least one { name, taskShiftStd, perStep }.");
  const names = new Set<string>();
  c.variants.forEach((v, i) => {
    if (typeof v.name !== "string" || v.name === "" || names.has(v.name)) {
      throw new Error(`BnPitfalls variants[${i}].name must be a non-empty name no other variant uses, got ${JSON.stringify(v.name)}.`);
    }
    names.add(v.name);
    checkNonNegative(WHO, `variants[${i}].taskShiftStd`, v.taskShiftStd, "Use 0 for no per-task shift.");
    checkBoolean(WHO, `variants[${i}].perStep`, v.perStep);
  });
  return c;
}

/** One training-curve point. */
export interface BnTrainRow {
  readonly variant: string;
  readonly step: number;
  readonly loss: number;
}

/** One evaluation: a variant scored under one BN mode. */
export interface BnEvalRow {
  readonly variant: string;
  readonly taskShiftStd: number;
  readonly perStep: boolean;
  readonly mode: BnEvalMode;
  readonly accuracy: number;
  readonly loss: number;
}

/** Model config of a variant. */
function variantModel(base: BnMlpConfig, innerSteps: number, v: BnVariant): BnMlpConfig {
  return v.perStep ? { ...base, statSets: innerSteps + 1, perStepAffine: true } : { ...base, statSets: 1, perStepAffine: false };
}

/** Meta-trains one variant and returns its state (caller disposes with disposeBnMaml) and its loss curve. */
function trainBnVariant(c: BnPitfallsConfig, v: BnVariant, rng: Rng, onStep?: (step: number, loss: number) => void): { state: BnMamlState; curve: BnTrainRow[] } {
  const family = new BlobClassification({ ...c.family, taskShiftStd: v.taskShiftStd });
  const model = variantModel(c.model, c.maml.innerSteps, v);
  let state = initBnMaml(rng.fork("init"), model);
  const onProgress = onStep && ((s: number, _total: number, loss: number) => onStep(s, loss));
  let losses: Float32Array;
  try {
    losses = trainLoop(family, rng.fork("train-tasks"), { iterations: c.steps, spec: c.train, onProgress, label: `meta-training ${v.name}` }, (b) => {
      const r = bnMamlStep(state, b, model, c.maml);
      state = r.state;
      return r.loss;
    });
  } catch (e) {
    disposeBnMaml(state); // interrupted: the caller gets no state back
    throw e;
  }
  const curve: BnTrainRow[] = Array.from(losses, (loss, i) => ({ variant: v.name, step: i + 1, loss }));
  return { state, curve };
}

/** Scores a trained variant on held-out tasks under each mode (the same tasks for every mode). */
function evaluateBnVariant(c: BnPitfallsConfig, v: BnVariant, state: BnMamlState, rng: Rng): BnEvalRow[] {
  const family = new BlobClassification({ ...c.family, taskShiftStd: v.taskShiftStd });
  const model = variantModel(c.model, c.maml.innerSteps, v);
  const test = family.sample(rng.fork("test-tasks"), c.test);
  const rows = c.modes.map((mode) => {
    const r = bnMamlEvaluate(state, test, model, mode, c.maml);
    return { variant: v.name, taskShiftStd: v.taskShiftStd, perStep: v.perStep, mode, accuracy: r.accuracy, loss: r.loss };
  });
  disposeBatch(test);
  return rows;
}

/** Trains and evaluates every variant; the same `rng` gives every variant the same initial weights and tasks. */
export function runBnPitfalls(config: Partial<BnPitfallsConfig>, rng: Rng, onProgress?: BnProgress): { curves: BnTrainRow[]; results: BnEvalRow[] } {
  const c = bnPitfallsConfig(config);
  const total = c.steps * c.variants.length;
  const curves: BnTrainRow[] = [];
  const results: BnEvalRow[] = [];
  const guard = loopGuard("BatchNorm variants", c.variants.length, { unit: "variants" });
  try {
    c.variants.forEach((v, i) => {
      guard.check(i);
      const { state, curve } = trainBnVariant(c, v, rng, (s, loss) => onProgress?.(i * c.steps + s, total, { variant: v.name, loss }));
      curves.push(...curve);
      results.push(...evaluateBnVariant(c, v, state, rng));
      disposeBnMaml(state);
    });
  } finally {
    guard.end();
  }
  return { curves, results };
}

/** One row per variant with one accuracy column per evaluation mode (a compact table for the notebook). */
export function pivotBnResults(results: readonly BnEvalRow[], field: "accuracy" | "loss" = "accuracy"): Record<string, string | number>[] {
  const byVariant = new Map<string, Record<string, string | number>>();
  for (const r of results) {
    const row = byVariant.get(r.variant) ?? { variant: r.variant };
    row[r.mode] = r[field];
    byVariant.set(r.variant, row);
  }
  return [...byVariant.values()];
}

/** Accuracy of `variant` under `mode`; throws if that pair was not run. */
export function bnAccuracy(results: readonly BnEvalRow[], variant: string, mode: BnEvalMode): number {
  const r = results.find((x) => x.variant === variant && x.mode === mode);
  if (!r) throw new Error(`No result for variant "${variant}" and mode "${mode}"; variants run: ${[...new Set(results.map((x) => x.variant))].join(", ")}.`);
  return r.accuracy;
}
