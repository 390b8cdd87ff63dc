/**
 * Per-task losses, [tasks, points, outputs] to [tasks]: the building block of batched adaptation where every task
 * gets its own gradient (sum the per-task losses, and each task's slice of the gradient is its own).
 */
import * as tf from "@tensorflow/tfjs";
import { logSoftmax } from "../autodiff/activations";
import type { TaskLoss } from "../tasks/task-family";

/** Mean squared error per task: mean over points and outputs, [tasks]. */
export function msePerTask(pred: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.mean(tf.square(tf.sub(pred, y)), [1, 2]);
}

/** Softmax cross-entropy per task from logits and one-hot (or soft) targets: mean over points, [tasks]. */
export function crossEntropyPerTask(logits: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.neg(tf.mean(tf.sum(tf.mul(y, logSoftmax(logits)), -1), 1));
}

/** The per-task loss a task family is scored with. */
export function lossPerTask(kind: TaskLoss, pred: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (pred.rank !== 3 || y.rank !== 3) throw new Error(`lossPerTask expects [tasks, points, outputs] tensors, got [${pred.shape}] and [${y.shape}].`);
  return kind === "mse" ? msePerTask(pred, y) : crossEntropyPerTask(pred, y);
}
