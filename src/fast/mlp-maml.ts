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
  /** Heap room for tasks kept out of order (`taskKept`, `addTask`): v_t rows, then rate rows; its size in elements. */
  private inbox = 0;
  private inboxSize = 0;
  private keptLoss = new Float64Array(0);
  private split: TaskContext | null = null;

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
    this.inboxSize = 0;
    this.shapeKey = key;
  }

  /**
   * Meta-gradient of the contract above at `theta` (packed, see `packParams`) for a flat batch; writes it into
   * `gradOut` (length numParams) and returns the meta-loss.
   */
  metaGradient(theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions, gradOut: Float64Array | Float32Array): number {
    const K = options.innerSteps;
    if (theta.length !== this.numParams || gradOut.length !== this.numParams) throw new Error(`metaGradient: theta and gradOut need ${this.numParams} entries for MLP [${this.sizes}], got ${theta.length} and ${gradOut.length}.`);
    const sums = this.partialMetaGradient(theta, batch, options, batch.tasks);
    this.readSums(gradOut, options.rateGrad);
    return metaLossOf(sums, options.stepWeights ?? null, K, batch.tasks);
  }

  /**
   * The first `upTo` tasks of `metaGradient`, summed in task order in the heap: returns the per-step loss sums and
   * leaves the partial sums for `readSums`.
   */
  partialMetaGradient(theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions, upTo: number): Float64Array {
    this.startSplit(theta, batch, options);
    const lossSums = new Float64Array(Math.max(options.innerSteps, 1));
    for (let t = 0; t < upTo; t++) this.taskInOrder(t, lossSums);
    return lossSums;
  }

  /**
   * Starts a meta-gradient whose tasks run in any order and on any thread (worker-pool.ts): copies the inputs and
   * zeroes the sums. Then each task is either run next in order (`taskInOrder`), run now and kept for later
   * (`taskKept`, then `addKept`), run for another thread (`taskOut`), or taken from another thread (`addTask`); the
   * sums, added in task order with the kernels' own adds, have the bits of `metaGradient`.
   */
  startSplit(theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions): void {
    this.split = this.begin(theta, batch, options);
  }

  /** Room for every task's kept contribution, made on first use (one thread never needs it). */
  private ensureInbox(c: TaskContext): void {
    const need = c.T * (this.numParams + c.K * this.numParams);
    if (need > this.inboxSize) {
      this.inbox = this.ops.alloc(need);
      this.inboxSize = need;
    }
    const nL = Math.max(c.K, 1);
    if (this.keptLoss.length < c.T * nL) this.keptLoss = new Float64Array(c.T * nL);
  }

  /** Runs task t and adds it onto the sums (every task before t has been added). */
  taskInOrder(t: number, lossSums: Float64Array): void {
    const c = this.current();
    this.runTask(c, t, lossSums, this.rateAcc);
    this.ops.axpy(this.meta, this.v, 1, this.meta, this.numParams);
  }

  /** Runs task t and keeps its contribution in the heap until `addKept(t)`. */
  taskKept(t: number): void {
    const c = this.current();
    this.ensureInbox(c);
    const { numParams: P, ops } = this;
    const nL = Math.max(c.K, 1);
    const loss = this.keptLoss.subarray(t * nL, (t + 1) * nL);
    const r = this.inboxRate(c, t);
    if (c.learn) ops.heap().fill(0, r, r + c.K * P);
    loss.fill(0);
    this.runTask(c, t, loss, r);
    const h = ops.heap();
    h.copyWithin(this.inbox + t * P, this.v, this.v + P);
  }

  /** Adds task t's kept contribution (from `taskKept`) onto the sums. */
  addKept(t: number, lossSums: Float64Array): void {
    const c = this.current();
    const { numParams: P, ops } = this;
    const nL = Math.max(c.K, 1);
    ops.axpy(this.meta, this.inbox + t * P, 1, this.meta, P);
    if (c.learn) ops.axpy(this.rateAcc, this.inboxRate(c, t), 1, this.rateAcc, c.K * P);
    for (let k = 0; k < nL; k++) lossSums[k] += this.keptLoss[t * nL + k]!;
  }

  /**
   * Runs task t for another thread: v_t into `vOut` [P], −g_i ⊙ v_{i+1} into `rateOut` [innerSteps, P] when the
   * rates are learned, and its per-step query-loss terms into `lossOut` [max(innerSteps, 1)], in heap precision.
   */
  taskOut(t: number, vOut: Float32Array | Float64Array, rateOut: Float32Array | Float64Array | null, lossOut: Float64Array): void {
    this.taskKept(t);
    this.readKept(t, vOut, rateOut, lossOut);
  }

  /** Copies task t's kept contribution (from `taskKept`) out, as `taskOut` writes it. */
  readKept(t: number, vOut: Float32Array | Float64Array, rateOut: Float32Array | Float64Array | null, lossOut: Float64Array): void {
    const c = this.current();
    const { numParams: P } = this;
    const h = this.ops.heap();
    vOut.set(h.subarray(this.inbox + t * P, this.inbox + (t + 1) * P));
    const r = this.inboxRate(c, t);
    if (c.learn) rateOut!.set(h.subarray(r, r + c.K * P));
    const nL = Math.max(c.K, 1);
    lossOut.set(this.keptLoss.subarray(t * nL, (t + 1) * nL));
  }

  /** Adds task t as another thread computed it (`taskOut`'s outputs) onto the sums. */
  addTask(t: number, v: Float32Array | Float64Array, rate: Float32Array | Float64Array | null, loss: Float64Array, lossSums: Float64Array): void {
    const c = this.current();
    this.ensureInbox(c);
    const P = this.numParams;
    const h = this.ops.heap();
    h.set(v, this.inbox + t * P);
    if (c.learn) h.set(rate!, this.inboxRate(c, t));
    this.keptLoss.set(loss, t * Math.max(c.K, 1));
    this.addKept(t, lossSums);
  }

  /** Copies the sums (heap precision) into `gradOut` and, when given, `rateOut`. */
  readSums(gradOut: Float64Array | Float32Array, rateOut?: Float32Array | Float64Array): void {
    const h = this.ops.heap();
    const P = this.numParams;
    for (let j = 0; j < P; j++) gradOut[j] = h[this.meta + j]!;
    if (rateOut) for (let j = 0; j < rateOut.length; j++) rateOut[j] = h[this.rateAcc + j]!;
  }

  /** The split started by `startSplit`. */
  private current(): TaskContext {
    if (!this.split) throw new Error("MlpMamlKernel: call startSplit before running split tasks.");
    return this.split;
  }

  /** Heap offset of task t's kept rate terms. */
  private inboxRate(c: TaskContext, t: number): number {
    const P = this.numParams;
    return this.inbox + c.T * P + t * c.K * P;
  }

  /** Checks the arguments, sizes the buffers and copies θ, the batch and the rates into the heap. */
  private begin(theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions): TaskContext {
    const { sizes, numParams: P, ops } = this;
    const L = sizes.length - 1;
    const { tasks: T, shots: nS, queries: nQ } = batch;
    const { innerSteps: K, rates, firstOrder } = options;
    const weights = options.stepWeights ?? null;
    if (theta.length !== P) throw new Error(`metaGradient: theta needs ${P} entries for MLP [${sizes}], got ${theta.length}.`);
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
    copyInto(h, theta, this.thetas[0]!);
    copyInto(h, batch.supportX, this.sx);
    copyInto(h, batch.supportY, this.sy);
    copyInto(h, batch.queryX, this.qx);
    copyInto(h, batch.queryY, this.qy);
    if (vector) copyInto(h, rates.perParam!, this.rates);
    if (learn) h.fill(0, this.rateAcc, this.rateAcc + K * P);
    h.fill(0, this.meta, this.meta + P);
    const sS = lossScale(this.loss, nS, dout);
    const sQ = lossScale(this.loss, nQ, dout);
    return { T, nS, nQ, K, din, dout, lo, vector, learn, firstOrder, weights, alpha: rates.uniform ?? 0, cS: sS.factor / sS.divisor, sQ };
  }

  /** One task of the contract: leaves v_t in `this.v`, subtracts g_i ⊙ v_{i+1} from the rate sums at `rateAcc` and adds its query losses to `lossSums`. */
  private runTask(c: TaskContext, t: number, lossSums: Float64Array, rateAcc: number): void {
    const { numParams: P, ops, net } = this;
    const { T, nS, nQ, K, din, dout, lo, vector, learn, firstOrder, weights, alpha, cS, sQ } = c;
    const thetas = this.thetas;
    const { v, hv, u, q } = this;
    const qp = this.queryPass;
    const cQ = (w: number) => (sQ.factor * w) / (sQ.divisor * T);
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
      if (learn) ops.subMul(rateAcc + i * P, this.grads[i]!, v, rateAcc + i * P, P);
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
  }
}

/** What `runTask` needs of one `metaGradient` call besides the heap. */
interface TaskContext {
  readonly T: number;
  readonly nS: number;
  readonly nQ: number;
  readonly K: number;
  readonly din: number;
  readonly dout: number;
  readonly lo: number;
  readonly vector: boolean;
  readonly learn: boolean;
  readonly firstOrder: boolean;
  readonly weights: readonly number[] | null;
  readonly alpha: number;
  readonly cS: number;
  readonly sQ: { readonly factor: number; readonly divisor: number };
}

/** The meta-loss from the per-step query-loss sums over T tasks: the last step's mean, or MAML++'s weighted sum. */
export function metaLossOf(lossSums: Float64Array, weights: readonly number[] | null, innerSteps: number, tasks: number): number {
  if (!weights) return lossSums[Math.max(innerSteps - 1, 0)]! / tasks;
  let loss = 0;
  for (let s = 0; s < innerSteps; s++) loss += (weights[s]! * lossSums[s]!) / tasks;
  return loss;
}
