/**
 * The fast-path contract (src/fast/mlp-maml.ts) by plain tfjs autodiff, for tests and benchmarks: task-batched
 * parameters, nested `grad` through the inner loop, `stopGradient` on inner gradients for first order.
 */
import * as tf from "@tensorflow/tfjs";
import { addScaled, mapParams, tileForTasks, type Params } from "../core/params";
import { grad, valueAndGrad } from "../autodiff/functional";
import { stopGradient } from "../autodiff/activations";
import { mlpApply, type MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";

/** Meta-loss and meta-gradient by tfjs autodiff; caller disposes the result. */
export function referenceMamlMetaGradient(params: Params, batch: TaskBatch, model: MlpConfig, innerSteps: number, innerLr: number, firstOrder: boolean): { loss: number; grads: Params } {
  const T = batch.supportX.shape[0];
  const perTaskMse = (p: Params, x: tf.Tensor, y: tf.Tensor) => tf.mean(tf.square(tf.sub(mlpApply(p, x, model), y)), [1, 2]); // [tasks]
  const metaLoss = (p: Params): tf.Scalar => {
    let pt = tileForTasks(p, T);
    for (let i = 0; i < innerSteps; i++) {
      let g = grad((q) => tf.sum(perTaskMse(q, batch.supportX, batch.supportY)) as tf.Scalar)(pt);
      if (firstOrder) g = mapParams(g, (t) => stopGradient(t));
      pt = addScaled(pt, g, -innerLr);
    }
    return tf.mean(perTaskMse(pt, batch.queryX, batch.queryY)) as tf.Scalar;
  };
  return tf.tidy(() => {
    const { value, grads } = valueAndGrad(metaLoss)(params);
    const loss = value.dataSync()[0]!;
    return { loss, grads: mapParams(grads, (t) => tf.keep(t)) };
  });
}
