/**
 * The handful of dense kernels the fast MLP path is built from, over one flat heap addressed by element offsets.
 * Two implementations: `JsOps` (float64 typed arrays, the reference) and `WasmSimdOps` (float32, WebAssembly SIMD).
 */

/** Dense kernels over a heap; every buffer argument is an element offset returned by `alloc`. */
export interface MathOps {
  /** "js-f64" or "wasm-simd-f32". */
  readonly name: string;
  /** The heap as a typed array (re-read it after `alloc`: growing may replace it). */
  heap(): Float32Array | Float64Array;
  /** Reserves `n` elements (16-byte aligned) and returns their offset. */
  alloc(n: number): number;
  /** Frees everything allocated so far. */
  reset(): void;
  /** Rank-1 updates: y[p, :] += a[p, i] x[i, :] (tr = false, i.e. Y += A X) or y[i, :] += a[p, i] x[p, :] (tr = true, Y += Aᵀ X); skips zero a. */
  rankAcc(a: number, n: number, I: number, x: number, y: number, O: number, tr: boolean): void;
  /** g[p, i] (+)= Σ_o d[p, o] w[i, o], i.e. G = D Wᵀ, accumulating when `acc`. */
  dotRows(d: number, n: number, O: number, w: number, I: number, g: number, acc: boolean): void;
  /** out = a ⊙ b over m elements. */
  mul(a: number, b: number, out: number, m: number): void;
  /** out = x + alpha y over m elements. */
  axpy(x: number, y: number, alpha: number, out: number, m: number): void;
  /** out = x − a ⊙ y over m elements. */
  subMul(x: number, a: number, y: number, out: number, m: number): void;
  /** In place z = max(z, 0), and s1 = 1 where z > 0 else 0. */
  relu(z: number, s1: number, m: number): void;
  /** out = rg ⊙ s1 + g ⊙ s2 ⊙ rz (the R-operator of δ = g ⊙ σ'(z)). */
  secondTerm(rg: number, s1: number, g: number, s2: number, rz: number, out: number, m: number): void;
}

/** Reference kernels in float64 JavaScript. */
export class JsOps implements MathOps {
  readonly name = "js-f64";
  private h = new Float64Array(1024);
  private top = 0;

  heap(): Float64Array {
    return this.h;
  }

  alloc(n: number): number {
    const off = this.top;
    this.top += Math.ceil(n / 4) * 4;
    if (this.top > this.h.length) {
      const bigger = new Float64Array(Math.max(this.top, 2 * this.h.length));
      bigger.set(this.h);
      this.h = bigger;
    }
    return off;
  }

  reset(): void {
    this.top = 0;
  }

  rankAcc(a: number, n: number, I: number, x: number, y: number, O: number, tr: boolean): void {
    const h = this.h;
    for (let p = 0; p < n; p++) {
      for (let i = 0; i < I; i++) {
        const av = h[a + p * I + i]!;
        if (av === 0) continue;
        const yr = y + (tr ? i : p) * O;
        const xr = x + (tr ? p : i) * O;
        for (let o = 0; o < O; o++) h[yr + o] += av * h[xr + o]!;
      }
    }
  }

  dotRows(d: number, n: number, O: number, w: number, I: number, g: number, acc: boolean): void {
    const h = this.h;
    for (let p = 0; p < n; p++) {
      const dr = d + p * O;
      for (let i = 0; i < I; i++) {
        const wr = w + i * O;
        let s = 0;
        for (let o = 0; o < O; o++) s += h[dr + o]! * h[wr + o]!;
        const gi = g + p * I + i;
        h[gi] = acc ? h[gi]! + s : s;
      }
    }
  }

  mul(a: number, b: number, out: number, m: number): void {
    const h = this.h;
    for (let j = 0; j < m; j++) h[out + j] = h[a + j]! * h[b + j]!;
  }

  axpy(x: number, y: number, alpha: number, out: number, m: number): void {
    const h = this.h;
    for (let j = 0; j < m; j++) h[out + j] = h[x + j]! + alpha * h[y + j]!;
  }

  subMul(x: number, a: number, y: number, out: number, m: number): void {
    const h = this.h;
    for (let j = 0; j < m; j++) h[out + j] = h[x + j]! - h[a + j]! * h[y + j]!;
  }

  relu(z: number, s1: number, m: number): void {
    const h = this.h;
    for (let j = 0; j < m; j++) {
      if (h[z + j]! > 0) h[s1 + j] = 1;
      else {
        h[z + j] = 0;
        h[s1 + j] = 0;
      }
    }
  }

  secondTerm(rg: number, s1: number, g: number, s2: number, rz: number, out: number, m: number): void {
    const h = this.h;
    for (let j = 0; j < m; j++) h[out + j] = h[rg + j]! * h[s1 + j]! + h[g + j]! * h[s2 + j]! * h[rz + j]!;
  }
}
