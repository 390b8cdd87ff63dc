/** The committed results of `bench/omniglot-few-shot.ts` (bench/results/omniglot.json), read for lab 09's table. */
import { existsSync, readFileSync } from "fs";
import { benchResultsFile } from "./bench-results";

/** One trained method of the Omniglot bench: its error on Lake et al.'s 20 runs and on 5-way episodes cut from them. */
export interface OmniglotBenchRow {
  readonly method: string;
  /** "conv" (Finn et al.'s 4-block conv net) or "mlp" (Finn et al.'s non-convolutional net). */
  readonly embedding?: string;
  readonly seed: number;
  readonly steps: number;
  /** Mean error on the 20 one-shot runs (chance 0.95). */
  readonly error: number;
  /** Error on 5-way 1-shot episodes cut from the runs (chance 0.8); absent for rows kept from the first table. */
  readonly error5?: number;
  readonly learned?: boolean;
  readonly trainSeconds: number;
  readonly load: number;
  /** Set on a row kept beside its rerun: why it was replaced (e.g. measured with a defect since fixed). */
  readonly superseded?: string;
}

/** metalab's own bench/results/omniglot.json (works from a checkout and from the npm package). */
export function omniglotBenchFile(from: string = __dirname): string {
  return benchResultsFile("omniglot.json", from);
}

/** Reads the rows of bench/results/omniglot.json (default: metalab's own); says how to regenerate a missing or malformed file. */
export function readOmniglotBench(file: string = omniglotBenchFile()): { readonly rows: readonly OmniglotBenchRow[] } {
  const fix = "Regenerate it with `npm run build && node dist/bench/omniglot-few-shot.js` (writes bench/results/omniglot.{json,md}).";
  if (!existsSync(file)) throw new Error(`Omniglot bench results ${file} are missing. ${fix}`);
  let parsed: { rows?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as typeof parsed;
  } catch (e) {
    throw new Error(`Omniglot bench results ${file} are not valid JSON (${e instanceof Error ? e.message : String(e)}). ${fix}`);
  }
  const rows = parsed.rows;
  const ok = (r: { method?: unknown; error?: unknown; steps?: unknown }): boolean => typeof r.method === "string" && typeof r.error === "number" && typeof r.steps === "number";
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every(ok)) {
    throw new Error(`Omniglot bench results ${file} hold no rows with method, steps and error. ${fix}`);
  }
  return { rows: rows as OmniglotBenchRow[] };
}
