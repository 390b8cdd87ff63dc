/**
 * Catastrophic forgetting (McCloskey & Cohen 1989; French 1999): train an MLP on classification task A, then on task B,
 * and measure A before and after. Remedies: experience replay of A's data mixed into B's minibatches, a head per task
 * on a shared body, and Learning without Forgetting (LwF; Li & Hoiem 2016), which distils A's head outputs on B's inputs.
 */
import * as tf from "@tensorflow/tfjs";
import { loopGuard } from "../core/interrupt";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { valueAndGrad } from "../autodiff/functional";
import { initMlp, layerParamNames, mlpApply, type MlpConfig } from "../models/mlp";
import { meanTaskLoss, perTaskAccuracy, perTaskCrossEntropy } from "../models/losses";
import { distillationLoss } from "../learners/distill";
import { replayCounts } from "../learners/replay";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../optim/adam";
import { BlobClassification, blobClassificationConfig, DEFAULT_BLOBS, oneHotLabels, type BlobClassificationConfig } from "../tasks/classification";
import { checkInteger, checkNonNegative, checkOneOf, checkPositive, checkRange, withDefaults } from "../core/validate";
import { runSteps } from "../learners/train";
import { headFastPathReason, HeadTrainer, type HeadLoss, type HeadNetSpec, type HeadTerm } from "../learners/head-train";

/**
 * What happens to task A's head while training on B.
 * - "shared": one head for both tasks (B's labels overwrite A's; the classic single-head setting).
 * - "multi-frozen": a head per task on a shared body; A's head is frozen during B (only the body moves).
 * - "multi-train": a head per task; A's head keeps training during B on the replayed A examples ("old heads kept training").
 * - "lwf": a head per task; A's head keeps training during B to match its own pre-B outputs on B's inputs (LwF).
 */
export type HeadMode = "shared" | "multi-frozen" | "multi-train" | "lwf";

/** Settings of one forgetting run. */
export interface ForgettingConfig {
  /** Task family that A and B are drawn from (two different tasks of it). */
  readonly family: BlobClassificationConfig;
  /** Hidden widths of the MLP. */
  readonly hidden: readonly number[];
  /** Training examples per class of each task. */
  readonly trainPerClass: number;
  /** Held-out test examples per class of each task. */
  readonly testPerClass: number;
  /** Adam steps on A, then on B. */
  readonly stepsA: number;
  readonly stepsB: number;
  /** Minibatch size (in B's phase this includes the replayed A examples). */
  readonly batchSize: number;
  /** Adam step size. */
  readonly lr: number;
  /** Decoupled weight decay (AdamW; Loshchilov & Hutter 2019): every trained weight shrinks by lr·weightDecay per step. */
  readonly weightDecay: number;
  /** Fraction of every B-phase minibatch drawn from A's training set (0 = no replay). */
  readonly replay: number;
  readonly heads: HeadMode;
  /** Weight and softmax temperature of the LwF distillation term. */
  readonly lwfWeight: number;
  readonly lwfTemperature: number;
  /** Evaluate both tasks every this many steps. */
  readonly evalEvery: number;
  /** "auto" trains on the packed fast path (learners/head-train.ts) when the MLP allows; "off" uses tfjs autodiff. */
  readonly fastPath?: "auto" | "off";
}

/** Default run: two 5-way blob tasks, a 32-32 ReLU MLP, 300 Adam steps each. */
export const DEFAULT_FORGETTING: ForgettingConfig = {
  family: { ...DEFAULT_BLOBS, noiseStd: 0.8 }, // noisier blobs so a task needs a trained boundary, not just any map
  hidden: [32, 32], // small and fast; big enough to fit both tasks at once (replay shows that)
  trainPerClass: 40, // 200 training examples per task
  testPerClass: 40, // 200 test examples per task
  stepsA: 300, // enough to fit A well
  stepsB: 300, // enough to overwrite A without a remedy
  batchSize: 32, // a usual minibatch
  lr: 0.01, // Adam on a small MLP
  weightDecay: 0, // no leak by default
  replay: 0, // no remedy by default
  heads: "shared", // the harshest setting
  lwfWeight: 1, // Li & Hoiem's lambda_o = 1
  lwfTemperature: 2, // Li & Hoiem's T = 2
  evalEvery: 25, // a smooth curve at little cost
};

/** One evaluation point of a run (flat, polars-friendly). */
export interface ForgettingRow {
  readonly heads: HeadMode;
  readonly replay: number;
  /** "A" while training on A, "B" while training on B. */
  readonly phase: "A" | "B";
  /** Steps since the start of the run. */
  readonly step: number;
  readonly lossA: number;
  readonly accA: number;
  readonly lossB: number;
  readonly accB: number;
}

/** Task A before and after training on B. */
export interface ForgettingSummary {
  readonly heads: HeadMode;
  readonly replay: number;
  readonly accABefore: number;
  readonly accAAfter: number;
  readonly lossABefore: number;
  readonly lossAAfter: number;
  /** accABefore - accAAfter: accuracy forgotten. */
  readonly forgetting: number;
  readonly accBAfter: number;
}

/** One task's train and test data, each [1, points, features] / [1, points, ways]. */
interface TaskData {
  readonly trainX: tf.Tensor3D;
  readonly trainY: tf.Tensor3D;
  readonly testX: tf.Tensor3D;
  readonly testY: tf.Tensor3D;
}

/** Head parameter names of task `t` ("A" or "B") under a head mode; the shared head uses the MLP's own last layer. */
function headOf(heads: HeadMode, L: number, t: "A" | "B"): { w: string; b: string } {
  const [w, b] = layerParamNames(L - 1);
  return heads === "shared" ? { w, b } : { w: `head${t}_w`, b: `head${t}_b` };
}

/** Logits of task `t`: the body plus that task's head. */
function logitsOf(params: Params, x: tf.Tensor, config: MlpConfig, heads: HeadMode, t: "A" | "B"): tf.Tensor {
  const L = config.sizes.length - 1;
  const h = headOf(heads, L, t);
  const [w, b] = layerParamNames(L - 1);
  return mlpApply({ ...params, [w]: params[h.w]!, [b]: params[h.b]! }, x, config);
}

/** Rows `idx` of a [1, n, f] tensor, as [1, idx.length, f]. */
function rows(x: tf.Tensor, idx: readonly number[]): tf.Tensor {
  return tf.gather(x, tf.tensor1d([...idx], "int32"), 1);
}

function randomIndices(rng: Rng, n: number, k: number): number[] {
  return Array.from({ length: k }, () => rng.int(n));
}

/** Every key `ForgettingConfig` may have (`fastPath` defaults to "auto"). */
const FORGETTING_KEYS: Record<keyof ForgettingConfig, unknown> = { ...DEFAULT_FORGETTING, fastPath: "auto" };

/** Fills in the defaults and checks every field (unknown keys are errors). */
export function forgettingConfig(config: Partial<ForgettingConfig> = {}): ForgettingConfig {
  const WHO = "ForgettingConfig";
  const c: ForgettingConfig = withDefaults(WHO, config, DEFAULT_FORGETTING, { name: "config", hint: "Pass {} for the defaults.", known: FORGETTING_KEYS });
  blobClassificationConfig(c.family, `${WHO}.family`);
  if (!Array.isArray(c.hidden) || c.hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new Error(`${WHO} hidden must be a list of positive integers (hidden widths, e.g. [32, 32]), got ${JSON.stringify(c.hidden)}.`);
  checkInteger(WHO, "trainPerClass", c.trainPerClass, 1);
  checkInteger(WHO, "testPerClass", c.testPerClass, 1);
  checkInteger(WHO, "stepsA", c.stepsA, 1);
  checkInteger(WHO, "stepsB", c.stepsB, 1);
  checkInteger(WHO, "batchSize", c.batchSize, 2, "A replayed batch needs room for both tasks.");
  checkPositive(WHO, "lr", c.lr);
  if (!(c.weightDecay >= 0 && c.lr * c.weightDecay < 1)) throw new Error(`${WHO} weightDecay must be >= 0 with lr * weightDecay < 1, got ${c.weightDecay}. Try 0.1.`);
  checkRange(WHO, "replay", c.replay, 0, 1, { hi: true }, "Use e.g. 0.1 for 10% of each batch, 0 for no replay.");
  checkOneOf(WHO, "heads", c.heads, ["shared", "multi-frozen", "multi-train", "lwf"] as const);
  checkNonNegative(WHO, "lwfWeight", c.lwfWeight, "Li & Hoiem use 1.");
  checkPositive(WHO, "lwfTemperature", c.lwfTemperature, "Li & Hoiem use 2.");
  checkInteger(WHO, "evalEvery", c.evalEvery, 1);
  if (c.fastPath !== undefined) checkOneOf(WHO, "fastPath", c.fastPath, ["auto", "off"] as const);
  return c;
}

/**
 * Trains on task A then task B and records both tasks' test loss and accuracy along the way. The same `rng` gives the
 * same tasks, initial weights and A-phase minibatches whatever the remedy, so runs differ only by the remedy.
 */
export function runForgetting(config: Partial<ForgettingConfig>, rng: Rng): { rows: ForgettingRow[]; summary: ForgettingSummary } {
  const c = forgettingConfig(config);
  const family = new BlobClassification(c.family);
  const mlp: MlpConfig = { sizes: [c.family.dim, ...c.hidden, c.family.ways], activation: "relu" };
  const L = mlp.sizes.length - 1;
  const batch = family.sample(rng.fork("tasks"), { tasks: 2, shots: c.trainPerClass, queries: c.testPerClass });
  const split = (t: number): TaskData => tf.tidy(() => ({
    trainX: tf.slice(batch.supportX, [t, 0, 0], [1, -1, -1]) as tf.Tensor3D, // [1, train, dim]
    trainY: tf.slice(batch.supportY, [t, 0, 0], [1, -1, -1]) as tf.Tensor3D,
    testX: tf.slice(batch.queryX, [t, 0, 0], [1, -1, -1]) as tf.Tensor3D,
    testY: tf.slice(batch.queryY, [t, 0, 0], [1, -1, -1]) as tf.Tensor3D,
  }));
  const A = split(0);
  const B = split(1);
  for (const t of [batch.supportX, batch.supportY, batch.queryX, batch.queryY]) t.dispose();
  const nTrain = A.trainX.shape[1];

  // Body and heads. In multi-head modes the MLP's own last layer is replaced by headA_* / headB_*.
  const initRng = rng.fork("init");
  let params: Params = initMlp(initRng, mlp);
  if (c.heads !== "shared") {
    const headB = initMlp(initRng, mlp);
    const [w, b] = layerParamNames(L - 1);
    const p: Record<string, tf.Tensor> = { ...params, headA_w: params[w]!, headA_b: params[b]!, headB_w: headB[w]!, headB_b: headB[b]! };
    delete p[w];
    delete p[b];
    for (const [k, v] of Object.entries(headB)) if (k !== w && k !== b) v.dispose();
    params = p;
  }

  if (c.fastPath !== "off" && c.weightDecay === 0 && headFastPathReason(forgettingNet(mlp, c.heads), params) === null) return forgettingOnFastPath(c, mlp, params, A, B, rng);

  const out: ForgettingRow[] = [];
  const evaluate = (phase: "A" | "B", step: number, p: Params): ForgettingRow => {
    const ts = tf.tidy(() => {
      const la = logitsOf(p, A.testX, mlp, c.heads, "A");
      const lb = logitsOf(p, B.testX, mlp, c.heads, "B");
      return [perTaskCrossEntropy(la, A.testY), perTaskAccuracy(la, A.testY), perTaskCrossEntropy(lb, B.testY), perTaskAccuracy(lb, B.testY)];
    });
    const v = ts.map((t) => t.dataSync()[0]!);
    ts.forEach((t) => t.dispose());
    const row: ForgettingRow = { heads: c.heads, replay: c.replay, phase, step, lossA: v[0]!, accA: v[1]!, lossB: v[2]!, accB: v[3]! };
    out.push(row);
    return row;
  };

  let frozen: Params = {};
  let before: ForgettingRow;
  let after: ForgettingRow;
  try {
    // Phase A: everything except B's head trains on A.
    const trainableA = Object.keys(params).filter((k) => !k.startsWith("headB"));
    const batchRngA = rng.fork("batches-A");
    params = trainPhase(params, trainableA, c.stepsA, c, (p) => {
      const idx = randomIndices(batchRngA, nTrain, c.batchSize);
      return meanTaskLoss("cross-entropy", logitsOf(p, rows(A.trainX, idx), mlp, c.heads, "A"), rows(A.trainY, idx));
    }, (s, p) => s % c.evalEvery === 0 && s < c.stepsA && evaluate("A", s, p), "training on task A");
    before = evaluate("A", c.stepsA, params);

    // Phase B: B's data, plus replayed A examples, plus LwF distillation against a frozen copy of the pre-B model.
    frozen = c.heads === "lwf" ? Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.clone()])) : {};
    const trainableB = Object.keys(params).filter((k) => !(c.heads === "multi-frozen" && k.startsWith("headA")));
    const { replayed: nReplay, current: nB } = replayCounts(c.batchSize, c.replay);
    const batchRngB = rng.fork("batches-B");
    params = trainPhase(params, trainableB, c.stepsB, c, (p) => {
      const idxB = randomIndices(batchRngB, nTrain, nB);
      const xB = rows(B.trainX, idxB);
      let loss = tf.mul(meanTaskLoss("cross-entropy", logitsOf(p, xB, mlp, c.heads, "B"), rows(B.trainY, idxB)), nB / c.batchSize);
      if (nReplay > 0) {
        const idxA = randomIndices(batchRngB, nTrain, nReplay);
        const lossA = meanTaskLoss("cross-entropy", logitsOf(p, rows(A.trainX, idxA), mlp, c.heads, "A"), rows(A.trainY, idxA));
        loss = tf.add(loss, tf.mul(lossA, nReplay / c.batchSize));
      }
      if (c.heads === "lwf") {
        // A's head distilled towards its recorded pre-B responses on B's inputs.
        const distill = distillationLoss(logitsOf(p, xB, mlp, c.heads, "A"), logitsOf(frozen, xB, mlp, c.heads, "A"), c.lwfTemperature);
        loss = tf.add(loss, tf.mul(distill, c.lwfWeight));
      }
      return loss as tf.Scalar;
    }, (s, p) => s > 0 && s % c.evalEvery === 0 && s < c.stepsB && evaluate("B", c.stepsA + s, p), "training on task B");
    evaluate("B", c.stepsA + c.stepsB, params);
    after = out.at(-1)!;
  } catch (e) {
    // Interrupted (or failed): trainPhase has freed the weights; free the data and the LwF copy too.
    for (const d of [A, B]) for (const t of Object.values(d)) t.dispose();
    for (const t of Object.values(frozen)) t.dispose();
    throw e;
  }

  for (const d of [A, B]) for (const t of Object.values(d)) t.dispose();
  for (const t of Object.values(frozen)) t.dispose();
  for (const t of Object.values(params)) t.dispose();
  return {
    rows: out,
    summary: {
      heads: c.heads,
      replay: c.replay,
      accABefore: before.accA,
      accAAfter: after.accA,
      lossABefore: before.lossA,
      lossAAfter: after.lossA,
      forgetting: before.accA - after.accA,
      accBAfter: after.accB,
    },
  };
}

/** The forgetting MLP as a head net: the body, then A's and B's heads (one shared head in "shared" mode). */
function forgettingNet(mlp: MlpConfig, heads: HeadMode): HeadNetSpec {
  const L = mlp.sizes.length - 1;
  const ways = mlp.sizes[L]!;
  const h = (t: "A" | "B") => ({ ...headOf(heads, L, t), width: ways });
  return { sizes: mlp.sizes.slice(0, -1), activation: mlp.activation, heads: heads === "shared" ? [h("A")] : [h("A"), h("B")] };
}

/**
 * `runForgetting` on the packed fast path: the same draws from `rng` in the same order, the same losses and
 * Adam, on `HeadTrainer` (no tensors per step). Takes over (disposes) `params`, `A` and `B`.
 */
function forgettingOnFastPath(c: ForgettingConfig, mlp: MlpConfig, params: Params, A: TaskData, B: TaskData, rng: Rng): { rows: ForgettingRow[]; summary: ForgettingSummary } {
  const nTrain = A.trainX.shape[1];
  const nTest = A.testX.shape[1];
  const dim = mlp.sizes[0]!;
  // One data matrix: A's training rows, B's, then A's and B's test rows.
  const data = new Float32Array((2 * nTrain + 2 * nTest) * dim);
  data.set(A.trainX.dataSync(), 0);
  data.set(B.trainX.dataSync(), nTrain * dim);
  data.set(A.testX.dataSync(), 2 * nTrain * dim);
  data.set(B.testX.dataSync(), (2 * nTrain + nTest) * dim);
  const labels = { A: oneHotLabels(A.trainY), B: oneHotLabels(B.trainY), testA: oneHotLabels(A.testY), testB: oneHotLabels(B.testY) };
  const names = Object.keys(params);
  const trainer = new HeadTrainer(forgettingNet(mlp, c.heads), params, data);
  for (const t of Object.values(params)) t.dispose();
  for (const d of [A, B]) for (const t of Object.values(d)) t.dispose();
  const head = (t: "A" | "B") => ({ first: c.heads === "shared" || t === "A" ? 0 : 1, count: 1 });
  const range = (from: number, n: number) => Int32Array.from({ length: n }, (_, i) => from + i);
  const testRows = { A: range(2 * nTrain, nTest), B: range(2 * nTrain + nTest, nTest) };
  const out: ForgettingRow[] = [];
  const evaluate = (phase: "A" | "B", step: number): ForgettingRow => {
    const a = trainer.score(testRows.A, head("A"), labels.testA);
    const b = trainer.score(testRows.B, head("B"), labels.testB);
    const row: ForgettingRow = { heads: c.heads, replay: c.replay, phase, step, lossA: a.loss, accA: a.accuracy, lossB: b.loss, accB: b.accuracy };
    out.push(row);
    return row;
  };
  const ce = (t: "A" | "B", idx: readonly number[], weight: number): HeadTerm => ({ heads: head(t), weight, labels: idx.map((i) => labels[t][i]!) });

  const trainableA = names.filter((k) => !k.startsWith("headB"));
  const batchRngA = rng.fork("batches-A");
  trainer.phase(trainableA, c.stepsA, c.lr, () => {
    const idx = randomIndices(batchRngA, nTrain, c.batchSize);
    return { blocks: [{ rows: idx, terms: [ce("A", idx, 1)] }] };
  }, (s) => s % c.evalEvery === 0 && s < c.stepsA && evaluate("A", s), "training on task A");
  const before = evaluate("A", c.stepsA);

  const frozen = c.heads === "lwf" ? Float32Array.from(trainer.theta) : null;
  const trainableB = names.filter((k) => !(c.heads === "multi-frozen" && k.startsWith("headA")));
  const { replayed: nReplay, current: nB } = replayCounts(c.batchSize, c.replay);
  const batchRngB = rng.fork("batches-B");
  trainer.phase(trainableB, c.stepsB, c.lr, (): HeadLoss => {
    const idxB = randomIndices(batchRngB, nTrain, nB);
    const terms = [ce("B", idxB, nB / c.batchSize)];
    if (frozen) terms.push({ heads: head("A"), weight: c.lwfWeight, distill: { teacher: frozen, temperature: c.lwfTemperature } });
    const blocks = [{ rows: idxB.map((i) => nTrain + i), terms }];
    if (nReplay > 0) {
      const idxA = randomIndices(batchRngB, nTrain, nReplay);
      blocks.push({ rows: idxA, terms: [ce("A", idxA, nReplay / c.batchSize)] });
    }
    return { blocks };
  }, (s) => s > 0 && s % c.evalEvery === 0 && s < c.stepsB && evaluate("B", c.stepsA + s), "training on task B");
  const after = evaluate("B", c.stepsA + c.stepsB);
  return {
    rows: out,
    summary: { heads: c.heads, replay: c.replay, accABefore: before.accA, accAAfter: after.accA, lossABefore: before.lossA, lossAAfter: after.lossA, forgetting: before.accA - after.accA, accBAfter: after.accB },
  };
}

/** Adam steps on the `trainable` subset; a fresh Adam state per phase (a new task). Disposes the incoming params. */
export function trainPhase(
  params: Params,
  trainable: readonly string[],
  steps: number,
  c: { readonly lr: number; readonly weightDecay?: number },
  lossFn: (p: Params) => tf.Scalar,
  onStep: (s: number, p: Params) => void,
  label = "training",
): Params {
  let current = params;
  const pick = (p: Params): Params => Object.fromEntries(trainable.map((k) => [k, p[k]!]));
  let adam: AdamState = initAdam(pick(current));
  onStep(0, current);
  try {
    runSteps(steps, (i) => {
      const { loss, grads } = tf.tidy(() => {
        const fixed = Object.fromEntries(Object.entries(current).filter(([k]) => !trainable.includes(k)));
        const { value, grads } = valueAndGrad((q) => lossFn({ ...fixed, ...q }))(pick(current));
        return { loss: value.dataSync()[0]!, grads };
      });
      const next = adamStep(pick(current), grads, adam, { lr: c.lr });
      for (const g of Object.values(grads)) g.dispose();
      disposeAdam(adam);
      adam = next.state;
      for (const k of trainable) current[k]!.dispose();
      // The leak: each trained weight loses a fixed fraction per step unless its gradient keeps pumping it up.
      const wd = c.weightDecay ?? 0;
      const decayed = wd > 0 ? Object.fromEntries(Object.entries(next.params).map(([k, v]) => {
        const d = tf.mul(v, 1 - c.lr * wd);
        v.dispose();
        return [k, d];
      })) : next.params;
      current = { ...current, ...decayed };
      onStep(i + 1, current);
      return loss;
    }, { label });
  } catch (e) {
    for (const t of Object.values(current)) t.dispose(); // interrupted: the caller gets nothing back
    throw e;
  } finally {
    disposeAdam(adam);
  }
  return current;
}

/** Runs every combination of head modes and replay fractions from the same `rng`; rows and summaries concatenated. */
export function forgettingSweep(config: Partial<ForgettingConfig>, heads: readonly HeadMode[], replays: readonly number[], rng: Rng, onRun?: (s: ForgettingSummary) => void): { rows: ForgettingRow[]; summaries: ForgettingSummary[] } {
  const rows: ForgettingRow[] = [];
  const summaries: ForgettingSummary[] = [];
  const guard = loopGuard("forgetting sweep", heads.length * replays.length, { unit: "runs" });
  try {
    for (const h of heads) {
      for (const r of replays) {
        guard.check(summaries.length);
        const res = runForgetting({ ...config, heads: h, replay: r }, rng);
        rows.push(...res.rows);
        summaries.push(res.summary);
        onRun?.(res.summary);
      }
    }
  } finally {
    guard.end();
  }
  return { rows, summaries };
}
