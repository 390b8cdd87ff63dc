/**
 * Knowledge distillation (Hinton et al. 2015), the loss of Learning without Forgetting (Li & Hoiem 2016): a student's
 * tempered softmax is fitted to a frozen teacher's on the same inputs.
 */
import * as tf from "@tensorflow/tfjs";
import { logSoftmax, softmax } from "../autodiff/activations";

/**
 * T² · mean over points of the cross-entropy between softmax(teacher / T) and softmax(student / T); logits
 * [..., points, classes]. The T² keeps the gradient's scale independent of T (Hinton et al. 2015). The teacher's
 * logits are targets: pass a frozen model's outputs (they are not differentiated here).
 */
export function distillationLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, temperature: number): tf.Scalar {
  if (!(temperature > 0)) throw new Error(`distillationLoss: temperature must be positive, got ${temperature}. Li & Hoiem use T = 2.`);
  if (studentLogits.shape.length !== teacherLogits.shape.length || studentLogits.shape.some((s, i) => s !== teacherLogits.shape[i])) {
    throw new Error(`distillationLoss: student logits [${studentLogits.shape}] and teacher logits [${teacherLogits.shape}] must have the same shape.`);
  }
  const target = softmax(tf.div(teacherLogits, temperature));
  const logp = logSoftmax(tf.div(studentLogits, temperature));
  return tf.mul(tf.neg(tf.mean(tf.sum(tf.mul(target, logp), -1))), temperature * temperature) as tf.Scalar;
}
