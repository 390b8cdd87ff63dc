/**
 * BN-MAML on flat buffers (the fast path of learners/bn-maml.ts): the meta-gradient of MAML through a BatchNorm MLP
 * with per-task batch statistics, the running statistics the general path accumulates on the side, and the
 * evaluation modes (transductive, per-example, support, support-plus-one, running).
 *
 * Contract (shared with the general path): inner step i adapts every parameter, θ_{i+1} = θ_i − α ∇L_s(θ_i), with
 * statistics set i (and its γ/β when they are per step); the query pass uses set K. Running statistics: after each
 * inner step's support pass and after the query pass, set min(i, sets − 1) moves towards the batch statistics
 * averaged over tasks (variance unbiased by n / (n − 1)) with the config's momentum, in that order.
 * Second order by reverse mode through the inner loop, v_i = v_{i+1} − α H_s(θ_i) v_{i+1} (see mlp-maml.ts).
 */
import type { BnMlpConfig } from "../models/batchnorm";
import { BnMlpNet, bnStateLayout, type BnPass, type BnStatsSource } from "./bn-mlp-net";
import { defaultKernelBackend, opsFor, type FlatTaskBatch, type KernelBackend } from "./mlp-maml";
import { copyInto, lossScale, outputDelta, type FastLoss } from "./mlp-net";

/** What one BN-MAML meta-gradient computes besides θ and the batch. */
export interface BnMamlKernelOptions {
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly firstOrder: boolean;
}

/** The evaluation modes of `bnMamlEvaluate`. */
export type BnKernelEvalMode = "transductive" | "per-example" | "support" | "support-plus-one" | "running";

const kernels = new Map<string, BnMamlKernel>();

/** A cached kernel per BN-MLP config, loss and backend. */
export function bnKernelFor(config: BnMlpConfig, loss: FastLoss, backend: KernelBackend = defaultKernelBackend()): BnMamlKernel {
  const key = `${backend}:${loss}:${config.activation}:${config.sizes.join(",")}:${config.eps}:${config.momentum}:${config.statSets}:${config.perStepAffine}`;
  let k = kernels.get(key);
  if (!k) {
    k = new BnMamlKernel(config, loss, backend);
    kernels.set(key, k);
  }
  return k;
}

/** BN-MAML meta-gradients and evaluation for one BN-MLP config, with buffers reused across calls. */
export class BnMamlKernel {
  readonly net: BnMlpNet;
  readonly numParams: number;
  readonly numStats: number;
  private readonly din: number;
  private readonly dout: number;
  private readonly statMean: number[][];
  private readonly statVar: number[][];
  private key = "";
  private passes: BnPass[] = [];
  private qp!: BnPass;
  private one!: BnPass;
  private plus!: BnPass;
  private thetas: number[] = [];
  private g = 0;
  private v = 0;
  private hv = 0;
  private meta = 0;
  private stats = 0;
  private sx = 0;
  private sy = 0;
  private qx = 0;
  private qy = 0;
  private rows = 0;
  private logits = 0;
  private scratch = 0;

  constructor(readonly config: BnMlpConfig, readonly loss: FastLoss, backend: KernelBackend = defaultKernelBackend()) {
    this.net = new BnMlpNet(config, loss, opsFor(backend));
    this.numParams = this.net.numParams;
    const sl = bnStateLayout(config);
    this.numStats = sl.size;
    this.din = config.sizes[0]!;
    this.dout = config.sizes[config.sizes.length - 1]!;
    // Offsets of running mean and variance within the stats vector, [set][hidden layer].
    const L = config.sizes.length - 1;
    const at = (name: string) => sl.offsets[sl.names.indexOf(name)]!;
    this.statMean = Array.from({ length: config.statSets }, (_, s) => Array.from({ length: L - 1 }, (_, l) => at(`mean${l}_s${s}`)));
    this.statVar = Array.from({ length: config.statSets }, (_, s) => Array.from({ length: L - 1 }, (_, l) => at(`var${l}_s${s}`)));
  }

  private ensure(tasks: number, shots: number, queries: number, innerSteps: number): void {
    const key = `${tasks}:${shots}:${queries}:${innerSteps}`;
    if (key === this.key) return;
    const { net, numParams: P, din, dout } = this;
    const ops = net.ops;
    net.reset();
    net.prepareHvp(shots);
    this.passes = Array.from({ length: Math.max(innerSteps, 1) }, () => net.makePass(shots));
    this.qp = net.makePass(queries);
    this.one = net.makePass(1);
    this.plus = net.makePass(shots + 1);
    this.thetas = Array.from({ length: innerSteps + 1 }, () => ops.alloc(P));
    this.g = ops.alloc(P);
    this.v = ops.alloc(P);
    this.hv = ops.alloc(P);
    this.meta = ops.alloc(P);
    this.stats = ops.alloc(this.numStats);
    this.sx = ops.alloc(tasks * shots * din);
    this.sy = ops.alloc(tasks * shots * dout);
    this.qx = ops.alloc(tasks * queries * din);
    this.qy = ops.alloc(tasks * queries * dout);
    this.rows = ops.alloc((shots + 1) * din);
    this.logits = ops.alloc(queries * dout);
    this.scratch = ops.alloc(2 * queries * dout);
    this.key = key;
  }

  private load(theta: ArrayLike<number>, batch: FlatTaskBatch, innerSteps: number): void {
    const { tasks: T, shots: nS, queries: nQ } = batch;
    const { din, dout, numParams: P } = this;
    if (theta.length !== P) throw new Error(`BN-MAML kernel: theta needs ${P} entries for BN-MLP [${this.config.sizes}], got ${theta.length}.`);
    if (batch.supportX.length !== T * nS * din || batch.queryX.length !== T * nQ * din || batch.supportY.length !== T * nS * dout || batch.queryY.length !== T * nQ * dout) {
      throw new Error(`BN-MAML kernel: batch arrays do not match tasks=${T}, shots=${nS}, queries=${nQ} and BN-MLP [${this.config.sizes}].`);
    }
    if (!Number.isInteger(innerSteps) || innerSteps < 0) throw new Error(`BN-MAML kernel: innerSteps must be a non-negative integer, got ${innerSteps}.`);
    this.ensure(T, nS, nQ, innerSteps);
    const h = this.net.ops.heap();
    copyInto(h, theta, this.thetas[0]!);
    copyInto(h, batch.supportX, this.sx);
    copyInto(h, batch.supportY, this.sy);
    copyInto(h, batch.queryX, this.qx);
    copyInto(h, batch.queryY, this.qy);
  }

  /**
   * Meta-gradient at `theta` (packed as `bnParamLayout`) into `gradOut`; returns the meta-loss. When `stats` (packed
   * as `bnStateLayout`) is given, it receives the updated running statistics.
   */
  metaGradient(theta: ArrayLike<number>, batch: FlatTaskBatch, options: BnMamlKernelOptions, gradOut: Float32Array | Float64Array, stats?: Float32Array): number {
    const { innerSteps: K, innerLr: alpha, firstOrder } = options;
    this.load(theta, batch, K);
    const { net, numParams: P, din, dout } = this;
    const ops = net.ops;
    const h = ops.heap();
    const { tasks: T, shots: nS, queries: nQ } = batch;
    if (gradOut.length !== P) throw new Error(`BN-MAML kernel: gradOut needs ${P} entries, got ${gradOut.length}.`);
    const sS = lossScale(this.loss, nS, dout);
    const sQ = lossScale(this.loss, nQ, dout);
    const cS = sS.factor / sS.divisor;
    const cQ = sQ.factor / (sQ.divisor * T);
    const widths = this.config.sizes.slice(1, -1);
    // Batch statistics summed over tasks, per event (inner step 0..K−1, then the query pass) and hidden layer.
    const acc = stats ? Array.from({ length: K + 1 }, () => widths.map((w) => ({ mean: new Float64Array(w), variance: new Float64Array(w) }))) : null;
    const addStats = (event: number, pass: BnPass): void => {
      if (!acc) return;
      widths.forEach((w, l) => {
        const a = acc[event]![l]!;
        for (let o = 0; o < w; o++) {
          a.mean[o] += h[pass.mean[l]! + o]!;
          a.variance[o] += h[pass.variance[l]! + o]!;
        }
      });
    };
    const { v, hv, meta, g } = this;
    const thetas = this.thetas;
    let loss = 0;
    h.fill(0, meta, meta + P);
    for (let t = 0; t < T; t++) {
      const xs = this.sx + t * nS * din;
      const ys = this.sy + t * nS * dout;
      for (let i = 0; i < K; i++) {
        const pass = this.passes[i]!;
        pass.A[0] = xs;
        net.forward(thetas[i]!, pass, i);
        net.backward(thetas[i]!, pass, ys, cS, g, i);
        ops.axpy(thetas[i]!, g, -alpha, thetas[i + 1]!, P);
        addStats(i, pass);
      }
      const qp = this.qp;
      qp.A[0] = this.qx + t * nQ * din;
      net.forward(thetas[K]!, qp, K);
      loss += net.backward(thetas[K]!, qp, this.qy + t * nQ * dout, cQ, v, K) / sQ.divisor;
      addStats(K, qp);
      if (!firstOrder) {
        for (let i = K - 1; i >= 0; i--) {
          net.hvp(thetas[i]!, this.passes[i]!, ys, cS, v, hv, i);
          ops.axpy(v, hv, -alpha, v, P);
        }
      }
      ops.axpy(meta, v, 1, meta, P);
    }
    for (let j = 0; j < P; j++) gradOut[j] = h[meta + j]!;
    if (stats && acc) this.updateRunning(stats, acc, T, nS, nQ, K);
    return loss / T;
  }

  /** Running statistics after the events of one meta-step, in order (see the contract above). */
  private updateRunning(stats: Float32Array, acc: { mean: Float64Array; variance: Float64Array }[][], T: number, nS: number, nQ: number, K: number): void {
    if (stats.length !== this.numStats) throw new Error(`BN-MAML kernel: running statistics need ${this.numStats} entries, got ${stats.length}.`);
    const m = this.config.momentum;
    const f = Math.fround;
    for (let e = 0; e <= K; e++) {
      const set = Math.min(e, this.config.statSets - 1);
      const n = e < K ? nS : nQ;
      const unbias = n > 1 ? n / (n - 1) : 1;
      acc[e]!.forEach((a, l) => {
        const mo = this.statMean[set]![l]!;
        const vo = this.statVar[set]![l]!;
        for (let o = 0; o < a.mean.length; o++) {
          stats[mo + o] = f(stats[mo + o]! * (1 - m) + (a.mean[o]! / T) * m);
          stats[vo + o] = f(stats[vo + o]! * (1 - m) + (a.variance[o]! / T) * unbias * m);
        }
      });
    }
  }

  /**
   * Adapts to each task's support set (`steps` SGD steps with support statistics, or running statistics in
   * "running" mode) and scores its query set under `mode`; returns the mean over tasks of the per-task mean query loss
   * and of the query accuracy (arg-max, first maximum on ties, as tfjs).
   */
  evaluate(theta: ArrayLike<number>, stats: ArrayLike<number>, batch: FlatTaskBatch, mode: BnKernelEvalMode, steps: number, innerLr: number): { loss: number; accuracy: number } {
    this.load(theta, batch, steps);
    if (stats.length !== this.numStats) throw new Error(`BN-MAML kernel: running statistics need ${this.numStats} entries, got ${stats.length}.`);
    const { net, numParams: P, din, dout } = this;
    const ops = net.ops;
    const h = ops.heap();
    copyInto(h, stats, this.stats);
    const { tasks: T, shots: nS, queries: nQ } = batch;
    const sS = lossScale(this.loss, nS, dout);
    const cS = sS.factor / sS.divisor;
    const running = (set: number): BnStatsSource => {
      const s = Math.min(set, this.config.statSets - 1);
      return { mean: this.statMean[s]!.map((o) => this.stats + o), variance: this.statVar[s]!.map((o) => this.stats + o) };
    };
    const th = this.thetas[0]!;
    const cur = this.thetas[steps]!;
    let lossSum = 0;
    let accSum = 0;
    for (let t = 0; t < T; t++) {
      const xs = this.sx + t * nS * din;
      const ys = this.sy + t * nS * dout;
      const qx = this.qx + t * nQ * din;
      const qy = this.qy + t * nQ * dout;
      const sp = this.passes[0]!;
      let at = th;
      for (let i = 0; i < steps; i++) {
        sp.A[0] = xs;
        const fixed = mode === "running" ? running(i) : null;
        net.forward(at, sp, i, fixed);
        net.backward(at, sp, ys, cS, this.g, i, fixed !== null);
        ops.axpy(at, this.g, -innerLr, this.thetas[i + 1]!, P);
        at = this.thetas[i + 1]!;
      }
      const logits = this.logits;
      const qp = this.qp;
      qp.A[0] = qx;
      if (mode === "transductive") net.forward(cur, qp, steps);
      else if (mode === "running") net.forward(cur, qp, steps, running(steps));
      else if (mode === "support") {
        sp.A[0] = xs;
        net.forward(cur, sp, steps);
        net.forward(cur, qp, steps, { mean: sp.mean, variance: sp.variance });
      } else if (mode === "per-example") {
        for (let j = 0; j < nQ; j++) {
          this.one.A[0] = qx + j * din;
          net.forward(cur, this.one, steps);
          for (let o = 0; o < dout; o++) h[logits + j * dout + o] = h[this.one.out + o]!;
        }
      } else {
        const rows = this.rows;
        for (let j = 0; j < nS * din; j++) h[rows + j] = h[xs + j]!;
        for (let j = 0; j < nQ; j++) {
          for (let k = 0; k < din; k++) h[rows + nS * din + k] = h[qx + j * din + k]!;
          this.plus.A[0] = rows;
          net.forward(cur, this.plus, steps);
          for (let o = 0; o < dout; o++) h[logits + j * dout + o] = h[this.plus.out + nS * dout + o]!;
        }
      }
      const out = mode === "transductive" || mode === "running" || mode === "support" ? qp.out : logits;
      const sQ = lossScale(this.loss, nQ, dout);
      lossSum += outputDelta(h, this.loss, out, qy, this.scratch, this.scratch + nQ * dout, nQ * dout, dout, 0) / sQ.divisor;
      let right = 0;
      for (let j = 0; j < nQ; j++) if (argMax(h, out + j * dout, dout) === argMax(h, qy + j * dout, dout)) right++;
      accSum += right / nQ;
    }
    return { loss: lossSum / T, accuracy: accSum / T };
  }
}

/** Index of the first maximum of h[off .. off + n). */
function argMax(h: Float32Array | Float64Array, off: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (h[off + k]! > h[off + best]!) best = k;
  return best;
}
