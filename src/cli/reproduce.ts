/**
 * `npm run reproduce`: runs every lab notebook (notebooks/*.ipynb, not notebooks/instructor/) headlessly in a
 * fresh tslab kernel, saves the executed notebooks to out/notebooks/, the figures to figures/<notebook>/ and the
 * key numbers to out/reports/, prints a summary, and exits non-zero on any failed cell or malformed figure.
 *
 * Usage: npm run reproduce -- [--quick] [--jobs N] [--out DIR] [--figures DIR] [--notebooks DIR] [--cell-timeout-s N]
 * [--timeout-s N] [name ...]. Names filter notebooks by substring (e.g. `02`). `--quick` (or METALAB_QUICK=1) shrinks
 * iteration counts. `--jobs N` runs N notebooks at once, each in its own kernel (default: 2, or 1 on one core).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import * as os from "os";
import * as path from "path";
import { runMode, type RunMode } from "../core/run-mode";
import { figureOutputProblems } from "../notebook/check-outputs";
import { formatReported } from "../display/report";
import { readNotebook, writeNotebook } from "../notebook/ipynb";
import { checkClaims, claimsOf, parseClaims } from "../notebook/claims";
import { runNotebook } from "../notebook/runner";
import { LiveBoard, LiveLine } from "./live-line";
import { estimateCostsMs, longestFirst, runPool, type PreviousRun } from "./schedule";

/** Parsed command line. */
export interface ReproduceOptions {
  readonly mode: RunMode;
  readonly outDir: string;
  readonly figuresDir: string;
  /** Per-cell limit (default 20 min full, 5 min quick: the slowest training cell must fit). */
  readonly cellTimeoutMs: number;
  /** Per-notebook limit (default 30 min full, 10 min quick). */
  readonly timeoutMs: number;
  readonly filters: readonly string[];
  /** Notebooks run at once, each in its own kernel (default min(2, cores): a notebook uses one core). */
  readonly jobs: number;
  /** Folder of the lab notebooks (default <root>/notebooks). */
  readonly notebooksDir: string;
}

/** What happened to one notebook. */
export interface NotebookSummary {
  readonly name: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly cellsRun: number;
  readonly codeCells: number;
  readonly error?: string;
  readonly figureProblems: readonly string[];
  /** Numbers quoted in the prose that this run's key numbers contradict (see notebook/claims.ts). */
  readonly claimProblems: readonly string[];
  readonly numbers: Readonly<Record<string, unknown>>;
  readonly executedPath: string;
  /** CPU time of the notebook's kernel (user + system), when the platform reports it. */
  readonly cpuMs?: number;
}

const USAGE = "Usage: npm run reproduce -- [--quick] [--jobs N] [--out DIR] [--figures DIR] [--notebooks DIR] [--cell-timeout-s N] [--timeout-s N] [notebook-name-filter ...]";

/** Default `--jobs`: both cores of a 2-core machine, one on a single core. */
export function defaultJobs(cores: number = os.availableParallelism()): number {
  return Math.max(1, Math.min(2, cores));
}

/** The project root: the nearest ancestor of this file with a package.json named metalab. */
export function projectRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "metalab") return dir;
    if (path.dirname(dir) === dir) throw new Error(`Cannot find the metalab project root above ${from}; run reproduce from a metalab checkout.`);
  }
}

/** Parses argv (without node and script). */
export function parseArgs(argv: readonly string[], root: string, env: NodeJS.ProcessEnv = process.env): ReproduceOptions {
  let mode = runMode(env);
  let outDir = path.join(root, "out");
  let figuresDir = env.METALAB_FIGURES_DIR ? path.resolve(env.METALAB_FIGURES_DIR) : path.join(root, "figures");
  let cellTimeoutS: number | null = null;
  let timeoutS: number | null = null;
  let jobs = defaultJobs();
  let notebooksDir = path.join(root, "notebooks");
  const filters: string[] = [];
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value. ${USAGE}`);
    return v;
  };
  const seconds = (v: string, flag: string): number => {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`${flag} must be a positive number of seconds, got "${v}".`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") mode = "quick";
    else if (a === "--full") mode = "full";
    else if (a === "--out") outDir = path.resolve(value(i++, a));
    else if (a === "--figures") figuresDir = path.resolve(value(i++, a));
    else if (a === "--cell-timeout-s") cellTimeoutS = seconds(value(i++, a), a);
    else if (a === "--timeout-s") timeoutS = seconds(value(i++, a), a);
    else if (a === "--notebooks") notebooksDir = path.resolve(value(i++, a));
    else if (a === "--jobs" || a === "-j") {
      const v = value(i++, a);
      jobs = Number(v);
      if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`${a} must be a whole number of notebooks to run at once (1 or more), got "${v}".`);
    }
    else if (a === "--help" || a === "-h") throw new Error(USAGE);
    else if (a.startsWith("--")) throw new Error(`Unknown option ${a}. ${USAGE}`);
    else filters.push(a);
  }
  const quick = mode === "quick";
  return {
    mode,
    outDir,
    figuresDir,
    cellTimeoutMs: 1000 * (cellTimeoutS ?? (quick ? 300 : 1200)),
    timeoutMs: 1000 * (timeoutS ?? (quick ? 600 : 1800)),
    filters,
    jobs,
    notebooksDir,
  };
}

/** Lab notebooks in run order: notebooks/*.ipynb (top level only, so notebooks/instructor/ is skipped). */
export function labNotebooks(root: string, filters: readonly string[] = [], dir: string = path.join(root, "notebooks")): string[] {
  if (!existsSync(dir)) throw new Error(`No notebooks folder at ${dir}.`);
  const all = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ipynb") && !e.name.startsWith("."))
    .map((e) => path.join(dir, e.name))
    .sort();
  const picked = filters.length ? all.filter((f) => filters.some((s) => path.basename(f).includes(s))) : all;
  if (picked.length === 0) throw new Error(`No notebook matches ${filters.join(", ")}; available: ${all.map((f) => path.basename(f)).join(", ")}.`);
  return picked;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Where one notebook's terminal progress goes (see `terminalReporter`). */
export interface NotebookReporter {
  /** A permanent log line. */
  log(line: string): void;
  /** The running cell's newest progress text. */
  progress(text: string): void;
  /** Removes the progress line (a cell ended; the notebook ended when `done`). */
  clear(done?: boolean): void;
  /** Prefix of this notebook's lines ("" when only one notebook runs at a time). */
  readonly prefix: string;
}

/** One notebook at a time (`--jobs 1`): the running cell's bar on one live line under the log, as before. */
function singleReporter(): NotebookReporter {
  const live = new LiveLine(process.stderr);
  return {
    prefix: "",
    log: (line) => process.stderr.write(`${line}\n`),
    progress: (text) => live.show(text),
    clear: () => live.clear(),
  };
}

/** Several notebooks at once: every line names its notebook; one live line per running notebook (see `LiveBoard`). */
function boardReporter(board: LiveBoard, name: string): NotebookReporter {
  board.open(name);
  return {
    prefix: `${name} `,
    log: (line) => board.log(line),
    progress: (text) => board.show(name, text),
    clear: (done) => (done ? board.close(name) : board.open(name)),
  };
}

/** A failed row for a notebook whose run threw (a bug or an unreadable file): the other notebooks carry on. */
function crashedRow(file: string, o: ReproduceOptions, e: unknown): NotebookSummary {
  const name = path.basename(file, ".ipynb");
  return {
    name,
    ok: false,
    durationMs: 0,
    cellsRun: 0,
    codeCells: 0,
    error: `reproduce could not run it: ${e instanceof Error ? e.message : String(e)}`,
    figureProblems: [],
    claimProblems: [],
    numbers: {},
    executedPath: path.join(o.outDir, "notebooks", `${name}.ipynb`),
  };
}

/** Runs one notebook and writes its executed copy and report. */
async function reproduceOne(file: string, o: ReproduceOptions, out: NotebookReporter): Promise<NotebookSummary> {
  const name = path.basename(file, ".ipynb");
  const reportFile = path.join(o.outDir, "reports", `${name}.json`);
  const executedPath = path.join(o.outDir, "notebooks", `${name}.ipynb`);
  rmSync(reportFile, { force: true });
  rmSync(path.join(o.figuresDir, name), { recursive: true, force: true });
  const nb = readNotebook(file);
  const codeCells = nb.cells.filter((c) => c.cell_type === "code").length;
  out.log(`▶ ${name} (${codeCells} code cells)`);
  let done = 0;
  const p = out.prefix;
  const result = await runNotebook(nb, {
    cwd: path.dirname(file),
    env: {
      METALAB_QUICK: o.mode === "quick" ? "1" : "0",
      METALAB_REPORT_FILE: reportFile,
      METALAB_FIGURES_DIR: o.figuresDir,
    },
    cellTimeoutMs: o.cellTimeoutMs,
    timeoutMs: o.timeoutMs,
    // The running cell's progress bar, under the per-cell lines (one redrawn line on a TTY, a line every 5 s in a log).
    onProgress: (index, bar) => out.progress(`  ${p}[${done + 1}/${codeCells}] cell ${index} ${bar.text}`),
    onCell: (index, _total, r) => {
      out.clear();
      done += 1;
      // `index` is the 0-based position among all cells, as in the runner's error messages.
      out.log(`  ${p}[${done}/${codeCells}] cell ${index} ${r.ok ? "ok" : "FAILED"} ${seconds(r.durationMs)}${r.error ? `: ${r.error}` : ""}`);
    },
  });
  out.clear(true);
  mkdirSync(path.dirname(executedPath), { recursive: true });
  writeNotebook(executedPath, result.notebook);
  const figureProblems = figureOutputProblems(result.notebook);
  const numbers = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, "utf8")) as Record<string, number | string | boolean | null>) : {};
  // Quoted numbers are checked only when every cell ran: a failed cell already fails the notebook.
  const claimProblems = result.ok ? checkClaims(claimsOf(nb.cells), numbers, o.mode) : [];
  const ok = result.ok && figureProblems.length === 0 && claimProblems.length === 0;
  if (p !== "") out.log(`■ ${name} ${ok ? "PASS" : "FAIL"} ${seconds(result.durationMs)}${result.kernelCpuMs !== undefined ? ` (kernel CPU ${seconds(result.kernelCpuMs)})` : ""}`);
  return {
    name,
    ok,
    durationMs: result.durationMs,
    ...(result.kernelCpuMs !== undefined ? { cpuMs: result.kernelCpuMs } : {}),
    cellsRun: result.cells.length,
    codeCells,
    ...(result.error !== undefined ? { error: result.error } : {}),
    figureProblems,
    claimProblems,
    numbers,
    executedPath,
  };
}

function formatNumber(v: unknown): string {
  return typeof v === "number" ? formatReported(v) : v === null ? "non-finite" : String(v);
}

/** The printed summary: one line per notebook, then its key numbers. */
export function formatSummary(mode: RunMode, rows: readonly NotebookSummary[], totalMs: number, jobs = 1): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  const cpu = rows.reduce((s, r) => s + (r.cpuMs ?? 0), 0);
  const head = `metalab reproduce — ${mode} mode, ${rows.length} notebook(s), ${seconds(totalMs)} total`;
  const lines = [`${head}${jobs > 1 ? `, ${jobs} at a time` : ""}${cpu > 0 ? `, kernel CPU ${seconds(cpu)}` : ""}`];
  for (const r of rows) {
    const cpuText = r.cpuMs !== undefined ? `  cpu ${seconds(r.cpuMs).padStart(7)}` : "";
    lines.push(`${r.ok ? "PASS" : "FAIL"}  ${r.name.padEnd(width)}  ${seconds(r.durationMs).padStart(7)}  ${r.cellsRun}/${r.codeCells} cells${cpuText}`);
    if (r.error) lines.push(`      error: ${r.error}`);
    for (const p of r.figureProblems) lines.push(`      figure: ${p}`);
    for (const p of r.claimProblems) lines.push(`      claim: ${p}`);
    for (const [k, v] of Object.entries(r.numbers)) lines.push(`      ${k} = ${formatNumber(v)}`);
  }
  const failed = rows.filter((r) => !r.ok).length;
  lines.push(failed ? `${failed} notebook(s) failed.` : "All notebooks passed.");
  return lines.join("\n");
}

/** The notebooks of the previous run's out/summary.json in the same mode (for the order of `--jobs`), else none. */
export function previousRuns(outDir: string, mode: RunMode): PreviousRun[] {
  try {
    const s = JSON.parse(readFileSync(path.join(outDir, "summary.json"), "utf8")) as { mode?: string; notebooks?: PreviousRun[] };
    return s.mode === mode && Array.isArray(s.notebooks) ? s.notebooks.filter((r) => r.ok !== false) : [];
  } catch {
    return [];
  }
}

/** Documents outside the notebooks whose quoted numbers name `notebook:key` claims. */
export const CLAIM_DOCUMENTS = ["README.md", "notebooks/README.md"] as const;

/**
 * Problems of the claims in README.md and notebooks/README.md (keys `notebook:key`) against the notebooks this run
 * executed successfully; claims about notebooks that did not run (filtered out, or failed) are skipped.
 */
export function documentClaimProblems(root: string, rows: readonly NotebookSummary[], mode: RunMode): string[] {
  const ran = new Map(rows.filter((r) => r.ok).map((r) => [r.name, r.numbers]));
  const out: string[] = [];
  for (const doc of CLAIM_DOCUMENTS) {
    const file = path.join(root, doc);
    if (!existsSync(file)) continue;
    const claims = parseClaims(readFileSync(file, "utf8")).filter((c) => ran.has(c.key.split(":")[0]!));
    const lookup = (key: string): unknown => {
      const [nb, k] = key.split(":");
      return k === undefined ? undefined : (ran.get(nb!) as Record<string, unknown> | undefined)?.[k];
    };
    for (const p of checkClaims(claims, lookup, mode)) out.push(`${doc} ${p.replace(/^cell 0 /, "")}`);
  }
  return out;
}

/** Runs the reproduce job; returns the process exit code. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const root = projectRoot();
  let o: ReproduceOptions;
  try {
    o = parseArgs(argv, root);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  if (!existsSync(path.join(root, "node_modules", "metalab", "package.json"))) {
    process.stderr.write("Notebooks import \"metalab\", but node_modules/metalab is missing. Run `node scripts/link-self.cjs` (npm install does it).\n");
    return 2;
  }
  let files: string[];
  try {
    files = labNotebooks(root, o.filters, o.notebooksDir);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const jobs = Math.min(o.jobs, files.length);
  const order = jobs > 1 ? longestFirst(estimateCostsMs(files, previousRuns(o.outDir, o.mode))) : files.map((_, i) => i);
  if (jobs > 1) process.stderr.write(`reproduce: ${files.length} notebooks, ${jobs} at a time, longest first: ${order.map((i) => path.basename(files[i]!, ".ipynb")).join(", ")}\n`);
  const board = new LiveBoard(process.stderr);
  const t0 = Date.now();
  const rows = await runPool(files, jobs, order, (f) => {
    const reporter = jobs > 1 ? boardReporter(board, path.basename(f, ".ipynb")) : singleReporter();
    return reproduceOne(f, o, reporter).catch((e: unknown) => {
      reporter.clear(true);
      return crashedRow(f, o, e);
    });
  });
  const totalMs = Date.now() - t0;
  const docProblems = documentClaimProblems(root, rows, o.mode);
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(path.join(o.outDir, "summary.json"), JSON.stringify({ mode: o.mode, jobs, totalMs, notebooks: rows, documentClaimProblems: docProblems }, null, 2) + "\n");
  process.stdout.write(formatSummary(o.mode, rows, totalMs, jobs) + "\n");
  for (const p of docProblems) process.stdout.write(`claim: ${p}\n`);
  return rows.every((r) => r.ok) && docProblems.length === 0 ? 0 : 1;
}

/** Ctrl-C or SIGTERM ends the run through `process.exit`, whose hook kills every running kernel (each has its own process group). */
export function exitOnSignals(): void {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nreproduce: ${sig}; stopping the running kernel(s).\n`);
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

if (require.main === module) {
  exitOnSignals();
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`reproduce failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
