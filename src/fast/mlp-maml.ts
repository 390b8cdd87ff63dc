/**
 * Fast path for MAML on small MLPs: hand-derived forward, backward and Hessian-vector products on flat buffers,
 * run by WebAssembly SIMD kernels (float32) when available, else by float64 JavaScript (see math-ops.ts).
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
import { JsOps, type MathOps } from "./math-ops";
import { hasWasmSimd, WasmSimdOps } from "./wasm-simd";

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

/** A cached kernel per MLP shape, activation and backend, so buffers are reused across meta-steps. */
export function kernelFor(model: MlpConfig, backend: KernelBackend = defaultKernelBackend()): MlpMamlKernel {
  const key = `${backend}:${model.activation}:${model.sizes.join(",")}`;
  let k = kernels.get(key);
  if (!k) {
    k = new MlpMamlKernel(model.sizes, model.activation, backend);
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

/** Stored quantities of one forward/backward pass over n points, per layer, as heap offsets. */
interface Pass {
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
}

function makePass(ops: MathOps, sizes: readonly number[], n: number): Pass {
  const L = sizes.length - 1;
  const mk = (l: number) => ops.alloc(n * sizes[l]!);
  const A: number[] = [];
  const S1: number[] = [];
  const S2: number[] = [];
  const G: number[] = [];
  const D: number[] = [];
  for (let l = 0; l <= L; l++) {
    const hidden = l >= 1 && l < L;
    A.push(hidden ? mk(l) : -1);
    S1.push(hidden ? mk(l) : -1);
    S2.push(hidden ? mk(l) : -1);
    G.push(hidden ? mk(l) : -1);
    D.push(l >= 1 ? mk(l) : -1);
  }
  return { n, A, S1, S2, G, D, out: mk(L) };
}

/** Which kernels to run: WebAssembly SIMD in float32 (fast) or JavaScript in float64 (reference). */
export type KernelBackend = "wasm-simd" | "js";

/** The default kernel backend: WebAssembly SIMD when this runtime has it; `METALAB_FAST_KERNELS=js|wasm-simd` forces one. */
export function defaultKernelBackend(env: string | undefined = process.env.METALAB_FAST_KERNELS): KernelBackend {
  if (env === undefined || env === "") return hasWasmSimd() ? "wasm-simd" : "js";
  if (env === "js") return "js";
  if (env === "wasm-simd") {
    if (!hasWasmSimd()) throw new Error("METALAB_FAST_KERNELS=wasm-simd, but this runtime lacks WebAssembly SIMD. Use Node 16.4 or newer, or unset it.");
    return "wasm-simd";
  }
  throw new Error(`METALAB_FAST_KERNELS="${env}" is not understood. Use js or wasm-simd, or unset it to choose automatically.`);
}

/**
 * MAML meta-gradients for one MLP shape on a flat heap, with buffers reused across calls.
 * Tasks are processed one after another inside one call; per-task work is a few small dense products.
 */
export class MlpMamlKernel {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly numParams: number;
  readonly ops: MathOps;
  private readonly L: number;
  private readonly wOff: number[];
  private readonly bOff: number[];
  private readonly hasSecond: boolean;
  private shapeKey = "";
  private supportPasses: Pass[] = [];
  private queryPass!: Pass;
  private rPass!: Pass;
  private thetas: number[] = [];
  private v = 0;
  private hv = 0;
  private g = 0;
  private meta = 0;
  private ones = 0;
  private sx = 0;
  private sy = 0;
  private qx = 0;
  private qy = 0;

  constructor(sizes: readonly number[], activation: ActivationName, backend: KernelBackend = defaultKernelBackend()) {
    if (!FAST_ACTIVATIONS.includes(activation)) throw new Error(`MlpMamlKernel: activation "${activation}" is not supported; use one of ${FAST_ACTIVATIONS.join(", ")}.`);
    this.sizes = [...sizes];
    this.activation = activation;
    this.ops = backend === "wasm-simd" ? new WasmSimdOps() : new JsOps();
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

  private ensure(tasks: number, shots: number, queries: number, innerSteps: number): void {
    const key = `${tasks}:${shots}:${queries}:${innerSteps}`;
    if (key === this.shapeKey) return;
    const { ops, sizes, L, numParams: P } = this;
    ops.reset();
    this.supportPasses = Array.from({ length: Math.max(innerSteps, 1) }, () => makePass(ops, sizes, shots));
    this.queryPass = makePass(ops, sizes, queries);
    this.rPass = makePass(ops, sizes, shots);
    this.thetas = Array.from({ length: innerSteps + 1 }, () => ops.alloc(P));
    this.v = ops.alloc(P);
    this.hv = ops.alloc(P);
    this.g = ops.alloc(P);
    this.meta = ops.alloc(P);
    const maxN = Math.max(shots, queries);
    this.ones = ops.alloc(maxN);
    this.sx = ops.alloc(tasks * shots * sizes[0]!);
    this.sy = ops.alloc(tasks * shots * sizes[L]!);
    this.qx = ops.alloc(tasks * queries * sizes[0]!);
    this.qy = ops.alloc(tasks * queries * sizes[L]!);
    ops.heap().fill(1, this.ones, this.ones + maxN);
    this.shapeKey = key;
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
  private gradAcc(a: number, n: number, I: number, d: number, out: number, O: number): void {
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

  /** Forward pass at `th` over n points whose inputs are at pass.A[0]; stores activations and σ', σ''. */
  private forward(th: number, pass: Pass): void {
    const { sizes, L, ops } = this;
    const n = pass.n;
    for (let l = 0; l < L; l++) {
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

  /** Squared error and backward pass of (c/2)·Σ(out − y)²; writes the gradient at offset `grad` and returns Σ(out − y)². */
  private backward(th: number, pass: Pass, y: number, c: number, grad: number): number {
    const { sizes, L, ops, numParams: P } = this;
    const n = pass.n;
    const h = ops.heap();
    const out = pass.out;
    const DL = pass.D[L]!;
    const m = n * sizes[L]!;
    let sq = 0;
    for (let j = 0; j < m; j++) {
      const r = h[out + j]! - h[y + j]!;
      sq += r * r;
      h[DL + j] = c * r;
    }
    h.fill(0, grad, grad + P);
    for (let l = L - 1; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const D = pass.D[l + 1]!;
      this.gradAcc(pass.A[l]!, n, I, D, grad + this.wOff[l]!, O);
      ops.rankAcc(this.ones, n, 1, D, grad + this.bOff[l]!, O, true);
      if (l > 0) {
        this.backInput(D, n, O, th + this.wOff[l]!, I, pass.G[l]!, false);
        ops.mul(pass.G[l]!, pass.S1[l]!, pass.D[l]!, n * I);
      }
    }
    return sq;
  }

  /** hv = H v: the Hessian of the loss whose backward pass is stored in `pass` (at `th`, scale c), times v. */
  private hvp(th: number, pass: Pass, c: number, v: number, hv: number): void {
    const { sizes, L, ops, numParams: P } = this;
    const r = this.rPass;
    const n = pass.n;
    // R-forward: RZ_{l+1} = Vb_l + A_l V_l + RA_l W_l; RA_l = σ'(z_l) RZ_l. r.A[l] holds RA_l, r.S1[l] keeps RZ_l.
    for (let l = 0; l < L; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RZ = l + 1 < L ? r.A[l + 1]! : r.out;
      this.bias(v + this.bOff[l]!, n, O, RZ);
      this.matAcc(pass.A[l]!, n, I, v + this.wOff[l]!, RZ, O);
      if (l > 0) this.matAcc(r.A[l]!, n, I, th + this.wOff[l]!, RZ, O);
      if (l + 1 < L) {
        const m = n * O;
        if (this.hasSecond) ops.heap().copyWithin(r.S1[l + 1]!, RZ, RZ + m);
        ops.mul(RZ, pass.S1[l + 1]!, RZ, m);
      }
    }
    // R-backward: RD_L = c RZ_L; hvW_l = A_lᵀ RD_{l+1} + RA_lᵀ D_{l+1}; RG_l = RD_{l+1} W_lᵀ + D_{l+1} V_lᵀ;
    // RD_l = RG_l σ'(z_l) + G_l σ''(z_l) RZ_l.
    const h = ops.heap();
    const RDL = r.D[L]!;
    const mL = n * sizes[L]!;
    for (let j = 0; j < mL; j++) h[RDL + j] = c * h[r.out + j]!;
    h.fill(0, hv, hv + P);
    for (let l = L - 1; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RD = r.D[l + 1]!;
      this.gradAcc(pass.A[l]!, n, I, RD, hv + this.wOff[l]!, O);
      ops.rankAcc(this.ones, n, 1, RD, hv + this.bOff[l]!, O, true);
      if (l > 0) {
        this.gradAcc(r.A[l]!, n, I, pass.D[l + 1]!, hv + this.wOff[l]!, O);
        this.backInput(RD, n, O, th + this.wOff[l]!, I, r.G[l]!, false);
        this.backInput(pass.D[l + 1]!, n, O, v + this.wOff[l]!, I, r.G[l]!, true);
        if (this.hasSecond) ops.secondTerm(r.G[l]!, pass.S1[l]!, pass.G[l]!, pass.S2[l]!, r.S1[l]!, r.D[l]!, n * I);
        else ops.mul(r.G[l]!, pass.S1[l]!, r.D[l]!, n * I);
      }
    }
  }

  /**
   * Meta-gradient of the contract above at `theta` (packed, see `packParams`) for a flat batch; writes it into
   * `gradOut` (length numParams) and returns the meta-loss.
   */
  metaGradient(theta: ArrayLike<number>, batch: FlatTaskBatch, innerSteps: number, innerLr: number, firstOrder: boolean, gradOut: Float64Array | Float32Array): number {
    const { sizes, L, numParams: P, ops } = this;
    const { tasks: T, shots: nS, queries: nQ } = batch;
    if (theta.length !== P || gradOut.length !== P) throw new Error(`metaGradient: theta and gradOut need ${P} entries for MLP [${sizes}], got ${theta.length} and ${gradOut.length}.`);
    const din = sizes[0]!;
    const dout = sizes[L]!;
    if (batch.supportX.length !== T * nS * din || batch.queryX.length !== T * nQ * din || batch.supportY.length !== T * nS * dout || batch.queryY.length !== T * nQ * dout) {
      throw new Error(`metaGradient: batch arrays do not match tasks=${T}, shots=${nS}, queries=${nQ} and MLP [${sizes}].`);
    }
    if (!Number.isInteger(innerSteps) || innerSteps < 0) throw new Error(`metaGradient: innerSteps must be a non-negative integer, got ${innerSteps}.`);
    this.ensure(T, nS, nQ, innerSteps);
    const h = ops.heap();
    const thetas = this.thetas;
    const theta0 = thetas[0]!;
    copyInto(h, theta, theta0);
    copyInto(h, batch.supportX, this.sx);
    copyInto(h, batch.supportY, this.sy);
    copyInto(h, batch.queryX, this.qx);
    copyInto(h, batch.queryY, this.qy);
    const { g, v, hv, meta } = this;
    const qp = this.queryPass;
    const cS = 2 / (nS * dout);
    const cQ = 2 / (nQ * dout * T);
    h.fill(0, meta, meta + P);
    let lossSum = 0;
    for (let t = 0; t < T; t++) {
      // Inner loop: θ_{i+1} = θ_i − α ∇L_s(θ_i), keeping each pass for the reverse sweep.
      const xs = this.sx + t * nS * din;
      const ys = this.sy + t * nS * dout;
      for (let i = 0; i < innerSteps; i++) {
        const pass = this.supportPasses[i]!;
        pass.A[0] = xs;
        this.forward(thetas[i]!, pass);
        this.backward(thetas[i]!, pass, ys, cS, g);
        ops.axpy(thetas[i]!, g, -innerLr, thetas[i + 1]!, P);
      }
      const thK = thetas[innerSteps]!;
      qp.A[0] = this.qx + t * nQ * din;
      this.forward(thK, qp);
      lossSum += this.backward(thK, qp, this.qy + t * nQ * dout, cQ, v) / (nQ * dout);
      if (!firstOrder) {
        for (let i = innerSteps - 1; i >= 0; i--) {
          this.hvp(thetas[i]!, this.supportPasses[i]!, cS, v, hv);
          ops.axpy(v, hv, -innerLr, v, P);
        }
      }
      ops.axpy(meta, v, 1, meta, P);
    }
    for (let j = 0; j < P; j++) gradOut[j] = h[meta + j]!;
    return lossSum / T;
  }

  /** Mean squared error of the shared network on (x, y), [points, in] and [points, out], and its gradient. */
  lossAndGrad(theta: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number>, points: number, gradOut: Float64Array | Float32Array): number {
    const { sizes, L, numParams: P, ops } = this;
    this.shapeKey = "";
    ops.reset();
    const pass = makePass(ops, sizes, points);
    const th = ops.alloc(P);
    const xb = ops.alloc(points * sizes[0]!);
    const yb = ops.alloc(points * sizes[L]!);
    const grad = ops.alloc(P);
    this.ones = ops.alloc(points);
    const h = ops.heap();
    h.fill(1, this.ones, this.ones + points);
    copyInto(h, theta, th);
    copyInto(h, x, xb);
    copyInto(h, y, yb);
    pass.A[0] = xb;
    this.forward(th, pass);
    const sq = this.backward(th, pass, yb, 2 / (points * sizes[L]!), grad);
    for (let j = 0; j < P; j++) gradOut[j] = h[grad + j]!;
    return sq / (points * sizes[L]!);
  }
}

/** Applies a smooth σ in place to z (becoming a) and writes σ'(z), σ''(z); one loop per activation keeps it monomorphic. */
function activateSmooth(kind: ActivationName, h: Float32Array | Float64Array, Z: number, S1: number, S2: number, m: number): void {
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

function copyInto(h: Float32Array | Float64Array, src: ArrayLike<number>, off: number): void {
  if (src instanceof Float32Array || src instanceof Float64Array) h.set(src, off);
  else for (let j = 0; j < src.length; j++) h[off + j] = src[j]!;
}
