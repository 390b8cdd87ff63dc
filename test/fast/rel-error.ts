/** Test helpers shared by the fast-path tests. */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../../src/core/params";
import type { Rng } from "../../src/core/random";
import type { TaskBatch } from "../../src/tasks/task-family";

/** Relative error ||a - b|| / ||b|| over all parameters together. */
export function relError(a: Params, b: Params): number {
  let num = 0;
  let den = 0;
  for (const k of Object.keys(b)) {
    const x = a[k]!.dataSync();
    const y = b[k]!.dataSync();
    for (let i = 0; i < y.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += y[i]! ** 2;
    }
  }
  return Math.sqrt(num / den);
}

/** Relative error of two flat vectors. */
export function relErrorFlat(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let j = 0; j < b.length; j++) {
    num += (a[j]! - b[j]!) ** 2;
    den += b[j]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** Sine tasks as in Finn et al. (2017): amplitude in [0.1, 5], phase in [0, π], x in [-5, 5]; `outputs` phase-shifted copies. */
export function sineBatch(rng: Rng, tasks: number, shots: number, queries: number, outputs = 1): TaskBatch {
  const make = (n: number) => {
    const x = new Float32Array(tasks * n);
    const y = new Float32Array(tasks * n * outputs);
    for (let t = 0; t < tasks; t++) {
      const amp = rng.uniform(0.1, 5);
      const phase = rng.uniform(0, Math.PI);
      for (let p = 0; p < n; p++) {
        const xv = rng.uniform(-5, 5);
        x[t * n + p] = xv;
        for (let o = 0; o < outputs; o++) y[(t * n + p) * outputs + o] = amp * Math.sin(xv - phase + o);
      }
    }
    return [tf.tensor3d(x, [tasks, n, 1]), tf.tensor3d(y, [tasks, n, outputs])] as const;
  };
  const [supportX, supportY] = make(shots);
  const [queryX, queryY] = make(queries);
  return { supportX, supportY, queryX, queryY };
}

/** N-way classification tasks: Gaussian inputs [tasks, points, dim] and one-hot labels [tasks, points, ways]. */
export function classBatch(rng: Rng, tasks: number, shots: number, queries: number, dim: number, ways: number): TaskBatch {
  const make = (n: number) => {
    const x = new Float32Array(tasks * n * dim);
    const y = new Float32Array(tasks * n * ways);
    for (let t = 0; t < tasks * n; t++) {
      const label = rng.int(ways);
      for (let d = 0; d < dim; d++) x[t * dim + d] = rng.normal(label === d % ways ? 1 : 0, 1);
      y[t * ways + label] = 1;
    }
    return [tf.tensor3d(x, [tasks, n, dim]), tf.tensor3d(y, [tasks, n, ways])] as const;
  };
  const [supportX, supportY] = make(shots);
  const [queryX, queryY] = make(queries);
  return { supportX, supportY, queryX, queryY };
}
