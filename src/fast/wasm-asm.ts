/**
 * A tiny WebAssembly assembler: named opcodes, LEB128 immediates, structured loops and the module layout, enough
 * to write the fast path's kernels in TypeScript without a compiler toolchain. Opcode values are from the
 * WebAssembly 2.0 core specification (section 5.4) and its fixed-width SIMD proposal.
 */

/** Bytes of an instruction sequence. */
export type Code = number[];

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Unsigned LEB128. */
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

/** Signed LEB128. */
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

/** The SIMD prefix byte; SIMD opcodes follow it as a LEB128 index. */
const SIMD = 0xfd;
/** Block type "no result". */
const VOID = 0x40;
/** log2 of the alignment of f32 and v128 accesses (4 and 16 bytes). */
const ALIGN_F32 = 2;
const ALIGN_V128 = 4;

/** Opcodes by their text-format names. */
const OP = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, select: 0x1b,
  localGet: 0x20, localSet: 0x21,
  f32Load: 0x2a, f32Store: 0x38, i32Const: 0x41, f32Const: 0x43,
  i32Eqz: 0x45, i32LtS: 0x48, f32Ne: 0x5c, f32Gt: 0x5e,
  i32Add: 0x6a, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74,
  f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
const SIMD_OP = {
  v128Load: 0x00, v128Store: 0x0b, v128Const: 0x0c, f32x4Splat: 0x13, f32x4ExtractLane: 0x1f,
  f32x4Gt: 0x44, v128And: 0x4e, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Max: 0xe9,
} as const;

const simd = (k: number, ...imm: number[]): Code => [SIMD, ...uleb(k), ...imm];

/** local.get i */
export const get = (i: number): Code => [OP.localGet, ...uleb(i)];
/** local.set i */
export const set = (i: number): Code => [OP.localSet, ...uleb(i)];
/** i32.const v */
export const i32 = (v: number): Code => [OP.i32Const, ...sleb(v)];
/** f32.const v (little-endian IEEE bits) */
export const f32 = (v: number): Code => [OP.f32Const, ...new Uint8Array(Float32Array.of(v).buffer)];
/** v128.load with a byte offset. */
export const vloadAt = (off: number): Code => simd(SIMD_OP.v128Load, ALIGN_V128, ...uleb(off));
/** v128.store with a byte offset. */
export const vstoreAt = (off: number): Code => simd(SIMD_OP.v128Store, ALIGN_V128, ...uleb(off));
/** f32x4.extract_lane l */
export const lane = (l: number): Code => simd(SIMD_OP.f32x4ExtractLane, l);

/** Instructions without immediates (and loads/stores at offset 0), by name. */
export const op = {
  add: [OP.i32Add], mul: [OP.i32Mul], and: [OP.i32And], shl: [OP.i32Shl], ltS: [OP.i32LtS], eqz: [OP.i32Eqz], select: [OP.select],
  f32load: [OP.f32Load, ALIGN_F32, 0], f32store: [OP.f32Store, ALIGN_F32, 0],
  f32add: [OP.f32Add], f32sub: [OP.f32Sub], f32mul: [OP.f32Mul], f32ne: [OP.f32Ne], f32gt: [OP.f32Gt],
  vload: vloadAt(0), vstore: vstoreAt(0), splat: simd(SIMD_OP.f32x4Splat),
  vadd: simd(SIMD_OP.f32x4Add), vsub: simd(SIMD_OP.f32x4Sub), vmul: simd(SIMD_OP.f32x4Mul), vmax: simd(SIMD_OP.f32x4Max),
  vgt: simd(SIMD_OP.f32x4Gt), vand: simd(SIMD_OP.v128And),
  vzero: simd(SIMD_OP.v128Const, ...new Array<number>(16).fill(0)),
  ifThen: [OP.if, VOID], end: [OP.end],
} as const;

/** x += k for an i32 local. */
export const inc = (x: number, k: number): Code => [...get(x), ...i32(k), ...op.add, ...set(x)];
/** while (cond) { body }: a block around a loop that exits when cond is zero. */
export const whileLoop = (cond: Code, body: Code): Code => [OP.block, VOID, OP.loop, VOID, ...cond, ...op.eqz, OP.brIf, 1, ...body, OP.br, 0, OP.end, OP.end];
/** local a < local b (signed i32). */
export const lt = (a: number, b: number): Code => [...get(a), ...get(b), ...op.ltS];

/** One exported function: parameter and local types, and its body (without the final `end`). */
export interface FnDef {
  readonly name: string;
  readonly params: readonly number[];
  readonly results?: readonly number[];
  readonly locals: readonly number[];
  readonly body: Code;
  /** Names of the parameters, then the locals, for the text form (test/fast/wasm-simd.wat). */
  readonly names?: readonly string[];
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

/** Section ids (spec 5.5.2). */
const SECTION = { custom: 0, type: 1, function: 3, memory: 5, export: 7, code: 10 } as const;
/** Subsections of the "name" custom section that name functions and their locals (spec 7.4.1). */
const FUNCTION_NAMES = 1;
const LOCAL_NAMES = 2;
/** Export kinds. */
const EXPORT = { func: 0x00, memory: 0x02 } as const;
const FUNC_TYPE = 0x60;
/** Memory limits: "minimum only", one 64 KiB page. */
const MEMORY_MIN_ONE_PAGE = [0x00, 0x01];
const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/**
 * A module with one type per function, the functions exported by name, (when `memory`) an exported memory "mem",
 * and a "name" section so disassemblers print the functions' names.
 */
export function assemble(fns: readonly FnDef[], memory: boolean): Uint8Array {
  const types = fns.map((f) => [FUNC_TYPE, ...vec(f.params.map((t) => [t])), ...vec((f.results ?? []).map((t) => [t]))]);
  const funcs = fns.map((_, k) => uleb(k));
  const exports = [...(memory ? [[...str("mem"), EXPORT.memory, 0x00]] : []), ...fns.map((f, k) => [...str(f.name), EXPORT.func, ...uleb(k)])];
  const codes = fns.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.body, OP.end];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    ...MAGIC_AND_VERSION,
    ...section(SECTION.type, vec(types)),
    ...section(SECTION.function, vec(funcs)),
    ...(memory ? section(SECTION.memory, vec([MEMORY_MIN_ONE_PAGE])) : []),
    ...section(SECTION.export, vec(exports)),
    ...section(SECTION.code, vec(codes)),
    ...section(SECTION.custom, [
      ...str("name"),
      ...section(FUNCTION_NAMES, vec(fns.map((f, k) => [...uleb(k), ...str(f.name)]))),
      ...section(LOCAL_NAMES, vec(fns.map((f, k) => [...uleb(k), ...vec((f.names ?? []).map((n, i) => [...uleb(i), ...str(n)]))]))),
    ]),
  ]);
}
