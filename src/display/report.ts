/**
 * Key numbers a notebook publishes (e.g. `report("maml_mse_k10_step1", 0.31)`). They are kept in memory,
 * printed as one line, and, when `METALAB_REPORT_FILE` is set (as `npm run reproduce` does), written to
 * that JSON file so the reproduce summary can list them.
 */
import { mkdirSync, writeFileSync } from "fs";
import * as path from "path";

/** A reported value: a number (non-finite ones are stored as null in JSON) or a short string. */
export type ReportValue = number | string | boolean;

const numbers = new Map<string, ReportValue>();

/** Key names: letters, digits, underscores, dots and dashes, so they are stable column names. */
const KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/**
 * Records a key number, prints `key = value` and rewrites the sidecar file if one is configured.
 * Returns nothing, so a cell ending in `report(...)` does not print the value twice.
 */
export function report(key: string, value: ReportValue, options: { readonly quiet?: boolean } = {}): void {
  if (!KEY.test(key)) throw new Error(`report key "${key}" is not allowed: use letters, digits, _ . - and start with a letter, e.g. "maml_mse_k10_step1".`);
  numbers.set(key, value);
  if (!options.quiet) console.log(`${key} = ${typeof value === "number" ? formatReported(value) : String(value)}`);
  const file = process.env.METALAB_REPORT_FILE;
  if (file !== undefined && file !== "") {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, JSON.stringify(reportedNumbers(), null, 2) + "\n");
  }
}

/**
 * A reported number as printed: 4 significant digits (float32 noise such as 0.0499999 prints as 0.05), but never
 * fewer than its integer digits (12345.6 prints as 12346), and integers exactly. The JSON sidecar keeps full precision.
 */
export function formatReported(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const digits = Math.min(21, Math.max(4, Math.floor(Math.log10(Math.abs(v))) + 1));
  return String(Number(v.toPrecision(digits)));
}

/** Everything reported so far in this process, in insertion order (non-finite numbers as null). */
export function reportedNumbers(): Record<string, number | string | boolean | null> {
  const out: Record<string, number | string | boolean | null> = {};
  for (const [k, v] of numbers) out[k] = typeof v === "number" && !Number.isFinite(v) ? null : v;
  return out;
}

/** Forgets every reported number (tests). */
export function clearReports(): void {
  numbers.clear();
}
