/**
 * Notebook hygiene: `keep` holds long-lived objects by name so re-running a cell disposes the previous one, and
 * `noLeak` asserts that a computation leaves the number of live tensors unchanged.
 */
import * as tf from "@tensorflow/tfjs";

/** Anything that owns tensors and can free them (learners, stateful modules, ...). */
export interface Disposable {
  dispose(): void;
}

const kept = new Map<string, Disposable>();

/** Stores `value` under `name`, disposing whatever a previous run of the cell stored there; returns `value`. */
export function keep<T extends Disposable>(name: string, value: T): T {
  const previous = kept.get(name);
  if (previous !== undefined && previous !== value) previous.dispose();
  kept.set(name, value);
  return value;
}

/** Disposes and forgets everything held by `keep`. */
export function releaseKept(): void {
  for (const v of kept.values()) v.dispose();
  kept.clear();
}

/**
 * Runs `fn` (sync or async) and throws if the number of live tensors changed, naming `label`.
 * Wrap training loops whose learner was created before the call, so its fixed-size state is not counted.
 */
export async function noLeak<T>(label: string, fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(`${label} changed the number of live tensors from ${before} to ${after}: something is missing tf.tidy or dispose. Wrap tensor code in tf.tidy and dispose returned tensors.`);
  }
  return out;
}
