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
