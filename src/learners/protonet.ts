/**
 * Prototypical Networks (Snell, Swersky & Zemel 2017): embed support and query points with any embedding model,
 * take each class's mean support embedding as its prototype, and classify queries by a softmax over negative squared
 * Euclidean distances to the prototypes. Meta-training minimises that softmax's query cross-entropy with Adam.
 * Generic over the embedding: an `Mlp`, a `ConvNet` with `outputs: 0`, or anything with `apply(params, x)`.
 */
import * as tf from "@tensorflow/tfjs";
import { checkOneOf, checkPositive, withDefaults } from "../core/validate";
import { cloneParams, disposeParams, type Params } from "../core/params";
import { valueAndGrad } from "../autodiff/functional";
import { meanTaskLoss, perTaskAccuracy } from "../models/losses";
import type { TaskBatch } from "../tasks/task-family";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../optim/adam";
import { clipByGlobalNorm } from "../optim/clip";
import type { TaskModel } from "./model";
import { StepLearner } from "./learner";

/** Options of Prototypical Networks. */
export interface ProtoNetOptions {
  /** Adam learning rate. */
  readonly lr: number;
  /** Distance to the prototypes: squared Euclidean (the paper's choice) or negative cosine similarity. */
  readonly distance: "squared-euclidean" | "cosine";
  /** Multiplies the negative distances before the softmax (a fixed temperature; 1 in the paper). */
  readonly scale: number;
  /** Clip the gradient to this global norm; off when null. */
  readonly clipNorm: number | null;
}

/** Defaults of Snell et al. (2017). */
export const DEFAULT_PROTONET: ProtoNetOptions = {
  lr: 1e-3, // Snell et al.'s Adam step
  distance: "squared-euclidean", // Snell et al. show it beats cosine
  scale: 1, // no temperature in the paper
  clipNorm: null, // the paper does not clip
};

/** Checks ProtoNet's options field by field over the defaults (unknown keys are errors). */
export function protoNetOptions(options: Partial<ProtoNetOptions> = {}): ProtoNetOptions {
  const WHO = "ProtoNet";
  const o = withDefaults(WHO, options, DEFAULT_PROTONET, { keysWho: "ProtoNet options" });
  checkPositive(WHO, "lr", o.lr, "Snell et al. use 1e-3.");
  checkOneOf(WHO, "distance", o.distance, ["squared-euclidean", "cosine"] as const);
  checkPositive(WHO, "scale", o.scale, "Use 1 for the paper's softmax.");
  if (o.clipNorm !== null) checkPositive(WHO, "clipNorm", o.clipNorm, "Use null for no clipping.");
  return o;
}

/** Class prototypes: mean embedding per class. embedded [tasks, shots, e], one-hot y [tasks, shots, ways] to [tasks, ways, e]. */
export function prototypes(embedded: tf.Tensor, yOneHot: tf.Tensor): tf.Tensor3D {
  const sums = tf.matMul(yOneHot, embedded, true, false); // [tasks, ways, e]
  const counts = tf.sum(yOneHot, 1); // [tasks, ways]
  return tf.div(sums, tf.expandDims(tf.maximum(counts, 1), 2)) as tf.Tensor3D;
}

/** Logits of queries against prototypes: -scale · distance. queries [tasks, q, e], protos [tasks, ways, e] to [tasks, q, ways]. */
export function prototypeLogits(queries: tf.Tensor, protos: tf.Tensor, options: Partial<ProtoNetOptions> = {}): tf.Tensor3D {
  const o = protoNetOptions(options);
  if (o.distance === "cosine") {
    const unit = (t: tf.Tensor): tf.Tensor => tf.div(t, tf.sqrt(tf.add(tf.sum(tf.square(t), -1, true), 1e-12)));
    return tf.mul(tf.matMul(unit(queries), unit(protos), false, true), o.scale) as tf.Tensor3D;
  }
  const qq = tf.sum(tf.square(queries), -1, true); // [tasks, q, 1]
  const pp = tf.expandDims(tf.sum(tf.square(protos), -1), 1); // [tasks, 1, ways]
  const qp = tf.matMul(queries, protos, false, true); // [tasks, q, ways]
  const d2 = tf.add(tf.sub(qq, tf.mul(qp, 2)), pp); // ||q - p||^2
  return tf.mul(d2, -o.scale) as tf.Tensor3D;
}

/** Query logits of a Prototypical Network on a batch of tasks: [tasks, queries, ways]. */
export function protoNetLogits(params: Params, batch: TaskBatch, embed: TaskModel, options: Partial<ProtoNetOptions> = {}): tf.Tensor3D {
  const protos = prototypes(embed.apply(params, batch.supportX), batch.supportY);
  return prototypeLogits(embed.apply(params, batch.queryX), protos, options);
}

/** The meta-loss: mean over tasks of the query cross-entropy under the prototype softmax. */
export function protoNetLoss(params: Params, batch: TaskBatch, embed: TaskModel, options: Partial<ProtoNetOptions> = {}): tf.Scalar {
  return meanTaskLoss("cross-entropy", protoNetLogits(params, batch, embed, options), batch.queryY);
}

/** Mean query loss and accuracy over the tasks of a batch (no gradient). */
export function protoNetEvaluate(params: Params, batch: TaskBatch, embed: TaskModel, options: Partial<ProtoNetOptions> = {}): { loss: number; accuracy: number } {
  const [l, a] = tf.tidy(() => {
    const logits = protoNetLogits(params, batch, embed, options);
    return [meanTaskLoss("cross-entropy", logits, batch.queryY), tf.mean(perTaskAccuracy(logits, batch.queryY))];
  });
  const out = { loss: l!.dataSync()[0]!, accuracy: a!.dataSync()[0]! };
  l!.dispose();
  a!.dispose();
  return out;
}

/** Prototypical Network training state. */
export interface ProtoNetState {
  readonly params: Params;
  readonly adam: AdamState;
  readonly step: number;
}

/** Initial state (params cloned, so the caller keeps its own). */
export function initProtoNetState(params: Params): ProtoNetState {
  const p = cloneParams(params);
  return { params: p, adam: initAdam(p), step: 0 };
}

/** One Adam step on the prototype loss of a meta-batch. Pure: returns a new state, leaves `state` and `batch` intact. */
export function protoNetStep(state: ProtoNetState, batch: TaskBatch, embed: TaskModel, options: Partial<ProtoNetOptions> = {}): { state: ProtoNetState; loss: number } {
  const o = protoNetOptions(options);
  let loss = 0;
  let grads = tf.tidy(() => {
    const { value, grads } = valueAndGrad((p) => protoNetLoss(p, batch, embed, o))(state.params);
    loss = value.dataSync()[0]!;
    return { ...grads };
  });
  if (o.clipNorm !== null) {
    const c = clipByGlobalNorm(grads, o.clipNorm).grads;
    disposeParams(grads);
    grads = c;
  }
  const r = adamStep(state.params, grads, state.adam, { lr: o.lr });
  disposeParams(grads);
  return { state: { params: r.params, adam: r.state, step: state.step + 1 }, loss };
}

/** Disposes a Prototypical Network state. */
export function disposeProtoNetState(s: ProtoNetState): void {
  disposeParams(s.params);
  disposeAdam(s.adam);
}

/** A thin stateful wrapper over `protoNetStep`. */
export class ProtoNet extends StepLearner<ProtoNetState> {
  readonly options: ProtoNetOptions;

  constructor(readonly embed: TaskModel, params: Params, options: Partial<ProtoNetOptions> = {}) {
    const o = protoNetOptions(options);
    super(initProtoNetState(params), (s, b) => protoNetStep(s, b, embed, o), disposeProtoNetState);
    this.options = o;
  }

  /** Query logits [tasks, queries, ways] of the current embedding on a batch. */
  logits(batch: TaskBatch): tf.Tensor3D {
    return tf.tidy(() => protoNetLogits(this.params, batch, this.embed, this.options));
  }

  /** Mean query loss and accuracy of the current embedding on a batch. */
  evaluate(batch: TaskBatch): { loss: number; accuracy: number } {
    return protoNetEvaluate(this.params, batch, this.embed, this.options);
  }
}
