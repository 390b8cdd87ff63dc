/**
 * Losses with a leading task dimension. Per-task means let a summed inner loss give every task its own gradient,
 * and a mean over tasks gives the meta-loss.
 */
import * as tf from "@tensorflow/tfjs";
import { logSoftmax } from "../autodiff/activations";
import type { TaskLoss } from "../tasks/task-family";

/** Mean squared error per task: pred, y [tasks, points, outputs] to [tasks]. */
export function perTaskMse(pred: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  checkShapes("perTaskMse", pred, y);
  return tf.mean(tf.square(tf.sub(pred, y)), [1, 2]);
}

/** Softmax cross-entropy per task against one-hot targets: logits, y [tasks, points, classes] to [tasks]. */
export function perTaskCrossEntropy(logits: tf.Tensor, yOneHot: tf.Tensor): tf.Tensor1D {
  checkShapes("perTaskCrossEntropy", logits, yOneHot);
  const nll = tf.neg(tf.sum(tf.mul(yOneHot, logSoftmax(logits)), -1)); // [tasks, points]
  return tf.mean(nll, 1);
}

/** Per-task loss by name. */
export function perTaskLoss(kind: TaskLoss, pred: tf.Tensor, y: tf.Tensor): tf.Tensor1D {
  return kind === "mse" ? perTaskMse(pred, y) : perTaskCrossEntropy(pred, y);
}

/** Sum over tasks of per-task means: its gradient w.r.t. task-batched params is each task's own gradient. */
export function summedTaskLoss(kind: TaskLoss, pred: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.sum(perTaskLoss(kind, pred, y));
}

/** Mean over tasks of per-task means: the meta-loss. */
export function meanTaskLoss(kind: TaskLoss, pred: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.mean(perTaskLoss(kind, pred, y));
}

/** Fraction of correct argmax predictions per task: [tasks]. */
export function perTaskAccuracy(logits: tf.Tensor, yOneHot: tf.Tensor): tf.Tensor1D {
  checkShapes("perTaskAccuracy", logits, yOneHot);
  return tf.mean(tf.cast(tf.equal(tf.argMax(logits, -1), tf.argMax(yOneHot, -1)), "float32"), 1);
}

/** Fraction of points whose arg-max logit matches the one-hot target, over all tasks and points: a number in [0, 1]. */
export function classificationAccuracy(logits: tf.Tensor, oneHot: tf.Tensor): number {
  return tf.tidy(() => tf.mean(perTaskAccuracy(logits, oneHot)).dataSync()[0]!);
}

function checkShapes(name: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.rank !== 3 || b.rank !== 3 || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new Error(`${name}: predictions [${a.shape}] and targets [${b.shape}] must both be [tasks, points, outputs] with equal shapes.`);
  }
}
