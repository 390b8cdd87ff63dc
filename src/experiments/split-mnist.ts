/**
 * Split-MNIST (Zenke et al. 2017) in the three scenarios of van de Ven & Tolias (2019, "Three scenarios for continual
 * learning"; van de Ven, Tuytelaars & Tolias 2022): five tasks of two digits, (0,1), (2,3), ..., (8,9), learned one
 * after the other by an MLP, with the remedies fine-tuning (none), joint training, replay, replay with the old heads
 * kept training, LwF and EWC.
 *
 * - task-incremental: the task is given; a head of two outputs per task on a shared body.
 * - domain-incremental: the task is not given; one two-way head ("first or second digit of its pair", digit mod 2).
 * - class-incremental: the task must be inferred; one ten-way head over the digits seen so far.
 *
 * The output layer is stored as one block per task (`head<t>_w` [hidden, 2], `head<t>_b` [2]); task- and
 * class-incremental logits are their concatenation (ten outputs), domain-incremental uses `head0_*` only.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { loopGuard } from "../core/interrupt";
import type { Rng } from "../core/random";
import { initMlp, mlpApply, mlpParamNames, type MlpConfig } from "../models/mlp";
import { perTaskAccuracy, perTaskCrossEntropy } from "../models/losses";
import { logSoftmax } from "../autodiff/activations";
import { trainPhase } from "./continual";
import { distillationLoss } from "../learners/distill";
import { disposeAnchor, ewcPenalty, fisherDiagonal, mergeAnchors, type EwcAnchor } from "../learners/ewc";
import { replayBatch } from "../learners/replay";
import { checkConfig, checkInteger, checkIntegerList, checkNonNegative, checkOneOf, checkPositive, checkRange, withDefaults } from "../core/validate";
import { MNIST_PIXELS, type MnistSet, type MnistSplit } from "../data/mnist";
import { headFastPathReason, HeadTrainer, type HeadLoss, type HeadNetSpec, type HeadPick, type HeadTerm, type PackedEwc } from "../learners/head-train";

/** The five tasks of Split-MNIST, in training order. */
export const SPLIT_MNIST_TASKS: readonly (readonly [number, number])[] = [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]];

/** What the learner is told at test time (van de Ven & Tolias 2019, Table 1). */
export type Scenario = "task" | "domain" | "class";
export const SCENARIOS: readonly Scenario[] = ["task", "domain", "class"];

/**
 * - "none": fine-tuning on each task in turn, nothing against forgetting (lower bound).
 * - "joint": all five tasks at once for the same total number of steps (upper bound).
 * - "replay": `replayFraction` of every minibatch drawn from the stored training data of earlier tasks;
 *   earlier tasks' heads are frozen (only the body and the current head move).
 * - "replay-heads": the same replay, and earlier tasks' heads keep training on the replayed examples.
 * - "lwf": Learning without Forgetting (Li & Hoiem 2016): current inputs, the earlier heads distilled towards a frozen
 *   copy of the model from before the task; current and distillation losses weighted 1/t and 1 − 1/t (van de Ven & Tolias).
 * - "ewc": Elastic Weight Consolidation (Kirkpatrick et al. 2017), one penalty per earlier task.
 */
export type ContinualMethod = "none" | "joint" | "replay" | "replay-heads" | "lwf" | "ewc";
export const CONTINUAL_METHODS: readonly ContinualMethod[] = ["none", "joint", "replay", "replay-heads", "lwf", "ewc"];

/** Settings of one Split-MNIST run. */
export interface SplitMnistConfig {
  readonly scenario: Scenario;
  readonly method: ContinualMethod;
  /** Hidden widths of the ReLU MLP (van de Ven & Tolias use [400, 400]). */
  readonly hidden: readonly number[];
  /** Adam steps on each task ("joint" takes 5 × this many on all tasks). */
  readonly stepsPerTask: number;
  readonly batchSize: number;
  /** Adam step size. */
  readonly lr: number;
  /** Fraction of each minibatch replayed from earlier tasks ("replay", "replay-heads"). */
  readonly replayFraction: number;
  /** Softmax temperature of LwF's distillation. */
  readonly lwfTemperature: number;
  /** EWC's λ. */
  readonly ewcLambda: number;
  /** Training examples of a task used to estimate its Fisher information. */
  readonly fisherSamples: number;
  /** Label in the Fisher's log-likelihood: the model's own prediction, or the true label (empirical Fisher). */
  readonly fisherLabels: "predicted" | "true";
  /** Evaluate every task's test accuracy every this many steps. */
  readonly evalEvery: number;
  /** "auto" (the default) trains on the packed fast path (learners/head-train.ts) when the MLP allows; "off" uses tfjs autodiff. */
  readonly fastPath?: "auto" | "off";
}

/** Defaults, each with its reason. */
export const DEFAULT_SPLIT_MNIST: SplitMnistConfig = {
  scenario: "task", // the easiest scenario: a head per task, as van de Ven & Tolias list it first
  method: "none", // plain fine-tuning, the lower bound every remedy is measured against
  hidden: [100, 100], // two hidden layers like van de Ven & Tolias, 4× narrower so a CPU runs the whole table in minutes
  stepsPerTask: 500, // ~40 passes over the ~1,600 training digits of a task at batch 128 (theirs: 2,000 steps over ~12,000)
  batchSize: 128, // van de Ven & Tolias
  lr: 0.001, // van de Ven & Tolias (Adam, β = 0.9, 0.999)
  replayFraction: 0.1, // the lecture's "mix in about 10%"
  lwfTemperature: 2, // Li & Hoiem; van de Ven & Tolias
  ewcLambda: 1e4, // best task-IL and within 0.01 of the best domain-IL over 1e2..1e7 on seed 99 (not a reported seed), 784-50 MLP, 80 steps per task
  fisherSamples: 500, // enough for a stable diagonal; van de Ven & Tolias use up to all of a task's data
  fisherLabels: "predicted", // as in van de Ven & Tolias's code: the label the model predicts
  evalEvery: 50, // ten points per task at 500 steps
};

/** Split-MNIST data as tensors, shared by every run on the same split. */
export interface SplitMnistData {
  /** [N, 784] training images of all five tasks. */
  readonly trainX: tf.Tensor2D;
  readonly trainDigits: Int32Array;
  /** Row indices into trainX of each task's training images. */
  readonly trainByTask: readonly (readonly number[])[];
  /** Each task's test images, [1, n_t, 784]. */
  readonly testX: readonly tf.Tensor3D[];
  readonly testDigits: readonly Int32Array[];
}

/** Options of `prepareSplitMnist`. */
export interface PrepareOptions {
  /** Keep at most this many training images per task (a seeded subset; quick mode). */
  readonly trainPerTask?: number;
  /** Keep at most this many test images per task. */
  readonly testPerTask?: number;
}

/** Every key `PrepareOptions` may have; both default to no cap (every image of the task). */
const PREPARE_KEYS: Record<keyof PrepareOptions, unknown> = { trainPerTask: undefined, testPerTask: undefined };

/** Checks `prepareSplitMnist`'s options (unknown keys are errors); returns them unchanged. */
export function prepareSplitMnistOptions(o: PrepareOptions): PrepareOptions {
  const WHO = "prepareSplitMnist";
  checkConfig(WHO, o, PREPARE_KEYS, { hint: "Pass {} for every image, or { trainPerTask: 400 }.", keysWho: `${WHO} options` });
  if (o.trainPerTask !== undefined) checkInteger(WHO, "trainPerTask", o.trainPerTask, 2, "Leave it out for every image of the task.");
  if (o.testPerTask !== undefined) checkInteger(WHO, "testPerTask", o.testPerTask, 2, "Leave it out for every image of the task.");
  return o;
}

/** Groups a split's images by task; `rng` draws the subsets when a cap is given. Dispose with `disposeSplitMnistData`. */
export function prepareSplitMnist(split: MnistSplit, rng: Rng, options: PrepareOptions = {}): SplitMnistData {
  prepareSplitMnistOptions(options);
  const pick = (set: MnistSet, cap: number | undefined, label: string): number[][] =>
    SPLIT_MNIST_TASKS.map((pair, t) => {
      const idx: number[] = [];
      for (let i = 0; i < set.size; i++) if (set.labels[i] === pair[0] || set.labels[i] === pair[1]) idx.push(i);
      if (idx.length === 0) throw new Error(`Split-MNIST task ${t + 1} (digits ${pair.join(", ")}) has no ${label} images; the split is empty for these digits.`);
      if (cap === undefined || cap >= idx.length) return idx;
      if (!Number.isInteger(cap) || cap < 2) throw new Error(`prepareSplitMnist: ${label}PerTask must be an integer >= 2, got ${cap}.`);
      const perm = rng.fork(`${label}/${t}`).permutation(idx.length);
      return perm.slice(0, cap).map((p) => idx[p]!).sort((a, b) => a - b);
    });
  const trainIdx = pick(split.train, options.trainPerTask, "train");
  const testIdx = pick(split.test, options.testPerTask, "test");
  const flat = trainIdx.flat();
  const trainImages = new Float32Array(flat.length * MNIST_PIXELS);
  const trainDigits = new Int32Array(flat.length);
  flat.forEach((j, i) => {
    trainImages.set(split.train.images.subarray(j * MNIST_PIXELS, (j + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    trainDigits[i] = split.train.labels[j]!;
  });
  let at = 0;
  const trainByTask = trainIdx.map((idx) => idx.map(() => at++));
  const testX: tf.Tensor3D[] = [];
  const testDigits: Int32Array[] = [];
  for (const idx of testIdx) {
    const img = new Float32Array(idx.length * MNIST_PIXELS);
    idx.forEach((j, i) => img.set(split.test.images.subarray(j * MNIST_PIXELS, (j + 1) * MNIST_PIXELS), i * MNIST_PIXELS));
    testX.push(tf.tensor3d(img, [1, idx.length, MNIST_PIXELS]));
    testDigits.push(Int32Array.from(idx, (j) => split.test.labels[j]!));
  }
  return { trainX: tf.tensor2d(trainImages, [flat.length, MNIST_PIXELS]), trainDigits, trainByTask, testX, testDigits };
}

/** Frees the tensors of `prepareSplitMnist`. */
export function disposeSplitMnistData(d: SplitMnistData): void {
  d.trainX.dispose();
  for (const t of d.testX) t.dispose();
}

/** Task (0-based) a digit belongs to. */
export function taskOfDigit(digit: number): number {
  return Math.floor(digit / 2);
}

/** Number of output units a scenario's network has. */
export function outputWidth(scenario: Scenario): number {
  return scenario === "domain" ? 2 : 10;
}

/** Head parameter names of task `t` under a scenario (domain-incremental: one head for all tasks). */
export function splitMnistHeadNames(scenario: Scenario, t: number): [weight: string, bias: string] {
  const h = scenario === "domain" ? 0 : t;
  return [`head${h}_w`, `head${h}_b`];
}

/** Number of head blocks a scenario's network has. */
function headCount(scenario: Scenario): number {
  return scenario === "domain" ? 1 : SPLIT_MNIST_TASKS.length;
}

/** Body and per-task heads; the heads are the columns of one Glorot-initialised output layer of the full width. */
export function initSplitMnistParams(rng: Rng, scenario: Scenario, hidden: readonly number[]): Params {
  const mlp: MlpConfig = { sizes: [MNIST_PIXELS, ...hidden, outputWidth(scenario)], activation: "relu" };
  const full = initMlp(rng, mlp);
  const [wOut, bOut] = mlpParamNames(mlp).slice(-2) as [string, string];
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(full)) if (k !== wOut && k !== bOut) out[k] = v;
  for (let h = 0; h < headCount(scenario); h++) {
    out[`head${h}_w`] = tf.slice(full[wOut]!, [0, 2 * h], [-1, 2]); // [hidden, 2]
    out[`head${h}_b`] = tf.slice(full[bOut]!, [2 * h], [2]);
  }
  full[wOut]!.dispose();
  full[bOut]!.dispose();
  return out;
}

/**
 * Logits of the output blocks `heads`, concatenated: x [a, n, 784] to [a, n, 2 · heads.length].
 * Params may be tiled ([a, ...], one copy per example group).
 */
export function headLogits(params: Params, x: tf.Tensor, hidden: readonly number[], heads: readonly number[]): tf.Tensor {
  const mlp: MlpConfig = { sizes: [MNIST_PIXELS, ...hidden, 2 * heads.length], activation: "relu" };
  const [wOut, bOut] = mlpParamNames(mlp).slice(-2) as [string, string];
  const need = (k: string): tf.Tensor => {
    const t = params[k];
    if (!t) throw new Error(`Split-MNIST parameter "${k}" is missing; build the parameters with initSplitMnistParams.`);
    return t;
  };
  const ws = heads.map((h) => need(`head${h}_w`));
  const bs = heads.map((h) => need(`head${h}_b`));
  const w = ws.length === 1 ? ws[0]! : tf.concat(ws, ws[0]!.rank - 1);
  const b = bs.length === 1 ? bs[0]! : tf.concat(bs, bs[0]!.rank - 1);
  return mlpApply({ ...params, [wOut]: w, [bOut]: b }, x, mlp);
}

/**
 * Logits a scenario scores for examples of `digits` (x [a, n, 784], digits of length a · n):
 * task-incremental uses each example's own head (the head mask: other heads get exactly zero gradient),
 * domain-incremental the one two-way head, class-incremental the first `active` classes (heads 0 .. active/2 − 1).
 */
export function scenarioLogits(params: Params, x: tf.Tensor, scenario: Scenario, hidden: readonly number[], digits: ArrayLike<number>, active: number): tf.Tensor {
  if (scenario === "domain") return headLogits(params, x, hidden, [0]);
  if (scenario === "class") {
    if (!(Number.isInteger(active / 2) && active >= 2 && active <= 10)) throw new Error(`scenarioLogits: active must be an even number of classes in 2..10, got ${active}.`);
    return headLogits(params, x, hidden, Array.from({ length: active / 2 }, (_, h) => h));
  }
  const tasks = Array.from(digits, taskOfDigit);
  const last = Math.max(...tasks);
  if (tasks.every((t) => t === last)) return headLogits(params, x, hidden, [last]); // one task: its head alone
  const [a, n] = x.shape as [number, number, number];
  const k = last + 1;
  const mask = new Float32Array(a * n * k);
  tasks.forEach((t, i) => (mask[i * k + t] = 1));
  const pairs = tf.reshape(headLogits(params, x, hidden, Array.from({ length: k }, (_, h) => h)), [a, n, k, 2]); // [a, n, head, 2]
  return tf.sum(tf.mul(pairs, tf.tensor4d(mask, [a, n, k, 1])), 2); // [a, n, 2]
}

/** One-hot targets [a, n, k] of `digits` under a scenario (task/domain: digit mod 2; class: the digit among `active`). */
export function scenarioTargets(digits: ArrayLike<number>, a: number, scenario: Scenario, active: number): tf.Tensor3D {
  const k = scenario === "class" ? active : 2;
  const n = digits.length / a;
  const y = new Float32Array(digits.length * k);
  for (let i = 0; i < digits.length; i++) {
    const c = scenario === "class" ? digits[i]! : digits[i]! % 2;
    if (c >= k) throw new Error(`scenarioTargets: digit ${digits[i]} is not among the ${active} active classes.`);
    y[i * k + c] = 1;
  }
  return tf.tensor3d(y, [a, n, k]);
}

/** One evaluation point: a task's test accuracy while training a given task. */
export interface SplitMnistRow {
  readonly scenario: Scenario;
  readonly method: ContinualMethod;
  /** Adam steps since the start. */
  readonly step: number;
  /** Task being trained (1..5; 0 for "joint", which trains on all). */
  readonly training: number;
  /** Task evaluated (1..5). */
  readonly task: number;
  readonly accuracy: number;
}

/** Average test accuracy over the tasks seen so far, at one evaluation point (the curves of van de Ven & Tolias). */
export interface SplitMnistCurvePoint {
  readonly scenario: Scenario;
  readonly method: ContinualMethod;
  readonly step: number;
  readonly seen: number;
  readonly averageAccuracy: number;
}

/** What a run ends with. */
export interface SplitMnistSummary {
  readonly scenario: Scenario;
  readonly method: ContinualMethod;
  /** Mean test accuracy over the five tasks after the last one: van de Ven & Tolias's metric. */
  readonly averageAccuracy: number;
  /** Test accuracy of each task after the last one. */
  readonly finalAccuracies: readonly number[];
  /** Mean over tasks 1..4 of (best accuracy after learning it − final accuracy) (Chaudhry et al. 2018); null for joint. */
  readonly forgetting: number | null;
  /** Accuracy of task j (column) after training task i (row), for j <= i; joint has one row. */
  readonly accuracyMatrix: readonly (readonly number[])[];
  /** Wall-clock training time (measured, not reproducible). */
  readonly trainMs: number;
}

/** Methods that are defined in a scenario: with one shared head (domain), "replay-heads" is "replay". */
export function methodsFor(scenario: Scenario, methods: readonly ContinualMethod[] = CONTINUAL_METHODS): ContinualMethod[] {
  return methods.filter((m) => !(scenario === "domain" && m === "replay-heads"));
}

/** Every key `SplitMnistConfig` may have (`fastPath` defaults to "auto"). */
const SPLIT_MNIST_KEYS: Record<keyof SplitMnistConfig, unknown> = { ...DEFAULT_SPLIT_MNIST, fastPath: "auto" };

/** Fills in the defaults and checks every field (unknown keys are errors). */
export function splitMnistConfig(config: Partial<SplitMnistConfig> = {}): SplitMnistConfig {
  const WHO = "SplitMnistConfig";
  const c: SplitMnistConfig = withDefaults(WHO, config, DEFAULT_SPLIT_MNIST, { name: "config", hint: "Pass {} for the defaults.", known: SPLIT_MNIST_KEYS });
  checkOneOf(WHO, "scenario", c.scenario, SCENARIOS);
  checkOneOf(WHO, "method", c.method, CONTINUAL_METHODS);
  if (c.scenario === "domain" && c.method === "replay-heads") throw new Error(`"replay-heads" is not defined in the domain-incremental scenario: its one head is shared by every task, so it is "replay". Use methodsFor(scenario).`);
  checkIntegerList(WHO, "hidden", c.hidden, 1, 1, "Give at least one hidden layer, e.g. [100, 100].");
  checkInteger(WHO, "stepsPerTask", c.stepsPerTask, 1);
  checkInteger(WHO, "batchSize", c.batchSize, 1);
  checkPositive(WHO, "lr", c.lr, "van de Ven & Tolias use 0.001.");
  checkRange(WHO, "replayFraction", c.replayFraction, 0, 1, { lo: true, hi: true }, "Use 0.1 for 10% of each batch.");
  if (Math.round(c.replayFraction * c.batchSize) < 1) throw new Error(`SplitMnistConfig: replayFraction ${c.replayFraction} of a batch of ${c.batchSize} replays no example; raise one of them.`);
  checkPositive(WHO, "lwfTemperature", c.lwfTemperature, "Li & Hoiem use 2.");
  checkNonNegative(WHO, "ewcLambda", c.ewcLambda, "0 switches the penalty off; the default is 1e4.");
  checkInteger(WHO, "fisherSamples", c.fisherSamples, 1);
  checkOneOf(WHO, "fisherLabels", c.fisherLabels, ["predicted", "true"] as const);
  checkInteger(WHO, "evalEvery", c.evalEvery, 1);
  if (c.fastPath !== undefined) checkOneOf(WHO, "fastPath", c.fastPath, ["auto", "off"] as const);
  return c;
}

/** Classes the output layer scores after task t (0-based): the digits seen so far (class-IL) or the head's width. */
function activeClassesAfter(scenario: Scenario, t: number): number {
  return scenario === "class" ? 2 * (t + 1) : outputWidth(scenario);
}

/**
 * What task t trains on, on either path: its training pool, the earlier tasks' pool (for replay), the active classes,
 * and the other heads before it (`oldHeads`) and after it (`future`), without its own head.
 */
function taskPlan(data: SplitMnistData, scenario: Scenario, t: number): { pool: readonly number[]; replayPool: number[]; active: number; oldHeads: Set<string>; future: Set<string> } {
  const T = SPLIT_MNIST_TASKS.length;
  const own = splitMnistHeadNames(scenario, t);
  const heads = (from: number, count: number): Set<string> =>
    new Set(Array.from({ length: count }, (_, s) => splitMnistHeadNames(scenario, from + s)).flat().filter((k) => !own.includes(k)));
  return { pool: data.trainByTask[t]!, replayPool: data.trainByTask.slice(0, t).flat(), active: activeClassesAfter(scenario, t), oldHeads: heads(0, t), future: heads(t + 1, T - t - 1) };
}

/** Progress of a run: steps done, total steps, and the task being trained (0 for joint). */
export type SplitMnistProgress = (done: number, total: number, training: number) => void;

/**
 * Trains one method in one scenario on the five tasks in turn and records every task's test accuracy along the way.
 * The same `rng` gives the same initial weights and the same first-task minibatches whatever the method, so runs
 * differ only by the remedy. `onTaskEnd(t, params)` sees the parameters after task t (0 for joint); they are
 * disposed later, so clone what you keep.
 */
export function runSplitMnist(
  data: SplitMnistData,
  config: Partial<SplitMnistConfig>,
  rng: Rng,
  onProgress?: SplitMnistProgress,
  onTaskEnd?: (task: number, params: Params) => void,
): { rows: SplitMnistRow[]; curve: SplitMnistCurvePoint[]; summary: SplitMnistSummary } {
  const c = splitMnistConfig(config);
  const T = SPLIT_MNIST_TASKS.length;
  const { scenario, method } = c;
  const t0 = Date.now();
  let params = initSplitMnistParams(rng.fork("init"), scenario, c.hidden);
  if (c.fastPath !== "off" && headFastPathReason(splitMnistNet(scenario, c.hidden), params) === null) return splitMnistOnFastPath(data, c, params, rng, t0, onProgress, onTaskEnd);
  const rows: SplitMnistRow[] = [];
  const curve: SplitMnistCurvePoint[] = [];
  const matrix: number[][] = [];
  const activeAfter = (t: number): number => activeClassesAfter(scenario, t);
  const totalSteps = T * c.stepsPerTask;

  /** Test accuracy of tasks 0..seen-1 with the classes active after task `training` (class-incremental). */
  const evaluate = (p: Params, step: number, training: number, seen: number, active: number): number[] => {
    const accs = tf.tidy(() => data.testX.slice(0, seen).map((x, j) => {
      const digits = data.testDigits[j]!;
      return perTaskAccuracy(scenarioLogits(p, x, scenario, c.hidden, digits, active), scenarioTargets(digits, 1, scenario, active));
    }));
    const v = accs.map((t) => t.dataSync()[0]!);
    accs.forEach((t) => t.dispose());
    v.forEach((accuracy, j) => rows.push({ scenario, method, step, training, task: j + 1, accuracy }));
    curve.push({ scenario, method, step, seen, averageAccuracy: v.reduce((s, a) => s + a, 0) / v.length });
    return v;
  };

  /** Cross-entropy of the scenario's logits on training rows `idx`. */
  const batchLoss = (p: Params, idx: readonly number[], active: number): tf.Scalar => {
    const digits = idx.map((i) => data.trainDigits[i]!);
    const x = tf.expandDims(tf.gather(data.trainX, tf.tensor1d([...idx], "int32")), 0); // [1, b, 784]
    const logits = scenarioLogits(p, x, scenario, c.hidden, digits, active);
    return tf.mean(perTaskCrossEntropy(logits, scenarioTargets(digits, 1, scenario, active))) as tf.Scalar;
  };

  if (method === "joint") {
    const all = data.trainByTask.flat();
    const batches = rng.fork("batches/joint");
    params = trainPhase(params, Object.keys(params), totalSteps, c, (p) => {
      const idx = Array.from({ length: c.batchSize }, () => all[batches.int(all.length)]!);
      return batchLoss(p, idx, outputWidth(scenario));
    }, (s, p) => {
      if (s % c.evalEvery === 0 || s === totalSteps) evaluate(p, s, 0, T, outputWidth(scenario));
      if (s > 0) onProgress?.(s, totalSteps, 0);
    }, `${scenario}-incremental joint training`);
    matrix.push(rows.slice(-T).map((r) => r.accuracy));
    onTaskEnd?.(0, params);
  } else {
    const anchors: EwcAnchor[] = [];
    let merged: EwcAnchor | null = null; // one penalty term per parameter with the gradient of all of them
    let teacher: Params | null = null;
    try {
      for (let t = 0; t < T; t++) {
        const { pool, replayPool, active, oldHeads, future } = taskPlan(data, scenario, t);
        // Later tasks' heads get no gradient before their task, so they are left out (same result, less work).
        const trainable = Object.keys(params).filter((k) => !future.has(k) && !(method === "replay" && oldHeads.has(k)));
        teacher = method === "lwf" && t > 0 ? Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.clone()])) : null;
        const batches = rng.fork(`batches/${t}`);
        const offset = t * c.stepsPerTask;
        params = trainPhase(params, trainable, c.stepsPerTask, c, (p) => {
          if (method === "replay" || method === "replay-heads") {
            const b = replayBatch(batches, pool.length, replayPool.length, c.batchSize, c.replayFraction);
            return batchLoss(p, [...b.current.map((i) => pool[i]!), ...b.replayed.map((i) => replayPool[i]!)], active);
          }
          const idx = Array.from({ length: c.batchSize }, () => pool[batches.int(pool.length)]!);
          const current = batchLoss(p, idx, active);
          if (method === "ewc" && merged) return tf.add(current, ewcPenalty(p, [merged], c.ewcLambda)) as tf.Scalar;
          if (method === "lwf" && teacher) return tf.add(tf.mul(current, 1 / (t + 1)), tf.mul(lwfTerm(p, teacher, idx, t), 1 - 1 / (t + 1))) as tf.Scalar;
          return current;
        }, (s, p) => {
          if ((s % c.evalEvery === 0 && !(t > 0 && s === 0)) || s === c.stepsPerTask) evaluate(p, offset + s, t + 1, t + 1, active);
          if (s > 0) onProgress?.(offset + s, totalSteps, t + 1);
        }, `${scenario}-incremental ${method}, task ${t + 1} of ${T}`);
        matrix.push(rows.slice(-(t + 1)).map((r) => r.accuracy));
        onTaskEnd?.(t + 1, params);
        if (teacher) for (const v of Object.values(teacher)) v.dispose();
        teacher = null;
        if (method === "ewc" && t < T - 1) {
          anchors.push(consolidate(params, t, active, rng.fork(`fisher/${t}`)));
          if (merged) disposeAnchor(merged);
          merged = mergeAnchors(anchors);
        }
      }
    } finally {
      // Also on an interrupt (trainPhase has disposed the weights then): nothing is left behind.
      if (teacher) for (const v of Object.values(teacher as Params)) v.dispose();
      anchors.forEach(disposeAnchor);
      if (merged) disposeAnchor(merged);
    }
  }

  /** LwF's distillation on current inputs: each earlier head (task), the one head (domain), or the earlier classes (class). */
  function lwfTerm(p: Params, teacher: Params, idx: readonly number[], t: number): tf.Scalar {
    const x = tf.expandDims(tf.gather(data.trainX, tf.tensor1d([...idx], "int32")), 0);
    const T = c.lwfTemperature;
    if (scenario === "domain") return distillationLoss(headLogits(p, x, c.hidden, [0]), headLogits(teacher, x, c.hidden, [0]), T);
    const old = Array.from({ length: t }, (_, s) => s);
    const student = headLogits(p, x, c.hidden, old);
    const target = headLogits(teacher, x, c.hidden, old);
    if (scenario === "class") return distillationLoss(student, target, T);
    const terms = old.map((s) => distillationLoss(tf.slice(student, [0, 0, 2 * s], [-1, -1, 2]), tf.slice(target, [0, 0, 2 * s], [-1, -1, 2]), T));
    return tf.div(tf.addN(terms), t) as tf.Scalar;
  }

  /** EWC anchor after task t: the parameters and their diagonal Fisher on `fisherSamples` of the task's training images. */
  function consolidate(p: Params, t: number, active: number, fisherRng: Rng): EwcAnchor {
    const pool = data.trainByTask[t]!;
    const n = Math.min(c.fisherSamples, pool.length);
    const chosen = fisherRng.permutation(pool.length).slice(0, n).map((i) => pool[i]!);
    const fisher = fisherDiagonal(p, (tiled, from, count) => {
      const idx = chosen.slice(from, from + count);
      const digits = idx.map((i) => data.trainDigits[i]!);
      const x = tf.reshape(tf.gather(data.trainX, tf.tensor1d(idx, "int32")), [count, 1, MNIST_PIXELS]); // one example per parameter copy
      const logp = logSoftmax(scenarioLogits(tiled, x, scenario, c.hidden, digits, active)); // [count, 1, k]
      const labels = c.fisherLabels === "true" ? scenarioTargets(digits, count, scenario, active) : tf.oneHot(tf.argMax(logp, -1), logp.shape[2]!);
      return tf.reshape(tf.sum(tf.mul(labels, logp), -1), [count]); // log p(label | x) per example
    }, n);
    return { mean: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.clone()])), fisher };
  }

  const final = matrix.at(-1)!;
  const forgetting = method === "joint" ? null : mean(Array.from({ length: T - 1 }, (_, j) => Math.max(...matrix.slice(j, T - 1).map((r) => r[j]!)) - final[j]!));
  for (const v of Object.values(params)) v.dispose();
  return {
    rows,
    curve,
    summary: { scenario, method, averageAccuracy: mean(final), finalAccuracies: final, forgetting, accuracyMatrix: matrix, trainMs: Date.now() - t0 },
  };
}

/** The Split-MNIST MLP as a head net: the body, then one two-way head per task (one for domain-incremental). */
function splitMnistNet(scenario: Scenario, hidden: readonly number[]): HeadNetSpec {
  return { sizes: [MNIST_PIXELS, ...hidden], activation: "relu", heads: Array.from({ length: headCount(scenario) }, (_, h) => ({ w: `head${h}_w`, b: `head${h}_b`, width: 2 })) };
}

/**
 * `runSplitMnist` on the packed fast path: the same draws from `rng` in the same order, the same losses, Fisher and
 * Adam, on `HeadTrainer` (no tensors per step). Takes over (disposes) `params`.
 */
function splitMnistOnFastPath(data: SplitMnistData, c: SplitMnistConfig, params: Params, rng: Rng, t0: number, onProgress?: SplitMnistProgress, onTaskEnd?: (task: number, params: Params) => void): { rows: SplitMnistRow[]; curve: SplitMnistCurvePoint[]; summary: SplitMnistSummary } {
  const T = SPLIT_MNIST_TASKS.length;
  const { scenario, method } = c;
  const nTrain = data.trainX.shape[0];
  // One data matrix: the training images, then each task's test images.
  const testFrom: number[] = [];
  let rowsTotal = nTrain;
  for (const x of data.testX) {
    testFrom.push(rowsTotal);
    rowsTotal += x.shape[1];
  }
  const all = new Float32Array(rowsTotal * MNIST_PIXELS);
  all.set(data.trainX.dataSync(), 0);
  data.testX.forEach((x, j) => all.set(x.dataSync(), testFrom[j]! * MNIST_PIXELS));
  const names = Object.keys(params);
  const trainer = new HeadTrainer(splitMnistNet(scenario, c.hidden), params, all);
  for (const v of Object.values(params)) v.dispose();
  const rows: SplitMnistRow[] = [];
  const curve: SplitMnistCurvePoint[] = [];
  const matrix: number[][] = [];
  const activeAfter = (t: number): number => activeClassesAfter(scenario, t);
  const totalSteps = T * c.stepsPerTask;
  /** The columns a scenario scores for digits, and each digit's class among them (scenarioLogits, scenarioTargets). */
  const pick = (digits: ArrayLike<number>, active: number): { heads: HeadPick; labels: Int32Array } => {
    const labels = Int32Array.from(digits, (d) => (scenario === "class" ? d : d % 2));
    if (scenario === "domain") return { heads: { first: 0, count: 1 }, labels };
    if (scenario === "class") {
      for (let i = 0; i < digits.length; i++) if (digits[i]! >= active) throw new Error(`scenarioTargets: digit ${digits[i]} is not among the ${active} active classes.`);
      return { heads: { first: 0, count: active / 2 }, labels };
    }
    return { heads: { perRow: Int32Array.from(digits, taskOfDigit) }, labels };
  };
  const evaluate = (step: number, training: number, seen: number, active: number): number[] => {
    const v = data.testDigits.slice(0, seen).map((digits, j) => {
      const p = pick(digits, active);
      return trainer.score(Int32Array.from(digits, (_, i) => testFrom[j]! + i), p.heads, p.labels).accuracy;
    });
    v.forEach((accuracy, j) => rows.push({ scenario, method, step, training, task: j + 1, accuracy }));
    curve.push({ scenario, method, step, seen, averageAccuracy: v.reduce((a, b) => a + b, 0) / v.length });
    return v;
  };
  const ce = (idx: readonly number[], active: number, weight: number): HeadTerm => {
    const p = pick(idx.map((i) => data.trainDigits[i]!), active);
    return { heads: p.heads, labels: p.labels, weight };
  };
  const showParams = (task: number): void => {
    if (!onTaskEnd) return;
    const p = trainer.unpack();
    try {
      onTaskEnd(task, p);
    } finally {
      for (const v of Object.values(p)) v.dispose();
    }
  };

  if (method === "joint") {
    const pool = data.trainByTask.flat();
    const batches = rng.fork("batches/joint");
    trainer.phase(names, totalSteps, c.lr, () => {
      const idx = Array.from({ length: c.batchSize }, () => pool[batches.int(pool.length)]!);
      return { blocks: [{ rows: idx, terms: [ce(idx, outputWidth(scenario), 1)] }] };
    }, (s) => {
      if (s % c.evalEvery === 0 || s === totalSteps) evaluate(s, 0, T, outputWidth(scenario));
      if (s > 0) onProgress?.(s, totalSteps, 0);
    }, `${scenario}-incremental joint training`);
    matrix.push(rows.slice(-T).map((r) => r.accuracy));
    showParams(0);
  } else {
    const anchors: { mean: Float32Array; fisher: Float32Array }[] = [];
    let merged: PackedEwc | null = null;
    for (let t = 0; t < T; t++) {
      const { pool, replayPool, active, oldHeads, future } = taskPlan(data, scenario, t);
      const trainable = names.filter((k) => !future.has(k) && !(method === "replay" && oldHeads.has(k)));
      const teacher = method === "lwf" && t > 0 ? Float32Array.from(trainer.theta) : null;
      const batches = rng.fork(`batches/${t}`);
      const offset = t * c.stepsPerTask;
      trainer.phase(trainable, c.stepsPerTask, c.lr, (): HeadLoss => {
        if (method === "replay" || method === "replay-heads") {
          const b = replayBatch(batches, pool.length, replayPool.length, c.batchSize, c.replayFraction);
          const idx = [...b.current.map((i) => pool[i]!), ...b.replayed.map((i) => replayPool[i]!)];
          return { blocks: [{ rows: idx, terms: [ce(idx, active, 1)] }] };
        }
        const idx = Array.from({ length: c.batchSize }, () => pool[batches.int(pool.length)]!);
        if (method === "ewc" && merged) return { blocks: [{ rows: idx, terms: [ce(idx, active, 1)] }], ewc: merged };
        if (method === "lwf" && teacher) {
          const keep = 1 - 1 / (t + 1);
          const distill = (heads: HeadPick, weight: number): HeadTerm => ({ heads, weight, distill: { teacher, temperature: c.lwfTemperature } });
          const old = scenario === "task" ? Array.from({ length: t }, (_, s) => distill({ first: s, count: 1 }, keep / t)) : [distill({ first: 0, count: scenario === "domain" ? 1 : t }, keep)];
          return { blocks: [{ rows: idx, terms: [ce(idx, active, 1 / (t + 1)), ...old] }] };
        }
        return { blocks: [{ rows: idx, terms: [ce(idx, active, 1)] }] };
      }, (s) => {
        if ((s % c.evalEvery === 0 && !(t > 0 && s === 0)) || s === c.stepsPerTask) evaluate(offset + s, t + 1, t + 1, active);
        if (s > 0) onProgress?.(offset + s, totalSteps, t + 1);
      }, `${scenario}-incremental ${method}, task ${t + 1} of ${T}`);
      matrix.push(rows.slice(-(t + 1)).map((r) => r.accuracy));
      showParams(t + 1);
      if (method === "ewc" && t < T - 1) {
        // Diagonal Fisher on `fisherSamples` of the task's training images (as `consolidate`), then the merged anchor.
        const n = Math.min(c.fisherSamples, pool.length);
        const chosen = rng.fork(`fisher/${t}`).permutation(pool.length).slice(0, n).map((i) => pool[i]!);
        const p = pick(chosen.map((i) => data.trainDigits[i]!), active);
        const sq = trainer.squaredGrads(chosen, p.heads, c.fisherLabels === "true" ? p.labels : "predicted");
        anchors.push({ mean: Float32Array.from(trainer.theta), fisher: Float32Array.from(sq, (v) => v / n) });
        const F = new Float32Array(sq.length);
        const m = new Float32Array(sq.length);
        for (let j = 0; j < sq.length; j++) {
          let f = 0;
          let fm = 0;
          for (const a of anchors) {
            f += a.fisher[j]!;
            fm += a.fisher[j]! * a.mean[j]!;
          }
          F[j] = f;
          m[j] = f > 0 ? fm / Math.max(f, 1e-30) : 0;
        }
        merged = { mean: m, fisher: F, lambda: c.ewcLambda };
      }
    }
  }
  const final = matrix.at(-1)!;
  const forgetting = method === "joint" ? null : mean(Array.from({ length: T - 1 }, (_, j) => Math.max(...matrix.slice(j, T - 1).map((r) => r[j]!)) - final[j]!));
  return {
    rows,
    curve,
    summary: { scenario, method, averageAccuracy: mean(final), finalAccuracies: final, forgetting, accuracyMatrix: matrix, trainMs: Date.now() - t0 },
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Runs every method defined in each scenario from the same `rng`; rows, curves and summaries concatenated. */
export function splitMnistSweep(
  data: SplitMnistData,
  config: Partial<SplitMnistConfig>,
  scenarios: readonly Scenario[],
  methods: readonly ContinualMethod[],
  rng: Rng,
  onRun?: (s: SplitMnistSummary, index: number, total: number) => void,
  onProgress?: SplitMnistProgress,
): { rows: SplitMnistRow[]; curve: SplitMnistCurvePoint[]; summaries: SplitMnistSummary[] } {
  const plan = scenarios.flatMap((scenario) => methodsFor(scenario, methods).map((method) => ({ scenario, method })));
  const rows: SplitMnistRow[] = [];
  const curve: SplitMnistCurvePoint[] = [];
  const summaries: SplitMnistSummary[] = [];
  const guard = loopGuard("Split-MNIST sweep", plan.length, { unit: "runs" });
  try {
    plan.forEach((p, i) => {
      guard.check(i);
      const res = runSplitMnist(data, { ...config, ...p }, rng, onProgress);
      rows.push(...res.rows);
      curve.push(...res.curve);
      summaries.push(res.summary);
      onRun?.(res.summary, i + 1, plan.length);
    });
  } finally {
    guard.end();
  }
  return { rows, curve, summaries };
}
