/**
 * Runs a whole notebook in a fresh kernel (tslab by default) with per-cell and whole-notebook timeouts, and returns
 * the notebook with its outputs (nbformat 4.5) plus a per-cell verdict from `judgeExecution`.
 */
import { readFileSync } from "fs";
import { checkConfig, checkInteger, checkNonNegative } from "../core/validate";
import { judgeExecution } from "./failure";
import { cloneNotebook, ensureCellIds, joinSource, type Notebook } from "./ipynb";
import type { Transport } from "../jupyter/connection";
import { KernelClient, type CellProgress, type ExecuteOutcome } from "./kernel";
import type { KernelWrapper } from "./kernel-process";
import type { KernelSpec } from "../jupyter/kernelspec";

/** Options for `runNotebook`. */
export interface RunOptions {
  /** Kernel name; default the notebook's metadata.kernelspec.name, else "tslab". */
  kernelName?: string;
  /** A resolved kernel spec; overrides `kernelName`. */
  kernelSpec?: KernelSpec;
  /** Working directory of the kernel (relative imports and files resolve from here). */
  cwd?: string;
  /** Extra environment variables for the kernel. */
  env?: Record<string, string>;
  /** Per-cell wall-clock limit; a cell that exceeds it is interrupted, then the kernel is killed if it hangs on. */
  cellTimeoutMs?: number;
  /** Whole-notebook wall-clock limit, kernel start included. */
  timeoutMs?: number;
  /** Called after each executed code cell; `index` is the cell's position in `notebook.cells`, `total` their count. */
  onCell?: (index: number, total: number, report: CellReport) => void;
  /** Called with each state of a progress bar a running cell shows; `index` is the cell's position. */
  onProgress?: (index: number, progress: CellProgress) => void;
  /** Keep executing after a failed cell (default false: stop at the first failure, like nbconvert). */
  allowErrors?: boolean;
  /** V8 heap limit for the kernel in MB (NODE_OPTIONS=--max-old-space-size). */
  memoryMb?: number;
  /** Bytes of output kept per cell; more is dropped with a note and flagged in the report. Default 1 MB. */
  maxOutputBytes?: number;
  /** How long to wait for the kernel to start. Default 90 s. */
  startTimeoutMs?: number;
  /** Run the kernel as this uid/gid (needs root), e.g. to keep student code away from hidden tests on disk. */
  uid?: number;
  gid?: number;
  /** Largest file the kernel may write, in bytes (RLIMIT_FSIZE via `prlimit`, Linux). */
  maxFileBytes?: number;
  /** Kernel socket transport: "tcp" on 127.0.0.1 (default) or "ipc" (Unix sockets; works in a sandbox without network). */
  transport?: Transport;
  /** Rewrites the kernel command last, e.g. to run it inside `bwrap` (see `KernelWrapper`). */
  wrapKernel?: KernelWrapper;
}

/** The verdict on one executed code cell. */
export interface CellReport {
  /** Position in `notebook.cells`. */
  index: number;
  /** nbformat cell id. */
  id: string;
  ok: boolean;
  /** Why it failed, in one line. */
  error?: string;
  durationMs: number;
  timedOut?: boolean;
  /** Set when the kernel died during this cell. */
  kernelDied?: boolean;
  /** Set when output beyond `maxOutputBytes` was dropped. */
  outputTruncated?: boolean;
}

/** The result of `runNotebook`. Cells after a stop (failure, timeout, death) have no report and no outputs. */
export interface RunResult {
  /** A copy of the input with outputs and execution counts filled in. */
  notebook: Notebook;
  /** True when every code cell ran and passed. */
  ok: boolean;
  /** Reports for the code cells that were executed, in order. */
  cells: CellReport[];
  /** The first failure, human readable (e.g. "cell 3 (id abc): Error: boom"). */
  error?: string;
  kernelDied?: boolean;
  durationMs: number;
  /** CPU time (user + system) the kernel process used, read from /proc before shutdown (Linux; absent elsewhere). */
  kernelCpuMs?: number;
}

/** CPU time (user + system, with reaped children) of process `pid` in ms from /proc/<pid>/stat, or undefined. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, utime..cstime are fields 14..17, in clock ticks (100 per second).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
    const ticks = (f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** The keys of `RunOptions` (all optional): any other key is a typo and an error. */
export const RUN_OPTION_KEYS: { readonly [K in keyof RunOptions]-?: true } = {
  kernelName: true,
  kernelSpec: true,
  cwd: true,
  env: true,
  cellTimeoutMs: true,
  timeoutMs: true,
  onCell: true,
  onProgress: true,
  allowErrors: true,
  memoryMb: true,
  maxOutputBytes: true,
  startTimeoutMs: true,
  uid: true,
  gid: true,
  maxFileBytes: true,
  transport: true,
  wrapKernel: true,
};

/** Checks `runNotebook`'s options: unknown keys are errors, limits and ids are numbers in range. Returns them unchanged. */
export function runOptions(o: RunOptions): RunOptions {
  const WHO = "runNotebook";
  checkConfig(WHO, o, RUN_OPTION_KEYS, { hint: "Pass e.g. { cellTimeoutMs: 60000 }.", keysWho: `${WHO} options` });
  for (const k of ["cellTimeoutMs", "timeoutMs", "memoryMb", "maxOutputBytes", "startTimeoutMs", "maxFileBytes"] as const) {
    const v = o[k];
    if (v !== undefined) checkNonNegative(WHO, k, v, "Leave it out for the default.");
  }
  for (const k of ["uid", "gid"] as const) {
    const v = o[k];
    if (v !== undefined) checkInteger(WHO, k, v, 0, "A numeric user or group id.");
  }
  return o;
}

/** Runs every non-empty code cell of `nb` in a fresh kernel; never throws for notebook-side failures. */
export async function runNotebook(nb: Notebook, opts: RunOptions = {}): Promise<RunResult> {
  runOptions(opts);
  const t0 = Date.now();
  const out = ensureCellIds(cloneNotebook(nb));
  const kernelName = opts.kernelName ?? out.metadata.kernelspec?.name ?? "tslab";
  const deadline = opts.timeoutMs !== undefined ? t0 + opts.timeoutMs : Infinity;
  const cells: CellReport[] = [];
  const total = out.cells.length;
  for (const c of out.cells) {
    if (c.cell_type === "code") {
      c.outputs = [];
      c.execution_count = null;
    }
  }
  const result = (extra: Partial<RunResult>): RunResult => {
    const firstBad = cells.find((c) => !c.ok);
    const error = extra.error ?? (firstBad ? `cell ${firstBad.index} (id ${firstBad.id}): ${firstBad.error ?? "failed"}` : undefined);
    const res: RunResult = { notebook: out, ok: error === undefined, cells, durationMs: Date.now() - t0 };
    if (error !== undefined) res.error = error;
    if (extra.kernelDied === true) res.kernelDied = true;
    return res;
  };

  let kernel: KernelClient;
  try {
    kernel = await KernelClient.start({
      kernelName,
      spec: opts.kernelSpec,
      cwd: opts.cwd,
      env: opts.env,
      memoryMb: opts.memoryMb,
      uid: opts.uid,
      gid: opts.gid,
      maxFileBytes: opts.maxFileBytes,
      transport: opts.transport,
      wrap: opts.wrapKernel,
      startTimeoutMs: Math.min(opts.startTimeoutMs ?? 90_000, Math.max(1000, deadline - Date.now())),
    });
  } catch (e) {
    return result({ error: `could not start kernel: ${e instanceof Error ? e.message : String(e)}` });
  }
  if (!out.metadata.kernelspec) {
    out.metadata.kernelspec = { name: kernel.spec.name, display_name: kernel.spec.displayName, language: kernel.spec.language };
  }

  let stopError: string | undefined;
  let died = false;
  let cpuMs: number | undefined;
  try {
    for (const [i, cell] of out.cells.entries()) {
      if (cell.cell_type !== "code" || joinSource(cell.source).trim() === "") continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        stopError = `notebook timed out after ${opts.timeoutMs} ms before cell ${i} (id ${cell.id})`;
        break;
      }
      const cellLimit = Math.min(opts.cellTimeoutMs ?? Infinity, left);
      const r: ExecuteOutcome = await kernel.execute(joinSource(cell.source), {
        timeoutMs: Number.isFinite(cellLimit) ? cellLimit : undefined,
        maxOutputBytes: opts.maxOutputBytes,
        ...(opts.onProgress ? { onProgress: (p: CellProgress) => opts.onProgress?.(i, p) } : {}),
      });
      cell.outputs = r.outputs;
      cell.execution_count = r.executionCount;
      const v = judgeExecution(r, kernel.deathReport());
      const report: CellReport = { index: i, id: cell.id, ok: v.ok, durationMs: r.durationMs };
      if (v.error !== undefined) report.error = v.error;
      if (v.timedOut) report.timedOut = true;
      if (v.kernelDied || kernel.dead) report.kernelDied = true;
      if (r.outputTruncated) report.outputTruncated = true;
      const kernelSentError = r.outputs.some((o) => o.output_type === "error");
      if (!v.ok && !(kernelSentError && !v.timedOut && !v.kernelDied)) {
        const ename = v.kernelDied ? "KernelDied" : v.timedOut ? "CellTimeout" : "CellFailed";
        r.outputs.push({ output_type: "error", ename, evalue: v.error ?? "failed", traceback: [] });
      }
      if (report.timedOut && cellLimit === left && opts.timeoutMs !== undefined && cellLimit < (opts.cellTimeoutMs ?? Infinity)) {
        report.error = `notebook timed out after ${opts.timeoutMs} ms during this cell`;
        stopError = `cell ${i} (id ${cell.id}): ${report.error}`;
      }
      cells.push(report);
      opts.onCell?.(i, total, report);
      if (kernel.dead) {
        died = true;
        break;
      }
      if (stopError !== undefined) break;
      if (!report.ok && opts.allowErrors !== true) break;
    }
  } finally {
    cpuMs = processCpuMs(kernel.pid);
    await kernel.shutdown();
  }
  const res = result({ error: stopError, kernelDied: died });
  if (cpuMs !== undefined) res.kernelCpuMs = cpuMs;
  return res;
}
