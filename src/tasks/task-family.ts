/**
 * A family of tasks that yields already-batched support and query sets.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../core/random";
import { checkInteger, checkKnownKeys, checkObject } from "../core/validate";

/** A meta-batch of tasks; every tensor has a leading task dimension. */
export interface TaskBatch {
  /** Support inputs, [tasks, shots, features]. */
  readonly supportX: tf.Tensor3D;
  /** Support targets, [tasks, shots, outputs] (one-hot for classification). */
  readonly supportY: tf.Tensor3D;
  /** Query inputs, [tasks, queries, features]. */
  readonly queryX: tf.Tensor3D;
  /** Query targets, [tasks, queries, outputs]. */
  readonly queryY: tf.Tensor3D;
}

/** Sizes of one meta-batch. */
export interface BatchSpec {
  /** Number of tasks in the meta-batch. */
  readonly tasks: number;
  /** Support points per task (K in K-shot). */
  readonly shots: number;
  /** Query points per task. */
  readonly queries: number;
}

/** Every key of `BatchSpec`, for the unknown-key check. */
const BATCH_SPEC_KEYS: Record<keyof BatchSpec, unknown> = { tasks: 0, shots: 0, queries: 0 };

/**
 * Checks a batch spec: tasks, shots and queries are positive integers. `strict` also rejects unknown keys (for a spec
 * a user writes into a config; families accept a wider object). Returns it unchanged.
 */
export function batchSpec(spec: BatchSpec, who = "BatchSpec", strict = false): BatchSpec {
  checkObject(who, "spec", spec, "Pass { tasks, shots, queries }.");
  if (strict) checkKnownKeys(`${who}`, spec, BATCH_SPEC_KEYS);
  checkInteger(who, "tasks", spec.tasks, 1);
  checkInteger(who, "shots", spec.shots, 1, "Shots count support points (per class for classification).");
  checkInteger(who, "queries", spec.queries, 1);
  return spec;
}

/** Loss a task family is scored with. */
export type TaskLoss = "mse" | "cross-entropy";

/** A distribution over tasks that samples batched support and query sets from a seeded generator. */
export interface TaskFamily {
  readonly name: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly loss: TaskLoss;
  /** Samples `spec.tasks` tasks with their support and query sets. */
  sample(rng: Rng, spec: BatchSpec): TaskBatch;
}

/** Disposes the four tensors of a batch. */
export function disposeBatch(b: TaskBatch): void {
  b.supportX.dispose();
  b.supportY.dispose();
  b.queryX.dispose();
  b.queryY.dispose();
}
