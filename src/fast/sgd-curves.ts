/**
 * Test-time SGD adaptation curves of a small MLP on the flat heap (the fast path of `adaptSgdCurves`, behind the
 * K-shot evaluation protocol of Finn et al. 2017): per task, `steps` plain SGD steps on the support set's mean loss
 * from a shared θ, and the query MSE before the first step and after each.
 */
import type { ActivationName } from "../autodiff/activations";
import { defaultKernelBackend, opsFor, type FlatTaskBatch, type KernelBackend } from "./mlp-maml";
import { copyInto, lossScale, MlpNet, type Pass } from "./mlp-net";


const kernels = new Map<string, SgdCurveKernel>();

/** A cached kernel per MLP shape, activation and backend. */
export function sgdCurveKernelFor(sizes: readonly number[], activation: ActivationName, backend: KernelBackend = defaultKernelBackend()): SgdCurveKernel {
  const key = `${backend}:${activation}:${sizes.join(",")}`;
  let k = kernels.get(key);
  if (!k) {
    k = new SgdCurveKernel(sizes, activation, backend);
    kernels.set(key, k);
  }
  return k;
}

/** Per-task SGD adaptation and query MSE for one MLP shape (squared-error loss). */
export class SgdCurveKernel {
  readonly net: MlpNet;
  readonly numParams: number;
  private shapeKey = "";
  private support!: Pass;
  private query!: Pass;
  private th = 0;
  private g = 0;
  private rates = 0;
  private sx = 0;
  private sy = 0;
  private qx = 0;
  private qy = 0;

  constructor(readonly sizes: readonly number[], activation: ActivationName, backend: KernelBackend = defaultKernelBackend()) {
    this.net = new MlpNet(sizes, activation, "mse", opsFor(backend));
    this.numParams = this.net.numParams;
  }

  private ensure(b: FlatTaskBatch): void {
    const key = `${b.tasks}:${b.shots}:${b.queries}`;
    if (key === this.shapeKey) return;
    const { net, numParams: P } = this;
    const ops = net.ops;
    const din = this.sizes[0]!;
    const dout = this.sizes[this.sizes.length - 1]!;
    net.reset(Math.max(b.shots, b.queries));
    this.support = net.makePass(b.shots);
    this.query = net.makePass(b.queries);
    this.th = ops.alloc(P);
    this.g = ops.alloc(P);
    this.rates = ops.alloc(P);
    this.sx = ops.alloc(b.tasks * b.shots * din);
    this.sy = ops.alloc(b.tasks * b.shots * dout);
    this.qx = ops.alloc(b.tasks * b.queries * din);
    this.qy = ops.alloc(b.tasks * b.queries * dout);
    this.shapeKey = key;
  }

  /**
   * Query MSE per task after 0..steps SGD steps θ ← θ − lr ∇L_s(θ) on the entries where `trainable` is 1, from the
   * packed `theta` (see `packParams`): row s of the result is the curve's point after s steps, [steps + 1][tasks].
   */
  curves(theta: ArrayLike<number>, trainable: ArrayLike<number>, batch: FlatTaskBatch, steps: number, lr: number): Float32Array[] {
    const { net, numParams: P, sizes } = this;
    const din = sizes[0]!;
    const dout = sizes[sizes.length - 1]!;
    const { tasks: T, shots: nS, queries: nQ } = batch;
    if (theta.length !== P || trainable.length !== P) throw new Error(`SgdCurveKernel: theta and trainable need ${P} entries for MLP [${sizes}], got ${theta.length} and ${trainable.length}.`);
    if (batch.supportX.length !== T * nS * din || batch.supportY.length !== T * nS * dout || batch.queryX.length !== T * nQ * din || batch.queryY.length !== T * nQ * dout) {
      throw new Error(`SgdCurveKernel: batch arrays do not match tasks=${T}, shots=${nS}, queries=${nQ} and MLP [${sizes}].`);
    }
    if (!Number.isInteger(steps) || steps < 0) throw new Error(`SgdCurveKernel: steps must be a non-negative integer, got ${steps}.`);
    this.ensure(batch);
    const h = net.ops.heap();
    copyInto(h, batch.supportX, this.sx);
    copyInto(h, batch.supportY, this.sy);
    copyInto(h, batch.queryX, this.qx);
    copyInto(h, batch.queryY, this.qy);
    const rate = Math.fround(lr);
    for (let j = 0; j < P; j++) h[this.rates + j] = trainable[j] ? rate : 0;
    const sS = lossScale("mse", nS, dout);
    const cS = sS.factor / sS.divisor;
    const divQ = nQ * dout;
    const out = Array.from({ length: steps + 1 }, () => new Float32Array(T));
    const { support, query, th, g } = this;
    for (let t = 0; t < T; t++) {
      copyInto(h, theta, th);
      support.A[0] = this.sx + t * nS * din;
      query.A[0] = this.qx + t * nQ * din;
      const ys = this.sy + t * nS * dout;
      const yq = this.qy + t * nQ * dout;
      for (let s = 0; ; s++) {
        net.forward(th, query);
        let se = 0;
        for (let i = 0; i < divQ; i++) {
          const r = h[query.out + i]! - h[yq + i]!;
          se += r * r;
        }
        out[s]![t] = se / divQ;
        if (s === steps) break;
        net.forward(th, support);
        net.backward(th, support, ys, cS, g);
        net.ops.subMul(th, this.rates, g, th, P);
      }
    }
    return out;
  }
}
