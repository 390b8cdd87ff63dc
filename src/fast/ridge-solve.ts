/**
 * Symmetric positive-definite solves in float64 for the ridge head's fast path (Cholesky, Golub & Van Loan §4.2).
 */

/** Which side of the ridge problem to solve: the n×n dual (Woodbury) form pays off when shots < features. */
export type RidgeForm = "auto" | "primal" | "dual";

/** X = A⁻¹ B for symmetric positive-definite A [n, n] and B [n, m], row-major; throws if A is not positive definite. */
export function choleskySolve(A: Float64Array, B: Float64Array, n: number, m: number): Float64Array {
  const Lm = new Float64Array(n * n);
  choleskyFactor(A, n, Lm);
  const X = new Float64Array(n * m);
  choleskySolveFactored(Lm, B, n, m, X);
  return X;
}

/** The lower Cholesky factor Lm [n, n] of symmetric positive-definite A (A = Lm Lmᵀ), written into `Lm`. */
export function choleskyFactor(A: Float64Array, n: number, Lm: Float64Array): void {
  Lm.fill(0, 0, n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= Lm[i * n + k]! * Lm[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error(`choleskySolve: the matrix is not positive definite (pivot ${i} is ${s}). Increase the ridge lambda.`);
        Lm[i * n + i] = Math.sqrt(s);
      } else Lm[i * n + j] = s / Lm[j * n + j]!;
    }
  }
}

/** X = A⁻¹ B [n, m] from A's Cholesky factor `Lm` by forward and back substitution; `X` may not alias `B`. */
export function choleskySolveFactored(Lm: Float64Array, B: Float64Array, n: number, m: number, X: Float64Array): void {
  X.set(B.subarray(0, n * m));
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = X[i * m + c]!;
      for (let k = 0; k < i; k++) s -= Lm[i * n + k]! * X[k * m + c]!;
      X[i * m + c] = s / Lm[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = X[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= Lm[k * n + i]! * X[k * m + c]!;
      X[i * m + c] = s / Lm[i * n + i]!;
    }
  }
}
