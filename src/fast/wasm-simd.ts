/**
 * The fast path's dense kernels as a small WebAssembly module with 128-bit SIMD (f32x4), written with the assembler
 * in wasm-asm.ts so no compiler toolchain is needed (test/fast/wasm-simd.wat is its text form, checked by a test).
 * Float32 like tfjs and PyTorch; `JsOps` in math-ops.ts is the float64 reference.
 */
import type { MathOps } from "./math-ops";
import { assemble, f32, F32, get, I32, i32, inc, lane, lt, op, set, V128, vloadAt, vstoreAt, whileLoop, type Code, type FnDef } from "./wasm-asm";

/**
 * rankBlock(a, aRow, aK, K, x, y, rows, O): y[r, :] += Σ_k a[r·aRow + k·aK] x[k, :] (byte strides for a).
 * Register-blocked: eight vectors (32 outputs) of a row of y stay in locals across the k loop, so each
 * multiply-add costs one load of x; zero coefficients (ReLU) are skipped.
 */
function rankBlock(): FnDef {
  const [a, aRow, aK, K, x, y, rows, O] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, k, ap, xp, yp, ob, O32, O4, rowB, yrow] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const av = 18;
  const avv = 19;
  const acc = [20, 21, 22, 23, 24, 25, 26, 27];
  const t = 28;
  const startK: Code = [
    ...get(a), ...get(r), ...get(aRow), ...op.mul, ...op.add, ...set(ap),
    ...get(x), ...get(ob), ...i32(2), ...op.shl, ...op.add, ...set(xp),
    ...i32(0), ...set(k),
  ];
  const nextK: Code = [...get(ap), ...get(aK), ...op.add, ...set(ap), ...get(xp), ...get(rowB), ...op.add, ...set(xp), ...inc(k, 1)];
  const body: Code = [
    ...get(O), ...i32(-32), ...op.and, ...set(O32),
    ...get(O), ...i32(-4), ...op.and, ...set(O4),
    ...get(O), ...i32(2), ...op.shl, ...set(rowB),
    ...i32(0), ...set(r),
    ...whileLoop(lt(r, rows), [
      ...get(y), ...get(r), ...get(rowB), ...op.mul, ...op.add, ...set(yrow),
      ...i32(0), ...set(ob),
      ...whileLoop(lt(ob, O32), [
        ...get(yrow), ...get(ob), ...i32(2), ...op.shl, ...op.add, ...set(yp),
        ...acc.flatMap((l, j) => [...get(yp), ...vloadAt(16 * j), ...set(l)]),
        ...startK,
        ...whileLoop(lt(k, K), [
          ...get(ap), ...op.f32load, ...set(av),
          ...get(av), ...f32(0), ...op.f32ne, ...op.ifThen,
          ...get(av), ...op.splat, ...set(avv),
          ...acc.flatMap((l, j) => [...get(l), ...get(avv), ...get(xp), ...vloadAt(16 * j), ...op.vmul, ...op.vadd, ...set(l)]),
          ...op.end,
          ...nextK,
        ]),
        ...acc.flatMap((l, j) => [...get(yp), ...get(l), ...vstoreAt(16 * j)]),
        ...inc(ob, 32),
      ]),
      ...whileLoop(lt(ob, O4), [
        ...get(yrow), ...get(ob), ...i32(2), ...op.shl, ...op.add, ...set(yp),
        ...get(yp), ...op.vload, ...set(acc[0]!),
        ...startK,
        ...whileLoop(lt(k, K), [
          ...get(acc[0]!), ...get(ap), ...op.f32load, ...op.splat, ...get(xp), ...op.vload, ...op.vmul, ...op.vadd, ...set(acc[0]!),
          ...nextK,
        ]),
        ...get(yp), ...get(acc[0]!), ...op.vstore,
        ...inc(ob, 4),
      ]),
      ...whileLoop(lt(ob, O), [
        ...get(yrow), ...get(ob), ...i32(2), ...op.shl, ...op.add, ...set(yp),
        ...get(yp), ...op.f32load, ...set(t),
        ...startK,
        ...whileLoop(lt(k, K), [
          ...get(t), ...get(ap), ...op.f32load, ...get(xp), ...op.f32load, ...op.f32mul, ...op.f32add, ...set(t),
          ...nextK,
        ]),
        ...get(yp), ...get(t), ...op.f32store,
        ...inc(ob, 1),
      ]),
      ...inc(r, 1),
    ]),
  ];
  const names = ["a", "aRow", "aK", "K", "x", "y", "rows", "O", "r", "k", "ap", "xp", "yp", "ob", "O32", "O4", "rowB", "yrow", "av", "avv", ...acc.map((_, j) => `acc${j}`), "t"];
  return { name: "rankBlock", params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, V128, V128, V128, V128, V128, V128, V128, V128, V128, F32], body, names };
}

/** dotRows(d, n, O, w, I, g, acc): see MathOps.dotRows. */
function dotRows(): FnDef {
  const [d, n, O, w, I, g, acc] = [0, 1, 2, 3, 4, 5, 6];
  const [p, i, dp, wp, o, O4, row, drow, t, s, s2, O8] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  const body: Code = [
    ...get(O), ...i32(-4), ...op.and, ...set(O4),
    ...get(O), ...i32(-8), ...op.and, ...set(O8),
    ...get(O), ...i32(2), ...op.shl, ...set(row),
    ...get(d), ...set(drow),
    ...i32(0), ...set(p),
    ...whileLoop(lt(p, n), [
      ...i32(0), ...set(i),
      ...whileLoop(lt(i, I), [
        ...get(drow), ...set(dp),
        ...get(w), ...get(i), ...get(row), ...op.mul, ...op.add, ...set(wp),
        ...op.vzero, ...set(s),
        ...op.vzero, ...set(s2),
        ...i32(0), ...set(o),
        // Two independent accumulators hide the add latency.
        ...whileLoop(lt(o, O8), [
          ...get(s), ...get(dp), ...op.vload, ...get(wp), ...op.vload, ...op.vmul, ...op.vadd, ...set(s),
          ...get(s2), ...get(dp), ...vloadAt(16), ...get(wp), ...vloadAt(16), ...op.vmul, ...op.vadd, ...set(s2),
          ...inc(dp, 32), ...inc(wp, 32), ...inc(o, 8),
        ]),
        ...get(s), ...get(s2), ...op.vadd, ...set(s),
        ...whileLoop(lt(o, O4), [
          ...get(s), ...get(dp), ...op.vload, ...get(wp), ...op.vload, ...op.vmul, ...op.vadd, ...set(s),
          ...inc(dp, 16), ...inc(wp, 16), ...inc(o, 4),
        ]),
        ...get(s), ...lane(0), ...get(s), ...lane(1), ...op.f32add, ...get(s), ...lane(2), ...get(s), ...lane(3), ...op.f32add, ...op.f32add, ...set(t),
        ...whileLoop(lt(o, O), [
          ...get(t), ...get(dp), ...op.f32load, ...get(wp), ...op.f32load, ...op.f32mul, ...op.f32add, ...set(t),
          ...inc(dp, 4), ...inc(wp, 4), ...inc(o, 1),
        ]),
        ...get(acc), ...op.ifThen, ...get(t), ...get(g), ...op.f32load, ...op.f32add, ...set(t), ...op.end,
        ...get(g), ...get(t), ...op.f32store,
        ...inc(g, 4),
        ...inc(i, 1),
      ]),
      ...get(drow), ...get(row), ...op.add, ...set(drow),
      ...inc(p, 1),
    ]),
  ];
  const names = ["d", "n", "O", "w", "I", "g", "acc", "p", "i", "dp", "wp", "o", "O4", "row", "drow", "t", "s", "s2", "O8"];
  return { name: "dotRows", params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, I32, I32, I32, F32, V128, V128, I32], body, names };
}

/**
 * An elementwise kernel over m elements: `vec` and `scalar` compute one output from the loaded inputs
 * (inputs are the first `nIn` params, then extra params, then out, then m).
 */
function elementwise(name: string, nIn: number, extra: number[], vec: (x: (k: number) => Code) => Code, scalar: (x: (k: number) => Code) => Code, extraOut?: { vec: (x: (k: number) => Code) => Code; scalar: (x: (k: number) => Code) => Code }): FnDef {
  // params: in_0..in_{nIn-1}, extras..., out, [out2], m
  const params = [...new Array<number>(nIn).fill(I32), ...extra, I32, ...(extraOut ? [I32] : []), I32];
  const out = nIn + extra.length;
  const out2 = extraOut ? out + 1 : -1;
  const m = params.length - 1;
  const j = params.length;
  const m4 = j + 1;
  const off = j + 2;
  const vIn = (k: number): Code => [...get(k), ...get(off), ...op.add, ...op.vload];
  const sIn = (k: number): Code => [...get(k), ...get(off), ...op.add, ...op.f32load];
  const body: Code = [
    ...get(m), ...i32(-4), ...op.and, ...set(m4),
    ...i32(0), ...set(j),
    ...whileLoop(lt(j, m4), [
      ...get(j), ...i32(2), ...op.shl, ...set(off),
      ...(extraOut ? [...get(out2), ...get(off), ...op.add, ...extraOut.vec(vIn), ...op.vstore] : []),
      ...get(out), ...get(off), ...op.add, ...vec(vIn), ...op.vstore,
      ...inc(j, 4),
    ]),
    ...whileLoop(lt(j, m), [
      ...get(j), ...i32(2), ...op.shl, ...set(off),
      ...(extraOut ? [...get(out2), ...get(off), ...op.add, ...extraOut.scalar(sIn), ...op.f32store] : []),
      ...get(out), ...get(off), ...op.add, ...scalar(sIn), ...op.f32store,
      ...inc(j, 1),
    ]),
  ];
  const names = [...Array.from({ length: nIn }, (_, k) => `in${k}`), ...extra.map((_, k) => `s${k}`), "out", ...(extraOut ? ["out2"] : []), "m", "j", "m4", "off"];
  return { name, params, locals: [I32, I32, I32], body, names };
}


function kernels(): FnDef[] {
  return [
    rankBlock(),
    dotRows(),
    elementwise("mul", 2, [], (x) => [...x(0), ...x(1), ...op.vmul], (x) => [...x(0), ...x(1), ...op.f32mul]),
    // axpy(x, y, alpha, out, m): alpha is param 2.
    elementwise("axpy", 2, [F32], (x) => [...x(0), ...get(2), ...op.splat, ...x(1), ...op.vmul, ...op.vadd], (x) => [...x(0), ...get(2), ...x(1), ...op.f32mul, ...op.f32add]),
    // relu(z, s1, m) is written as relu(z, out=z, out2=s1, m): s1 first (reads z before it is overwritten).
    elementwise(
      "relu", 1, [],
      (x) => [...x(0), ...op.vzero, ...op.vmax],
      (x) => [...x(0), ...f32(0), ...x(0), ...f32(0), ...op.f32gt, ...op.select],
      {
        vec: (x) => [...x(0), ...op.vzero, ...op.vgt, ...f32(1), ...op.splat, ...op.vand],
        scalar: (x) => [...f32(1), ...f32(0), ...x(0), ...f32(0), ...op.f32gt, ...op.select],
      },
    ),
    // subMul(x, a, y, out, m): out = x - a * y (inner updates with per-parameter rates, rate gradients).
    elementwise("subMul", 3, [], (x) => [...x(0), ...x(1), ...x(2), ...op.vmul, ...op.vsub], (x) => [...x(0), ...x(1), ...x(2), ...op.f32mul, ...op.f32sub]),
    // secondTerm(rg, s1, g, s2, rz, out, m)
    elementwise("secondTerm", 5, [], (x) => [...x(0), ...x(1), ...op.vmul, ...x(2), ...x(3), ...op.vmul, ...x(4), ...op.vmul, ...op.vadd], (x) => [...x(0), ...x(1), ...op.f32mul, ...x(2), ...x(3), ...op.f32mul, ...x(4), ...op.f32mul, ...op.f32add]),
  ];
}


/** The module's bytes: one exported memory "mem" and the kernels above, exported by name. */
export function wasmSimdModuleBytes(): Uint8Array {
  return assemble(kernels(), true);
}

/** A minimal module with one v128 local: valid exactly when the runtime has WebAssembly SIMD. */
export function simdProbeBytes(): Uint8Array {
  return assemble([{ name: "probe", params: [], locals: [V128], body: [...op.vzero, ...set(0)] }], false);
}

type Kernel = (...args: number[]) => void;

/** Names of the kernels the module exports. */
const KERNELS = ["rankBlock", "dotRows", "mul", "axpy", "relu", "subMul", "secondTerm"] as const;

interface Exports extends Record<(typeof KERNELS)[number], Kernel> {
  readonly mem: WebAssembly.Memory;
}

function exportsOf(inst: WebAssembly.Instance): Exports {
  const e = inst.exports;
  const mem = e["mem"];
  if (!(mem instanceof WebAssembly.Memory)) throw new Error("metalab's SIMD module lacks its memory export; this is a bug in src/fast/wasm-simd.ts.");
  const out: Record<string, unknown> = { mem };
  for (const name of KERNELS) {
    const f = e[name];
    if (typeof f !== "function") throw new Error(`metalab's SIMD module lacks export "${name}"; this is a bug in src/fast/wasm-simd.ts.`);
    out[name] = f;
  }
  return out as unknown as Exports;
}

let simdSupport: boolean | undefined;

/** Whether this runtime has WebAssembly SIMD, judged by a separate minimal module (not by metalab's own). */
export function hasWasmSimd(): boolean {
  simdSupport ??= typeof WebAssembly === "object" && WebAssembly.validate(simdProbeBytes());
  return simdSupport;
}

/** Compiles kernel bytes; a validation failure is reported as the assembler bug it is. */
export function compileKernels(bytes: Uint8Array): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`metalab's WebAssembly SIMD module failed validation (${why}). This is a bug in src/fast/wasm-simd.ts; set METALAB_FAST_KERNELS=js to use the JavaScript kernels meanwhile, and please report it.`);
  }
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * The compiled kernels, or null when this runtime lacks WebAssembly SIMD (then the float64 JS kernels are used).
 * Throws when the runtime has SIMD but rejects metalab's module: that is a bug in the assembler, not a reason to
 * fall back silently.
 */
export function wasmSimdModule(): WebAssembly.Module | null {
  compiled ??= hasWasmSimd() ? compileKernels(wasmSimdModuleBytes()) : null;
  return compiled;
}

/** The kernels in float32 WebAssembly SIMD; offsets are element indices into the module's memory. */
export class WasmSimdOps implements MathOps {
  readonly name = "wasm-simd-f32";
  private readonly ex: Exports;
  private h: Float32Array;
  private top = 0;

  constructor() {
    const mod = wasmSimdModule();
    if (mod === null) throw new Error("WebAssembly SIMD is not available in this runtime; use JsOps (Node 16.4+ has SIMD).");
    this.ex = exportsOf(new WebAssembly.Instance(mod, {}));
    this.h = new Float32Array(this.ex.mem.buffer);
  }

  heap(): Float32Array {
    return this.h;
  }

  alloc(n: number): number {
    const off = this.top;
    this.top += Math.ceil(n / 4) * 4;
    const needBytes = this.top * 4;
    const have = this.ex.mem.buffer.byteLength;
    if (needBytes > have) {
      this.ex.mem.grow(Math.ceil((needBytes - have) / 65536));
      this.h = new Float32Array(this.ex.mem.buffer);
    }
    return off;
  }

  reset(): void {
    this.top = 0;
  }

  rankAcc(a: number, n: number, I: number, x: number, y: number, O: number, tr: boolean): void {
    // Rows of y are rows of A (K = I, a stride 1) or, transposed, columns of A (K = n, a stride I).
    if (tr) this.ex.rankBlock(a << 2, 4, I << 2, n, x << 2, y << 2, I, O);
    else this.ex.rankBlock(a << 2, I << 2, 4, I, x << 2, y << 2, n, O);
  }

  dotRows(d: number, n: number, O: number, w: number, I: number, g: number, acc: boolean): void {
    this.ex.dotRows(d << 2, n, O, w << 2, I, g << 2, acc ? 1 : 0);
  }

  mul(a: number, b: number, out: number, m: number): void {
    this.ex.mul(a << 2, b << 2, out << 2, m);
  }

  axpy(x: number, y: number, alpha: number, out: number, m: number): void {
    this.ex.axpy(x << 2, y << 2, alpha, out << 2, m);
  }

  subMul(x: number, a: number, y: number, out: number, m: number): void {
    this.ex.subMul(x << 2, a << 2, y << 2, out << 2, m);
  }

  relu(z: number, s1: number, m: number): void {
    this.ex.relu(z << 2, z << 2, s1 << 2, m);
  }

  secondTerm(rg: number, s1: number, g: number, s2: number, rz: number, out: number, m: number): void {
    this.ex.secondTerm(rg << 2, s1 << 2, g << 2, s2 << 2, rz << 2, out << 2, m);
  }
}
