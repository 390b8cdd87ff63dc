/**
 * Published Split-MNIST accuracies (%, mean over 20 seeds) to set beside ours. Each cell names its source; a null cell
 * is one we could not read from the paper (we quote none from memory).
 *
 * - VT2019: van de Ven & Tolias, "Three scenarios for continual learning", arXiv:1904.07734 v1 (2019), Table 4
 *   (split MNIST; 2×400 ReLU MLP, 2,000 Adam steps per task at lr 0.001, batch 128, 60,000 training digits).
 * - VT2018: van de Ven & Tolias, "Generative replay with feedback connections as a general strategy for continual
 *   learning", arXiv:1809.10635 (ICLR 2019 submission), Table 3: the same network, training and 20 seeds, an earlier
 *   run (its EWC is untuned, so it is not quoted here).
 */
import { existsSync, readFileSync } from "fs";
import { benchResultsFile } from "./bench-results";
import type { ContinualMethod, Scenario } from "./split-mnist";

/** One published row. */
export interface PublishedSplitMnistRow {
  /** The paper's name for the method. */
  readonly method: string;
  /** Our closest method, if any. */
  readonly ours: ContinualMethod | null;
  readonly accuracy: Readonly<Record<Scenario, { readonly value: number; readonly source: "VT2019" | "VT2018" } | null>>;
}

const v19 = (value: number) => ({ value, source: "VT2019" as const });
const v18 = (value: number) => ({ value, source: "VT2018" as const });

/** The rows, in the papers' order. */
export const PUBLISHED_SPLIT_MNIST: readonly PublishedSplitMnistRow[] = [
  { method: "None (lower bound)", ours: "none", accuracy: { task: v18(85.15), domain: v18(57.33), class: v19(19.9) } },
  { method: "Offline / joint (upper bound)", ours: "joint", accuracy: { task: v18(99.64), domain: v18(98.41), class: v19(97.94) } },
  { method: "EWC", ours: "ewc", accuracy: { task: v19(98.64), domain: v19(63.95), class: v19(20.01) } },
  { method: "Online EWC", ours: null, accuracy: { task: null, domain: null, class: v19(19.96) } },
  { method: "SI", ours: null, accuracy: { task: v18(99.14), domain: v18(63.77), class: v19(19.99) } },
  { method: "LwF", ours: "lwf", accuracy: { task: v18(99.6), domain: v18(71.02), class: v19(23.85) } },
  { method: "DGR (generative replay)", ours: null, accuracy: { task: v19(99.5), domain: v19(95.72), class: v19(90.79) } },
  { method: "DGR+distill", ours: null, accuracy: { task: v19(99.61), domain: v19(96.83), class: v19(91.79) } },
  { method: "iCaRL (2,000 stored digits)", ours: null, accuracy: { task: null, domain: null, class: v19(94.57) } },
];

/** Long citation of each source key. */
export const PUBLISHED_SOURCES: Readonly<Record<"VT2019" | "VT2018", string>> = {
  VT2019: 'van de Ven & Tolias (2019), "Three scenarios for continual learning", arXiv:1904.07734 v1, Table 4',
  VT2018: 'van de Ven & Tolias, "Generative replay with feedback connections as a general strategy for continual learning", arXiv:1809.10635, Table 3',
};

/** One row of our run beside the papers: accuracies in %, null where the paper has no number. */
export interface SplitMnistComparisonRow {
  readonly method: ContinualMethod;
  readonly "task-IL": number | null;
  readonly "task-IL (paper)": number | null;
  readonly "domain-IL": number | null;
  readonly "domain-IL (paper)": number | null;
  readonly "class-IL": number | null;
  readonly "class-IL (paper)": number | null;
}

/** Our average accuracies (%, mean over the given summaries per cell) beside `PUBLISHED_SPLIT_MNIST`. */
export function splitMnistComparison(summaries: readonly { readonly scenario: Scenario; readonly method: ContinualMethod; readonly averageAccuracy: number }[]): SplitMnistComparisonRow[] {
  const methods = [...new Set(summaries.map((s) => s.method))];
  const ours = (m: ContinualMethod, s: Scenario): number | null => {
    const xs = summaries.filter((r) => r.method === m && r.scenario === s).map((r) => 100 * r.averageAccuracy);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  const paper = (m: ContinualMethod, s: Scenario): number | null => PUBLISHED_SPLIT_MNIST.find((r) => r.ours === m)?.accuracy[s]?.value ?? null;
  return methods.map((m) => ({
    method: m,
    "task-IL": ours(m, "task"),
    "task-IL (paper)": paper(m, "task"),
    "domain-IL": ours(m, "domain"),
    "domain-IL (paper)": paper(m, "domain"),
    "class-IL": ours(m, "class"),
    "class-IL (paper)": paper(m, "class"),
  }));
}

/** One run of `bench/split-mnist.ts`, as stored in bench/results/split-mnist.json. */
export interface SplitMnistBenchRun {
  readonly seed: number;
  readonly scenario: Scenario;
  readonly method: ContinualMethod;
  readonly averageAccuracy: number;
  readonly forgetting: number | null;
  readonly trainMs: number;
}

/** metalab's own bench/results/split-mnist.json: the nearest one above this module (a checkout or the npm package). */
export function splitMnistBenchFile(from: string = __dirname): string {
  return benchResultsFile("split-mnist.json", from);
}

/** Reads the runs of bench/results/split-mnist.json (default: metalab's own); says how to regenerate a missing or malformed file. */
export function readSplitMnistBench(file: string = splitMnistBenchFile()): { readonly runs: readonly SplitMnistBenchRun[]; readonly seeds: readonly number[]; readonly config: Readonly<Record<string, unknown>> } {
  const fix = "Regenerate it with `npm run build && node dist/bench/split-mnist.js` (writes bench/results/split-mnist.{json,md}).";
  if (!existsSync(file)) throw new Error(`Split-MNIST bench results ${file} are missing. ${fix}`);
  let parsed: { runs?: unknown; seeds?: unknown; config?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as typeof parsed;
  } catch (e) {
    throw new Error(`Split-MNIST bench results ${file} are not valid JSON (${e instanceof Error ? e.message : String(e)}). ${fix}`);
  }
  const runs = parsed.runs;
  if (!Array.isArray(runs) || runs.length === 0 || !runs.every((r: { averageAccuracy?: unknown; scenario?: unknown; method?: unknown }) => typeof r.averageAccuracy === "number" && typeof r.scenario === "string" && typeof r.method === "string")) {
    throw new Error(`Split-MNIST bench results ${file} hold no runs with scenario, method and averageAccuracy. ${fix}`);
  }
  return { runs: runs as SplitMnistBenchRun[], seeds: Array.isArray(parsed.seeds) ? (parsed.seeds as number[]) : [], config: (parsed.config ?? {}) as Record<string, unknown> };
}
