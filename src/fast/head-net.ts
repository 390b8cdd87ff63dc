/**
 * Supervised training of an MLP whose output layer holds several heads (blocks of columns), on the flat heap: the
 * loss of a sum of readouts (softmax cross-entropy against labels, or distillation towards teacher logits; Hinton et
 * al. 2015) over column ranges picked per row, its gradient, plain logits, and per-example squared gradients (the
 * diagonal Fisher of EWC, Kirkpatrick et al. 2017). The fast path of the forgetting, Split-MNIST and pretraining
 * experiments (learners/head-train.ts).
 */
import type { ActivationName } from "../autodiff/activations";
import { defaultKernelBackend, opsFor, type KernelBackend } from "./mlp-maml";
import { MlpNet, type Pass } from "./mlp-net";

/** One loss term read out on the rows of a block: a softmax over columns [start_i, start_i + width) of row i. */
export interface KernelReadout {
  /** First column, one for every row or one per row. */
  readonly start: number | ArrayLike<number>;
  readonly width: number;
  /** The term adds weight × (mean over rows of its per-row loss). */
  readonly weight: number;
  /** Cross-entropy: the class of each row within its range. */
  readonly labels?: ArrayLike<number>;
  /** Distillation: the teacher's logits over the same columns, [rows, width], and the softmax temperature T (loss T² · CE(softmax(t/T), softmax(z/T))). */
  readonly teacher?: ArrayLike<number>;
  readonly temperature?: number;
}

/** Rows of a data matrix [N, inputs] and the readouts on them. */
export interface KernelBlock {
  readonly data: Float32Array;
  readonly rows: ArrayLike<number>;
  readonly readouts: readonly KernelReadout[];
}

const kernels = new Map<string, HeadKernel>();

/** A cached kernel per shape, activation and backend. */
export function headKernelFor(sizes: readonly number[], activation: ActivationName, backend: KernelBackend = defaultKernelBackend()): HeadKernel {
  const key = `${backend}:${activation}:${sizes.join(",")}`;
  let k = kernels.get(key);
  if (!k) {
    k = new HeadKernel(sizes, activation, backend);
    kernels.set(key, k);
  }
  return k;
}

/** The kernels for one MLP shape (inputs, hidden widths, all heads' columns), with buffers grown on demand. */
export class HeadKernel {
  readonly net: MlpNet;
  readonly numParams: number;
  readonly din: number;
  readonly dout: number;
  private cap = 0;
  private passes = new Map<number, Pass>();
  private th = 0;
  private g = 0;
  private xb = 0;

  constructor(readonly sizes: readonly number[], activation: ActivationName, backend: KernelBackend = defaultKernelBackend()) {
    this.net = new MlpNet(sizes, activation, "mse", opsFor(backend));
    this.numParams = this.net.numParams;
    this.din = sizes[0]!;
    this.dout = sizes[sizes.length - 1]!;
  }

  /** Room for passes of up to n rows (a reset, when it grows, invalidates every buffer). */
  private pass(n: number): Pass {
    if (n > this.cap) {
      this.cap = Math.max(n, 2 * this.cap, 64);
      const ops = this.net.ops;
      this.net.reset(this.cap);
      this.passes.clear();
      this.th = ops.alloc(this.numParams);
      this.g = ops.alloc(this.numParams);
      this.xb = ops.alloc(this.cap * this.din);
    }
    let p = this.passes.get(n);
    if (!p) {
      p = this.net.makePass(n);
      this.passes.set(n, p);
    }
    return p;
  }

  /** Forward pass at theta over the rows of `data`; returns the pass (logits at pass.out). */
  private forwardRows(theta: ArrayLike<number>, data: Float32Array, rows: ArrayLike<number>): Pass {
    const n = rows.length;
    const pass = this.pass(n);
    const h = this.net.ops.heap();
    const { din } = this;
    if (theta.length !== this.numParams) throw new Error(`HeadKernel: theta needs ${this.numParams} entries for MLP [${this.sizes}], got ${theta.length}.`);
    h.set(theta as Float32Array, this.th);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      if (!(r >= 0 && (r + 1) * din <= data.length)) throw new Error(`HeadKernel: row ${r} is outside the data (${data.length / din} rows).`);
      h.set(data.subarray(r * din, (r + 1) * din), this.xb + i * din);
    }
    pass.A[0] = this.xb;
    this.net.forward(this.th, pass);
    return pass;
  }

  /** Logits [rows, dout] of the given rows at theta, written to `out`. */
  logits(theta: ArrayLike<number>, data: Float32Array, rows: ArrayLike<number>, out: Float32Array): void {
    const pass = this.forwardRows(theta, data, rows);
    const h = this.net.ops.heap();
    out.set(h.subarray(pass.out, pass.out + rows.length * this.dout));
  }

  /** The summed loss of the blocks' readouts at theta and its gradient (written to `gradOut`). */
  lossAndGrad(theta: ArrayLike<number>, blocks: readonly KernelBlock[], gradOut: Float32Array | Float64Array): number {
    const P = this.numParams;
    if (gradOut.length !== P) throw new Error(`HeadKernel: the gradient needs ${P} entries, got ${gradOut.length}.`);
    let loss = 0;
    let first = true;
    this.pass(Math.max(1, ...blocks.map((b) => b.rows.length))); // grow once, before any gradient is accumulated
    for (const b of blocks) {
      const n = b.rows.length;
      if (n === 0) continue;
      const pass = this.forwardRows(theta, b.data, b.rows);
      const h = this.net.ops.heap();
      if (first) h.fill(0, this.g, this.g + P);
      first = false;
      const D = pass.D[this.net.L]!;
      h.fill(0, D, D + n * this.dout);
      for (const r of b.readouts) loss += readout(h, pass.out, D, n, this.dout, r);
      this.net.backwardFrom(this.th, pass, this.net.L, this.g);
    }
    const h = this.net.ops.heap();
    if (first) gradOut.fill(0);
    else for (let j = 0; j < P; j++) gradOut[j] = h[this.g + j]!;
    return loss;
  }

  /**
   * Σ over rows of the squared gradient of log softmax(z)[label] over each row's column range, one row at a time
   * (labels: given per row, or each row's own arg-max). Adds into `out` (length numParams).
   */
  squaredGrads(theta: ArrayLike<number>, data: Float32Array, rows: ArrayLike<number>, start: number | ArrayLike<number>, width: number, labels: ArrayLike<number> | "predicted", out: Float64Array): void {
    const P = this.numParams;
    const one = [0];
    for (let i = 0; i < rows.length; i++) {
      one[0] = rows[i]!;
      const pass = this.forwardRows(theta, data, one);
      const h = this.net.ops.heap();
      const s0 = typeof start === "number" ? start : start[i]!;
      const label = labels === "predicted" ? argMaxAt(h, pass.out + s0, width) : labels[i]!;
      const D = pass.D[this.net.L]!;
      h.fill(0, D, D + this.dout);
      readout(h, pass.out, D, 1, this.dout, { start: s0, width, weight: 1, labels: [label] });
      h.fill(0, this.g, this.g + P);
      this.net.backwardFrom(this.th, pass, this.net.L, this.g);
      for (let j = 0; j < P; j++) {
        const v = h[this.g + j]!;
        out[j] += v * v;
      }
    }
  }
}

/** Index of the first maximum of h[off .. off + n). */
export function argMaxAt(h: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (h[off + k]! > h[off + best]!) best = k;
  return best;
}

/** Adds one readout's dL/dz to D [n, O] and returns its loss (weight × mean over rows). */
function readout(h: Float32Array | Float64Array, out: number, D: number, n: number, O: number, r: KernelReadout): number {
  const w = r.width;
  const distill = r.teacher !== undefined;
  if (!distill && r.labels === undefined) throw new Error("HeadKernel: a readout needs labels (cross-entropy) or teacher logits (distillation).");
  const T = r.temperature ?? 1;
  if (distill && !(T > 0)) throw new Error(`HeadKernel: the distillation temperature must be positive, got ${T}.`);
  const q = new Float64Array(w);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const s0 = typeof r.start === "number" ? r.start : r.start[i]!;
    if (!(s0 >= 0 && s0 + w <= O)) throw new Error(`HeadKernel: columns ${s0}..${s0 + w - 1} are outside the ${O} outputs.`);
    const z = out + i * O + s0;
    const d = D + i * O + s0;
    const inv = distill ? 1 / T : 1;
    let mx = -Infinity;
    for (let k = 0; k < w; k++) mx = Math.max(mx, h[z + k]! * inv);
    let se = 0;
    for (let k = 0; k < w; k++) se += Math.exp(h[z + k]! * inv - mx);
    const lse = mx + Math.log(se);
    if (!distill) {
      const label = r.labels![i]!;
      sum -= h[z + label]! - lse;
      const c = r.weight / n;
      for (let k = 0; k < w; k++) h[d + k] += c * (Math.exp(h[z + k]! - lse) - (k === label ? 1 : 0));
    } else {
      const t = r.teacher!;
      let tm = -Infinity;
      for (let k = 0; k < w; k++) tm = Math.max(tm, t[i * w + k]! * inv);
      let ts = 0;
      for (let k = 0; k < w; k++) ts += Math.exp(t[i * w + k]! * inv - tm);
      for (let k = 0; k < w; k++) q[k] = Math.exp(t[i * w + k]! * inv - tm) / ts;
      let ce = 0;
      for (let k = 0; k < w; k++) ce -= q[k]! * (h[z + k]! * inv - lse);
      sum += T * T * ce;
      const c = (r.weight * T) / n;
      for (let k = 0; k < w; k++) h[d + k] += c * (Math.exp(h[z + k]! * inv - lse) - q[k]!);
    }
  }
  return (r.weight * sum) / n;
}
