/**
 * The values `check()` sends from a kernel to the grader, as JSON: encoding (kernel side), validation of what
 * arrives (grader side, which must survive hostile input) and the comparison the grader decides a check with.
 * Pure functions with no imports, so the kernel side stays small.
 */

/** MIME type of a check's display_data bundle. */
export const CHECK_MIME = "application/vnd.metalab.check+json";

/** Version of the payload format. */
export const CHECK_FORMAT = 1;

/** Options of one check; the grader reads them from the instructor's run only. */
export interface CheckOptions {
  /** Relative tolerance for numbers: |got - want| <= atol + rtol * |want| (numpy.allclose). Default 1e-5. */
  readonly rtol?: number;
  /** Absolute tolerance for numbers. Default 1e-8. */
  readonly atol?: number;
  /** Points of this check; checks without points share what is left of the cell's nbgrader points equally. */
  readonly points?: number;
  /** Shown to the student when the check fails (hidden checks too): a hint, never the expected value. */
  readonly message?: string;
}

/** Defaults, each with its reason. */
export const CHECK_DEFAULTS = {
  rtol: 1e-5, // numpy.allclose's default: float32 round-off of a few ulps passes, a wrong formula does not.
  atol: 1e-8, // numpy.allclose's default: lets an exact 0 match round-off around it.
} as const;

/** Typed-array kinds a check can carry. */
export const TYPED_KINDS = [
  "Float32Array",
  "Float64Array",
  "Int8Array",
  "Int16Array",
  "Int32Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Uint16Array",
  "Uint32Array",
] as const;
export type TypedKind = (typeof TYPED_KINDS)[number];

/** Tensor dtypes a check can carry (tfjs). */
export const TENSOR_DTYPES = ["float32", "int32", "bool", "string"] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

/** Why a value could not be encoded, from a fixed vocabulary (nothing student-chosen ever reaches feedback). */
export const UNSUPPORTED = [
  "a function",
  "a symbol",
  "a promise (await it first)",
  "a disposed tensor",
  "a tensor of an unsupported dtype",
  "a class instance",
  "a Map or Set",
  "a value nested too deep",
  "a value too large to send",
  "a value that could not be read",
] as const;
export type Unsupported = (typeof UNSUPPORTED)[number];

/** An encoded value. Numbers that JSON cannot hold (NaN, ±Infinity, -0) are strings. */
export type Encoded =
  | { readonly t: "num"; readonly v: number | "NaN" | "Infinity" | "-Infinity" | "-0" }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "str"; readonly v: string }
  | { readonly t: "bigint"; readonly v: string }
  | { readonly t: "null" }
  | { readonly t: "undef" }
  | { readonly t: "arr"; readonly v: readonly Encoded[] }
  | { readonly t: "rec"; readonly v: Readonly<Record<string, Encoded>> }
  /** Typed array: little-endian bytes in base64. */
  | { readonly t: "typed"; readonly kind: TypedKind; readonly n: number; readonly b64: string }
  /** Tensor: float32/int32 as little-endian base64 bytes, bool as base64 of one byte per entry, string as a list. */
  | { readonly t: "tensor"; readonly dtype: TensorDtype; readonly shape: readonly number[]; readonly b64?: string; readonly strs?: readonly string[] }
  | { readonly t: "unsupported"; readonly what: Unsupported };

/** What a check sends. */
export interface CheckPayload {
  readonly format: number;
  readonly name: string;
  readonly value: Encoded;
  readonly options: CheckOptions;
}

/** Deepest nesting a value may have. */
export const MAX_DEPTH = 32;
/** Most scalar entries (numbers, characters / 8, tensor entries) a value may carry. */
export const MAX_ENTRIES = 4_000_000;
/** Longest check name. */
export const MAX_NAME = 200;

interface TensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly isDisposed?: boolean;
  dataSync(): ArrayLike<number> | readonly string[];
}

function isTensorLike(x: object): x is TensorLike {
  const o = x as Record<string, unknown>;
  return Array.isArray(o.shape) && typeof o.dtype === "string" && typeof o.dataSync === "function";
}

type AnyTyped =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array;

function typedKind(x: object): TypedKind | null {
  if (!ArrayBuffer.isView(x) || x instanceof DataView) return null;
  const name = Object.prototype.toString.call(x).slice(8, -1);
  return (TYPED_KINDS as readonly string[]).includes(name) ? (name as TypedKind) : null;
}

/** Little-endian base64 of a typed array's bytes (every platform Node runs on is little-endian). */
function bytesB64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

class TooLarge extends Error {}

/** Encodes a value for the grader; never throws (what cannot be sent becomes `unsupported`). */
export function encodeValue(value: unknown): Encoded {
  let entries = 0;
  const count = (n: number): void => {
    entries += n;
    if (entries > MAX_ENTRIES) throw new TooLarge();
  };
  const enc = (x: unknown, depth: number): Encoded => {
    if (depth > MAX_DEPTH) return { t: "unsupported", what: "a value nested too deep" };
    count(1);
    switch (typeof x) {
      case "number":
        if (Number.isNaN(x)) return { t: "num", v: "NaN" };
        if (x === Infinity) return { t: "num", v: "Infinity" };
        if (x === -Infinity) return { t: "num", v: "-Infinity" };
        if (Object.is(x, -0)) return { t: "num", v: "-0" };
        return { t: "num", v: x };
      case "boolean":
        return { t: "bool", v: x };
      case "string":
        count(Math.ceil(x.length / 8));
        return { t: "str", v: x };
      case "bigint":
        return { t: "bigint", v: x.toString() };
      case "undefined":
        return { t: "undef" };
      case "function":
        return { t: "unsupported", what: "a function" };
      case "symbol":
        return { t: "unsupported", what: "a symbol" };
      default:
        break;
    }
    if (x === null) return { t: "null" };
    const o = x as object;
    if (typeof (o as { then?: unknown }).then === "function") return { t: "unsupported", what: "a promise (await it first)" };
    if (Array.isArray(o)) {
      count(o.length);
      const v: Encoded[] = [];
      for (let i = 0; i < o.length; i++) v.push(enc(o[i], depth + 1));
      return { t: "arr", v };
    }
    const kind = typedKind(o);
    if (kind !== null) {
      const a = o as AnyTyped;
      count(a.length);
      return { t: "typed", kind, n: a.length, b64: bytesB64(a) };
    }
    if (isTensorLike(o)) return encTensor(o, count);
    if (o instanceof Map || o instanceof Set) return { t: "unsupported", what: "a Map or Set" };
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) return { t: "unsupported", what: "a class instance" };
    const keys = Object.keys(o).sort();
    count(keys.length);
    const v: Record<string, Encoded> = {};
    for (const k of keys) v[k] = enc((o as Record<string, unknown>)[k], depth + 1);
    return { t: "rec", v };
  };
  try {
    return enc(value, 0);
  } catch (e) {
    return { t: "unsupported", what: e instanceof TooLarge ? "a value too large to send" : "a value that could not be read" };
  }
}

function encTensor(x: TensorLike, count: (n: number) => void): Encoded {
  if (x.isDisposed === true) return { t: "unsupported", what: "a disposed tensor" };
  const dtype = x.dtype;
  if (!(TENSOR_DTYPES as readonly string[]).includes(dtype)) return { t: "unsupported", what: "a tensor of an unsupported dtype" };
  const shape = [...x.shape];
  let data: ArrayLike<number> | readonly string[];
  try {
    data = x.dataSync();
  } catch {
    return { t: "unsupported", what: "a disposed tensor" };
  }
  count(data.length);
  if (dtype === "string") return { t: "tensor", dtype: "string", shape, strs: Array.from(data as readonly string[], String) };
  const arr =
    dtype === "float32" ? Float32Array.from(data as ArrayLike<number>) : dtype === "int32" ? Int32Array.from(data as ArrayLike<number>) : Uint8Array.from(data as ArrayLike<number>);
  return { t: "tensor", dtype: dtype as TensorDtype, shape, b64: bytesB64(arr) };
}

// ---------------------------------------------------------------------------------------------------------------
// Grader side: what arrives is untrusted JSON. Validation is iterative, so no nesting depth can overflow the stack.

/** Thrown for a payload that is not a well-formed check. */
export class PayloadError extends Error {}

const isRec = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** Nesting depth of a JSON value, measured without recursion; stops counting at `limit + 1`. */
export function jsonDepth(x: unknown, limit = 1000): number {
  let max = 0;
  const stack: [unknown, number][] = [[x, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of Array.isArray(v) ? v : Object.values(v)) if (typeof c === "object" && c !== null) stack.push([c, d + 1]);
  }
  return max;
}

function finiteNonNeg(x: unknown, what: string): number | undefined {
  if (x === undefined) return undefined;
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0) throw new PayloadError(`${what} must be a finite number >= 0`);
  return x;
}

/** Validates check options (as the instructor wrote them); throws `PayloadError` saying what is wrong. */
export function readOptions(x: unknown): CheckOptions {
  if (x === undefined) return {};
  if (!isRec(x)) throw new PayloadError("options must be an object like { rtol: 1e-4, points: 1 }");
  const known = new Set(["rtol", "atol", "points", "message"]);
  for (const k of Object.keys(x)) if (!known.has(k)) throw new PayloadError(`unknown option "${k.slice(0, 40)}"; use rtol, atol, points or message`);
  const out: { rtol?: number; atol?: number; points?: number; message?: string } = {};
  const rtol = finiteNonNeg(x.rtol, "rtol");
  const atol = finiteNonNeg(x.atol, "atol");
  const points = finiteNonNeg(x.points, "points");
  if (rtol !== undefined) out.rtol = rtol;
  if (atol !== undefined) out.atol = atol;
  if (points !== undefined) out.points = points;
  if (x.message !== undefined) {
    if (typeof x.message !== "string") throw new PayloadError("message must be a string");
    out.message = x.message.slice(0, 500);
  }
  return out;
}

function validEncoded(x: unknown): Encoded {
  // Iterative structural check; returns the same object, now known to be well-formed.
  const stack: [unknown, number][] = [[x, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (d > MAX_DEPTH + 1) throw new PayloadError("value nested too deep");
    if (!isRec(v) || typeof v.t !== "string") throw new PayloadError("malformed value");
    switch (v.t) {
      case "num":
        if (!(typeof v.v === "number" ? Number.isFinite(v.v) : ["NaN", "Infinity", "-Infinity", "-0"].includes(v.v as string))) throw new PayloadError("malformed number");
        break;
      case "bool":
        if (typeof v.v !== "boolean") throw new PayloadError("malformed boolean");
        break;
      case "str":
      case "bigint":
        if (typeof v.v !== "string") throw new PayloadError("malformed string");
        break;
      case "null":
      case "undef":
        break;
      case "arr":
        if (!Array.isArray(v.v)) throw new PayloadError("malformed array");
        for (const c of v.v) stack.push([c, d + 1]);
        break;
      case "rec":
        if (!isRec(v.v)) throw new PayloadError("malformed record");
        for (const c of Object.values(v.v)) stack.push([c, d + 1]);
        break;
      case "typed": {
        if (!(TYPED_KINDS as readonly string[]).includes(v.kind as string) || typeof v.b64 !== "string" || typeof v.n !== "number") throw new PayloadError("malformed typed array");
        const bytes = Buffer.byteLength(v.b64, "base64");
        if (bytes !== v.n * bytesPer(v.kind as TypedKind)) throw new PayloadError("typed array length does not match its data");
        break;
      }
      case "tensor": {
        if (!(TENSOR_DTYPES as readonly string[]).includes(v.dtype as string)) throw new PayloadError("malformed tensor dtype");
        if (!Array.isArray(v.shape) || v.shape.length > 16 || !v.shape.every((s) => Number.isInteger(s) && s >= 0)) throw new PayloadError("malformed tensor shape");
        const size = (v.shape as number[]).reduce((p, s) => p * s, 1);
        if (v.dtype === "string") {
          if (!Array.isArray(v.strs) || v.strs.length !== size || !v.strs.every((s) => typeof s === "string")) throw new PayloadError("malformed string tensor");
        } else if (typeof v.b64 !== "string" || Buffer.byteLength(v.b64, "base64") !== size * (v.dtype === "bool" ? 1 : 4)) {
          throw new PayloadError("tensor data does not match its shape");
        }
        break;
      }
      case "unsupported":
        if (!(UNSUPPORTED as readonly string[]).includes(v.what as string)) throw new PayloadError("malformed unsupported value");
        break;
      default:
        throw new PayloadError("unknown value type");
    }
  }
  return x as Encoded;
}

function bytesPer(kind: TypedKind): number {
  return kind.startsWith("Float64") ? 8 : kind.includes("32") ? 4 : kind.includes("16") ? 2 : 1;
}

/** Reads a payload as it arrived in a display_data bundle; throws `PayloadError` when it is malformed. */
export function readPayload(x: unknown): CheckPayload {
  if (!isRec(x)) throw new PayloadError("a check payload must be an object");
  if (x.format !== CHECK_FORMAT) throw new PayloadError(`unknown check format ${String(x.format).slice(0, 20)}`);
  if (typeof x.name !== "string" || x.name === "" || x.name.length > MAX_NAME) throw new PayloadError(`a check name must be a string of 1 to ${MAX_NAME} characters`);
  return { format: CHECK_FORMAT, name: x.name, value: validEncoded(x.value), options: readOptions(x.options) };
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison (grader side). Reasons describe the expected value's structure, never its contents, and never echo
// student-chosen text.

/** The outcome of comparing a student's value with the solution's. */
export interface Comparison {
  ok: boolean;
  /** One line for the student (structure of the expected value, counts; never expected numbers). */
  reason?: string;
}

type Num = number;

function numOf(e: Extract<Encoded, { t: "num" }>): Num {
  return typeof e.v === "number" ? e.v : e.v === "NaN" ? NaN : e.v === "Infinity" ? Infinity : e.v === "-Infinity" ? -Infinity : -0;
}

function decodeTyped(kind: TypedKind, b64: string): ArrayLike<number> {
  const buf = Buffer.from(b64, "base64");
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  switch (kind) {
    case "Float32Array":
      return new Float32Array(ab);
    case "Float64Array":
      return new Float64Array(ab);
    case "Int8Array":
      return new Int8Array(ab);
    case "Int16Array":
      return new Int16Array(ab);
    case "Int32Array":
      return new Int32Array(ab);
    case "Uint8Array":
      return new Uint8Array(ab);
    case "Uint8ClampedArray":
      return new Uint8ClampedArray(ab);
    case "Uint16Array":
      return new Uint16Array(ab);
    case "Uint32Array":
      return new Uint32Array(ab);
  }
}

/** The entries of a tensor as numbers (float32, int32, bool). */
export function tensorData(e: Extract<Encoded, { t: "tensor" }>): ArrayLike<number> {
  const b = Buffer.from(e.b64 ?? "", "base64");
  const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  return e.dtype === "float32" ? new Float32Array(ab) : e.dtype === "int32" ? new Int32Array(ab) : new Uint8Array(ab);
}

/** numpy.allclose for one pair, with NaN equal to NaN. */
export function close(got: Num, want: Num, rtol: number, atol: number): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (!Number.isFinite(want)) return got === want;
  if (!Number.isFinite(got)) return false;
  return Math.abs(got - want) <= atol + rtol * Math.abs(want);
}

/** How both descriptions name a value whose kind says everything (no size, no keys). */
const PLAIN_KINDS: Readonly<Record<"num" | "bool" | "str" | "bigint" | "null" | "undef", string>> = {
  num: "a number",
  bool: "a boolean",
  str: "a string",
  bigint: "a bigint",
  null: "null",
  undef: "undefined",
};

/** A short description of an expected value's structure: "a float32 tensor of shape [3,16]". */
export function describe(e: Encoded): string {
  switch (e.t) {
    case "arr":
      return `an array of ${e.v.length}`;
    case "rec": {
      const keys = Object.keys(e.v);
      const shown = keys.slice(0, 8).join(", ");
      return keys.length === 0 ? "an empty record" : `a record with keys ${shown}${keys.length > 8 ? ", …" : ""}`;
    }
    case "typed":
      return `a ${e.kind} of length ${e.n}`;
    case "tensor":
      return `a ${e.dtype} tensor of shape [${e.shape.join(",")}]`;
    case "unsupported":
      return e.what;
    default:
      return PLAIN_KINDS[e.t];
  }
}

/** A coarse description of a student's value (type only: nothing the student chose). */
function kindOf(e: Encoded): string {
  switch (e.t) {
    case "arr":
      return "an array";
    case "rec":
      return "a record";
    case "typed":
      return `a ${e.kind}`;
    case "tensor":
      return `a ${e.dtype} tensor of rank ${Math.min(e.shape.length, 16)}`;
    case "unsupported":
      return e.what;
    default:
      return PLAIN_KINDS[e.t];
  }
}

interface Tol {
  rtol: number;
  atol: number;
}

function at(path: string): string {
  return path === "" ? "" : ` at ${path}`;
}

/** Index of the first entry of `i` in a row-major array of `shape`: "[0,2,5]". */
function multiIndex(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  let r = i;
  for (let k = shape.length - 1; k >= 0; k--) {
    const s = shape[k] || 1;
    idx.unshift(r % s);
    r = Math.floor(r / s);
  }
  return `[${idx.join(",")}]`;
}

function compareNumbers(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol, exact: boolean, where: string, shape: readonly number[]): Comparison {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i] ?? NaN;
    const w = want[i] ?? NaN;
    const ok = exact ? g === w : close(g, w, tol.rtol, tol.atol);
    if (!ok) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad === 0) return { ok: true };
  const which = want.length === 1 && shape.length === 0 ? "" : ` (first at ${multiIndex(first, shape.length ? shape : [want.length])})`;
  const tolText = exact ? "exactly" : `within rtol ${tol.rtol}, atol ${tol.atol}`;
  return { ok: false, reason: `${bad} of ${want.length} entries${at(where)} do not match the solution ${tolText}${which}` };
}

function cmp(want: Encoded, got: Encoded, tol: Tol, path: string): Comparison {
  if (want.t === "unsupported") return { ok: false, reason: "the solution's value cannot be compared" };
  if (got.t === "unsupported") return { ok: false, reason: `expected ${describe(want)}${at(path)}, got ${got.what}` };
  if (want.t !== got.t) return { ok: false, reason: `expected ${describe(want)}${at(path)}, got ${kindOf(got)}` };
  switch (want.t) {
    case "num": {
      const g = got as typeof want;
      return close(numOf(g), numOf(want), tol.rtol, tol.atol)
        ? { ok: true }
        : { ok: false, reason: `the number${at(path)} does not match the solution within rtol ${tol.rtol}, atol ${tol.atol}` };
    }
    case "bool":
    case "str":
    case "bigint":
      return (got as typeof want).v === want.v ? { ok: true } : { ok: false, reason: `the ${want.t === "str" ? "string" : want.t === "bool" ? "boolean" : "bigint"}${at(path)} is not the solution's` };
    case "null":
    case "undef":
      return { ok: true };
    case "arr": {
      const g = got as typeof want;
      if (g.v.length !== want.v.length) return { ok: false, reason: `expected ${describe(want)}${at(path)}, got an array of another length` };
      // Arrays of plain numbers are compared in one pass, so the reason counts entries.
      if (want.v.every((x) => x.t === "num") && g.v.every((x) => x.t === "num")) {
        const w = want.v.map((x) => numOf(x as Extract<Encoded, { t: "num" }>));
        const gg = g.v.map((x) => numOf(x as Extract<Encoded, { t: "num" }>));
        return compareNumbers(gg, w, tol, false, path, [w.length]);
      }
      for (const [i, w] of want.v.entries()) {
        const r = cmp(w, g.v[i] ?? { t: "undef" }, tol, `${path}[${i}]`);
        if (!r.ok) return r;
      }
      return { ok: true };
    }
    case "rec": {
      const g = got as typeof want;
      const wk = Object.keys(want.v).sort();
      const gk = new Set(Object.keys(g.v));
      const missing = wk.filter((k) => !gk.has(k));
      const extra = [...gk].filter((k) => !Object.prototype.hasOwnProperty.call(want.v, k)).length;
      if (missing.length > 0 || extra > 0) {
        const parts = [];
        if (missing.length > 0) parts.push(`is missing ${missing.slice(0, 8).join(", ")}`);
        if (extra > 0) parts.push(`has ${extra} key${extra === 1 ? "" : "s"} the solution does not have`);
        return { ok: false, reason: `the record${at(path)} ${parts.join(" and ")} (expected keys ${wk.slice(0, 12).join(", ")})` };
      }
      for (const k of wk) {
        const w = want.v[k];
        const gv = g.v[k];
        if (w === undefined || gv === undefined) continue; // Key sets are equal (checked above).
        const r = cmp(w, gv, tol, path === "" ? k : `${path}.${k}`);
        if (!r.ok) return r;
      }
      return { ok: true };
    }
    case "typed": {
      const g = got as typeof want;
      if (g.kind !== want.kind || g.n !== want.n) return { ok: false, reason: `expected ${describe(want)}${at(path)}, got ${kindOf(g)} of another length` };
      const exact = !want.kind.startsWith("Float");
      return compareNumbers(decodeTyped(g.kind, g.b64), decodeTyped(want.kind, want.b64), tol, exact, path, [want.n]);
    }
    case "tensor": {
      const g = got as typeof want;
      if (g.dtype !== want.dtype) return { ok: false, reason: `expected ${describe(want)}${at(path)}, got a ${g.dtype} tensor` };
      if (g.shape.length !== want.shape.length || g.shape.some((s, i) => s !== want.shape[i])) {
        return { ok: false, reason: `expected ${describe(want)}${at(path)}, got a tensor of another shape (rank ${Math.min(g.shape.length, 16)})` };
      }
      if (want.dtype === "string") {
        const ws = want.strs ?? [];
        const gs = g.strs ?? [];
        const bad = ws.filter((s, i) => gs[i] !== s).length;
        return bad === 0 ? { ok: true } : { ok: false, reason: `${bad} of ${ws.length} entries${at(path)} are not the solution's` };
      }
      return compareNumbers(tensorData(g), tensorData(want), tol, want.dtype !== "float32", path, want.shape);
    }
  }
}

/** Compares a student's value with the solution's under the solution's tolerances. */
export function compareValues(want: Encoded, got: Encoded, opts: CheckOptions = {}): Comparison {
  return cmp(want, got, { rtol: opts.rtol ?? CHECK_DEFAULTS.rtol, atol: opts.atol ?? CHECK_DEFAULTS.atol }, "");
}
