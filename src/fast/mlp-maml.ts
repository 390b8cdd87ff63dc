/**
 * MAML meta-gradients for small MLPs on flat buffers (the fast path of `Maml`), run by the WebAssembly SIMD kernels
 * (float32) when available, else by float64 JavaScript (see math-ops.ts).
 *
 * Contract (shared with the general tfjs path in src/learners/maml.ts):
 * - inner loss of task t: the per-task mean loss (squared error or softmax cross-entropy) on its support set;
 * - inner update, `innerSteps` times from θ: θ_{i+1} = θ_i − α_i ⊙ ∇L_t(θ_i), with one α for everything (Finn et al.
 *   2017) or a rate per step and parameter that is 0 on frozen ones (ANIL, Raghu et al. 2020; MAML++ LSLR, Antoniou
 *   et al. 2019; Meta-SGD, Li et al. 2017);
 * - meta loss: mean over tasks of the query loss at θ_K, or MAML++'s weighted sum over the steps (multi-step loss);
 * - grads: d(meta loss)/dθ through the inner loop (second order) unless `firstOrder` (dθ_{i+1}/dθ_i taken as I),
 *   and d(meta loss)/dα_i = −Σ_t ∇L_t(θ_i) ⊙ v_{i+1} when the rates are learned.
 *
 * Second order is reverse mode through the inner loop: with v_K = ∇L_q(θ_K)/T,
 * v_i = v_{i+1} − H_s(θ_i)(α_i ⊙ v_{i+1}) (+ the query gradient at θ_i under the multi-step loss), and the
 * meta-gradient is Σ_t v_0. H_s v comes from `MlpNet.hvp`.
 */
import type { MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";
import type { ActivationName } from "../autodiff/activations";
import { JsOps, type MathOps } from "./math-ops";
import { hasWasmSimd, WasmSimdOps } from "./wasm-simd";
import { copyInto, lossScale, MlpNet, type FastLoss, type Pass } from "./mlp-net";

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

/** Reads a tensor batch into flat arrays. */
export function flattenBatch(batch: TaskBatch): FlatTaskBatch {
  const [tasks, shots] = batch.supportX.shape;
  return {
    supportX: batch.supportX.dataSync(),
    supportY: batch.supportY.dataSync(),
    queryX: batch.queryX.dataSync(),
    queryY: batch.queryY.dataSync(),
    tasks,
    shots,
    queries: batch.queryX.shape[1],
  };
}

/** How the inner loop steps. */
export interface InnerRates {
  /** α when every parameter adapts with this one fixed rate at every step (Finn's MAML); null otherwise. */
  readonly uniform: number | null;
  /** Otherwise the rate of each packed parameter at each inner step, [innerSteps, P], 0 where frozen. */
  readonly perParam?: ArrayLike<number>;
  /** Lowest layer with an adapted parameter (0 for MAML, L − 1 for ANIL); the layers below it stay frozen. */
  readonly lowestLayer?: number;
}

/** What one meta-gradient computes besides θ and the batch. */
export interface MamlKernelOptions {
  readonly innerSteps: number;
  readonly rates: InnerRates;
  readonly firstOrder: boolean;
  /** MAML++ multi-step loss: the weight of the query loss after each inner step; null for the last step only. */
  readonly stepWeights?: readonly number[] | null;
  /** When given ([innerSteps, P]), receives d(meta loss)/d(rates); needs `rates.perParam`. */
  readonly rateGrad?: Float32Array | Float64Array;
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

/** Fresh kernels of a backend. */
export function opsFor(backend: KernelBackend): MathOps {
  return backend === "wasm-simd" ? new WasmSimdOps() : new JsOps();
}

const kernels = new Map<string, MlpMamlKernel>();

/** A cached MAML kernel per MLP shape, activation, loss and backend, so buffers are reused across meta-steps. */
export function kernelFor(model: MlpConfig, loss: FastLoss = "mse", backend: KernelBackend = defaultKernelBackend()): MlpMamlKernel {
  const key = `${backend}:${loss}:${model.activation}:${model.sizes.join(",")}`;
  let k = kernels.get(key);
  if (!k) {
    k = new MlpMamlKernel(model.sizes, model.activation, loss, backend);
    kernels.set(key, k);
  }
  return k;
}

/**
 * MAML meta-gradients for one MLP shape on a flat heap, with buffers reused across calls.
 * Tasks are processed one after another inside one call; per-task work is a few small dense products.
 */
export class MlpMamlKernel {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly loss: FastLoss;
  readonly numParams: number;
  readonly ops: MathOps;
  readonly net: MlpNet;
  private shapeKey = "";
  private supportPasses: Pass[] = [];
  private queryPass!: Pass;
  private thetas: number[] = [];
  private grads: number[] = [];
  private rates = 0;
  private rateAcc = 0;
  private u = 0;
  private v = 0;
  private hv = 0;
  private q = 0;
  private meta = 0;
  private sx = 0;
  private sy = 0;
  private qx = 0;
  private qy = 0;

  constructor(sizes: readonly number[], activation: ActivationName, loss: FastLoss = "mse", backend: KernelBackend = defaultKernelBackend()) {
    this.ops = opsFor(backend);
    this.net = new MlpNet(sizes, activation, loss, this.ops);
    this.sizes = this.net.sizes;
    this.activation = activation;
    this.loss = loss;
    this.numParams = this.net.numParams;
  }

  private ensure(tasks: number, shots: number, queries: number, innerSteps: number, lo: number, vector: boolean, learn: boolean): void {
    const key = `${tasks}:${shots}:${queries}:${innerSteps}:${lo}:${vector}:${learn}`;
    if (key === this.shapeKey) return;
    const { ops, sizes, net, numParams: P } = this;
    const L = sizes.length - 1;
    net.reset(Math.max(shots, queries));
    net.prepareHvp(shots);
    const first = net.makePass(shots);
    this.supportPasses = [first, ...Array.from({ length: Math.max(innerSteps, 1) - 1 }, () => (lo > 0 ? net.makePass(shots, first, lo) : net.makePass(shots)))];
    this.queryPass = net.makePass(queries);
    this.thetas = Array.from({ length: innerSteps + 1 }, () => ops.alloc(P));
    this.grads = Array.from({ length: learn ? innerSteps : 1 }, () => ops.alloc(P));
    this.rates = vector ? ops.alloc(innerSteps * P) : 0;
    this.rateAcc = learn ? ops.alloc(innerSteps * P) : 0;
    this.u = ops.alloc(P);
    this.v = ops.alloc(P);
    this.hv = ops.alloc(P);
    this.q = ops.alloc(P);
    this.meta = ops.alloc(P);
    this.sx = ops.alloc(tasks * shots * sizes[0]!);
    this.sy = ops.alloc(tasks * shots * sizes[L]!);
    this.qx = ops.alloc(tasks * queries * sizes[0]!);
    this.qy = ops.alloc(tasks * queries * sizes[L]!);
    this.shapeKey = key;
  }

  /**
   * Meta-gradient of the contract above at `theta` (packed, see `packParams`) for a flat batch; writes it into
   * `gradOut` (length numParams) and returns the meta-loss.
   */
  metaGradient(theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions, gradOut: Float64Array | Float32Array): number {
    const { sizes, numParams: P, ops, net } = this;
    const L = sizes.length - 1;
    const { tasks: T, shots: nS, queries: nQ } = batch;
    const { innerSteps: K, rates, firstOrder } = options;
    const weights = options.stepWeights ?? null;
    if (theta.length !== P || gradOut.length !== P) throw new Error(`metaGradient: theta and gradOut need ${P} entries for MLP [${sizes}], got ${theta.length} and ${gradOut.length}.`);
    const din = sizes[0]!;
    const dout = sizes[L]!;
    if (batch.supportX.length !== T * nS * din || batch.queryX.length !== T * nQ * din || batch.supportY.length !== T * nS * dout || batch.queryY.length !== T * nQ * dout) {
      throw new Error(`metaGradient: batch arrays do not match tasks=${T}, shots=${nS}, queries=${nQ} and MLP [${sizes}].`);
    }
    if (!Number.isInteger(K) || K < 0) throw new Error(`metaGradient: innerSteps must be a non-negative integer, got ${K}.`);
    const vector = rates.uniform === null;
    if (vector && (!rates.perParam || rates.perParam.length !== K * P)) throw new Error(`metaGradient: rates.perParam needs innerSteps × ${P} = ${K * P} entries, got ${rates.perParam?.length}.`);
    const learn = options.rateGrad !== undefined;
    if (learn && (!vector || options.rateGrad!.length !== K * P)) throw new Error(`metaGradient: rateGrad needs per-parameter rates and ${K * P} entries.`);
    if (weights !== null && weights.length !== K) throw new Error(`metaGradient: stepWeights needs one weight per inner step (${K}), got ${weights.length}.`);
    const lo = vector ? rates.lowestLayer ?? 0 : 0;
    if (!Number.isInteger(lo) || lo < 0 || lo >= L) throw new Error(`metaGradient: lowestLayer must be a layer index in [0, ${L - 1}], got ${lo}.`);
    this.ensure(T, nS, nQ, K, lo, vector, learn);
    const h = ops.heap();
    const thetas = this.thetas;
    copyInto(h, theta, thetas[0]!);
    copyInto(h, batch.supportX, this.sx);
    copyInto(h, batch.supportY, this.sy);
    copyInto(h, batch.queryX, this.qx);
    copyInto(h, batch.queryY, this.qy);
    if (vector) copyInto(h, rates.perParam!, this.rates);
    if (learn) h.fill(0, this.rateAcc, this.rateAcc + K * P);
    const { v, hv, u, q, meta } = this;
    const alpha = rates.uniform ?? 0;
    const qp = this.queryPass;
    const sS = lossScale(this.loss, nS, dout);
    const sQ = lossScale(this.loss, nQ, dout);
    const cS = sS.factor / sS.divisor;
    const cQ = (w: number) => (sQ.factor * w) / (sQ.divisor * T);
    const lossSums = new Float64Array(Math.max(K, 1));
    h.fill(0, meta, meta + P);
    for (let t = 0; t < T; t++) {
      // Inner loop: θ_{i+1} = θ_i − α_i ∇L_s(θ_i), keeping each pass for the reverse sweep.
      const xs = this.sx + t * nS * din;
      const ys = this.sy + t * nS * dout;
      for (let i = 0; i < K; i++) {
        const pass = this.supportPasses[i]!;
        const g = this.grads[learn ? i : 0]!;
        pass.A[0] = xs;
        net.forward(thetas[i]!, pass, i > 0 ? lo : 0);
        net.backward(thetas[i]!, pass, ys, cS, g, lo);
        if (vector) ops.subMul(thetas[i]!, this.rates + i * P, g, thetas[i + 1]!, P);
        else ops.axpy(thetas[i]!, g, -alpha, thetas[i + 1]!, P);
      }
      const qxs = this.qx + t * nQ * din;
      const qys = this.qy + t * nQ * dout;
      qp.A[0] = qxs;
      net.forward(thetas[K]!, qp);
      lossSums[Math.max(K - 1, 0)] += net.backward(thetas[K]!, qp, qys, cQ(weights ? weights[K - 1]! : 1), v) / sQ.divisor;
      for (let i = K - 1; i >= 0; i--) {
        // v is the adjoint of θ_{i+1} here.
        if (learn) ops.subMul(this.rateAcc + i * P, this.grads[i]!, v, this.rateAcc + i * P, P);
        if (!firstOrder) {
          const pass = this.supportPasses[i]!;
          if (vector) {
            ops.mul(this.rates + i * P, v, u, P);
            net.hvp(thetas[i]!, pass, ys, cS, u, hv, lo);
            ops.axpy(v, hv, -1, v, P);
          } else {
            net.hvp(thetas[i]!, pass, ys, cS, v, hv, 0);
            ops.axpy(v, hv, -alpha, v, P);
          }
        }
        if (weights && i >= 1) {
          net.forward(thetas[i]!, qp);
          lossSums[i - 1] += net.backward(thetas[i]!, qp, qys, cQ(weights[i - 1]!), q) / sQ.divisor;
          ops.axpy(v, q, 1, v, P);
        }
      }
      ops.axpy(meta, v, 1, meta, P);
    }
    for (let j = 0; j < P; j++) gradOut[j] = h[meta + j]!;
    if (learn) {
      const out = options.rateGrad!;
      for (let j = 0; j < K * P; j++) out[j] = h[this.rateAcc + j]!;
    }
    if (!weights) return lossSums[Math.max(K - 1, 0)]! / T;
    let loss = 0;
    for (let s = 0; s < K; s++) loss += (weights[s]! * lossSums[s]!) / T;
    return loss;
  }
}
