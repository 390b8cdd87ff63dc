/**
 * A BatchNorm MLP (models/batchnorm.ts: dense without bias, batch normalisation, σ on every hidden layer; a linear
 * output layer) on a flat heap: forward pass, backward pass and Hessian-vector products by Pearlmutter's (1994)
 * R-operator through the normalisation, for the fast path of BN-MAML. A pass holds one task's points, so its batch
 * statistics are the per-task statistics of the general path (`taskStats`); a pass may also normalise with fixed
 * statistics (running statistics, or another pass's).
 *
 * Per hidden layer, with Z = A W, μ and v the column mean and (biased) variance of Z, s = (v + ε)^(−1/2):
 * X̂ = (Z − μ) s, Y = γ X̂ + β, A' = σ(Y). Backward: dZ = s (dX̂ − mean(dX̂) − X̂ mean(dX̂ X̂)) with dX̂ = γ dY.
 * R-forward: RX̂ = s (RZ − mean(RZ) − ρ X̂) with ρ = mean(X̂ (RZ − mean RZ)), and Rs = −s² ρ.
 */
import type { ActivationName } from "../autodiff/activations";
import { bnAffineNames, bnStateNames, type BnMlpConfig } from "../models/batchnorm";
import { layerParamNames } from "../models/mlp";
import type { MathOps } from "./math-ops";
import { activateSmooth, FAST_ACTIVATIONS, outputCurvature, outputDelta, type FastLoss } from "./mlp-net";
import { layoutOf, type Layout } from "./pack";

/** The packed order of a BN-MLP's parameters: `initBnMlp`'s (w0, its γ/β sets, w1, ..., the output w and b). */
export function bnParamLayout(config: BnMlpConfig): Layout {
  const { sizes } = config;
  const L = sizes.length - 1;
  const sets = config.perStepAffine ? config.statSets : 1;
  const entries: [string, number[]][] = [];
  for (let l = 0; l < L; l++) {
    const [w, b] = layerParamNames(l);
    entries.push([w, [sizes[l]!, sizes[l + 1]!]]);
    if (l === L - 1) entries.push([b, [sizes[l + 1]!]]);
    else for (let s = 0; s < sets; s++) {
      const n = bnAffineNames(config, l, s);
      entries.push([n.gamma, [sizes[l + 1]!]], [n.beta, [sizes[l + 1]!]]);
    }
  }
  return layoutOf(entries);
}

/** The packed order of a BN-MLP's running statistics: `initBnMlpState`'s (mean and variance per layer and set). */
export function bnStateLayout(config: BnMlpConfig): Layout {
  const entries: [string, number[]][] = [];
  for (let l = 0; l + 2 < config.sizes.length; l++) {
    for (let s = 0; s < config.statSets; s++) {
      const n = bnStateNames(l, s);
      entries.push([n.mean, [config.sizes[l + 1]!]], [n.variance, [config.sizes[l + 1]!]]);
    }
  }
  return layoutOf(entries);
}

/** Heap offsets of one pass over n points; per-layer arrays are indexed by hidden layer l = 0..L−2. */
export interface BnPass {
  readonly n: number;
  /** A[0]: the input rows (pointed at a task's rows before each pass); A[l + 1]: σ(Y) of hidden layer l, [n, s_{l+1}]. */
  readonly A: number[];
  /** X̂ of hidden layer l, [n, O]. */
  readonly X: number[];
  /** σ'(Y), σ''(Y), [n, O]. */
  readonly S1: number[];
  readonly S2: number[];
  /** Column mean, variance and s = (v + ε)^(−1/2) of Z, [O]. */
  readonly mean: number[];
  readonly variance: number[];
  readonly inv: number[];
  /** dL/dA[l + 1], dL/dY and dL/dZ, [n, O]. */
  readonly G: number[];
  readonly DY: number[];
  readonly DZ: number[];
  /** Output z_L, its softmax (cross-entropy) and dL/dz_L, [n, s_L]. */
  readonly out: number;
  readonly P: number;
  readonly DL: number;
}

/** R-pass buffers for Hessian-vector products over n points. */
interface BnRPass {
  readonly n: number;
  /** RX̂, RY (kept for σ''), RA[l + 1], RG (becomes RdY), RdZ per hidden layer; ρ per column. */
  readonly RX: number[];
  readonly RY: number[];
  readonly RA: number[];
  readonly RG: number[];
  readonly RDZ: number[];
  readonly rho: number[];
  readonly out: number;
  readonly RDL: number;
}

/** Which statistics a pass normalises with: its own batch's, or fixed ones at heap offsets (mean and variance per hidden layer). */
export type BnStatsSource = null | { readonly mean: readonly number[]; readonly variance: readonly number[] };

/** A BN-MLP of given config with its parameters packed as `bnParamLayout`. */
export class BnMlpNet {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly loss: FastLoss;
  readonly eps: number;
  readonly L: number;
  readonly numParams: number;
  readonly layout: Layout;
  readonly ops: MathOps;
  /** Offsets in the parameter vector: weights per layer, γ and β per hidden layer and affine set, the output bias. */
  readonly wOff: readonly number[];
  readonly gOff: readonly (readonly number[])[];
  readonly betaOff: readonly (readonly number[])[];
  readonly bOut: number;
  private readonly sets: number;
  private readonly smooth: boolean;
  private rPass: BnRPass | null = null;
  private readonly colA: Float64Array;
  private readonly colB: Float64Array;
  private readonly colC: Float64Array;
  private readonly colD: Float64Array;

  constructor(readonly config: BnMlpConfig, loss: FastLoss, ops: MathOps) {
    if (!FAST_ACTIVATIONS.includes(config.activation)) throw new Error(`BnMlpNet: activation "${config.activation}" is not supported; use one of ${FAST_ACTIVATIONS.join(", ")}.`);
    this.sizes = [...config.sizes];
    this.activation = config.activation;
    this.loss = loss;
    this.eps = config.eps;
    this.ops = ops;
    this.L = this.sizes.length - 1;
    this.layout = bnParamLayout(config);
    this.numParams = this.layout.size;
    this.sets = config.perStepAffine ? config.statSets : 1;
    const at = (name: string): number => {
      const i = this.layout.names.indexOf(name);
      if (i < 0) throw new Error(`BnMlpNet: no parameter "${name}" in the layout; this is a bug in src/fast.`);
      return this.layout.offsets[i]!;
    };
    this.wOff = Array.from({ length: this.L }, (_, l) => at(layerParamNames(l)[0]));
    this.gOff = Array.from({ length: this.L - 1 }, (_, l) => Array.from({ length: this.sets }, (_, s) => at(bnAffineNames(config, l, s).gamma)));
    this.betaOff = Array.from({ length: this.L - 1 }, (_, l) => Array.from({ length: this.sets }, (_, s) => at(bnAffineNames(config, l, s).beta)));
    this.bOut = at(layerParamNames(this.L - 1)[1]);
    this.smooth = !(config.activation === "relu" || config.activation === "identity");
    const widest = Math.max(...this.sizes);
    this.colA = new Float64Array(widest);
    this.colB = new Float64Array(widest);
    this.colC = new Float64Array(widest);
    this.colD = new Float64Array(widest);
  }

  /** The affine set (γ, β) a statistics set uses: its own with per-step affine parameters, else the one shared set. */
  affineSet(statSet: number): number {
    return Math.min(statSet, this.sets - 1);
  }

  /** Frees the heap (call before makePass). */
  reset(): void {
    this.ops.reset();
    this.rPass = null;
  }

  /** Buffers for a pass over n points. */
  makePass(n: number): BnPass {
    const { ops, sizes, L } = this;
    const per = (k: (l: number) => number) => Array.from({ length: L - 1 }, (_, l) => ops.alloc(k(l)));
    const rows = (l: number) => n * sizes[l + 1]!;
    const cols = (l: number) => sizes[l + 1]!;
    const dout = sizes[L]!;
    return {
      n,
      A: [-1, ...per(rows)],
      X: per(rows), S1: per(rows), S2: per(rows),
      mean: per(cols), variance: per(cols), inv: per(cols),
      G: per(rows), DY: per(rows), DZ: per(rows),
      out: ops.alloc(n * dout), P: ops.alloc(n * dout), DL: ops.alloc(n * dout),
    };
  }

  /** Reserves the R-pass buffers for Hessian-vector products over passes of n points. */
  prepareHvp(n: number): void {
    const { ops, sizes, L } = this;
    const per = (k: (l: number) => number) => Array.from({ length: L - 1 }, (_, l) => ops.alloc(k(l)));
    const rows = (l: number) => n * sizes[l + 1]!;
    this.rPass = { n, RX: per(rows), RY: per(rows), RA: [-1, ...per(rows)], RG: per(rows), RDZ: per(rows), rho: per((l) => sizes[l + 1]!), out: ops.alloc(n * sizes[L]!), RDL: ops.alloc(n * sizes[L]!) };
  }

  /** z[n, O] += a[n, I] w[I, O] (a single output column is a dot product per row). */
  private matAcc(a: number, n: number, I: number, w: number, z: number, O: number): void {
    if (O === 1) this.ops.dotRows(a, n, I, w, 1, z, true);
    else this.ops.rankAcc(a, n, I, w, z, O, false);
  }

  /** out[I, O] += a[n, I]ᵀ d[n, O]. */
  private gradAcc(a: number, n: number, I: number, d: number, out: number, O: number): void {
    if (O === 1) this.ops.rankAcc(d, n, 1, a, out, I, true);
    else this.ops.rankAcc(a, n, I, d, out, O, true);
  }

  /** g[n, I] (+)= d[n, O] w[I, O]ᵀ. */
  private backInput(d: number, n: number, O: number, w: number, I: number, g: number, acc: boolean): void {
    if (O === 1) {
      if (!acc) this.ops.heap().fill(0, g, g + n * I);
      this.ops.rankAcc(d, n, 1, w, g, I, false);
    } else this.ops.dotRows(d, n, O, w, I, g, acc);
  }

  /** z[n, O] = a[n, I] w[I, O]: a hidden layer's pre-activation (no bias: BatchNorm's β takes its place). */
  private linear(a: number, n: number, I: number, w: number, z: number, O: number): void {
    this.ops.heap().fill(0, z, z + n * O);
    this.matAcc(a, n, I, w, z, O);
  }

  /** out[n, O] = b broadcast over rows, then += a w. */
  private affineOut(th: number, a: number, n: number, w: number, out: number): void {
    const h = this.ops.heap();
    const I = this.sizes[this.L - 1]!;
    const O = this.sizes[this.L]!;
    for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) h[out + p * O + o] = h[th + this.bOut + o]!;
    this.matAcc(a, n, I, w, out, O);
  }

  /**
   * Forward pass at `th` over the n points at pass.A[0] with statistics set `statSet` (its γ and β), normalising with
   * the pass's own batch statistics or with `fixed` ones.
   */
  forward(th: number, pass: BnPass, statSet: number, fixed: BnStatsSource = null): void {
    const { sizes, L, ops, eps } = this;
    const h = ops.heap();
    const n = pass.n;
    const a = this.affineSet(statSet);
    for (let l = 0; l < L - 1; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const Z = pass.X[l]!;
      this.linear(pass.A[l]!, n, I, th + this.wOff[l]!, Z, O);
      const mu = pass.mean[l]!;
      const va = pass.variance[l]!;
      const inv = pass.inv[l]!;
      if (fixed) {
        for (let o = 0; o < O; o++) {
          h[mu + o] = h[fixed.mean[l]! + o]!;
          h[va + o] = h[fixed.variance[l]! + o]!;
        }
      } else {
        const s = this.colA;
        s.fill(0, 0, O);
        for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) s[o] += h[Z + p * O + o]!;
        for (let o = 0; o < O; o++) h[mu + o] = s[o]! / n;
        s.fill(0, 0, O);
        for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
          const d = h[Z + p * O + o]! - h[mu + o]!;
          s[o] += d * d;
        }
        for (let o = 0; o < O; o++) h[va + o] = s[o]! / n;
      }
      for (let o = 0; o < O; o++) h[inv + o] = 1 / Math.sqrt(h[va + o]! + eps);
      const g = th + this.gOff[l]![a]!;
      const b = th + this.betaOff[l]![a]!;
      const Y = pass.A[l + 1]!;
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
        const j = p * O + o;
        const x = (h[Z + j]! - h[mu + o]!) * h[inv + o]!;
        h[Z + j] = x;
        h[Y + j] = h[g + o]! * x + h[b + o]!;
      }
      if (this.activation === "relu") ops.relu(Y, pass.S1[l]!, n * O);
      else activateSmooth(this.activation, h, Y, pass.S1[l]!, pass.S2[l]!, n * O);
    }
    this.affineOut(th, pass.A[L - 1]!, n, th + this.wOff[L - 1]!, pass.out);
  }

  /**
   * The loss of the last forward pass against targets `y` and its backward pass with dL/dz_L = c · residual (see
   * `outputDelta`): writes the gradient at `grad` and returns the loss summed over points (and outputs). With
   * `fixedStats` the statistics are constants (running or another pass's), so dZ = s γ dY.
   */
  backward(th: number, pass: BnPass, y: number, c: number, grad: number, statSet: number, fixedStats = false): number {
    const { sizes, L, ops } = this;
    const h = ops.heap();
    const n = pass.n;
    const dout = sizes[L]!;
    const sum = outputDelta(h, this.loss, pass.out, y, pass.P, pass.DL, n * dout, dout, c);
    h.fill(0, grad, grad + this.numParams);
    const H = sizes[L - 1]!;
    this.gradAcc(pass.A[L - 1]!, n, H, pass.DL, grad + this.wOff[L - 1]!, dout);
    for (let p = 0; p < n; p++) for (let o = 0; o < dout; o++) h[grad + this.bOut + o] += h[pass.DL + p * dout + o]!;
    this.backInput(pass.DL, n, dout, th + this.wOff[L - 1]!, H, pass.G[L - 2]!, false);
    const a = this.affineSet(statSet);
    for (let l = L - 2; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const X = pass.X[l]!;
      const DY = pass.DY[l]!;
      const DZ = pass.DZ[l]!;
      const inv = pass.inv[l]!;
      const g = th + this.gOff[l]![a]!;
      ops.mul(pass.G[l]!, pass.S1[l]!, DY, n * O);
      const sy = this.colA;
      const syx = this.colB;
      sy.fill(0, 0, O);
      syx.fill(0, 0, O);
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
        const d = h[DY + p * O + o]!;
        sy[o] += d;
        syx[o] += d * h[X + p * O + o]!;
      }
      const gg = grad + this.gOff[l]![a]!;
      const gb = grad + this.betaOff[l]![a]!;
      for (let o = 0; o < O; o++) {
        h[gg + o] = syx[o]!;
        h[gb + o] = sy[o]!;
      }
      if (fixedStats) {
        for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) h[DZ + p * O + o] = h[inv + o]! * h[g + o]! * h[DY + p * O + o]!;
      } else {
        for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
          const j = p * O + o;
          const gam = h[g + o]!;
          h[DZ + j] = h[inv + o]! * gam * (h[DY + j]! - sy[o]! / n - h[X + j]! * (syx[o]! / n));
        }
      }
      this.gradAcc(pass.A[l]!, n, I, DZ, grad + this.wOff[l]!, O);
      if (l > 0) this.backInput(DZ, n, O, th + this.wOff[l]!, I, pass.G[l - 1]!, false);
    }
    return sum;
  }

  /**
   * hv = H v: the Hessian of c times the summed loss of `pass` (its last forward and backward, at `th`, targets `y`,
   * batch statistics, statistics set `statSet`), times v.
   */
  hvp(th: number, pass: BnPass, y: number, c: number, v: number, hv: number, statSet: number): void {
    const { sizes, L, ops } = this;
    const r = this.rPass;
    if (r === null || r.n !== pass.n) throw new Error(`BnMlpNet.hvp: no R-pass for ${pass.n} points; call prepareHvp(${pass.n}) after reset(). This is a bug in src/fast.`);
    const h = ops.heap();
    const n = pass.n;
    const a = this.affineSet(statSet);
    // R-forward.
    for (let l = 0; l < L - 1; l++) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RZ = r.RX[l]!;
      this.linear(pass.A[l]!, n, I, v + this.wOff[l]!, RZ, O);
      if (l > 0) this.matAcc(r.RA[l]!, n, I, th + this.wOff[l]!, RZ, O);
      const X = pass.X[l]!;
      const inv = pass.inv[l]!;
      const rho = r.rho[l]!;
      const m = this.colA;
      const q = this.colB;
      m.fill(0, 0, O);
      q.fill(0, 0, O);
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) m[o] += h[RZ + p * O + o]!;
      for (let o = 0; o < O; o++) m[o] = m[o]! / n;
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) q[o] += h[X + p * O + o]! * (h[RZ + p * O + o]! - m[o]!);
      for (let o = 0; o < O; o++) h[rho + o] = q[o]! / n;
      const g = th + this.gOff[l]![a]!;
      const vg = v + this.gOff[l]![a]!;
      const vb = v + this.betaOff[l]![a]!;
      const RY = r.RY[l]!;
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
        const j = p * O + o;
        const x = h[X + j]!;
        const rx = h[inv + o]! * (h[RZ + j]! - m[o]! - h[rho + o]! * x);
        h[RZ + j] = rx;
        h[RY + j] = h[g + o]! * rx + x * h[vg + o]! + h[vb + o]!;
      }
      ops.mul(RY, pass.S1[l]!, r.RA[l + 1]!, n * O);
    }
    const dout = sizes[L]!;
    const H = sizes[L - 1]!;
    const wL = this.wOff[L - 1]!;
    this.affineOut(v, pass.A[L - 1]!, n, v + wL, r.out);
    this.matAcc(r.RA[L - 1]!, n, H, th + wL, r.out, dout);
    // R-backward.
    outputCurvature(h, this.loss, pass.P, r.out, y, r.RDL, n * dout, dout, c);
    h.fill(0, hv, hv + this.numParams);
    this.gradAcc(pass.A[L - 1]!, n, H, r.RDL, hv + wL, dout);
    this.gradAcc(r.RA[L - 1]!, n, H, pass.DL, hv + wL, dout);
    for (let p = 0; p < n; p++) for (let o = 0; o < dout; o++) h[hv + this.bOut + o] += h[r.RDL + p * dout + o]!;
    this.backInput(r.RDL, n, dout, th + wL, H, r.RG[L - 2]!, false);
    this.backInput(pass.DL, n, dout, v + wL, H, r.RG[L - 2]!, true);
    for (let l = L - 2; l >= 0; l--) {
      const I = sizes[l]!;
      const O = sizes[l + 1]!;
      const RDY = r.RG[l]!;
      const m = n * O;
      if (this.smooth) ops.secondTerm(RDY, pass.S1[l]!, pass.G[l]!, pass.S2[l]!, r.RY[l]!, RDY, m);
      else ops.mul(RDY, pass.S1[l]!, RDY, m);
      const X = pass.X[l]!;
      const RX = r.RX[l]!;
      const DY = pass.DY[l]!;
      const DZ = pass.DZ[l]!;
      const RDZ = r.RDZ[l]!;
      const inv = pass.inv[l]!;
      const rho = r.rho[l]!;
      const g = th + this.gOff[l]![a]!;
      const vg = v + this.gOff[l]![a]!;
      // Column sums: Σ dY, Σ dY X̂, Σ RdY, Σ RdY X̂, Σ dY RX̂.
      const sy = this.colA;
      const syx = this.colB;
      const sr = this.colC;
      const srx = this.colD;
      sy.fill(0, 0, O);
      syx.fill(0, 0, O);
      sr.fill(0, 0, O);
      srx.fill(0, 0, O);
      const hg = hv + this.gOff[l]![a]!;
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
        const j = p * O + o;
        const d = h[DY + j]!;
        const rd = h[RDY + j]!;
        const x = h[X + j]!;
        sy[o] += d;
        syx[o] += d * x;
        sr[o] += rd;
        srx[o] += rd * x;
        h[hg + o] += d * h[RX + j]!;
      }
      const hb = hv + this.betaOff[l]![a]!;
      for (let o = 0; o < O; o++) {
        // hvγ = Σ (RdY X̂ + dY RX̂); the second sum is in hv already.
        const dyrx = h[hg + o]!;
        h[hg + o] = srx[o]! + dyrx;
        h[hb + o] = sr[o]!;
        const gam = h[g + o]!;
        const vgam = h[vg + o]!;
        // m2 = mean dX̂ X̂, Rm1 = mean RdX̂, Rm2 = mean(RdX̂ X̂ + dX̂ RX̂), with dX̂ = γ dY, RdX̂ = γ RdY + Vγ dY.
        const m2 = (gam * syx[o]!) / n;
        const rm1 = (gam * sr[o]! + vgam * sy[o]!) / n;
        const rm2 = (gam * srx[o]! + vgam * syx[o]! + gam * dyrx) / n;
        this.colB[o] = m2;
        this.colC[o] = rm1;
        this.colD[o] = rm2;
      }
      for (let p = 0; p < n; p++) for (let o = 0; o < O; o++) {
        const j = p * O + o;
        const gam = h[g + o]!;
        const s = h[inv + o]!;
        const rdx = gam * h[RDY + j]! + h[vg + o]! * h[DY + j]!;
        h[RDZ + j] = -s * h[rho + o]! * h[DZ + j]! + s * (rdx - this.colC[o]! - h[RX + j]! * this.colB[o]! - h[X + j]! * this.colD[o]!);
      }
      this.gradAcc(pass.A[l]!, n, I, RDZ, hv + this.wOff[l]!, O);
      if (l > 0) {
        this.gradAcc(r.RA[l]!, n, I, DZ, hv + this.wOff[l]!, O);
        this.backInput(RDZ, n, O, th + this.wOff[l]!, I, r.RG[l - 1]!, false);
        this.backInput(DZ, n, O, v + this.wOff[l]!, I, r.RG[l - 1]!, true);
      }
    }
  }
}
