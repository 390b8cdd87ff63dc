/**
 * Checks for options objects: each throws an error naming the option, the bad value and the fix, so every
 * `<name>Options(partial)` validator reads as a list of rules.
 */

/** Formats a value for an error message. */
function shown(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** `v` is an integer >= `min` (default 1). */
export function checkInteger(who: string, name: string, v: number, min = 1, hint = ""): void {
  if (!Number.isInteger(v) || v < min) {
    throw new Error(`${who} ${name} must be an integer >= ${min}, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
  }
}

/** `v` is a finite number > 0. */
export function checkPositive(who: string, name: string, v: number, hint = ""): void {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${who} ${name} must be a positive number, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is a finite number >= 0. */
export function checkNonNegative(who: string, name: string, v: number, hint = ""): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${who} ${name} must be a number >= 0, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is one of `allowed`. */
export function checkOneOf<T>(who: string, name: string, v: T, allowed: readonly T[]): void {
  if (!allowed.includes(v)) throw new Error(`${who} ${name} must be one of ${allowed.map(shown).join(", ")}, got ${shown(v)}.`);
}

/** `v` is a boolean. */
export function checkBoolean(who: string, name: string, v: unknown): void {
  if (typeof v !== "boolean") throw new Error(`${who} ${name} must be true or false, got ${shown(v)}.`);
}

/** Names in `given` that `known` lacks: a typo in an options object is an error, not a silent default. */
export function checkKnownKeys(who: string, given: object, known: object): void {
  const unknown = Object.keys(given).filter((k) => !(k in known));
  if (unknown.length > 0) {
    throw new Error(`${who}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map(shown).join(", ")}; known: ${Object.keys(known).join(", ")}.`);
  }
}

/** `v` is a finite number in [lo, hi] (or (lo, hi) ends open where `open` says so). */
export function checkRange(who: string, name: string, v: number, lo: number, hi: number, open: { lo?: boolean; hi?: boolean } = {}, hint = ""): void {
  const ok = Number.isFinite(v) && (open.lo ? v > lo : v >= lo) && (open.hi ? v < hi : v <= hi);
  if (!ok) throw new Error(`${who} ${name} must be a number in ${open.lo ? "(" : "["}${lo}, ${hi}${open.hi ? ")" : "]"}, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is a finite number (a seed, an offset). */
export function checkFinite(who: string, name: string, v: number, hint = ""): void {
  if (!(typeof v === "number" && Number.isFinite(v))) throw new Error(`${who} ${name} must be a finite number, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is a non-empty string. */
export function checkString(who: string, name: string, v: unknown, hint = ""): void {
  if (typeof v !== "string" || v.length === 0) throw new Error(`${who} ${name} must be a non-empty string, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is an array of at least `minLength` integers, each >= `min`. */
export function checkIntegerList(who: string, name: string, v: unknown, min = 1, minLength = 1, hint = ""): void {
  const ok = Array.isArray(v) && v.length >= minLength && v.every((x) => Number.isInteger(x) && x >= min);
  if (!ok) throw new Error(`${who} ${name} must be a list of at least ${minLength} integer${minLength === 1 ? "" : "s"} >= ${min}, got ${Array.isArray(v) ? `[${v.map(shown).join(", ")}]` : shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is a function (a callback, a clock, a runner). */
export function checkFunction(who: string, name: string, v: unknown, hint = ""): void {
  if (typeof v !== "function") throw new Error(`${who} ${name} must be a function, got ${shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** `v` is a plain object (a nested config), so its own keys can be checked next. */
export function checkObject<T>(who: string, name: string, v: T, hint = ""): asserts v is T & object {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${who} ${name} must be an object, got ${Array.isArray(v) ? "an array" : shown(v)}.${hint ? ` ${hint}` : ""}`);
}

/** How `checkConfig`/`withDefaults` word their errors. */
export interface ConfigCheck {
  /** What the value is called in the "must be an object" error (default "options"). */
  readonly name?: string;
  /** The fix the "must be an object" error suggests. */
  readonly hint?: string;
  /** Who the unknown-key error names (default `who`). */
  readonly keysWho?: string;
}

/** The opening of every validator: `v` is a plain object and each of its keys is one of `known`'s. */
export function checkConfig<T>(who: string, v: T, known: object, how: ConfigCheck = {}): asserts v is T & object {
  checkObject(who, how.name ?? "options", v, how.hint);
  checkKnownKeys(how.keysWho ?? who, v, known);
}

/** `checkConfig` against `known` (default: the defaults' keys), then the defaults filled in. */
export function withDefaults<T extends object>(who: string, v: Partial<T>, defaults: T, how: ConfigCheck & { readonly known?: object } = {}): T {
  checkConfig(who, v, how.known ?? defaults, how);
  return { ...defaults, ...v };
}
