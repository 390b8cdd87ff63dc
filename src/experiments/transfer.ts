/**
 * The transfer experiment behind notebook 05: pretrain an MLP classifier on every class of a prototype pool, then
 * adapt it to 5-way few-shot tasks on NEW classes with a linear probe, fine-tuning (random or zero head), LP-FT
 * (Kumar et al. 2022), LoRA (Hu et al. 2021) and a soft prompt (Lester et al. 2021), recording query accuracy per
 * step and how far the body moved. Every method gets the same number of SGD steps.
 */
import * as tf from "@tensorflow/tfjs";
import { loopGuard } from "../core/interrupt";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { valueAndGrad } from "../autodiff/functional";
import { headNames, initMlp, mlpApply, type MlpConfig } from "../models/mlp";
import { meanTaskLoss } from "../models/losses";
import { adamStep, disposeAdam, initAdam } from "../optim/adam";
import { BlobClassification, DEFAULT_BLOBS, type BlobClassificationConfig } from "../tasks/classification";
import { disposeBatch, type BatchSpec } from "../tasks/task-family";
import { adapt, initHead, type AdaptationRow, type HeadInit } from "../learners/adaptation";
import { adaptLora, type LoraConfig } from "../learners/lora";
import { adaptPrompt } from "../learners/soft-prompt";
import { runSteps } from "../learners/train";
import { loraConfig } from "../learners/lora";
import { blobClassificationConfig, oneHotLabels } from "../tasks/classification";
import { batchSpec } from "../tasks/task-family";
import { checkConfig, checkFinite, checkInteger, checkOneOf, checkPositive, checkString, withDefaults } from "../core/validate";
import { headFastPathReason, HeadTrainer, type HeadNetSpec } from "../learners/head-train";

/** Pretraining settings. */
export interface ClassifierPretrainConfig {
  /** The family whose whole prototype pool is the pretraining label set. */
  readonly family: BlobClassificationConfig;
  readonly hidden: readonly number[];
  /** Points per pool class in the pretraining set. */
  readonly perClass: number;
  readonly steps: number;
  readonly batchSize: number;
  /** Adam step size. */
  readonly lr: number;
  /** "auto" (the default) trains on the packed fast path (learners/head-train.ts) when the MLP allows; "off" uses tfjs autodiff. */
  readonly fastPath?: "auto" | "off";
}

/** Default pretraining: 64 pool classes, 20 points each, a 32-32 ReLU MLP. */
export const DEFAULT_CLASSIFIER_PRETRAIN: ClassifierPretrainConfig = {
  family: DEFAULT_BLOBS, // pool of 64 prototypes in 8 dimensions
  hidden: [32, 32], // same body as the BN and forgetting experiments
  perClass: 20, // 1,280 labelled points
  steps: 1500, // the 64-way loss levels off by then
  batchSize: 64, // a usual minibatch
  lr: 3e-3, // Adam on a small MLP
};

/** Every key `ClassifierPretrainConfig` may have (`fastPath` defaults to "auto"). */
const CLASSIFIER_PRETRAIN_KEYS: Record<keyof ClassifierPretrainConfig, unknown> = { ...DEFAULT_CLASSIFIER_PRETRAIN, fastPath: "auto" };

/** Checks a pretraining config field by field (unknown keys are errors); returns it unchanged. */
export function classifierPretrainConfig(c: ClassifierPretrainConfig, who = "ClassifierPretrainConfig"): ClassifierPretrainConfig {
  checkConfig(who, c, CLASSIFIER_PRETRAIN_KEYS, { name: "config", hint: "Start from DEFAULT_CLASSIFIER_PRETRAIN: { ...DEFAULT_CLASSIFIER_PRETRAIN, steps: 300 }." });
  blobClassificationConfig(c.family, `${who}.family`);
  if (c.family.poolSize === 0) throw new Error(`${who}.family.poolSize must be > 0: pretraining learns the pool's classes. Keep DEFAULT_BLOBS's 64.`);
  checkIntegerListOf(who, "hidden", c.hidden);
  checkInteger(who, "perClass", c.perClass, 1);
  checkInteger(who, "steps", c.steps, 1);
  checkInteger(who, "batchSize", c.batchSize, 1);
  checkPositive(who, "lr", c.lr, "Adam's 3e-3 works on this MLP.");
  if (c.fastPath !== undefined) checkOneOf(who, "fastPath", c.fastPath, ["auto", "off"] as const);
  return c;
}

/** Hidden widths: a list (possibly empty: a linear classifier) of positive integers. */
function checkIntegerListOf(who: string, name: string, v: readonly number[]): void {
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${who} ${name} must be a list of positive integers (hidden widths, e.g. [32, 32]), got ${JSON.stringify(v)}.`);
}

/** Pretrains a classifier on all pool classes; returns params with a [hidden, poolSize] head and the loss curve. */
export function pretrainClassifier(c: ClassifierPretrainConfig, rng: Rng, onStep?: (step: number, loss: number) => void): { params: Params; config: MlpConfig; curve: { step: number; loss: number }[] } {
  classifierPretrainConfig(c);
  const family = new BlobClassification(c.family);
  const config: MlpConfig = { sizes: [c.family.dim, ...c.hidden, c.family.poolSize], activation: "relu" };
  const { x, y } = family.samplePool(rng.fork("pool-data"), c.perClass);
  const n = x.shape[1];
  let params = initMlp(rng.fork("init"), config);
  const L = config.sizes.length - 1;
  const [hw, hb] = [`w${L - 1}`, `b${L - 1}`];
  const spec: HeadNetSpec = { sizes: config.sizes.slice(0, -1), activation: config.activation, heads: [{ w: hw, b: hb, width: c.family.poolSize }] };
  if (c.fastPath !== "off" && headFastPathReason(spec, params) === null) return pretrainOnFastPath(c, spec, config, params, x, y, rng, onStep);
  let adam = initAdam(params);
  const batches = rng.fork("batches");
  const curve: { step: number; loss: number }[] = [];
  const step = (): number => {
    const idx = tf.tensor1d(Array.from({ length: c.batchSize }, () => batches.int(n)), "int32");
    const { value, grads } = tf.tidy(() => {
      const xb = tf.gather(x, idx, 1); // [1, batch, dim]
      const yb = tf.gather(y, idx, 1); // [1, batch, pool]
      return valueAndGrad((p) => meanTaskLoss("cross-entropy", mlpApply(p, xb, config), yb))(params);
    });
    idx.dispose();
    const loss = value.dataSync()[0]!;
    value.dispose();
    const next = adamStep(params, grads, adam, { lr: c.lr });
    for (const t of [...Object.values(grads), ...Object.values(params)]) t.dispose();
    disposeAdam(adam);
    params = next.params;
    adam = next.state;
    return loss;
  };
  try {
    runSteps(c.steps, step, {
      label: "pretraining",
      onProgress: (s, _total, loss) => {
        curve.push({ step: s, loss });
        onStep?.(s, loss);
      },
    });
  } catch (e) {
    for (const t of Object.values(params)) t.dispose(); // interrupted: nothing is returned
    throw e;
  } finally {
    disposeAdam(adam);
    x.dispose();
    y.dispose();
  }
  return { params, config, curve };
}

/**
 * `pretrainClassifier` on the packed fast path: the same minibatch draws, cross-entropy and Adam on `HeadTrainer`
 * (no tensors per step). Takes over (disposes) `params`, `x` and `y`.
 */
function pretrainOnFastPath(c: ClassifierPretrainConfig, spec: HeadNetSpec, config: MlpConfig, params: Params, x: tf.Tensor, y: tf.Tensor, rng: Rng, onStep?: (step: number, loss: number) => void): { params: Params; config: MlpConfig; curve: { step: number; loss: number }[] } {
  const n = x.shape[1]!;
  const labels = oneHotLabels(y);
  const trainer = new HeadTrainer(spec, params, x.dataSync() as Float32Array);
  for (const t of [...Object.values(params), x, y]) t.dispose();
  const batches = rng.fork("batches");
  const curve: { step: number; loss: number }[] = [];
  trainer.phase(Object.keys(params), c.steps, c.lr, () => {
    const idx = Array.from({ length: c.batchSize }, () => batches.int(n));
    return { blocks: [{ rows: idx, terms: [{ heads: { first: 0, count: 1 }, weight: 1, labels: idx.map((i) => labels[i]!) }] }] };
  }, (s, loss) => {
    if (loss === undefined) return;
    curve.push({ step: s, loss });
    onStep?.(s, loss);
  }, "pretraining");
  return { params: trainer.unpack(), config, curve };
}

/** One adaptation method of the comparison. */
export interface AdaptationMethodSpec {
  readonly name: string;
  readonly kind: "probe" | "finetune" | "lpft" | "lora" | "prompt";
  /** Head initialisation (the pretrained head has the wrong number of classes, so it is always replaced). */
  readonly headInit: Exclude<HeadInit, "keep">;
  readonly lora?: LoraConfig;
  /** Step size of this method (of its probe, for a probe); the comparison's `lr` or `probeLr` by default. */
  readonly lr?: number;
}

/** Settings of the comparison. */
export interface AdaptationComparisonConfig {
  readonly pretrain: ClassifierPretrainConfig;
  /** Seed of the NEW classes' prototype pool (different from the pretraining pool's). */
  readonly novelPoolSeed: number;
  /** Few-shot tasks: shots and queries per class. */
  readonly tasks: BatchSpec;
  /** SGD steps of every method (LP-FT splits them: `lpftProbeSteps` probing, the rest fine-tuning). */
  readonly steps: number;
  readonly lr: number;
  /** Steps of the linear probe alone. */
  readonly probeSteps: number;
  /** Of LP-FT's `steps`, how many probe before it fine-tunes. */
  readonly lpftProbeSteps: number;
  /** Step size of the probe (convex, but the support set is separable and features are large: keep it moderate). */
  readonly probeLr: number;
  readonly methods: readonly AdaptationMethodSpec[];
}

/** Default comparison: 5-way 5-shot on new classes, 100 SGD steps, five methods. */
export const DEFAULT_ADAPTATION_COMPARISON: AdaptationComparisonConfig = {
  pretrain: DEFAULT_CLASSIFIER_PRETRAIN,
  novelPoolSeed: 777, // any seed other than the pretraining pool's 1234
  tasks: { tasks: 50, shots: 5, queries: 15 }, // 50 tasks: accuracy standard error about 1%
  steps: 100, // enough for fine-tuning to converge on 25 support points
  lr: 0.05, // plain SGD on the support set
  probeSteps: 100, // the same budget as every other method
  lpftProbeSteps: 50, // half probing, half fine-tuning: LP-FT gets the same 100 steps as the others
  probeLr: 0.05, // the same step as the other methods, so they differ only in what trains; 0.1 overfits (lab 05)
  methods: [
    { name: "linear probe", kind: "probe", headInit: "zero" },
    { name: "fine-tune, random head", kind: "finetune", headInit: "random" },
    { name: "fine-tune, zero head", kind: "finetune", headInit: "zero" },
    { name: "LP-FT", kind: "lpft", headInit: "zero" },
    { name: "LoRA r=2 + head", kind: "lora", headInit: "zero", lora: { rank: 2, alpha: 2 } },
    { name: "soft prompt + head", kind: "prompt", headInit: "zero" },
  ],
};

/** Every key an `AdaptationMethodSpec` may have (`lora` and `lr` are optional). */
const METHOD_SPEC_KEYS: Record<keyof AdaptationMethodSpec, unknown> = { name: "", kind: "probe", headInit: "zero", lora: undefined, lr: undefined };

/** Fills in the comparison's defaults and checks every field, nested ones too (unknown keys are errors). */
export function adaptationComparisonConfig(config: Partial<AdaptationComparisonConfig> = {}): AdaptationComparisonConfig {
  const WHO = "AdaptationComparisonConfig";
  const c: AdaptationComparisonConfig = withDefaults(WHO, config, DEFAULT_ADAPTATION_COMPARISON, { name: "config", hint: "Pass {} for the defaults." });
  classifierPretrainConfig(c.pretrain, `${WHO}.pretrain`);
  checkFinite(WHO, "novelPoolSeed", c.novelPoolSeed, "Use a seed other than the pretraining pool's.");
  batchSpec(c.tasks, `${WHO}.tasks`, true);
  checkInteger(WHO, "steps", c.steps, 2, "LP-FT needs at least one probe step and one fine-tuning step.");
  checkPositive(WHO, "lr", c.lr);
  checkInteger(WHO, "probeSteps", c.probeSteps, 0);
  if (!Number.isInteger(c.lpftProbeSteps) || c.lpftProbeSteps < 1 || c.lpftProbeSteps >= c.steps) {
    throw new Error(`${WHO} lpftProbeSteps must be an integer between 1 and steps - 1 (${c.steps - 1}), got ${c.lpftProbeSteps}: LP-FT probes, then fine-tunes, within the same budget.`);
  }
  checkPositive(WHO, "probeLr", c.probeLr);
  if (!Array.isArray(c.methods) || c.methods.length === 0) throw new Error(`${WHO} methods must list at least one method, e.g. DEFAULT_ADAPTATION_COMPARISON.methods.`);
  c.methods.forEach((m, i) => {
    const who = `${WHO}.methods[${i}]`;
    checkConfig(who, m, METHOD_SPEC_KEYS, { name: "entry", hint: 'Pass { name, kind, headInit }, e.g. { name: "probe", kind: "probe", headInit: "zero" }.' });
    checkString(who, "name", m.name, "Name the row of the summary table.");
    checkOneOf(who, "kind", m.kind, ["probe", "finetune", "lpft", "lora", "prompt"] as const);
    checkOneOf(who, "headInit", m.headInit, ["random", "zero"] as const);
    if (m.lora !== undefined) {
      if (m.kind !== "lora") throw new Error(`${who} has a lora config but kind "${m.kind}"; use kind "lora" or drop lora.`);
      loraConfig(m.lora, `${who}.lora`);
    }
    if (m.lr !== undefined) checkPositive(who, "lr", m.lr);
  });
  return c;
}

/** Final numbers of one method. */
export interface AdaptationSummaryRow {
  readonly method: string;
  /** Scalars trained per task. */
  readonly trainable: number;
  readonly queryAccuracy: number;
  readonly queryLoss: number;
  /** |theta_body - theta_body_pretrained| / |theta_body_pretrained|: how much the features moved. */
  readonly bodyChange: number;
}

/** One history point of one method. */
export interface AdaptationCurveRow extends AdaptationRow {
  readonly method: string;
}

function bodyChange(adapted: Params, base: Params, bodyNames: readonly string[]): number {
  return tf.tidy(() => {
    let num = tf.scalar(0);
    let den = tf.scalar(0);
    for (const k of bodyNames) {
      const b = base[k]!;
      const a = adapted[k]!;
      const diff = tf.sub(a, b); // broadcasts over a task dimension
      const tasks = a.rank > b.rank ? a.shape[0]! : 1;
      num = tf.add(num, tf.div(tf.sum(tf.square(diff)), tasks));
      den = tf.add(den, tf.sum(tf.square(b)));
    }
    return Math.sqrt(num.dataSync()[0]! / den.dataSync()[0]!);
  });
}

/** Runs the comparison on the same new-class tasks for every method, from one pretrained body. */
export function compareAdaptation(config: Partial<AdaptationComparisonConfig>, rng: Rng, onProgress?: (done: number, total: number, info: { stage: string }) => void): { pretrainCurve: { step: number; loss: number }[]; curves: AdaptationCurveRow[]; summary: AdaptationSummaryRow[] } {
  const c = adaptationComparisonConfig(config);
  const total = c.pretrain.steps + c.methods.length;
  const pre = pretrainClassifier(c.pretrain, rng.fork("pretrain"), (s) => onProgress?.(s, total, { stage: "pretraining" }));
  const ways = c.pretrain.family.ways;
  const cfg: MlpConfig = { ...pre.config, sizes: [...pre.config.sizes.slice(0, -1), ways] };
  const L = cfg.sizes.length - 1;
  const head = headNames(cfg);
  const bodyNames = Object.keys(pre.params).filter((k) => !head.includes(k));
  const novel = new BlobClassification({ ...c.pretrain.family, poolSeed: c.novelPoolSeed });
  const batch = novel.sample(rng.fork("novel-tasks"), c.tasks);
  const curves: AdaptationCurveRow[] = [];
  const summary: AdaptationSummaryRow[] = [];
  const guard = loopGuard("adaptation comparison", c.methods.length, { unit: "methods" });
  try {
    c.methods.forEach((m, i) => {
      guard.check(i);
      const headRng = rng.fork(`head-${m.headInit}`);
      const start = initHead(pre.params, cfg, m.headInit, headRng);
      let params: Params;
      let history: AdaptationRow[];
      let trainable: number;
      const bodyCount = bodyNames.reduce((n, k) => n + pre.params[k]!.size, 0);
      const headCount = (cfg.sizes[L - 1]! + 1) * ways;
      if (m.kind === "lora") {
        const r = adaptLora(start, batch, cfg, { steps: c.steps, lr: m.lr ?? c.lr, loss: "cross-entropy", trainHead: true, ...(m.lora ? { lora: m.lora } : {}) }, rng.fork("lora"));
        for (const t of Object.values(r.adapter)) t.dispose();
        params = r.params;
        history = r.history;
        trainable = r.trainableParams;
      } else if (m.kind === "prompt") {
        const r = adaptPrompt(start, batch, cfg, { steps: c.steps, lr: m.lr ?? c.lr, loss: "cross-entropy", trainHead: true });
        for (const t of Object.values(r.trained)) t.dispose();
        params = r.params;
        history = r.history;
        trainable = r.trainableParams;
      } else {
        const r = adapt(start, batch, cfg, {
          method: m.kind,
          steps: m.kind === "probe" ? c.probeSteps : m.kind === "lpft" ? c.steps - c.lpftProbeSteps : c.steps,
          lr: m.lr ?? (m.kind === "probe" ? c.probeLr : c.lr),
          probeSteps: m.kind === "lpft" ? c.lpftProbeSteps : c.probeSteps,
          probeLr: m.kind === "probe" ? m.lr ?? c.probeLr : c.probeLr,
          loss: "cross-entropy",
          probeSolver: "sgd",
          headInit: "keep",
        }, headRng);
        params = r.params;
        history = r.history;
        trainable = m.kind === "probe" ? headCount : bodyCount + headCount;
      }
      for (const h of history) curves.push({ method: m.name, ...h });
      const last = history.at(-1)!;
      summary.push({ method: m.name, trainable, queryAccuracy: last.queryAccuracy ?? Number.NaN, queryLoss: last.queryLoss, bodyChange: bodyChange(params, pre.params, bodyNames) });
      for (const t of [...Object.values(params), ...Object.values(start)]) t.dispose();
      onProgress?.(c.pretrain.steps + i + 1, total, { stage: m.name });
    });
  } finally {
    guard.end();
    disposeBatch(batch);
    for (const t of Object.values(pre.params)) t.dispose();
  }
  return { pretrainCurve: pre.curve, curves, summary };
}
