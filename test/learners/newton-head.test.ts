import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { logisticGradient, logisticHessian, logisticNewtonSolve, logisticObjective } from "../../src/learners/newton-head";

/** Float64 Newton's method for one-vs-rest logistic regression, run to convergence: the reference minimiser. */
function newton64(phi: number[][], y: number[][], lambda: number, iters = 30): number[][] {
  const n = phi.length, h = phi[0]!.length, C = y[0]!.length;
  const w = Array.from({ length: h }, () => new Array<number>(C).fill(0));
  for (let c = 0; c < C; c++) {
    for (let it = 0; it < iters; it++) {
      const p = phi.map((f) => 1 / (1 + Math.exp(-f.reduce((s, v, j) => s + v * w[j]![c]!, 0))));
      const A = Array.from({ length: h }, (_, r) => Array.from({ length: h + 1 }, (_, k) => {
        if (k === h) return phi.reduce((s, f, i) => s + f[r]! * (p[i]! - y[i]![c]!), 0) + lambda * w[r]![c]!;
        return phi.reduce((s, f, i) => s + f[r]! * f[k]! * p[i]! * (1 - p[i]!), 0) + (r === k ? lambda : 0);
      }));
      for (let k = 0; k < h; k++) {
        let piv = k;
        for (let r = k + 1; r < h; r++) if (Math.abs(A[r]![k]!) > Math.abs(A[piv]![k]!)) piv = r;
        [A[k], A[piv]] = [A[piv]!, A[k]!];
        for (let r = 0; r < h; r++) if (r !== k) { const f = A[r]![k]! / A[k]![k]!; for (let q = k; q <= h; q++) A[r]![q]! -= f * A[k]![q]!; }
      }
      for (let j = 0; j < h; j++) w[j]![c]! -= A[j]![h]! / A[j]![j]!;
    }
  }
  return w;
}

function problem(seed: number, n = 9, h = 4, C = 3): { phi: number[][]; y: number[][] } {
  const rng = new Rng(seed);
  const phi = Array.from({ length: n }, () => [...Array.from(rng.normalArray(h - 1)), 1]);
  const y = Array.from({ length: n }, (_, i) => Array.from({ length: C }, (_, c) => (c === i % C ? 1 : 0)));
  return { phi, y };
}

describe("logistic-regression head by Newton steps", () => {
  it("reaches the float64 minimiser in a few float32 Newton steps, with quadratic convergence", () => {
    const tasks = [problem(1), problem(2)];
    const phi = tf.tensor3d(tasks.map((t) => t.phi));
    const y = tf.tensor3d(tasks.map((t) => t.y));
    const lambda = 0.5;
    const w = logisticNewtonSolve(phi, y, lambda, { steps: 6 });
    const got = w.arraySync() as number[][][];
    tasks.forEach((t, i) => {
      const ref = newton64(t.phi, t.y, lambda);
      ref.forEach((row, j) => row.forEach((v, c) => expect(got[i]![j]![c]!).toBeCloseTo(v, 4)));
    });
    // Gradient norm after k steps: it falls much faster than linearly.
    const norms = [1, 2, 3, 4].map((k) => tf.tidy(() => tf.norm(logisticGradient(phi, y, logisticNewtonSolve(phi, y, lambda, { steps: k }), lambda)).dataSync()[0]!));
    expect(norms[3]!).toBeLessThan(1e-4);
    expect(norms[2]! / norms[1]!).toBeLessThan(norms[1]! / norms[0]!);
    // The objective at the solution is below the objective at W = 0.
    const at = tf.tidy(() => Array.from(logisticObjective(phi, y, w, lambda).dataSync()));
    const zero = tf.tidy(() => Array.from(logisticObjective(phi, y, tf.zerosLike(w), lambda).dataSync()));
    at.forEach((v, i) => expect(v).toBeLessThan(zero[i]!));
    tf.dispose([phi, y, w]);
  });

  it("builds each class's Hessian Φᵀ diag(σ(1 − σ)) Φ + λI as the float64 reference does", () => {
    const t = problem(3, 5, 3, 2);
    const rng = new Rng(4);
    const w0 = rng.normalTensor([1, 3, 2], 0, 0.5);
    const phi = tf.tensor3d([t.phi]);
    const H = logisticHessian(phi, w0, 0.3).arraySync() as number[][][][];
    const W = (w0.arraySync() as number[][][])[0]!;
    for (let c = 0; c < 2; c++) {
      const p = t.phi.map((f) => 1 / (1 + Math.exp(-f.reduce((s, v, j) => s + v * W[j]![c]!, 0))));
      for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) {
        const ref = t.phi.reduce((s, f, i) => s + f[j]! * f[k]! * p[i]! * (1 - p[i]!), 0) + (j === k ? 0.3 : 0);
        expect(H[0]![c]![j]![k]!).toBeCloseTo(ref, 5);
      }
    }
    tf.dispose([w0, phi]);
  });

  it("passes gradients through the unrolled Newton steps into the features (finite differences)", () => {
    const t = problem(5, 6, 3, 3);
    const rng = new Rng(6);
    const q = rng.normalTensor([1, 4, 3]);
    const yq = tf.tensor3d([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]]);
    const y = tf.tensor3d([t.y]);
    const f = (p: Record<string, tf.Tensor>): tf.Scalar => {
      const w = logisticNewtonSolve(p.phi!, y, 0.7, { steps: 3 });
      return tf.sum(tf.mul(tf.matMul(q, w), yq)) as tf.Scalar;
    };
    const r = checkGradients(f, { phi: tf.tensor3d([t.phi]) }, new Rng(7), { order: 1, directions: 3 });
    expect(r.pass, r.summary).toBe(true);
    tf.dispose([q, yq, y]);
  });

  it("rejects bad input with a fix", () => {
    const phi = tf.zeros([1, 3, 2]);
    expect(() => logisticNewtonSolve(phi, tf.zeros([1, 3, 2]), 0)).toThrow(/lambda must be positive/);
    expect(() => logisticNewtonSolve(phi, tf.zeros([1, 4, 2]), 1)).toThrow(/expects/);
    expect(() => logisticNewtonSolve(phi, tf.zeros([1, 3, 2]), 1, { steps: 0 })).toThrow(/steps/);
  });
});
