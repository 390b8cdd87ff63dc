/**
 * `npm run reproduce`: runs every lab notebook (notebooks/*.ipynb, not notebooks/instructor/) headlessly in a
 * fresh tslab kernel, saves the executed notebooks to out/notebooks/, the figures to figures/<notebook>/ and the
 * key numbers to out/reports/, prints a summary, and exits non-zero on any failed cell or malformed figure.
 *
 * Usage: npm run reproduce -- [--quick] [--out DIR] [--figures DIR] [--cell-timeout-s N] [--timeout-s N] [name ...]
 * Names filter notebooks by substring (e.g. `02`). `--quick` (or METALAB_QUICK=1) shrinks iteration counts.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { runMode, type RunMode } from "../core/run-mode";
import { figureOutputProblems } from "../notebook/check-outputs";
import { formatReported } from "../display/report";
import { readNotebook, writeNotebook } from "../notebook/ipynb";
import { checkClaims, claimsOf, parseClaims } from "../notebook/claims";
import { runNotebook } from "../notebook/runner";
import { LiveLine } from "./live-line";

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
}

const USAGE = "Usage: npm run reproduce -- [--quick] [--out DIR] [--figures DIR] [--cell-timeout-s N] [--timeout-s N] [notebook-name-filter ...]";

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
  };
}

/** Lab notebooks in run order: notebooks/*.ipynb (top level only, so notebooks/instructor/ is skipped). */
export function labNotebooks(root: string, filters: readonly string[] = []): string[] {
  const dir = path.join(root, "notebooks");
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

/** Runs one notebook and writes its executed copy and report. */
async function reproduceOne(file: string, o: ReproduceOptions): Promise<NotebookSummary> {
  const name = path.basename(file, ".ipynb");
  const reportFile = path.join(o.outDir, "reports", `${name}.json`);
  const executedPath = path.join(o.outDir, "notebooks", `${name}.ipynb`);
  rmSync(reportFile, { force: true });
  rmSync(path.join(o.figuresDir, name), { recursive: true, force: true });
  const nb = readNotebook(file);
  const codeCells = nb.cells.filter((c) => c.cell_type === "code").length;
  process.stderr.write(`▶ ${name} (${codeCells} code cells)\n`);
  let done = 0;
  const live = new LiveLine(process.stderr);
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
    onProgress: (index, p) => live.show(`  [${done + 1}/${codeCells}] cell ${index} ${p.text}`),
    onCell: (index, _total, r) => {
      live.clear();
      done += 1;
      // `index` is the 0-based position among all cells, as in the runner's error messages.
      process.stderr.write(`  [${done}/${codeCells}] cell ${index} ${r.ok ? "ok" : "FAILED"} ${seconds(r.durationMs)}${r.error ? `: ${r.error}` : ""}\n`);
    },
  });
  mkdirSync(path.dirname(executedPath), { recursive: true });
  writeNotebook(executedPath, result.notebook);
  const figureProblems = figureOutputProblems(result.notebook);
  const numbers = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, "utf8")) as Record<string, number | string | boolean | null>) : {};
  // Quoted numbers are checked only when every cell ran: a failed cell already fails the notebook.
  const claimProblems = result.ok ? checkClaims(claimsOf(nb.cells), numbers, o.mode) : [];
  return {
    name,
    ok: result.ok && figureProblems.length === 0 && claimProblems.length === 0,
    durationMs: result.durationMs,
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
export function formatSummary(mode: RunMode, rows: readonly NotebookSummary[], totalMs: number): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  const lines = [`metalab reproduce — ${mode} mode, ${rows.length} notebook(s), ${seconds(totalMs)} total`];
  for (const r of rows) {
    lines.push(`${r.ok ? "PASS" : "FAIL"}  ${r.name.padEnd(width)}  ${seconds(r.durationMs).padStart(7)}  ${r.cellsRun}/${r.codeCells} cells`);
    if (r.error) lines.push(`      error: ${r.error}`);
    for (const p of r.figureProblems) lines.push(`      figure: ${p}`);
    for (const p of r.claimProblems) lines.push(`      claim: ${p}`);
    for (const [k, v] of Object.entries(r.numbers)) lines.push(`      ${k} = ${formatNumber(v)}`);
  }
  const failed = rows.filter((r) => !r.ok).length;
  lines.push(failed ? `${failed} notebook(s) failed.` : "All notebooks passed.");
  return lines.join("\n");
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
  const files = labNotebooks(root, o.filters);
  const t0 = Date.now();
  const rows: NotebookSummary[] = [];
  for (const f of files) rows.push(await reproduceOne(f, o));
  const totalMs = Date.now() - t0;
  const docProblems = documentClaimProblems(root, rows, o.mode);
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(path.join(o.outDir, "summary.json"), JSON.stringify({ mode: o.mode, totalMs, notebooks: rows, documentClaimProblems: docProblems }, null, 2) + "\n");
  process.stdout.write(formatSummary(o.mode, rows, totalMs) + "\n");
  for (const p of docProblems) process.stdout.write(`claim: ${p}\n`);
  return rows.every((r) => r.ok) && docProblems.length === 0 ? 0 : 1;
}

/** Ctrl-C or SIGTERM ends the run through `process.exit`, whose hook kills the running kernel (it has its own process group). */
export function exitOnSignals(): void {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nreproduce: ${sig}; stopping the running kernel.\n`);
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
