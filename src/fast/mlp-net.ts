/**
 * A small MLP on a flat heap: forward pass, backward pass of a per-task loss (squared error or softmax
 * cross-entropy) and Hessian-vector products by Pearlmutter's (1994) R-operator applied to the backward pass, so
 * tanh, sigmoid, softplus and exp carry their σ'' terms and cross-entropy its softmax curvature. Every fast path
 * (MAML and its variants, Reptile, pretraining, the ridge head) is built from these three passes.
 */
import type { ActivationName } from "../autodiff/activations";
import type { MathOps } from "./math-ops";

/** Activations the fast path differentiates twice by hand. */
export const FAST_ACTIVATIONS: readonly ActivationName[] = ["relu", "tanh", "sigmoid", "softplus", "exp", "identity"];

/** Losses the fast path differentiates twice by hand (the names of `TaskLoss`). */
export type FastLoss = "mse" | "cross-entropy";

/** Stored quantities of one forward/backward pass over n points, per layer, as heap offsets. */
export interface Pass {
  readonly n: number;
  /** Activations a_l, [n, s_l], l = 0..L-1; a_0 (the input) is pointed at the task's rows before each pass. */
  readonly A: number[];
  /** σ'(z_l), [n, s_l], l = 1..L-1 (in the R-pass: RZ_l kept for the σ'' term). */
  readonly S1: number[];
  /** σ''(z_l), [n, s_l], l = 1..L-1. */
  readonly S2: number[];
  /** dL/da_l, [n, s_l], l = 1..L-1. */
  readonly G: number[];
  /** dL/dz_l, [n, s_l], l = 1..L. */
  readonly D: number[];
  /** Network output z_L, [n, s_L]. */
  readonly out: number;
  /** Softmax of the output, [n, s_L] (cross-entropy only, else -1). */
  readonly P: number;
}

/** Scale of a loss's gradient: d(per-task mean loss)/dz = factor · (residual), and the per-task mean = sum / divisor. */
export function lossScale(loss: FastLoss, n: number, outputs: number): { factor: number; divisor: number } {
  return loss === "mse" ? { factor: 2, divisor: n * outputs } : { factor: 1, divisor: n };
}

/** An MLP of given widths and hidden activation (linear output) with its parameters packed w0, b0, w1, b1, ... */
export class MlpNet {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly loss: FastLoss;
  readonly numParams: number;
  readonly L: number;
  readonly wOff: readonly number[];
  readonly bOff: readonly number[];
  readonly ops: MathOps;
  private readonly hasSecond: boolean;
  private ones = 0;
  private rPass: Pass | null = null;

  constructor(sizes: readonly number[], activation: ActivationName, loss: FastLoss, ops: MathOps) {
    if (!FAST_ACTIVATIONS.includes(activation)) throw new Error(`MlpNet: activation "${activation}" is not supported; use one of ${FAST_ACTIVATIONS.join(", ")}.`);
    this.sizes = [...sizes];
    this.activation = activation;
    this.loss = loss;
    this.ops = ops;
    this.L = sizes.length - 1;
    const wOff: number[] = [];
    const bOff: number[] = [];
    let off = 0;
    for (let l = 0; l < this.L; l++) {
      wOff.push(off);
      off += sizes[l]! * sizes[l + 1]!;
      bOff.push(off);
      off += sizes[l + 1]!;
    }
    this.wOff = wOff;
    this.bOff = bOff;
    this.numParams = off;
    this.hasSecond = !(activation === "relu" || activation === "identity");
  }

  /** Frees the heap and reserves the shared scratch for passes of up to `maxN` points (call before makePass). */
  reset(maxN: number): void {
    this.ops.reset();
    this.ones = this.ops.alloc(maxN);
    this.ops.heap().fill(1, this.ones, this.ones + maxN);
    this.rPass = null;
  }

  /**
   * Buffers for a pass over n points. With `share` and `upTo`, the activations (and σ', σ'') of layers 1..upTo
   * are `share`'s: passes whose lower layers are frozen compute them once.
   */
  makePass(n: number, share?: Pass, upTo = 0): Pass {
    const { ops, sizes, L } = this;
    const mk = (l: number) => ops.alloc(n * sizes[l]!);
    const A: number[] = [];
    const S1: number[] = [];
    const S2: number[] = [];
    const G: number[] = [];
    const D: number[] = [];
    for (let l = 0; l <= L; l++) {
      const hidden = l >= 1 && l < L;
      const shared = share !== undefined && hidden && l <= upTo;
      A.push(hidden ? (shared ? share.A[l]! : mk(l)) : -1);
      S1.push(hidden ? (shared ? share.S1[l]! : mk(l)) : -1);
      S2.push(hidden ? (shared ? share.S2[l]! : mk(l)) : -1);
      G.push(hidden ? mk(l) : -1);
      D.push(l >= 1 ? mk(l) : -1);
    }
    return { n, A, S1, S2, G, D, out: mk(L), P: this.loss === "cross-entropy" ? mk(L) : -1 };
  }

  /** z[n, O] = b broadcast over rows, via a rank update with a column of ones. */
  private bias(b: number, n: number, O: number, z: number): void {
    this.ops.heap().fill(0, z, z + n * O);
    this.ops.rankAcc(this.ones, n, 1, b, z, O, false);
  }

  /** z[n, O] += a[n, I] w[I, O]; a single output column is a dot product per row, so it is vectorised over I. */
  private matAcc(a: number, n: number, I: number, w: number, z: number, O: number): void {
    if (O === 1) this.ops.dotRows(a, n, I, w, 1, z, true);
    else this.ops.rankAcc(a, n, I, w, z, O, false);
  }

  /** out[I, O] += a[n, I]ᵀ d[n, O]; with one output column, rows of a are scaled and summed (vectorised over I). */
  gradAcc(a: number, n: number, I: number, d: number, out: number, O: number): void {
    if (O === 1) this.ops.rankAcc(d, n, 1, a, out, I, true);
    else this.ops.rankAcc(a, n, I, d, out, O, true);
  }

  /** g[n, I] (+)= d[n, O] w[I, O]ᵀ; with one output column, g's rows are multiples of w (vectorised over I). */
  private backInput(d: number, n: number, O: number, w: number, I: number, g: number, acc: boolean): void {
    if (O === 1) {
      if (!acc) this.ops.heap().fill(0, g, g + n * I);
      this.ops.rankAcc(d, n, 1, w, g, I, false);
    } else this.ops.dotRows(d, n, O, w, I, g, acc);
  }

  /**
   * Forward pass at `th` over the n points at pass.A[0]; layers below `from` are taken as already computed, and
   * the pass stops before layer `to` (L − 1 leaves the last hidden activations in pass.A[L − 1]).
   */
  forward(th: number, pass: Pass, from = 0, to = this.L): void {
    const { sizes, L, ops } = this;
    const n = pass.n;
    for (let l = from; l < to; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const Z = l + 1 < L ? pass.A[l + 1]! : pass.out;
      this.bias(th + this.bOff[l]!, n, O, Z);
      this.matAcc(pass.A[l]!, n, I, th + this.wOff[l]!, Z, O);
      if (l + 1 < L) {
        if (this.activation === "relu") ops.relu(Z, pass.S1[l + 1]!, n * O);
        else activateSmooth(this.activation, ops.heap(), Z, pass.S1[l + 1]!, pass.S2[l + 1]!, n * O);
      }
    }
  }

  /**
   * The per-task loss of the last forward pass against targets `y` and its backward pass with dL/dz_L =
   * c · (residual): squared error's residual is (z − y), cross-entropy's is (softmax(z) Σy − y). Writes the
   * gradient at offset `grad` (layers below `stopAt` are left at zero) and returns the loss summed over points
   * (and outputs): divide by `lossScale(...).divisor` for the per-task mean.
   */
  backward(th: number, pass: Pass, y: number, c: number, grad: number, stopAt = 0): number {
    const sum = this.outputDelta(pass, y, c);
    this.ops.heap().fill(0, grad, grad + this.numParams);
    this.backwardFrom(th, pass, this.L, grad, stopAt);
    return sum;
  }

  /** Backward from D_top (already in pass.D[top]) down to layer `stopAt`, adding parameter gradients at `grad`. */
  backwardFrom(th: number, pass: Pass, top: number, grad: number, stopAt = 0): void {
    const { sizes, ops } = this;
    const n = pass.n;
    for (let l = top - 1; l >= stopAt; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const D = pass.D[l + 1]!;
      this.gradAcc(pass.A[l]!, n, I, D, grad + this.wOff[l]!, O);
      ops.rankAcc(this.ones, n, 1, D, grad + this.bOff[l]!, O, true);
      if (l > stopAt) {
        this.backInput(D, n, O, th + this.wOff[l]!, I, pass.G[l]!, false);
        ops.mul(pass.G[l]!, pass.S1[l]!, pass.D[l]!, n * I);
      }
    }
  }

  /** D_L = c · residual for the loss; returns the summed loss. */
  private outputDelta(pass: Pass, y: number, c: number): number {
    return outputDelta(this.ops.heap(), this.loss, pass.out, y, pass.P, pass.D[this.L]!, pass.n * this.sizes[this.L]!, this.sizes[this.L]!, c);
  }

  /**
   * hv = H v: the Hessian of c times the summed loss of `pass` (the pass's last backward, at `th`, targets `y`),
   * times v. v must vanish on layers below `lo` (their work is skipped).
   */
  hvp(th: number, pass: Pass, y: number, c: number, v: number, hv: number, lo = 0): void {
    const { sizes, L, ops, numParams: P } = this;
    const r = this.rPass;
    if (r === null || r.n !== pass.n) throw new Error(`MlpNet.hvp: no R-pass for ${pass.n} points; call prepareHvp(${pass.n}) after reset(). This is a bug in src/fast.`);
    const n = pass.n;
    // R-forward: RZ_{l+1} = Vb_l + A_l V_l + RA_l W_l; RA_l = σ'(z_l) RZ_l. r.A[l] holds RA_l, r.S1[l] keeps RZ_l.
    for (let l = lo; l < L; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RZ = l + 1 < L ? r.A[l + 1]! : r.out;
      this.bias(v + this.bOff[l]!, n, O, RZ);
      this.matAcc(pass.A[l]!, n, I, v + this.wOff[l]!, RZ, O);
      if (l > lo) this.matAcc(r.A[l]!, n, I, th + this.wOff[l]!, RZ, O);
      if (l + 1 < L) {
        const m = n * O;
        if (this.hasSecond) ops.heap().copyWithin(r.S1[l + 1]!, RZ, RZ + m);
        ops.mul(RZ, pass.S1[l + 1]!, RZ, m);
      }
    }
    // R-backward: RD_L = c H_out RZ_L; hvW_l = A_lᵀ RD_{l+1} + RA_lᵀ D_{l+1}; RG_l = RD_{l+1} W_lᵀ + D_{l+1} V_lᵀ;
    // RD_l = RG_l σ'(z_l) + G_l σ''(z_l) RZ_l.
    this.outputCurvature(pass, r, y, c);
    const h = ops.heap();
    h.fill(0, hv, hv + P);
    for (let l = L - 1; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RD = r.D[l + 1]!;
      this.gradAcc(pass.A[l]!, n, I, RD, hv + this.wOff[l]!, O);
      ops.rankAcc(this.ones, n, 1, RD, hv + this.bOff[l]!, O, true);
      if (l > lo) this.gradAcc(r.A[l]!, n, I, pass.D[l + 1]!, hv + this.wOff[l]!, O);
      if (l > 0) {
        this.backInput(RD, n, O, th + this.wOff[l]!, I, r.G[l]!, false);
        if (l >= lo) this.backInput(pass.D[l + 1]!, n, O, v + this.wOff[l]!, I, r.G[l]!, true);
        if (this.hasSecond && l > lo) ops.secondTerm(r.G[l]!, pass.S1[l]!, pass.G[l]!, pass.S2[l]!, r.S1[l]!, r.D[l]!, n * I);
        else ops.mul(r.G[l]!, pass.S1[l]!, r.D[l]!, n * I);
      }
    }
  }

  /** RD_L: c RZ_L for squared error; c Σy (p ⊙ RZ − p (p · RZ)) per row for softmax cross-entropy. */
  private outputCurvature(pass: Pass, r: Pass, y: number, c: number): void {
    outputCurvature(this.ops.heap(), this.loss, pass.P, r.out, y, r.D[this.L]!, pass.n * this.sizes[this.L]!, this.sizes[this.L]!, c);
  }

  /** Reserves the R-pass buffers for Hessian-vector products over passes of n points. */
  prepareHvp(n: number): void {
    this.rPass = this.makePass(n);
  }
}

/**
 * The output delta of a loss over m = rows · O outputs at `out` against targets `y`: writes D = c · residual at `DL`
 * (squared error: z − y; softmax cross-entropy: softmax(z) Σy − y, keeping the softmax at `P`) and returns the
 * summed loss.
 */
export function outputDelta(h: Float32Array | Float64Array, loss: FastLoss, out: number, y: number, Pp: number, DL: number, m: number, O: number, c: number): number {
  let sum = 0;
  if (loss === "mse") {
    for (let j = 0; j < m; j++) {
      const r = h[out + j]! - h[y + j]!;
      sum += r * r;
      h[DL + j] = c * r;
    }
    return sum;
  }
  // Softmax cross-entropy per row: −Σ_k y_k log softmax(z)_k, shifted by the row max for stability.
  for (let row = 0; row < m; row += O) {
    let mx = -Infinity;
    for (let k = 0; k < O; k++) mx = Math.max(mx, h[out + row + k]!);
    let se = 0;
    for (let k = 0; k < O; k++) se += Math.exp(h[out + row + k]! - mx);
    const lse = mx + Math.log(se);
    let ys = 0;
    for (let k = 0; k < O; k++) {
      const yk = h[y + row + k]!;
      ys += yk;
      sum -= yk * (h[out + row + k]! - lse);
    }
    for (let k = 0; k < O; k++) {
      const p = Math.exp(h[out + row + k]! - lse);
      h[Pp + row + k] = p;
      h[DL + row + k] = c * (p * ys - h[y + row + k]!);
    }
  }
  return sum;
}

/**
 * The R-operator of `outputDelta`: RD = c RZ for squared error, c Σy (p ⊙ RZ − p (p · RZ)) per row for softmax
 * cross-entropy (p at `Pp` from the forward pass, RZ at `rOut`).
 */
export function outputCurvature(h: Float32Array | Float64Array, loss: FastLoss, Pp: number, rOut: number, y: number, RDL: number, m: number, O: number, c: number): void {
  if (loss === "mse") {
    for (let j = 0; j < m; j++) h[RDL + j] = c * h[rOut + j]!;
    return;
  }
  for (let row = 0; row < m; row += O) {
    let ys = 0;
    let pr = 0;
    for (let k = 0; k < O; k++) {
      ys += h[y + row + k]!;
      pr += h[Pp + row + k]! * h[rOut + row + k]!;
    }
    for (let k = 0; k < O; k++) h[RDL + row + k] = c * ys * h[Pp + row + k]! * (h[rOut + row + k]! - pr);
  }
}

/** Applies a smooth σ in place to z (becoming a) and writes σ'(z), σ''(z); one loop per activation keeps it monomorphic. */
export function activateSmooth(kind: ActivationName, h: Float32Array | Float64Array, Z: number, S1: number, S2: number, m: number): void {
  switch (kind) {
    case "tanh":
      for (let j = 0; j < m; j++) {
        const a = Math.tanh(h[Z + j]!);
        const d1 = 1 - a * a;
        h[Z + j] = a;
        h[S1 + j] = d1;
        h[S2 + j] = -2 * a * d1;
      }
      return;
    case "sigmoid":
      for (let j = 0; j < m; j++) {
        const a = 1 / (1 + Math.exp(-h[Z + j]!));
        const d1 = a * (1 - a);
        h[Z + j] = a;
        h[S1 + j] = d1;
        h[S2 + j] = d1 * (1 - 2 * a);
      }
      return;
    case "softplus":
      for (let j = 0; j < m; j++) {
        const z = h[Z + j]!;
        const s = 1 / (1 + Math.exp(-z));
        h[Z + j] = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
        h[S1 + j] = s;
        h[S2 + j] = s * (1 - s);
      }
      return;
    case "exp":
      for (let j = 0; j < m; j++) {
        const a = Math.exp(h[Z + j]!);
        h[Z + j] = a;
        h[S1 + j] = a;
        h[S2 + j] = a;
      }
      return;
    case "identity":
      h.fill(1, S1, S1 + m);
      h.fill(0, S2, S2 + m);
      return;
    case "relu":
      for (let j = 0; j < m; j++) {
        const z = h[Z + j]!;
        h[Z + j] = z > 0 ? z : 0;
        h[S1 + j] = z > 0 ? 1 : 0;
        h[S2 + j] = 0;
      }
      return;
  }
}

/** Copies an array into the heap at `off`. */
export function copyInto(h: Float32Array | Float64Array, src: ArrayLike<number>, off: number): void {
  if (src instanceof Float32Array || src instanceof Float64Array) h.set(src, off);
  else for (let j = 0; j < src.length; j++) h[off + j] = src[j]!;
}
