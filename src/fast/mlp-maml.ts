/**
 * Fast path for MAML on small MLPs: hand-derived forward, backward and Hessian-vector products on typed arrays.
 *
 * Contract (shared with src/learners/maml.ts, which calls this first and falls back to the general tfjs path on null):
 * - inner loss of task t: L_t(θ_t) = mean over shots and outputs of (f(θ_t, x) - y)^2 on the support set;
 * - inner update, `innerSteps` times from θ: θ_t ← θ_t − innerLr · ∇L_t(θ_t);
 * - meta loss: mean over tasks of the query MSE at the adapted θ_t;
 * - grads: d(meta loss)/dθ, through the inner loop (second order) unless `firstOrder`, which treats dθ_t/dθ as identity.
 *
 * Second order is reverse mode through the inner loop (Finn et al. 2017, eq. 1): with v_k = ∇L_q(θ_k)/T,
 * v_i = v_{i+1} − α H_s(θ_i) v_{i+1}, and the meta-gradient is Σ_t v_0. The Hessian-vector products are
 * Pearlmutter's R-operator (1994) applied to the hand-written backward pass, so tanh, sigmoid, softplus and exp
 * carry their σ'' terms (relu and identity have σ'' = 0 almost everywhere).
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";
import type { ActivationName } from "../autodiff/activations";

/** Everything the fast path needs for one meta-gradient. */
export interface FastMamlRequest {
  readonly params: Params;
  readonly batch: TaskBatch;
  readonly model: MlpConfig;
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly firstOrder: boolean;
}

/** Activations the fast path differentiates twice by hand. */
export const FAST_ACTIVATIONS: readonly ActivationName[] = ["relu", "tanh", "sigmoid", "softplus", "exp", "identity"];

/** Meta-loss and meta-gradient, or null when this request is outside what the fast path supports. */
export function fastMamlMetaGradient(req: FastMamlRequest): { loss: number; grads: Params } | null {
  const plan = planRequest(req);
  if (plan === null) return null;
  const { kernel, tasks, shots, queries } = plan;
  const theta = packParams(req.params, kernel.sizes);
  const grad = new Float64Array(kernel.numParams);
  const loss = kernel.metaGradient(theta, {
    supportX: req.batch.supportX.dataSync(),
    supportY: req.batch.supportY.dataSync(),
    queryX: req.batch.queryX.dataSync(),
    queryY: req.batch.queryY.dataSync(),
    tasks,
    shots,
    queries,
  }, req.innerSteps, req.innerLr, req.firstOrder, grad);
  return { loss, grads: unpackParams(grad, kernel.sizes) };
}

/** Why a request is outside the fast path, or null when it is supported (for logs and tests). */
export function fastMamlUnsupportedReason(req: FastMamlRequest): string | null {
  const { model, params, batch } = req;
  if (!FAST_ACTIVATIONS.includes(model.activation)) return `activation "${model.activation}" has no hand-derived second derivative`;
  if (!Number.isInteger(req.innerSteps) || req.innerSteps < 0) return `innerSteps must be a non-negative integer, got ${req.innerSteps}`;
  if (!Number.isFinite(req.innerLr)) return `innerLr must be finite, got ${req.innerLr}`;
  const sizes = model.sizes;
  if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) return `bad MLP sizes [${sizes}]`;
  const L = sizes.length - 1;
  if (Object.keys(params).length !== 2 * L) return `expected ${2 * L} parameters w0, b0, ..., got [${Object.keys(params)}]`;
  for (let l = 0; l < L; l++) {
    const w = params[`w${l}`];
    const b = params[`b${l}`];
    if (!w || !b) return `parameter w${l} or b${l} is missing`;
    if (w.dtype !== "float32" || b.dtype !== "float32") return `parameters must be float32`;
    if (w.rank !== 2 || w.shape[0] !== sizes[l] || w.shape[1] !== sizes[l + 1]) return `w${l} has shape [${w.shape}], expected [${sizes[l]}, ${sizes[l + 1]}] (task-batched weights are not supported)`;
    if (b.rank !== 1 || b.shape[0] !== sizes[l + 1]) return `b${l} has shape [${b.shape}], expected [${sizes[l + 1]}]`;
  }
  const { supportX, supportY, queryX, queryY } = batch;
  const all = [supportX, supportY, queryX, queryY];
  if (all.some((t) => t.rank !== 3 || t.dtype !== "float32")) return "batch tensors must be float32 [tasks, points, features]";
  const tasks = supportX.shape[0];
  if (all.some((t) => t.shape[0] !== tasks) || tasks < 1) return "batch tensors disagree on the number of tasks";
  if (supportX.shape[2] !== sizes[0] || queryX.shape[2] !== sizes[0]) return `inputs have ${supportX.shape[2]} features, model expects ${sizes[0]}`;
  if (supportY.shape[2] !== sizes[L] || queryY.shape[2] !== sizes[L]) return `targets have ${supportY.shape[2]} outputs, model has ${sizes[L]}`;
  if (supportY.shape[1] !== supportX.shape[1] || queryY.shape[1] !== queryX.shape[1]) return "inputs and targets disagree on the number of points";
  if (supportX.shape[1] < 1 || queryX.shape[1] < 1) return "support and query sets must be non-empty";
  return null;
}

function planRequest(req: FastMamlRequest): { kernel: MlpMamlKernel; tasks: number; shots: number; queries: number } | null {
  if (fastMamlUnsupportedReason(req) !== null) return null;
  return {
    kernel: kernelFor(req.model),
    tasks: req.batch.supportX.shape[0],
    shots: req.batch.supportX.shape[1],
    queries: req.batch.queryX.shape[1],
  };
}

const kernels = new Map<string, MlpMamlKernel>();

/** A cached kernel per MLP shape and activation, so buffers are reused across meta-steps. */
export function kernelFor(model: MlpConfig): MlpMamlKernel {
  const key = `${model.activation}:${model.sizes.join(",")}`;
  let k = kernels.get(key);
  if (!k) {
    k = new MlpMamlKernel(model.sizes, model.activation);
    kernels.set(key, k);
  }
  return k;
}

/** Flattens `w0, b0, w1, b1, ...` into one float64 vector, layer by layer (row-major [in, out] then [out]). */
export function packParams(params: Params, sizes: readonly number[], out?: Float64Array): Float64Array {
  const n = numParamsOf(sizes);
  const theta = out ?? new Float64Array(n);
  let off = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    for (const name of [`w${l}`, `b${l}`]) {
      const t = params[name];
      if (!t) throw new Error(`packParams: parameter "${name}" is missing. Build params with initMlp.`);
      const d = t.dataSync();
      theta.set(d, off);
      off += d.length;
    }
  }
  if (off !== n) throw new Error(`packParams: got ${off} numbers, the MLP [${sizes}] has ${n}. Build params with initMlp for the same sizes.`);
  return theta;
}

/** Inverse of `packParams`: float32 tensors `w0 [in, out], b0 [out], ...`. */
export function unpackParams(theta: Float64Array, sizes: readonly number[]): Params {
  const out: Record<string, tf.Tensor> = {};
  let off = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const i = sizes[l]!;
    const o = sizes[l + 1]!;
    out[`w${l}`] = tf.tensor2d(Float32Array.from(theta.subarray(off, off + i * o)), [i, o]);
    off += i * o;
    out[`b${l}`] = tf.tensor1d(Float32Array.from(theta.subarray(off, off + o)));
    off += o;
  }
  return out;
}

/** Number of scalar parameters of an MLP with these layer widths. */
export function numParamsOf(sizes: readonly number[]): number {
  let n = 0;
  for (let l = 0; l + 1 < sizes.length; l++) n += sizes[l]! * sizes[l + 1]! + sizes[l + 1]!;
  return n;
}

/** A meta-batch as flat arrays: x [tasks, points, in] and y [tasks, points, out], row-major. */
export interface FlatTaskBatch {
  readonly supportX: ArrayLike<number>;
  readonly supportY: ArrayLike<number>;
  readonly queryX: ArrayLike<number>;
  readonly queryY: ArrayLike<number>;
  readonly tasks: number;
  readonly shots: number;
  readonly queries: number;
}

/** Stored quantities of one forward/backward pass over n points, per layer. */
interface Pass {
  readonly n: number;
  /** Activations a_l, [n, s_l], l = 0..L-1 (a_0 is the input). */
  readonly A: Float64Array[];
  /** σ'(z_l), [n, s_l], l = 1..L-1. */
  readonly S1: Float64Array[];
  /** σ''(z_l), [n, s_l], l = 1..L-1 (unused when σ'' = 0). */
  readonly S2: Float64Array[];
  /** dL/da_l, [n, s_l], l = 1..L-1 (kept for the σ'' term). */
  readonly G: Float64Array[];
  /** dL/dz_l, [n, s_l], l = 1..L. */
  readonly D: Float64Array[];
  /** Network output z_L, [n, s_L]. */
  readonly out: Float64Array;
}

function makePass(sizes: readonly number[], n: number): Pass {
  const L = sizes.length - 1;
  const mk = (l: number) => new Float64Array(n * sizes[l]!);
  const A: Float64Array[] = [];
  const S1: Float64Array[] = [];
  const S2: Float64Array[] = [];
  const G: Float64Array[] = [];
  const D: Float64Array[] = [];
  for (let l = 0; l <= L; l++) {
    A.push(l < L ? mk(l) : new Float64Array(0));
    const hidden = l >= 1 && l < L;
    S1.push(hidden ? mk(l) : new Float64Array(0));
    S2.push(hidden ? mk(l) : new Float64Array(0));
    G.push(hidden ? mk(l) : new Float64Array(0));
    D.push(l >= 1 ? mk(l) : new Float64Array(0));
  }
  return { n, A, S1, S2, G, D, out: mk(L) };
}

/** Z[n, O] = A[n, I] W[I, O] + b[O], with W and b read from `th` at offsets. Skips zero activations (ReLU sparsity). */
function denseForward(A: Float64Array, n: number, I: number, th: Float64Array, wOff: number, bOff: number, O: number, Z: Float64Array): void {
  for (let p = 0; p < n; p++) {
    const zr = p * O;
    for (let o = 0; o < O; o++) Z[zr + o] = th[bOff + o]!;
    const ar = p * I;
    for (let i = 0; i < I; i++) {
      const a = A[ar + i]!;
      if (a === 0) continue;
      const wr = wOff + i * O;
      for (let o = 0; o < O; o++) Z[zr + o] += a * th[wr + o]!;
    }
  }
}

/** Z[n, O] += A[n, I] W[I, O] (W from `w` at an offset), skipping zero rows of A. */
function denseAccumulate(A: Float64Array, n: number, I: number, w: Float64Array, wOff: number, O: number, Z: Float64Array): void {
  for (let p = 0; p < n; p++) {
    const zr = p * O;
    const ar = p * I;
    for (let i = 0; i < I; i++) {
      const a = A[ar + i]!;
      if (a === 0) continue;
      const wr = wOff + i * O;
      for (let o = 0; o < O; o++) Z[zr + o] += a * w[wr + o]!;
    }
  }
}

/** out[I, O] (at offset) += A[n, I]^T D[n, O]; and outB[O] += column sums of D when bOff >= 0. */
function weightGrad(A: Float64Array, n: number, I: number, D: Float64Array, O: number, out: Float64Array, wOff: number, bOff: number): void {
  for (let p = 0; p < n; p++) {
    const dr = p * O;
    const ar = p * I;
    for (let i = 0; i < I; i++) {
      const a = A[ar + i]!;
      if (a === 0) continue;
      const wr = wOff + i * O;
      for (let o = 0; o < O; o++) out[wr + o] += a * D[dr + o]!;
    }
    if (bOff >= 0) for (let o = 0; o < O; o++) out[bOff + o] += D[dr + o]!;
  }
}

/** G[n, I] (+)= D[n, O] W[I, O]^T. */
function backInput(D: Float64Array, n: number, O: number, w: Float64Array, wOff: number, I: number, G: Float64Array, accumulate: boolean): void {
  for (let p = 0; p < n; p++) {
    const dr = p * O;
    const gr = p * I;
    for (let i = 0; i < I; i++) {
      const wr = wOff + i * O;
      let s0 = 0;
      let s1 = 0;
      let o = 0;
      for (; o + 1 < O; o += 2) {
        s0 += D[dr + o]! * w[wr + o]!;
        s1 += D[dr + o + 1]! * w[wr + o + 1]!;
      }
      if (o < O) s0 += D[dr + o]! * w[wr + o]!;
      if (accumulate) G[gr + i] += s0 + s1;
      else G[gr + i] = s0 + s1;
    }
  }
}

/**
 * MAML meta-gradients for one MLP shape on flat float64 buffers, reused across calls.
 * Tasks are processed one after another inside one call; per-task work is a few small dense products.
 */
export class MlpMamlKernel {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly numParams: number;
  private readonly L: number;
  private readonly wOff: number[];
  private readonly bOff: number[];
  private readonly hasSecond: boolean;
  private shapeKey = "";
  private supportPasses: Pass[] = [];
  private queryPass: Pass | null = null;
  private rPass: Pass | null = null;
  private thetas: Float64Array[] = [];
  private v = new Float64Array(0);
  private hv = new Float64Array(0);
  private g = new Float64Array(0);

  constructor(sizes: readonly number[], activation: ActivationName) {
    if (!FAST_ACTIVATIONS.includes(activation)) throw new Error(`MlpMamlKernel: activation "${activation}" is not supported; use one of ${FAST_ACTIVATIONS.join(", ")}.`);
    this.sizes = [...sizes];
    this.activation = activation;
    this.L = sizes.length - 1;
    this.wOff = [];
    this.bOff = [];
    let off = 0;
    for (let l = 0; l < this.L; l++) {
      this.wOff.push(off);
      off += sizes[l]! * sizes[l + 1]!;
      this.bOff.push(off);
      off += sizes[l + 1]!;
    }
    this.numParams = off;
    this.hasSecond = !(activation === "relu" || activation === "identity");
  }

  private ensure(shots: number, queries: number, innerSteps: number): void {
    const key = `${shots}:${queries}:${innerSteps}`;
    if (key === this.shapeKey) return;
    const P = this.numParams;
    this.supportPasses = Array.from({ length: Math.max(innerSteps, 1) }, () => makePass(this.sizes, shots));
    this.queryPass = makePass(this.sizes, queries);
    this.rPass = makePass(this.sizes, shots);
    this.thetas = Array.from({ length: innerSteps + 1 }, () => new Float64Array(P));
    this.v = new Float64Array(P);
    this.hv = new Float64Array(P);
    this.g = new Float64Array(P);
    this.shapeKey = key;
  }

  /** Forward pass at `th` over n points whose inputs are already in pass.A[0]; stores activations and σ', σ''. */
  private forward(th: Float64Array, pass: Pass): void {
    const { sizes, L } = this;
    const n = pass.n;
    for (let l = 0; l < L; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const Z = l + 1 < L ? pass.A[l + 1]! : pass.out;
      denseForward(pass.A[l]!, n, I, th, this.wOff[l]!, this.bOff[l]!, O, Z);
      if (l + 1 < L) this.activate(Z, pass.S1[l + 1]!, pass.S2[l + 1]!, n * O);
    }
  }

  /** Applies σ in place to z (becoming a) and writes σ'(z), σ''(z). */
  private activate(Z: Float64Array, S1: Float64Array, S2: Float64Array, m: number): void {
    switch (this.activation) {
      case "relu":
        for (let j = 0; j < m; j++) {
          const z = Z[j]!;
          if (z > 0) S1[j] = 1;
          else {
            Z[j] = 0;
            S1[j] = 0;
          }
        }
        return;
      case "tanh":
        for (let j = 0; j < m; j++) {
          const a = Math.tanh(Z[j]!);
          const d = 1 - a * a;
          Z[j] = a;
          S1[j] = d;
          S2[j] = -2 * a * d;
        }
        return;
      case "sigmoid":
        for (let j = 0; j < m; j++) {
          const a = 1 / (1 + Math.exp(-Z[j]!));
          const d = a * (1 - a);
          Z[j] = a;
          S1[j] = d;
          S2[j] = d * (1 - 2 * a);
        }
        return;
      case "softplus":
        for (let j = 0; j < m; j++) {
          const z = Z[j]!;
          const s = 1 / (1 + Math.exp(-z));
          Z[j] = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
          S1[j] = s;
          S2[j] = s * (1 - s);
        }
        return;
      case "exp":
        for (let j = 0; j < m; j++) {
          const a = Math.exp(Z[j]!);
          Z[j] = a;
          S1[j] = a;
          S2[j] = a;
        }
        return;
      case "identity":
        S1.fill(1, 0, m);
        return;
    }
  }

  /** MSE loss (sum of squares times c/2... see below) and backward pass; writes ∇ into `grad` (overwritten). */
  private backward(th: Float64Array, pass: Pass, y: ArrayLike<number>, yOff: number, c: number, grad: Float64Array): number {
    const { sizes, L } = this;
    const n = pass.n;
    const out = pass.out;
    const DL = pass.D[L]!;
    const m = n * sizes[L]!;
    let sq = 0;
    for (let j = 0; j < m; j++) {
      const r = out[j]! - y[yOff + j]!;
      sq += r * r;
      DL[j] = c * r;
    }
    grad.fill(0);
    for (let l = L - 1; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const D = pass.D[l + 1]!;
      weightGrad(pass.A[l]!, n, I, D, O, grad, this.wOff[l]!, this.bOff[l]!);
      if (l > 0) {
        const G = pass.G[l]!;
        backInput(D, n, O, th, this.wOff[l]!, I, G, false);
        const S1 = pass.S1[l]!;
        const Dl = pass.D[l]!;
        for (let j = 0; j < n * I; j++) Dl[j] = G[j]! * S1[j]!;
      }
    }
    return sq;
  }

  /** hv = H v, the Hessian of the loss whose backward pass is stored in `pass` (at `th`, scale c), times v. */
  private hvp(th: Float64Array, pass: Pass, c: number, v: Float64Array, hv: Float64Array): void {
    const { sizes, L } = this;
    const r = this.rPass!;
    const n = pass.n;
    // R-forward: RZ_{l+1} = RA_l W_l + A_l V_l + Vb_l; RA_l = σ'(z_l) RZ_l. r.A[l] holds RZ_l then RA_l; r.out holds RZ_L.
    for (let l = 0; l < L; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RZ = l + 1 < L ? r.A[l + 1]! : r.out;
      denseForward(pass.A[l]!, n, I, v, this.wOff[l]!, this.bOff[l]!, O, RZ);
      if (l > 0) denseAccumulate(r.A[l]!, n, I, th, this.wOff[l]!, O, RZ);
      if (l + 1 < L) {
        const S1 = pass.S1[l + 1]!;
        const RZkeep = r.S1[l + 1]!; // RZ_l kept for the σ'' term
        const m = n * O;
        if (this.hasSecond) for (let j = 0; j < m; j++) RZkeep[j] = RZ[j]!;
        for (let j = 0; j < m; j++) RZ[j] = RZ[j]! * S1[j]!;
      }
    }
    // R-backward: RD_L = c RZ_L; hvW_l = RA_l^T D_{l+1} + A_l^T RD_{l+1}; RG_l = RD_{l+1} W_l^T + D_{l+1} V_l^T;
    // RD_l = RG_l σ'(z_l) + G_l σ''(z_l) RZ_l.
    const RDL = r.D[L]!;
    const mL = n * sizes[L]!;
    for (let j = 0; j < mL; j++) RDL[j] = c * r.out[j]!;
    hv.fill(0);
    for (let l = L - 1; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RD = r.D[l + 1]!;
      weightGrad(pass.A[l]!, n, I, RD, O, hv, this.wOff[l]!, this.bOff[l]!);
      if (l > 0) {
        weightGrad(r.A[l]!, n, I, pass.D[l + 1]!, O, hv, this.wOff[l]!, -1);
        const RG = r.G[l]!;
        backInput(RD, n, O, th, this.wOff[l]!, I, RG, false);
        backInput(pass.D[l + 1]!, n, O, v, this.wOff[l]!, I, RG, true);
        const S1 = pass.S1[l]!;
        const RDl = r.D[l]!;
        const m = n * I;
        if (this.hasSecond) {
          const S2 = pass.S2[l]!;
          const G = pass.G[l]!;
          const RZ = r.S1[l]!;
          for (let j = 0; j < m; j++) RDl[j] = RG[j]! * S1[j]! + G[j]! * S2[j]! * RZ[j]!;
        } else {
          for (let j = 0; j < m; j++) RDl[j] = RG[j]! * S1[j]!;
        }
      }
    }
  }

  /**
   * Meta-gradient of the contract above at `theta` (packed, see `packParams`) for a flat batch; writes it into
   * `gradOut` (length numParams) and returns the meta-loss.
   */
  metaGradient(theta: Float64Array, batch: FlatTaskBatch, innerSteps: number, innerLr: number, firstOrder: boolean, gradOut: Float64Array): number {
    const { sizes, L, numParams: P } = this;
    const { tasks: T, shots: nS, queries: nQ } = batch;
    if (theta.length !== P || gradOut.length !== P) throw new Error(`metaGradient: theta and gradOut need ${P} entries for MLP [${sizes}], got ${theta.length} and ${gradOut.length}.`);
    const din = sizes[0]!;
    const dout = sizes[L]!;
    if (batch.supportX.length !== T * nS * din || batch.queryX.length !== T * nQ * din || batch.supportY.length !== T * nS * dout || batch.queryY.length !== T * nQ * dout) {
      throw new Error(`metaGradient: batch arrays do not match tasks=${T}, shots=${nS}, queries=${nQ} and MLP [${sizes}].`);
    }
    this.ensure(nS, nQ, innerSteps);
    const qp = this.queryPass!;
    const thetas = this.thetas;
    const g = this.g;
    const v = this.v;
    const hv = this.hv;
    const cS = 2 / (nS * dout);
    const cQ = 2 / (nQ * dout * T);
    gradOut.fill(0);
    let lossSum = 0;
    for (let t = 0; t < T; t++) {
      // Inner loop: θ_{i+1} = θ_i − α ∇L_s(θ_i), keeping each pass for the reverse sweep.
      for (let i = 0; i < innerSteps; i++) {
        const th = i === 0 ? theta : thetas[i]!;
        const pass = this.supportPasses[i]!;
        copyRows(batch.supportX, t * nS * din, nS * din, pass.A[0]!);
        this.forward(th, pass);
        this.backward(th, pass, batch.supportY, t * nS * dout, cS, g);
        const next = thetas[i + 1]!;
        for (let j = 0; j < P; j++) next[j] = th[j]! - innerLr * g[j]!;
      }
      const thK = innerSteps === 0 ? theta : thetas[innerSteps]!;
      copyRows(batch.queryX, t * nQ * din, nQ * din, qp.A[0]!);
      this.forward(thK, qp);
      lossSum += this.backward(thK, qp, batch.queryY, t * nQ * dout, cQ, v) / (nQ * dout);
      if (!firstOrder) {
        for (let i = innerSteps - 1; i >= 0; i--) {
          const th = i === 0 ? theta : thetas[i]!;
          this.hvp(th, this.supportPasses[i]!, cS, v, hv);
          for (let j = 0; j < P; j++) v[j] = v[j]! - innerLr * hv[j]!;
        }
      }
      for (let j = 0; j < P; j++) gradOut[j] += v[j]!;
    }
    return lossSum / T;
  }

  /** Gradient of the mean MSE of the shared network on (x, y) [points, in] / [points, out]; for tests and pretraining. */
  lossAndGrad(theta: Float64Array, x: ArrayLike<number>, y: ArrayLike<number>, points: number, gradOut: Float64Array): number {
    const dout = this.sizes[this.L]!;
    const pass = makePass(this.sizes, points);
    copyRows(x, 0, points * this.sizes[0]!, pass.A[0]!);
    this.forward(theta, pass);
    return this.backward(theta, pass, y, 0, 2 / (points * dout), gradOut) / (points * dout);
  }
}

function copyRows(src: ArrayLike<number>, off: number, m: number, dst: Float64Array): void {
  for (let j = 0; j < m; j++) dst[j] = src[off + j]!;
}
