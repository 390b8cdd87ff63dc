/**
 * Adam training of a multi-head MLP classifier on packed float32 arrays (the fast path of the forgetting,
 * Split-MNIST and pretraining experiments): a body of hidden layers and named heads side by side in one output layer,
 * losses described as blocks of data rows with cross-entropy or distillation readouts (plus an optional EWC penalty),
 * a fresh Adam per phase over a subset of the parameters, bit for bit the same Adam as `adamStep`.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { ActivationName } from "../autodiff/activations";
import { layerParamNames } from "../models/mlp";
import { adamUpdate } from "../optim/adam";
import { FAST_ACTIVATIONS } from "../fast/mlp-net";
import { argMaxAt, headKernelFor, type HeadKernel, type KernelBlock, type KernelReadout } from "../fast/head-net";
import { runSteps } from "./train";

/** One head: its parameter names and number of outputs. */
export interface HeadSpec {
  readonly w: string;
  readonly b: string;
  readonly width: number;
}

/** A body `w0, b0, ..., w{H-1}, b{H-1}` of widths `sizes` (inputs first) with heads side by side on its last layer. */
export interface HeadNetSpec {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  /** Heads in column order. */
  readonly heads: readonly HeadSpec[];
}

/** Which heads a readout spans: a contiguous range of heads for every row, or one head per row. */
export type HeadPick = { readonly first: number; readonly count: number } | { readonly perRow: ArrayLike<number> };

/** A loss term on a block's rows; the block's loss adds weight × (mean over its rows). */
export interface HeadTerm {
  readonly heads: HeadPick;
  readonly weight: number;
  /** Cross-entropy against the class of each row within the picked columns. */
  readonly labels?: ArrayLike<number>;
  /** Distillation towards the `teacher` snapshot's logits over the same columns at this temperature. */
  readonly distill?: { readonly teacher: Float32Array; readonly temperature: number };
}

/** Rows of the trainer's data and the terms read out on them. */
export interface HeadBlock {
  readonly rows: ArrayLike<number>;
  readonly terms: readonly HeadTerm[];
}

/** An EWC penalty (λ/2) Σ F (θ − θ*)² on packed arrays (Kirkpatrick et al. 2017). */
export interface PackedEwc {
  readonly mean: Float32Array;
  readonly fisher: Float32Array;
  readonly lambda: number;
}

/** The loss of one step. */
export interface HeadLoss {
  readonly blocks: readonly HeadBlock[];
  readonly ewc?: PackedEwc | null;
}

/** Why a head net cannot be trained on the fast path, or null when it can. */
export function headFastPathReason(spec: HeadNetSpec, params: Params): string | null {
  if (!(FAST_ACTIVATIONS as readonly string[]).includes(spec.activation)) return `activation "${spec.activation}" has no fast kernel (fast: ${FAST_ACTIVATIONS.join(", ")})`;
  if (spec.sizes.length < 2) return "the body needs at least one hidden layer";
  const expected = new Map<string, number[]>();
  for (let l = 0; l + 1 < spec.sizes.length; l++) {
    const [w, b] = layerParamNames(l);
    expected.set(w, [spec.sizes[l]!, spec.sizes[l + 1]!]);
    expected.set(b, [spec.sizes[l + 1]!]);
  }
  const H = spec.sizes[spec.sizes.length - 1]!;
  for (const h of spec.heads) {
    expected.set(h.w, [H, h.width]);
    expected.set(h.b, [h.width]);
  }
  const names = Object.keys(params);
  if (names.length !== expected.size) return `expected the parameters [${[...expected.keys()].join(", ")}], got [${names.join(", ")}]`;
  for (const [k, shape] of expected) {
    const t = params[k];
    if (!t) return `parameter "${k}" is missing`;
    if (t.dtype !== "float32" || t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) return `${k} has shape [${t.shape}], expected [${shape}]`;
  }
  return null;
}

/**
 * A multi-head MLP trained on the fast path. Data rows live in one float32 matrix [N, inputs]; parameters, Adam's
 * moments and snapshots are packed as the kernel's MLP (body layers, then one output layer holding every head).
 */
export class HeadTrainer {
  readonly kernel: HeadKernel;
  /** Current parameters, packed. */
  theta: Float32Array;
  private readonly starts: number[];
  private readonly total: number;
  private readonly body: number;

  constructor(readonly spec: HeadNetSpec, params: Params, readonly data: Float32Array) {
    const why = headFastPathReason(spec, params);
    if (why) throw new Error(`HeadTrainer: ${why}. This is the fast path; use the general tfjs path for this model.`);
    this.starts = [];
    let at = 0;
    for (const h of spec.heads) {
      this.starts.push(at);
      at += h.width;
    }
    this.total = at;
    this.body = spec.sizes.length - 1;
    this.kernel = headKernelFor([...spec.sizes, this.total], spec.activation);
    if (data.length % spec.sizes[0]! !== 0) throw new Error(`HeadTrainer: the data has ${data.length} values, not a whole number of ${spec.sizes[0]}-wide rows.`);
    this.theta = this.pack(params);
  }

  /** Number of outputs of all heads together. */
  get outputs(): number {
    return this.total;
  }

  /** First output column of head h. */
  column(h: number): number {
    const s = this.starts[h];
    if (s === undefined) throw new Error(`HeadTrainer: there is no head ${h} (${this.starts.length} heads).`);
    return s;
  }

  /** Offsets of the last (head) layer's weight [H, total] and bias [total] in the packed vector. */
  private lastLayer(): { w: number; b: number; H: number } {
    const net = this.kernel.net;
    return { w: net.wOff[net.L - 1]!, b: net.bOff[net.L - 1]!, H: this.spec.sizes[this.spec.sizes.length - 1]! };
  }

  /** Packs a parameter record (body by name, heads as column blocks of the output layer). */
  pack(params: Params): Float32Array {
    const net = this.kernel.net;
    const out = new Float32Array(this.kernel.numParams);
    for (let l = 0; l < this.body; l++) {
      const [w, b] = layerParamNames(l);
      out.set(params[w]!.dataSync(), net.wOff[l]!);
      out.set(params[b]!.dataSync(), net.bOff[l]!);
    }
    const { w, b, H } = this.lastLayer();
    this.spec.heads.forEach((h, i) => {
      const s = this.starts[i]!;
      const wd = params[h.w]!.dataSync();
      for (let r = 0; r < H; r++) for (let c = 0; c < h.width; c++) out[w + r * this.total + s + c] = wd[r * h.width + c]!;
      out.set(params[h.b]!.dataSync(), b + s);
    });
    return out;
  }

  /** New tensors for packed parameters (the current ones by default), named as the record that was packed. */
  unpack(theta: Float32Array = this.theta): Params {
    const net = this.kernel.net;
    const out: Record<string, tf.Tensor> = {};
    for (let l = 0; l < this.body; l++) {
      const [w, b] = layerParamNames(l);
      const I = this.spec.sizes[l]!;
      const O = this.spec.sizes[l + 1]!;
      out[w] = tf.tensor2d(theta.slice(net.wOff[l]!, net.wOff[l]! + I * O), [I, O]);
      out[b] = tf.tensor1d(theta.slice(net.bOff[l]!, net.bOff[l]! + O));
    }
    const { w, b, H } = this.lastLayer();
    this.spec.heads.forEach((h, i) => {
      const s = this.starts[i]!;
      const wd = new Float32Array(H * h.width);
      for (let r = 0; r < H; r++) for (let c = 0; c < h.width; c++) wd[r * h.width + c] = theta[w + r * this.total + s + c]!;
      out[h.w] = tf.tensor2d(wd, [H, h.width]);
      out[h.b] = tf.tensor1d(theta.slice(b + s, b + s + h.width));
    });
    return out;
  }

  /** A 0/1 mask over the packed vector: 1 on the named parameters. */
  mask(names: readonly string[]): Float32Array {
    const net = this.kernel.net;
    const m = new Float32Array(this.kernel.numParams);
    const { w, b, H } = this.lastLayer();
    for (const k of names) {
      let found = false;
      for (let l = 0; l < this.body; l++) {
        const [wn, bn] = layerParamNames(l);
        const I = this.spec.sizes[l]!;
        const O = this.spec.sizes[l + 1]!;
        if (k === wn) m.fill(1, net.wOff[l]!, net.wOff[l]! + I * O);
        if (k === bn) m.fill(1, net.bOff[l]!, net.bOff[l]! + O);
        found ||= k === wn || k === bn;
      }
      this.spec.heads.forEach((h, i) => {
        const s = this.starts[i]!;
        if (k === h.w) for (let r = 0; r < H; r++) m.fill(1, w + r * this.total + s, w + r * this.total + s + h.width);
        if (k === h.b) m.fill(1, b + s, b + s + h.width);
        found ||= k === h.w || k === h.b;
      });
      if (!found) throw new Error(`HeadTrainer: "${k}" is not a parameter of this net.`);
    }
    return m;
  }

  /** Logits [rows, outputs] of data rows at theta (the current parameters by default). */
  logits(rows: ArrayLike<number>, theta: Float32Array = this.theta): Float32Array {
    const out = new Float32Array(rows.length * this.total);
    if (rows.length > 0) this.kernel.logits(theta, this.data, rows, out);
    return out;
  }

  /** Columns of a pick for row i: first column and width. */
  private columns(pick: HeadPick, i: number): { start: number; width: number } {
    if ("perRow" in pick) {
      const h = pick.perRow[i]!;
      return { start: this.column(h), width: this.spec.heads[h]!.width };
    }
    let width = 0;
    for (let j = 0; j < pick.count; j++) width += this.spec.heads[pick.first + j]!.width;
    return { start: this.column(pick.first), width };
  }

  /** The kernel's readouts of a block (teacher logits computed here). */
  private readouts(block: HeadBlock): KernelReadout[] {
    const n = block.rows.length;
    return block.terms.map((t) => {
      const { width } = this.columns(t.heads, 0);
      const start = "perRow" in t.heads ? Int32Array.from({ length: n }, (_, i) => this.columns(t.heads, i).start) : this.column(t.heads.first);
      if ("perRow" in t.heads) for (let i = 0; i < n; i++) if (this.columns(t.heads, i).width !== width) throw new Error("HeadTrainer: per-row heads must have the same width.");
      if (t.distill) {
        const all = this.logits(block.rows, t.distill.teacher);
        const teacher = new Float32Array(n * width);
        for (let i = 0; i < n; i++) {
          const s = typeof start === "number" ? start : start[i]!;
          for (let k = 0; k < width; k++) teacher[i * width + k] = all[i * this.total + s + k]!;
        }
        return { start, width, weight: t.weight, teacher, temperature: t.distill.temperature };
      }
      if (!t.labels) throw new Error("HeadTrainer: a term needs labels (cross-entropy) or distill (a teacher).");
      return { start, width, weight: t.weight, labels: t.labels };
    });
  }

  /** Loss and gradient of a step's loss at the current parameters. */
  lossAndGrad(loss: HeadLoss, grad: Float32Array): number {
    const blocks: KernelBlock[] = loss.blocks.map((b) => ({ data: this.data, rows: b.rows, readouts: this.readouts(b) }));
    let value = this.kernel.lossAndGrad(this.theta, blocks, grad);
    if (loss.ewc) {
      const { mean, fisher, lambda } = loss.ewc;
      let pen = 0;
      for (let j = 0; j < grad.length; j++) {
        const d = this.theta[j]! - mean[j]!;
        pen += fisher[j]! * d * d;
        grad[j] = Math.fround(grad[j]! + lambda * fisher[j]! * d);
      }
      value += (lambda / 2) * pen;
    }
    return value;
  }

  /**
   * One phase: a fresh Adam over `trainable` (learning rate `lr`), `steps` steps of `lossAt(step)`, `onStep(s, loss)` before
   * the first step (s = 0, no loss) and after each (with that step's loss). Parameters outside `trainable` do not move. Returns the step losses.
   */
  phase(trainable: readonly string[], steps: number, lr: number, lossAt: (step: number) => HeadLoss, onStep: (s: number, loss?: number) => void, label = "training"): Float32Array {
    const mask = this.mask(trainable);
    const P = this.kernel.numParams;
    const m = new Float32Array(P);
    const v = new Float32Array(P);
    const grad = new Float32Array(P);
    onStep(0);
    return runSteps(steps, (i) => {
      const value = this.lossAndGrad(lossAt(i), grad);
      for (let j = 0; j < P; j++) if (mask[j] === 0) grad[j] = 0;
      adamUpdate(this.theta, grad, m, v, i + 1, { lr });
      onStep(i + 1, value);
      return value;
    }, { label });
  }

  /** Σ over rows of the squared per-example gradient of log p(label | x) over a pick (EWC's Fisher numerator). */
  squaredGrads(rows: ArrayLike<number>, pick: HeadPick, labels: ArrayLike<number> | "predicted"): Float64Array {
    const out = new Float64Array(this.kernel.numParams);
    const n = rows.length;
    const { width } = this.columns(pick, 0);
    const start = "perRow" in pick ? Int32Array.from({ length: n }, (_, i) => this.columns(pick, i).start) : this.column(pick.first);
    this.kernel.squaredGrads(this.theta, this.data, rows, start, width, labels, out);
    return out;
  }

  /** Mean cross-entropy and accuracy of rows against labels over a pick, at theta (the current parameters by default). */
  score(rows: ArrayLike<number>, pick: HeadPick, labels: ArrayLike<number>, theta: Float32Array = this.theta): { loss: number; accuracy: number } {
    const z = this.logits(rows, theta);
    const n = rows.length;
    let loss = 0;
    let right = 0;
    for (let i = 0; i < n; i++) {
      const { start, width } = this.columns(pick, i);
      const off = i * this.total + start;
      let mx = -Infinity;
      for (let k = 0; k < width; k++) mx = Math.max(mx, z[off + k]!);
      let se = 0;
      for (let k = 0; k < width; k++) se += Math.exp(z[off + k]! - mx);
      loss -= z[off + labels[i]!]! - mx - Math.log(se);
      if (argMaxAt(z, off, width) === labels[i]) right++;
    }
    return { loss: loss / n, accuracy: right / n };
  }
}
