/**
 * The fast path's dense kernels as a tiny WebAssembly module with 128-bit SIMD (f32x4), assembled here byte by
 * byte so no compiler toolchain is needed. Float32 like tfjs and PyTorch; `JsOps` is the float64 reference.
 */
import type { MathOps } from "./math-ops";

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

type Code = number[];
const get = (i: number): Code => [0x20, ...uleb(i)];
const set = (i: number): Code => [0x21, ...uleb(i)];
const i32 = (v: number): Code => [0x41, ...sleb(v)];
const op = {
  add: [0x6a], mul: [0x6c], and: [0x71], shl: [0x74], ltS: [0x48], eqz: [0x45], select: [0x1b],
  f32load: [0x2a, 2, 0], f32store: [0x38, 2, 0], f32add: [0x92], f32mul: [0x94], f32ne: [0x5c],
  vload: [0xfd, 0x00, 4, 0], vstore: [0xfd, 0x0b, 4, 0], splat: [0xfd, 0x13],
  vadd: [0xfd, 0xe4, 0x01], vmul: [0xfd, 0xe6, 0x01], vmax: [0xfd, 0xe9, 0x01], vgt: [0xfd, 0x44], vand: [0xfd, 0x4e],
  vzero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  ifThen: [0x04, 0x40], end: [0x0b],
} as const;
const lane = (l: number): Code => [0xfd, 0x1f, l];
const F32_ONE = [0x43, 0x00, 0x00, 0x80, 0x3f];
const F32_ZERO = [0x43, 0, 0, 0, 0];
const vloadAt = (off: number): Code => [0xfd, 0x00, 4, ...uleb(off)];
const vstoreAt = (off: number): Code => [0xfd, 0x0b, 4, ...uleb(off)];
/** x += k for an i32 local. */
const inc = (x: number, k: number): Code => [...get(x), ...i32(k), ...op.add, ...set(x)];
/** while (cond) { body } */
const whileLoop = (cond: Code, body: Code): Code => [0x02, 0x40, 0x03, 0x40, ...cond, ...op.eqz, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
const lt = (a: number, b: number): Code => [...get(a), ...get(b), ...op.ltS];

interface FnDef {
  readonly name: string;
  readonly params: number[];
  readonly locals: number[];
  readonly body: Code;
}

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
          ...get(av), ...F32_ZERO, ...op.f32ne, ...op.ifThen,
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
  return { name: "rankBlock", params: [I32, I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, V128, V128, V128, V128, V128, V128, V128, V128, V128, F32], body };
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
  return { name: "dotRows", params: [I32, I32, I32, I32, I32, I32, I32], locals: [I32, I32, I32, I32, I32, I32, I32, I32, F32, V128, V128, I32], body };
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
  return { name, params, locals: [I32, I32, I32], body };
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
      (x) => [...x(0), ...F32_ZERO, ...x(0), ...F32_ZERO, 0x5e /* f32.gt */, ...op.select],
      {
        vec: (x) => [...x(0), ...op.vzero, ...op.vgt, ...F32_ONE, ...op.splat, ...op.vand],
        scalar: (x) => [...F32_ONE, ...F32_ZERO, ...x(0), ...F32_ZERO, 0x5e, ...op.select],
      },
    ),
    // secondTerm(rg, s1, g, s2, rz, out, m)
    elementwise("secondTerm", 5, [], (x) => [...x(0), ...x(1), ...op.vmul, ...x(2), ...x(3), ...op.vmul, ...x(4), ...op.vmul, ...op.vadd], (x) => [...x(0), ...x(1), ...op.f32mul, ...x(2), ...x(3), ...op.f32mul, ...x(4), ...op.f32mul, ...op.f32add]),
  ];
}

function section(id: number, content: Code): Code {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: Code[]): Code {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): Code {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

/** The module's bytes: one exported memory "mem" and the kernels above, exported by name. */
export function wasmSimdModuleBytes(): Uint8Array {
  const fns = kernels();
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), 0x00]);
  const funcs = fns.map((_, k) => uleb(k));
  const exports = [[...str("mem"), 0x02, 0x00], ...fns.map((f, k) => [...str(f.name), 0x00, ...uleb(k)])];
  const codes = fns.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const body = [...locals, ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(funcs)),
    ...section(5, vec([[0x00, 0x01]])),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ];
  return Uint8Array.from(bytes);
}

type Kernel = (...args: number[]) => void;

interface Exports {
  readonly mem: WebAssembly.Memory;
  readonly dotRows: Kernel;
  readonly mul: Kernel;
  readonly axpy: Kernel;
  readonly relu: Kernel;
  readonly secondTerm: Kernel;
  readonly rankBlock: Kernel;
}

function exportsOf(inst: WebAssembly.Instance): Exports {
  const e = inst.exports;
  const fn = (name: string): Kernel => {
    const f = e[name];
    if (typeof f !== "function") throw new Error(`metalab's SIMD module lacks export "${name}"; this is a bug in src/fast/wasm-simd.ts.`);
    return f as Kernel;
  };
  const mem = e["mem"];
  if (!(mem instanceof WebAssembly.Memory)) throw new Error("metalab's SIMD module lacks its memory export; this is a bug in src/fast/wasm-simd.ts.");
  return { mem, dotRows: fn("dotRows"), mul: fn("mul"), axpy: fn("axpy"), relu: fn("relu"), secondTerm: fn("secondTerm"), rankBlock: fn("rankBlock") };
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null when this runtime lacks WebAssembly SIMD (then the float64 JS kernels are used). */
export function wasmSimdModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = wasmSimdModuleBytes();
    compiled = typeof WebAssembly === "object" && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/** Whether the WebAssembly SIMD kernels can run here. */
export function hasWasmSimd(): boolean {
  return wasmSimdModule() !== null;
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

  relu(z: number, s1: number, m: number): void {
    this.ex.relu(z << 2, z << 2, s1 << 2, m);
  }

  secondTerm(rg: number, s1: number, g: number, s2: number, rz: number, out: number, m: number): void {
    this.ex.secondTerm(rg << 2, s1 << 2, g << 2, s2 << 2, rz << 2, out << 2, m);
  }
}
