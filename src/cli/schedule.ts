/**
 * The order and concurrency of `reproduce --jobs N`: notebooks start longest first (estimated from the previous
 * run's out/summary.json, else from the table below), and at most N run at once, each in its own kernel.
 */
import * as path from "path";

/**
 * Full-mode kernel CPU seconds per lab (measured 2026-12-02, bench/README.md "npm run reproduce, per notebook"), keyed by
 * the notebook's number; used for the order only, when no previous summary names the notebook.
 */
export const DEFAULT_CPU_S: Readonly<Record<string, number>> = {
  "01": 12,
  "02": 121,
  "03": 38,
  "04": 15,
  "05": 41,
  "06": 68,
  "07": 39,
  "08": 18,
  "09": 31,
};

/** The estimate for a notebook no table or summary knows (the course's budget for a new lab). */
export const UNKNOWN_CPU_S = 30;

/** What a previous run's summary.json says about one notebook (the fields used here). */
export interface PreviousRun {
  readonly name: string;
  readonly ok?: boolean;
  readonly durationMs?: number;
  readonly cpuMs?: number;
}

/**
 * Estimated cost in ms of each notebook file: the previous run of the same mode (its kernel CPU time, else its wall
 * time), else `DEFAULT_CPU_S` by number (full mode, and as the best guess of the order in quick mode).
 */
export function estimateCostsMs(files: readonly string[], previous: readonly PreviousRun[] = []): number[] {
  const prev = new Map(previous.map((r) => [r.name, r.cpuMs ?? r.durationMs]));
  return files.map((f) => {
    const name = path.basename(f, ".ipynb");
    const seen = prev.get(name);
    if (typeof seen === "number" && Number.isFinite(seen)) return seen;
    return 1000 * (DEFAULT_CPU_S[name.split("-")[0] ?? ""] ?? UNKNOWN_CPU_S);
  });
}

/** Indices of `costs` from the largest to the smallest (ties keep their order). */
export function longestFirst(costs: readonly number[]): number[] {
  return costs.map((c, i) => ({ c, i })).sort((a, b) => b.c - a.c || a.i - b.i).map((x) => x.i);
}

/**
 * Runs `work` on every item with at most `jobs` running at once, starting them in `order` (indices into `items`);
 * returns the results in the items' own order. `work` must not throw (a throw rejects the whole pool).
 */
export async function runPool<T, R>(items: readonly T[], jobs: number, order: readonly number[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`runPool: jobs must be a positive integer, got ${jobs}.`);
  const results = new Array<R>(items.length);
  const queue = [...order];
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) results[i] = await work(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return results;
}

/** The makespan in ms of running tasks of `costs` in `order` on `jobs` machines, each taking the next free one. */
export function makespanMs(costs: readonly number[], jobs: number, order: readonly number[] = longestFirst(costs)): number {
  const free = new Array<number>(Math.max(1, jobs)).fill(0);
  for (const i of order) {
    const k = free.indexOf(Math.min(...free));
    free[k] = free[k]! + costs[i]!;
  }
  return Math.max(...free);
}
