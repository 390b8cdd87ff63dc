/**
 * The Omniglot few-shot experiment behind notebook 09 and bench/omniglot-few-shot.ts: meta-train (or pretrain) a conv
 * net on episodes from the background characters, then classify the 20 official one-shot runs of Lake et al. (2015).
 * Methods: Prototypical Networks, MAML (second and first order), ANIL, and joint pretraining over every background
 * class evaluated with a linear probe or with fine-tuning.
 */
import * as tf from "@tensorflow/tfjs";
import { disposeParams, type Params } from "../core/params";
import type { Rng } from "../core/random";
import { ConvNet, convFeatures, type ConvNetConfig } from "../models/conv";
import { headNames, Mlp } from "../models/mlp";
import { adaptSgd } from "../learners/adapt-sgd";
import { disposeMamlState, initMamlState, mamlStep, type MamlOptions, type MamlState } from "../learners/maml";
import { disposePretrainState, initPretrainState, pretrainStep, type PretrainState } from "../learners/pretrain";
import { disposeProtoNetState, initProtoNetState, protoNetLogits, protoNetStep, type ProtoNetState } from "../learners/protonet";
import { trainLoop } from "../learners/train";
import type { BatchSpec, TaskBatch, TaskFamily } from "../tasks/task-family";
import { disposeBatch } from "../tasks/task-family";
import type { OmniglotImages } from "../data/omniglot";
import { argmaxRows, runErrors, runsBatch, type OneShotRuns } from "../data/omniglot-runs";
import { OmniglotTasks } from "../data/omniglot-tasks";

/** Published error rates on the 20 official runs (20-way one-shot, within alphabet), for the table beside ours. */
export const OMNIGLOT_PUBLISHED: readonly { readonly method: string; readonly error: number; readonly source: string }[] = [
  { method: "People", error: 0.045, source: "Lake et al. (2015), Science 350:1332" },
  { method: "Bayesian Program Learning (BPL)", error: 0.033, source: "Lake et al. (2015)" },
  { method: "Deep Siamese convnet", error: 0.08, source: "Koch et al. (2015), Table 2: 92.0% correct" },
  { method: "Hierarchical Deep", error: 0.348, source: "Lake et al. (2015); Koch et al. (2015), Table 2: 65.2% correct" },
  { method: "Affine model", error: 0.182, source: "Koch et al. (2015), Table 2: 81.8% correct" },
  { method: "1-nearest neighbour (raw pixels)", error: 0.783, source: "Koch et al. (2015), Table 2: 21.7% correct" },
];

/** The drawings of one task of a batch with captions "support 3" / "query 3" (label), for `imageGalleryChart`. */
export function episodeImages(batch: TaskBatch, task = 0): { pixels: number[]; label: string }[] {
  const part = (x: tf.Tensor, y: tf.Tensor, set: string): { pixels: number[]; label: string }[] => {
    const xs = tf.tidy(() => tf.squeeze(tf.slice(x, [task, 0, 0], [1, -1, -1]), [0]).arraySync() as number[][]);
    const labels = tf.tidy(() => tf.argMax(tf.slice(y, [task, 0, 0], [1, -1, -1]), -1).arraySync() as number[][])[0]!;
    return xs.map((p, i) => ({ pixels: p, label: `${set} ${labels[i]}` }));
  };
  return [...part(batch.supportX, batch.supportY, "support"), ...part(batch.queryX, batch.queryY, "query")];
}

/** The methods of the table. */
export const FEW_SHOT_METHODS = ["protonet", "maml", "fomaml", "anil", "pretrain-probe", "pretrain-finetune"] as const;
export type FewShotMethod = (typeof FEW_SHOT_METHODS)[number];

/** Settings of one training run; every field has a default in `DEFAULT_OMNIGLOT_FEW_SHOT`. */
export interface OmniglotFewShotConfig {
  /** The conv net without its head (outputs is set per method). */
  readonly net: Omit<ConvNetConfig, "outputs">;
  /** Outer steps (meta-training steps, or pretraining steps). */
  readonly steps: number;
  /** Episodes of meta-training: ways, and shots/queries per class. */
  readonly ways: number;
  readonly episode: BatchSpec;
  /** Outer Adam learning rate (all methods). */
  readonly lr: number;
  /** MAML/ANIL inner loop during meta-training, and the number of inner steps at test time. */
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly testInnerSteps: number;
  /** Pretraining: drawings per step, drawn from every (character, rotation) class. */
  readonly pretrainBatch: number;
  /** Linear probe on frozen features at test time: SGD steps and step size (head starts at zero). */
  readonly probeSteps: number;
  readonly probeLr: number;
  /** Fine-tuning after the probe (LP-FT): SGD steps and step size on every parameter. */
  readonly finetuneSteps: number;
  readonly finetuneLr: number;
}

/** Defaults sized for a shared 2-core machine (see bench/results/omniglot.md for what they cost). */
export const DEFAULT_OMNIGLOT_FEW_SHOT: OmniglotFewShotConfig = {
  net: { imageSize: 28, inChannels: 1, filters: [32, 32, 32, 32], kernel: 3, stride: 2, norm: "layer" }, // Finn's 4-block net at half width, to fit a CPU budget
  steps: 300, // far fewer than the papers' 40k-60k: a CPU budget, stated beside the table
  ways: 20, // the official runs are 20-way, and MAML's head must match
  episode: { tasks: 2, shots: 1, queries: 1 }, // 20-way 1-shot as evaluated, 2 tasks per meta-batch (Finn: 16)
  lr: 1e-3, // Adam 1e-3 as in Finn et al. and Snell et al.
  innerSteps: 1, // one inner step while meta-training (Finn: 5 for 20-way; cost)
  innerLr: 0.4, // Finn et al.'s Omniglot inner rate
  testInnerSteps: 3, // a few more steps at test time, as Finn et al. do
  pretrainBatch: 64, // drawings per pretraining step
  probeSteps: 100, // enough for the zero-initialised head to converge on 20 support points
  probeLr: 0.5, // SGD on a convex problem: a large step is stable on normalised features
  finetuneSteps: 10, // a short fine-tune after the probe (LP-FT; Kumar et al. 2022)
  finetuneLr: 0.05, // small: 20 images cannot support large moves of the body
};

/** What a training run produced: the learned parameters (caller disposes), the loss curve and the wall time. */
export interface FewShotRun {
  readonly method: FewShotMethod;
  readonly params: Params;
  readonly losses: Float32Array;
  readonly trainMs: number;
}

/** Called after each training step. */
export type FewShotProgress = (step: number, total: number, loss: number) => void;

function netFor(c: OmniglotFewShotConfig, outputs: number): ConvNet {
  return new ConvNet({ ...c.net, outputs });
}

/** Joint-pretraining batches: `spec.shots * ways` random drawings labelled by global (character, rotation) class. */
class ClassBatches implements TaskFamily {
  readonly name = "omniglot-classes";
  readonly loss = "cross-entropy" as const;
  readonly inputSize: number;
  readonly outputSize: number;
  constructor(private readonly tasks: OmniglotTasks, private readonly points: number) {
    this.inputSize = tasks.inputSize;
    this.outputSize = tasks.classCount;
  }
  sample(rng: Rng): TaskBatch {
    const { x, y } = this.tasks.sampleClasses(rng, this.points);
    return { supportX: x, supportY: y, queryX: tf.clone(x), queryY: tf.clone(y) };
  }
}

function mamlOptionsFor(method: FewShotMethod, c: OmniglotFewShotConfig): Partial<MamlOptions> {
  return { innerSteps: c.innerSteps, innerLr: c.innerLr, loss: "cross-entropy", outerLr: c.lr, firstOrder: method === "fomaml", adapt: method === "anil" ? "head" : "all", fastPath: false };
}

/** Trains one method on the background characters `images`; all randomness from `rng`. */
export function trainFewShot(method: FewShotMethod, images: OmniglotImages, config: Partial<OmniglotFewShotConfig>, rng: Rng, onProgress?: FewShotProgress): FewShotRun {
  const c = { ...DEFAULT_OMNIGLOT_FEW_SHOT, ...config };
  const tasks = new OmniglotTasks(images, { ways: c.ways, rotations: true });
  const t0 = Date.now();
  const opts = { iterations: c.steps, spec: c.episode, onProgress };
  if (method === "protonet") {
    const embed = netFor(c, 0);
    const init = embed.init(rng.fork("init"));
    let s: ProtoNetState = initProtoNetState(init);
    disposeParams(init);
    const losses = trainLoop(tasks, rng.fork("train"), opts, (b) => {
      const r = protoNetStep(s, b, embed, { lr: c.lr });
      disposeProtoNetState(s);
      s = r.state;
      return r.loss;
    });
    disposeAdamOnly(s);
    return { method, params: s.params, losses, trainMs: Date.now() - t0 };
  }
  if (method === "maml" || method === "fomaml" || method === "anil") {
    const net = netFor(c, c.ways);
    const init = net.init(rng.fork("init"));
    let s: MamlState = initMamlState(init, mamlOptionsFor(method, c));
    disposeParams(init);
    const o = mamlOptionsFor(method, c);
    const losses = trainLoop(tasks, rng.fork("train"), opts, (b) => {
      const r = mamlStep(s, b, net, o);
      disposeMamlState(s);
      s = r.state;
      return r.loss;
    });
    for (const t of [...Object.values(s.adam.m), ...Object.values(s.adam.v)]) t.dispose();
    return { method, params: s.params, losses, trainMs: Date.now() - t0 };
  }
  const net = netFor(c, tasks.classCount);
  const init = net.init(rng.fork("init"));
  let s: PretrainState = initPretrainState(init);
  disposeParams(init);
  const family = new ClassBatches(tasks, c.pretrainBatch);
  const losses = trainLoop(family, rng.fork("train"), { ...opts, spec: { tasks: 1, shots: 1, queries: 1 } }, (b) => {
    const r = pretrainStep(s, b, net, { lr: c.lr, loss: "cross-entropy" });
    disposePretrainState(s);
    s = r.state;
    return r.loss;
  });
  for (const t of [...Object.values(s.adam.m), ...Object.values(s.adam.v)]) t.dispose();
  return { method, params: s.params, losses, trainMs: Date.now() - t0 };
}

function disposeAdamOnly(s: ProtoNetState): void {
  for (const t of [...Object.values(s.adam.m), ...Object.values(s.adam.v)]) t.dispose();
}

/** Query logits [tasks, queries, ways] of a trained method on a batch of tasks (support used for adaptation only). */
export function fewShotLogits(run: Pick<FewShotRun, "method" | "params">, batch: TaskBatch, config: Partial<OmniglotFewShotConfig> = {}): tf.Tensor3D {
  const c = { ...DEFAULT_OMNIGLOT_FEW_SHOT, ...config };
  const ways = batch.supportY.shape[2];
  const support = { x: batch.supportX, y: batch.supportY };
  if (run.method === "protonet") return tf.tidy(() => protoNetLogits(run.params, batch, netFor(c, 0)));
  if (run.method === "maml" || run.method === "fomaml" || run.method === "anil") {
    if (ways !== c.ways) throw new Error(`${run.method} was meta-trained ${c.ways}-way; its head cannot score ${ways}-way tasks. Train with ways: ${ways}.`);
    const net = netFor(c, c.ways);
    const trainable = run.method === "anil" ? headNames(run.params) : undefined;
    const adapted = adaptSgd(run.params, support, net, { steps: c.testInnerSteps, lr: c.innerLr, loss: "cross-entropy", ...(trainable ? { trainable } : {}) });
    const logits = tf.tidy(() => net.apply(adapted, batch.queryX) as tf.Tensor3D);
    disposeParams(adapted);
    return logits;
  }
  // Joint pretraining: drop the pretraining head, fit a zero-initialised linear head on frozen features (probe) ...
  const body = Object.fromEntries(Object.entries(run.params).filter(([k]) => !headNames(run.params).includes(k)));
  const bodyNet = netFor(c, 0);
  const e = c.net.filters[c.net.filters.length - 1]!;
  const linear = new Mlp({ sizes: [e, ways], activation: "identity" });
  const head0: Params = { w0: tf.zeros([e, ways]), b0: tf.zeros([ways]) };
  const feats = tf.tidy(() => convFeatures(body, batch.supportX, bodyNet.config));
  const probed = adaptSgd(head0, { x: feats, y: batch.supportY }, linear, { steps: c.probeSteps, lr: c.probeLr, loss: "cross-entropy" });
  disposeParams(head0);
  feats.dispose();
  const L = c.net.filters.length;
  const full = netFor(c, ways);
  if (run.method === "pretrain-probe") {
    const logits = tf.tidy(() => full.apply({ ...tileAll(body, batch.supportX.shape[0]), [`w${L}`]: probed.w0!, [`b${L}`]: probed.b0! }, batch.queryX) as tf.Tensor3D);
    disposeParams(probed);
    return logits;
  }
  // ... then fine-tune every parameter from the probed head (LP-FT).
  const start = tf.tidy(() => ({ ...tileAll(body, batch.supportX.shape[0]), [`w${L}`]: probed.w0!.clone(), [`b${L}`]: probed.b0!.clone() }));
  disposeParams(probed);
  const tuned = adaptSgd(start, support, full, { steps: c.finetuneSteps, lr: c.finetuneLr, loss: "cross-entropy", taskBatched: true });
  disposeParams(start);
  const logits = tf.tidy(() => full.apply(tuned, batch.queryX) as tf.Tensor3D);
  disposeParams(tuned);
  return logits;
}

function tileAll(p: Params, tasks: number): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(p)) out[k] = tf.tile(tf.expandDims(v, 0), [tasks, ...v.shape.map(() => 1)]);
  return out;
}

/** Error rates of a trained method on the official runs (per run and mean) and its predicted classes. */
export function evaluateOnRuns(run: Pick<FewShotRun, "method" | "params">, runs: OneShotRuns, config: Partial<OmniglotFewShotConfig> = {}): { perRun: number[]; mean: number; predicted: number[][] } {
  const batch = runsBatch(runs);
  try {
    const logits = fewShotLogits(run, batch, config);
    const predicted = argmaxRows(logits);
    logits.dispose();
    return { ...runErrors(runs, predicted), predicted };
  } finally {
    disposeBatch(batch);
  }
}

/** Confusion counts of one run: rows = true class, columns = predicted class, for a heat map. */
export function runConfusion(runs: OneShotRuns, run: number, predicted: readonly (readonly number[])[]): { truth: number; predicted: number; count: number }[] {
  const r = runs.runs[run];
  const p = predicted[run];
  if (!r || !p) throw new Error(`runConfusion: no run ${run}; there are ${runs.runs.length}.`);
  const counts = new Map<string, number>();
  r.answers.forEach((a, i) => counts.set(`${a},${p[i]}`, (counts.get(`${a},${p[i]}`) ?? 0) + 1));
  return [...counts.entries()].map(([k, count]) => {
    const [truth, pred] = k.split(",").map(Number) as [number, number];
    return { truth, predicted: pred, count };
  });
}
