/**
 * A model-based meta-learner: a small hypernetwork maps a task's support set to the weights of a linear head
 * (in the spirit of Gidaris & Komodakis 2018 and Qiao et al. 2018). A body φ embeds the points; each class c is
 * summarised by the mean embedding μ_c of its support points, and a generator MLP g turns μ_c into that class's
 * weights and bias, [w_c, b_c] = g(μ_c); query logits are φ(x)ᵀ w_c + b_c. No gradient step at test time:
 * adaptation is one forward pass. Prototypical Networks are the fixed special case w_c = 2μ_c, b_c = −‖μ_c‖².
 */
import * as tf from "@tensorflow/tfjs";
import { cloneParams, disposeParams, type Params } from "../core/params";
import type { Rng } from "../core/random";
import { valueAndGrad } from "../autodiff/functional";
import { meanTaskLoss, perTaskAccuracy } from "../models/losses";
import { initMlp, mlpApply, mlpFeatures, type MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../optim/adam";
import type { SupportSet } from "./adapt-sgd";
import { StepLearner } from "./learner";
import { checkInteger, checkKnownKeys, checkPositive } from "../core/validate";

/** Shape and training of the hypernetwork learner. */
export interface HypernetworkConfig {
  /** Body widths from input to embedding, e.g. [8, 32, 16]: ReLU layers, the last one the embedding. */
  readonly body: readonly number[];
  /** Hidden width of the generator g: embedding → hidden → embedding + 1. */
  readonly generatorHidden: number;
  /** Outer Adam learning rate. */
  readonly outerLr: number;
}

/** Defaults for 5-way blob tasks in 8 dimensions. */
export const DEFAULT_HYPERNETWORK: HypernetworkConfig = {
  body: [8, 32, 16], // the same body size as the other families in lab 08
  generatorHidden: 32, // small: the generator only has to map one embedding to one weight vector
  outerLr: 1e-3, // the same Adam rate as MAML
};

const GEN = "gen/";

function validate(c: HypernetworkConfig): void {
  checkKnownKeys("Hypernetwork config", c, DEFAULT_HYPERNETWORK);
  checkPositive("Hypernetwork", "outerLr", c.outerLr, "MAML's Adam rate 1e-3 works.");
  checkInteger("Hypernetwork", "generatorHidden", c.generatorHidden, 1);
  if (c.body.length < 2 || c.body.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`Hypernetwork body must list at least an input and an embedding width, got [${c.body}].`);
  if (!Number.isInteger(c.generatorHidden) || c.generatorHidden < 1) throw new Error(`Hypernetwork generatorHidden must be a positive integer, got ${c.generatorHidden}.`);
}

/** Body config as an MLP whose last (linear) layer is the embedding; `mlpFeatures` of [..., emb, 1] gives ReLU features. */
function bodyConfig(c: HypernetworkConfig): MlpConfig {
  return { sizes: [...c.body, 1], activation: "relu" };
}

function generatorConfig(c: HypernetworkConfig): MlpConfig {
  const e = c.body[c.body.length - 1]!;
  return { sizes: [e, c.generatorHidden, e + 1], activation: "relu" };
}

/** Fresh parameters: body `w0, b0, …` and generator `gen/w0, gen/b0, gen/w1, gen/b1`. */
export function initHypernetwork(rng: Rng, config: Partial<HypernetworkConfig> = {}): Params {
  const c = { ...DEFAULT_HYPERNETWORK, ...config };
  validate(c);
  const body = initMlp(rng.fork("body"), bodyConfig(c));
  const L = c.body.length - 1;
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === `w${L}` || k === `b${L}`) v.dispose(); // the scalar output layer of bodyConfig is not used
    else out[k] = v;
  }
  for (const [k, v] of Object.entries(initMlp(rng.fork("generator"), generatorConfig(c)))) out[GEN + k] = v;
  return out;
}

/** Embeddings φ(x): [tasks, n, in] to [tasks, n, emb]. */
export function hyperEmbed(params: Params, x: tf.Tensor, config: Partial<HypernetworkConfig> = {}): tf.Tensor {
  return mlpFeatures(params, x, bodyConfig({ ...DEFAULT_HYPERNETWORK, ...config }));
}

/** Class means of the support embeddings, [tasks, classes, emb], from one-hot labels [tasks, n, classes]. */
export function classMeans(phi: tf.Tensor, yOneHot: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.matMul(yOneHot, phi, true, false), tf.expandDims(tf.sum(yOneHot, 1), 2))); // Σ_i y_ic φ_i / n_c
}

/** The generated head: weights [tasks, emb + 1, classes] (bias in the last row) from the support set. */
export function hyperHead(params: Params, support: SupportSet, config: Partial<HypernetworkConfig> = {}): tf.Tensor {
  const c = { ...DEFAULT_HYPERNETWORK, ...config };
  return tf.tidy(() => {
    const mu = classMeans(hyperEmbed(params, support.x, c), support.y); // [tasks, classes, emb]
    const gen: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(params)) if (k.startsWith(GEN)) gen[k.slice(GEN.length)] = v;
    const wb = mlpApply(gen, mu, generatorConfig(c)); // [tasks, classes, emb + 1]
    return tf.transpose(wb, [0, 2, 1]);
  });
}

/** Query logits [tasks, queries, classes] with the head the generator wrote for each task. */
export function hyperPredict(params: Params, support: SupportSet, queryX: tf.Tensor, config: Partial<HypernetworkConfig> = {}): tf.Tensor {
  return tf.tidy(() => {
    const phi = hyperEmbed(params, queryX, config);
    const ones = tf.onesLike(tf.slice(phi, [0, 0, 0], [-1, -1, 1]));
    return tf.matMul(tf.concat([phi, ones], 2), hyperHead(params, support, config));
  });
}

/** Mean query cross-entropy: the meta-loss. */
export function hyperLoss(params: Params, batch: TaskBatch, config: Partial<HypernetworkConfig> = {}): tf.Scalar {
  return meanTaskLoss("cross-entropy", hyperPredict(params, { x: batch.supportX, y: batch.supportY }, batch.queryX, config), batch.queryY);
}

/** State: body and generator parameters with their Adam moments. */
export interface HypernetworkState {
  readonly params: Params;
  readonly adam: AdamState;
  readonly step: number;
}

/** One Adam step on the query loss, through the generated head into the generator and the body. Pure. */
export function hyperStep(state: HypernetworkState, batch: TaskBatch, config: Partial<HypernetworkConfig> = {}): { state: HypernetworkState; loss: number } {
  const c = { ...DEFAULT_HYPERNETWORK, ...config };
  let loss = 0;
  const grads = tf.tidy(() => {
    const { value, grads } = valueAndGrad((p) => hyperLoss(p, batch, c))(state.params);
    loss = value.dataSync()[0]!;
    return { ...grads };
  });
  const r = adamStep(state.params, grads, state.adam, { lr: c.outerLr });
  disposeParams(grads);
  return { state: { params: r.params, adam: r.state, step: state.step + 1 }, loss };
}

/** A thin stateful wrapper over `hyperStep`. */
export class Hypernetwork extends StepLearner<HypernetworkState> {
  readonly config: HypernetworkConfig;

  /** Takes initial parameters from `initHypernetwork` (cloned). */
  constructor(params: Params, config: Partial<HypernetworkConfig> = {}) {
    const c = { ...DEFAULT_HYPERNETWORK, ...config };
    validate(c);
    const p = cloneParams(params);
    super({ params: p, adam: initAdam(p), step: 0 }, (s, b) => hyperStep(s, b, c), (s) => {
      disposeParams(s.params);
      disposeAdam(s.adam);
    });
    this.config = c;
  }

  /** Query logits with a head generated from `support`. */
  predict(support: SupportSet, queryX: tf.Tensor): tf.Tensor {
    return hyperPredict(this.params, support, queryX, this.config);
  }

  /** Mean query accuracy on a classification batch. */
  accuracy(batch: TaskBatch): number {
    return tf.tidy(() => tf.mean(perTaskAccuracy(this.predict({ x: batch.supportX, y: batch.supportY }, batch.queryX), batch.queryY)).dataSync()[0]!);
  }
}
