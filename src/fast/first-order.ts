/**
 * The fast paths that need gradients but no Hessian-vector products: Reptile's inner SGD (Nichol, Achiam & Schulman
 * 2018), joint pretraining on all tasks' points, and the ridge head's meta-gradient through a closed-form solve
 * (R2-D2, Bertinetto et al. 2019). Each runs `MlpNet` passes on a flat heap, one task after another.
 */
import type { MlpConfig } from "../models/mlp";
import { copyInto, lossScale, MlpNet, type FastLoss, type Pass } from "./mlp-net";
import { defaultKernelBackend, opsFor, type FlatTaskBatch, type KernelBackend } from "./mlp-maml";
import { choleskyFactor, choleskySolveFactored, type RidgeForm } from "./ridge-solve";

const kernels = new Map<string, FirstOrderKernel>();

/** A cached kernel per MLP shape, activation, loss and backend. */
export function firstOrderKernelFor(model: MlpConfig, loss: FastLoss = "mse", backend: KernelBackend = defaultKernelBackend()): FirstOrderKernel {
  const key = `${backend}:${loss}:${model.activation}:${model.sizes.join(",")}`;
  let k = kernels.get(key);
  if (!k) {
    k = new FirstOrderKernel(model, loss, backend);
    kernels.set(key, k);
  }
  return k;
}

/** Reptile, pretraining and ridge-head gradients for one MLP shape, with buffers reused across calls. */
export class FirstOrderKernel {
  readonly net: MlpNet;
  readonly numParams: number;
  private readonly din: number;
  private readonly dout: number;
  private key = "";
  private passA!: Pass;
  private passB!: Pass;
  private th = 0;
  private g = 0;
  private acc = 0;
  private xa = 0;
  private ya = 0;
  private xb = 0;
  private yb = 0;
  private ridgeWork: RidgeScratch | null = null;

  constructor(readonly model: MlpConfig, readonly loss: FastLoss, backend: KernelBackend = defaultKernelBackend()) {
    this.net = new MlpNet(model.sizes, model.activation, loss, opsFor(backend));
    this.numParams = this.net.numParams;
    this.din = model.sizes[0]!;
    this.dout = model.sizes[model.sizes.length - 1]!;
  }

  /** Buffers: pass A over nA points with rowsA rows of data, pass B over nB points with rowsB rows. */
  private ensure(nA: number, rowsA: number, nB: number, rowsB: number): void {
    const key = `${nA}:${rowsA}:${nB}:${rowsB}`;
    if (key === this.key) return;
    const { net, numParams: P, din, dout } = this;
    const ops = net.ops;
    net.reset(Math.max(nA, nB, 1));
    this.passA = net.makePass(nA);
    this.passB = net.makePass(Math.max(nB, 1));
    this.th = ops.alloc(P);
    this.g = ops.alloc(P);
    this.acc = ops.alloc(P);
    this.xa = ops.alloc(rowsA * din);
    this.ya = ops.alloc(rowsA * dout);
    this.xb = ops.alloc(Math.max(rowsB, 1) * din);
    this.yb = ops.alloc(Math.max(rowsB, 1) * dout);
    this.key = key;
  }

  /** Writes each task's support (and, with `useQuery`, query) rows as one block per task at xa/ya, [tasks, points, d]. */
  private fillTrainingRows(batch: FlatTaskBatch, useQuery: boolean): void {
    const { din, dout } = this;
    const { tasks: T, shots: nS, queries: nQ } = batch;
    const h = this.net.ops.heap();
    if (!useQuery) {
      copyInto(h, batch.supportX, this.xa);
      copyInto(h, batch.supportY, this.ya);
      return;
    }
    const n = nS + nQ;
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < nS * din; j++) h[this.xa + t * n * din + j] = batch.supportX[t * nS * din + j]!;
      for (let j = 0; j < nQ * din; j++) h[this.xa + (t * n + nS) * din + j] = batch.queryX[t * nQ * din + j]!;
      for (let j = 0; j < nS * dout; j++) h[this.ya + t * n * dout + j] = batch.supportY[t * nS * dout + j]!;
      for (let j = 0; j < nQ * dout; j++) h[this.ya + (t * n + nS) * dout + j] = batch.queryY[t * nQ * dout + j]!;
    }
  }

  /** The ridge head's float64 buffers for one task shape, kept across steps so a step allocates nothing. */
  private ridgeScratch(n: number, m: number, H: number, O: number, dual: boolean): RidgeScratch {
    const w = this.ridgeWork;
    if (w && w.n === n && w.m === m && w.H === H && w.O === O && w.dual === dual) return w;
    return (this.ridgeWork = new RidgeScratch(n, m, H, O, dual));
  }

  private checkTheta(who: string, theta: ArrayLike<number>, out: ArrayLike<number>): void {
    if (theta.length !== this.numParams || out.length !== this.numParams) throw new Error(`${who}: theta and the output need ${this.numParams} entries for MLP [${this.model.sizes}], got ${theta.length} and ${out.length}.`);
  }

  /**
   * Reptile: adapts θ to each task with `steps` SGD steps on the task's mean loss over its support (and, with
   * `useQuery`, query) points; writes mean_t φ_t into `meanOut` and returns the mean loss before adapting.
   */
  reptile(theta: ArrayLike<number>, batch: FlatTaskBatch, steps: number, lr: number, useQuery: boolean, meanOut: Float32Array | Float64Array): number {
    this.checkTheta("reptile", theta, meanOut);
    if (!Number.isInteger(steps) || steps < 0) throw new Error(`reptile: steps must be a non-negative integer, got ${steps}.`);
    const { net, numParams: P, din, dout } = this;
    const ops = net.ops;
    const T = batch.tasks;
    const n = useQuery ? batch.shots + batch.queries : batch.shots;
    this.ensure(n, T * n, 0, 0);
    this.fillTrainingRows(batch, useQuery);
    const h = ops.heap();
    const s = lossScale(this.loss, n, dout);
    const c = s.factor / s.divisor;
    const pass = this.passA;
    h.fill(0, this.acc, this.acc + P);
    let loss = 0;
    for (let t = 0; t < T; t++) {
      copyInto(h, theta, this.th);
      pass.A[0] = this.xa + t * n * din;
      const y = this.ya + t * n * dout;
      for (let k = 0; k < Math.max(steps, 1); k++) {
        net.forward(this.th, pass);
        const sum = net.backward(this.th, pass, y, c, this.g);
        if (k === 0) loss += sum / s.divisor;
        if (k < steps) ops.axpy(this.th, this.g, -lr, this.th, P);
      }
      ops.axpy(this.acc, this.th, 1, this.acc, P);
    }
    for (let j = 0; j < P; j++) meanOut[j] = h[this.acc + j]! / T;
    return loss / T;
  }

  /** Joint pretraining: the mean loss over every task's points (support, and query with `useQuery`) with shared θ, and its gradient. */
  pretrain(theta: ArrayLike<number>, batch: FlatTaskBatch, useQuery: boolean, gradOut: Float32Array | Float64Array): number {
    this.checkTheta("pretrain", theta, gradOut);
    const { net, numParams: P, dout } = this;
    // One pass over all rows: the mean over tasks of per-task means is the mean over all points.
    const rows = batch.tasks * (useQuery ? batch.shots + batch.queries : batch.shots);
    this.ensure(rows, rows, 0, 0);
    this.fillTrainingRows(batch, useQuery);
    const h = net.ops.heap();
    const s = lossScale(this.loss, rows, dout);
    copyInto(h, theta, this.th);
    this.passA.A[0] = this.xa;
    net.forward(this.th, this.passA);
    const sum = net.backward(this.th, this.passA, this.ya, s.factor / s.divisor, this.g);
    for (let j = 0; j < P; j++) gradOut[j] = h[this.g + j]!;
    return sum / s.divisor;
  }

  /**
   * The ridge head's meta-loss and its gradient into the body (all layers but the last, whose gradient stays 0):
   * per task, features Φ of the last hidden layer with a bias column, W = Φ_sᵀ(Φ_sΦ_sᵀ + λI)⁻¹Y_s (dual) or
   * (Φ_sᵀΦ_s + λI)⁻¹Φ_sᵀY_s (primal), query MSE of Φ_q W, mean over tasks; solved in float64.
   */
  ridge(theta: ArrayLike<number>, batch: FlatTaskBatch, lambda: number, form: RidgeForm, gradOut: Float32Array | Float64Array): number {
    this.checkTheta("ridge", theta, gradOut);
    if (!(lambda > 0)) throw new Error(`ridge lambda must be positive (it keeps the system invertible), got ${lambda}.`);
    const { net, numParams: P, din, dout } = this;
    const L = net.L;
    if (L < 2) throw new Error("The ridge head needs an MLP with at least one hidden layer (sizes like [1, 40, 40, 1]).");
    const { tasks: T, shots: nS, queries: nQ } = batch;
    this.ensure(nS, T * nS, nQ, T * nQ);
    const h = net.ops.heap();
    copyInto(h, theta, this.th);
    copyInto(h, batch.supportX, this.xa);
    copyInto(h, batch.supportY, this.ya);
    copyInto(h, batch.queryX, this.xb);
    copyInto(h, batch.queryY, this.yb);
    const hid = this.model.sizes[L - 1]!;
    const H = hid + 1;
    const dual = form === "dual" || (form === "auto" && nS < H);
    const w = this.ridgeScratch(nS, nQ, H, dout, dual);
    const { ps, pq, ys, yq } = w;
    h.fill(0, this.g, this.g + P);
    let loss = 0;
    const sp = this.passA;
    const qp = this.passB;
    for (let t = 0; t < T; t++) {
      sp.A[0] = this.xa + t * nS * din;
      qp.A[0] = this.xb + t * nQ * din;
      net.forward(this.th, sp, 0, L - 1);
      net.forward(this.th, qp, 0, L - 1);
      readFeatures(h, sp.A[L - 1]!, nS, hid, ps);
      readFeatures(h, qp.A[L - 1]!, nQ, hid, pq);
      for (let j = 0; j < nS * dout; j++) ys[j] = h[this.ya + t * nS * dout + j]!;
      for (let j = 0; j < nQ * dout; j++) yq[j] = h[this.yb + t * nQ * dout + j]!;
      const sq = ridgeTask(w, lambda, 2 / (nQ * dout * T));
      loss += sq / (nQ * dout);
      // dL/dΦ without the bias column, times σ'(z), into D of the last hidden layer; then the usual backward.
      writeFeatureGrad(h, w.dPs, sp, nS, hid, H, L - 1);
      writeFeatureGrad(h, w.dPq, qp, nQ, hid, H, L - 1);
      net.backwardFrom(this.th, sp, L - 1, this.g);
      net.backwardFrom(this.th, qp, L - 1, this.g);
    }
    for (let j = 0; j < P; j++) gradOut[j] = h[this.g + j]!;
    return loss / T;
  }
}

/** Φ [n, hid] from the heap into a float64 [n, hid + 1] with a trailing bias column of ones. */
function readFeatures(h: Float32Array | Float64Array, off: number, n: number, hid: number, out: Float64Array): void {
  const H = hid + 1;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < hid; k++) out[i * H + k] = h[off + i * hid + k]!;
    out[i * H + hid] = 1;
  }
}

/** D_l = (dL/dΦ without the bias column) ⊙ σ'(z_l) for the features of layer l. */
function writeFeatureGrad(h: Float32Array | Float64Array, dP: Float64Array, pass: Pass, n: number, hid: number, H: number, l: number): void {
  const D = pass.D[l]!;
  const S1 = pass.S1[l]!;
  for (let i = 0; i < n; i++) for (let k = 0; k < hid; k++) h[D + i * hid + k] = dP[i * H + k]! * h[S1 + i * hid + k]!;
}

/** C[a, b] = Σ_k A[a, k] B[b, k] (A Bᵀ) into C [na, nb], for row-major A [na, K], B [nb, K]. */
function abT(A: Float64Array, B: Float64Array, na: number, nb: number, K: number, C: Float64Array): void {
  for (let a = 0; a < na; a++) for (let b = 0; b < nb; b++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[a * K + k]! * B[b * K + k]!;
    C[a * nb + b] = s;
  }
}

/** G = A Aᵀ into G [n, n] for row-major A [n, K], computing each pair once. */
function gram(A: Float64Array, n: number, K: number, G: Float64Array): void {
  for (let a = 0; a < n; a++) for (let b = 0; b <= a; b++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[a * K + k]! * A[b * K + k]!;
    G[a * n + b] = s;
    G[b * n + a] = s;
  }
}

/** C[a, b] = Σ_k A[k, a] B[k, b] (Aᵀ B) into C [na, nb], for row-major A [K, na], B [K, nb]. */
function aTb(A: Float64Array, B: Float64Array, K: number, na: number, nb: number, C: Float64Array): void {
  C.fill(0, 0, na * nb);
  for (let k = 0; k < K; k++) for (let a = 0; a < na; a++) {
    const v = A[k * na + a]!;
    if (v === 0) continue;
    for (let b = 0; b < nb; b++) C[a * nb + b] += v * B[k * nb + b]!;
  }
}

/** C = A B into C [na, nb], for row-major A [na, K], B [K, nb]. */
function ab(A: Float64Array, B: Float64Array, na: number, K: number, nb: number, C: Float64Array): void {
  C.fill(0, 0, na * nb);
  for (let a = 0; a < na; a++) for (let k = 0; k < K; k++) {
    const v = A[a * K + k]!;
    if (v === 0) continue;
    for (let b = 0; b < nb; b++) C[a * nb + b] += v * B[k * nb + b]!;
  }
}

/**
 * Float64 buffers of one ridge task with n support and m query points, H features (bias included) and O outputs:
 * inputs (ps, pq, ys, yq), the system and its Cholesky factor, and every intermediate of `ridgeTask`.
 */
class RidgeScratch {
  readonly ps: Float64Array;
  readonly pq: Float64Array;
  readonly ys: Float64Array;
  readonly yq: Float64Array;
  /** K = Φ_sΦ_sᵀ + λI [n, n] (dual) or A = Φ_sᵀΦ_s + λI [H, H] (primal), then its Cholesky factor. */
  readonly K: Float64Array;
  readonly chol: Float64Array;
  /** α = K⁻¹Y_s [n, O] (dual) or Φ_sᵀY_s [H, O] (primal). */
  readonly alpha: Float64Array;
  readonly W: Float64Array;
  readonly pred: Float64Array;
  readonly G: Float64Array;
  readonly dW: Float64Array;
  readonly dPq: Float64Array;
  readonly dPs: Float64Array;
  /** Right-hand side and solution of the second solve: Φ_s dW and β [n, O] (dual), or β [H, O] (primal). */
  readonly rhs: Float64Array;
  readonly beta: Float64Array;
  /** βWᵀ + Wβᵀ [H, H] (primal only). */
  readonly M: Float64Array;
  /** βᵀΦ_s [O, H] (dual), or Φ_s(βWᵀ + Wβᵀ) [n, H] (primal). */
  readonly bP: Float64Array;

  constructor(readonly n: number, readonly m: number, readonly H: number, readonly O: number, readonly dual: boolean) {
    const s = dual ? n : H;
    this.ps = new Float64Array(n * H);
    this.pq = new Float64Array(m * H);
    this.ys = new Float64Array(n * O);
    this.yq = new Float64Array(m * O);
    this.K = new Float64Array(s * s);
    this.chol = new Float64Array(s * s);
    this.alpha = new Float64Array(s * O);
    this.W = new Float64Array(H * O);
    this.pred = new Float64Array(m * O);
    this.G = new Float64Array(m * O);
    this.dW = new Float64Array(H * O);
    this.dPq = new Float64Array(m * H);
    this.dPs = new Float64Array(n * H);
    this.rhs = new Float64Array(s * O);
    this.beta = new Float64Array(s * O);
    this.M = new Float64Array(dual ? 0 : H * H);
    this.bP = new Float64Array(dual ? O * H : n * H);
  }
}

/**
 * One task of the ridge head in float64 on the buffers of `w` (inputs ps, pq, ys, yq): returns the squared error of
 * its query predictions and leaves in w.dPs, w.dPq the gradients of (scale / 2) · Σ (pred − y_q)² with respect to
 * the support and query features (bias column included). The system is factored once for both solves.
 * Dual: α = K⁻¹Y_s, K = Φ_sΦ_sᵀ + λI, W = Φ_sᵀα; dΦ_s = α dWᵀ − (βαᵀ + αβᵀ)Φ_s with β = K⁻¹Φ_s dW.
 * Primal: W = A⁻¹Φ_sᵀY_s, A = Φ_sᵀΦ_s + λI; dΦ_s = Y_s βᵀ − Φ_s(βWᵀ + Wβᵀ) with β = A⁻¹dW.
 * Both: dW = Φ_qᵀG, dΦ_q = G Wᵀ with G = scale · (pred − y_q).
 */
function ridgeTask(w: RidgeScratch, lambda: number, scale: number): number {
  const { n, m, H, O, dual, ps, pq, ys, yq, K, chol, alpha, W, pred, G, dW, dPq, dPs, rhs, beta, M, bP } = w;
  if (dual) {
    gram(ps, n, H, K);
    for (let i = 0; i < n; i++) K[i * n + i] += lambda;
    choleskyFactor(K, n, chol);
    choleskySolveFactored(chol, ys, n, O, alpha);
    aTb(ps, alpha, n, H, O, W);
  } else {
    aTb(ps, ps, n, H, H, K);
    for (let i = 0; i < H; i++) K[i * H + i] += lambda;
    choleskyFactor(K, H, chol);
    aTb(ps, ys, n, H, O, alpha);
    choleskySolveFactored(chol, alpha, H, O, W);
  }
  ab(pq, W, m, H, O, pred);
  let sq = 0;
  for (let j = 0; j < m * O; j++) {
    const r = pred[j]! - yq[j]!;
    sq += r * r;
    G[j] = scale * r;
  }
  aTb(pq, G, m, H, O, dW);
  abT(G, W, m, H, O, dPq);
  if (dual) {
    ab(ps, dW, n, H, O, rhs);
    choleskySolveFactored(chol, rhs, n, O, beta);
    abT(alpha, dW, n, H, O, dPs);
    // (βαᵀ + αβᵀ)Φ_s = β(αᵀΦ_s) + α(βᵀΦ_s): two [O, H] products instead of an [n, n] one; αᵀΦ_s is Wᵀ.
    aTb(beta, ps, n, O, H, bP);
    for (let i = 0; i < n; i++) for (let o = 0; o < O; o++) {
      const bi = beta[i * O + o]!;
      const ai = alpha[i * O + o]!;
      for (let k = 0; k < H; k++) dPs[i * H + k] -= bi * W[k * O + o]! + ai * bP[o * H + k]!;
    }
  } else {
    choleskySolveFactored(chol, dW, H, O, beta);
    abT(ys, beta, n, H, O, dPs);
    for (let i = 0; i < H; i++) for (let j = 0; j < H; j++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += beta[i * O + o]! * W[j * O + o]! + W[i * O + o]! * beta[j * O + o]!;
      M[i * H + j] = s;
    }
    ab(ps, M, n, H, H, bP);
    for (let j = 0; j < n * H; j++) dPs[j] -= bP[j]!;
  }
  return sq;
}
