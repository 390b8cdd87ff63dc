/**
 * Grades one submission in its own fresh kernel. Scores come only from the grader's view of each official test cell
 * (execute_reply status plus `judgeExecution`), never from text the student's code prints.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { joinSource, parseNotebook, type Notebook } from "../notebook/ipynb";
import { runNotebook, type RunResult } from "../notebook/runner";
import type { Assignment } from "./assignment";
import { maskHiddenTests } from "./markers";
import { mergeSubmission } from "./merge";

/** Overall outcome for one student. */
export type SubmissionStatus = "graded" | "invalid" | "missing" | "timeout" | "kernel_died" | "error";

/** Secondary findings that do not stop grading. */
export type SubmissionFlag = "tampered" | "wrong_kernel" | "missing_cells" | "output_truncated";

/** The result of one test cell. */
export interface TestResult {
  gradeId: string;
  score: number;
  maxScore: number;
  ok: boolean;
  /** False when the cell never ran (kernel died or timed out earlier). */
  ran: boolean;
  hidden: boolean;
  /** Why it failed, one line. */
  error?: string;
  /** The cell's text output, truncated. */
  output: string;
}

/** Everything recorded for one student. */
export interface StudentResult {
  student: string;
  /** Submission path as given. */
  file: string;
  status: SubmissionStatus;
  flags: SubmissionFlag[];
  score: number;
  maxScore: number;
  tests: TestResult[];
  notes: string[];
  /** One-line summary for the student and the terminal. */
  message: string;
  durationMs: number;
  gradedAt: string;
}

/** Limits and locations for grading. */
export interface GradeOptions {
  /** Per-cell wall-clock limit. Default 30 s. */
  cellTimeoutMs?: number;
  /** Whole-notebook wall-clock limit, kernel start included. Default 300 s. */
  timeoutMs?: number;
  /** Kernel V8 heap limit in MB. Default 2048. */
  memoryMb?: number;
  /** Output kept per cell, in bytes. Default 100 kB. */
  maxOutputBytes?: number;
  /** Scratch folder for kernels' working directories (never inside a submission folder). */
  workRoot: string;
  /** node_modules the kernel resolves imports from (linked into `workRoot`). Default: the one holding tslab. */
  nodeModulesDir?: string;
  /** Run kernels as this unprivileged user (uid/gid; the grader must be root), so student code cannot read grader files. */
  kernelUser?: { uid: number; gid: number };
  /** Largest file student code may write, in MB (RLIMIT_FSIZE via prlimit); 0 turns the limit off. Default 100. */
  maxFileMb?: number;
}

/** Defaults, each with its reason. */
export const GRADE_DEFAULTS = {
  cellTimeoutMs: 30_000, // Lab exercises run in seconds; 30 s catches infinite loops without punishing slow machines.
  timeoutMs: 300_000, // Five minutes bounds one student's share of a batch.
  memoryMb: 2048, // tslab's compiler plus tfjs need ~400 MB; 2 GB stops runaway allocations before the machine swaps.
  maxOutputBytes: 100_000, // 100 kB per cell is far more than any legitimate output and keeps feedback files small.
  maxFileMb: 100, // Lab exercises write no files; 100 MB stops a student filling the grader's disk.
} as const;

const OUTPUT_CHARS = 2000;
/** Larger notebooks are rejected unread: lab notebooks with outputs are a few MB at most. */
const MAX_SUBMISSION_BYTES = 50_000_000;

/** The node_modules folder that holds tslab (and, after link-self, metalab). */
export function defaultNodeModules(): string {
  return path.dirname(path.dirname(require.resolve("tslab/package.json")));
}

function cellText(nb: Notebook, index: number): string {
  const c = nb.cells[index];
  if (c === undefined || c.cell_type !== "code") return "";
  const t = c.outputs
    .map((o) => (o.output_type === "stream" ? joinSource(o.text) : o.output_type === "error" ? `${o.ename}: ${o.evalue}\n` : ""))
    .join("");
  return t.length > OUTPUT_CHARS ? `${t.slice(0, OUTPUT_CHARS)}\n[… ${t.length - OUTPUT_CHARS} more characters]` : t;
}

function emptyTests(a: Assignment, why: string): TestResult[] {
  return a.tests.map((t) => ({ gradeId: t.gradeId, score: 0, maxScore: t.points, ok: false, ran: false, hidden: t.hasHidden, error: why, output: "" }));
}

/** Prepares `<workRoot>/node_modules` → modules, and an empty `<workRoot>/<student>` scratch folder. */
function scratchDir(opts: GradeOptions, student: string): string {
  fs.mkdirSync(opts.workRoot, { recursive: true });
  if (opts.kernelUser !== undefined) fs.chmodSync(opts.workRoot, 0o755); // The kernel user must reach its folder.
  const link = path.join(opts.workRoot, "node_modules");
  if (!fs.existsSync(link)) {
    try {
      fs.symlinkSync(path.resolve(opts.nodeModulesDir ?? defaultNodeModules()), link, "dir");
    } catch (e) {
      if (!fs.existsSync(link)) throw e; // Another worker linked it first otherwise.
    }
  }
  const dir = path.join(opts.workRoot, student);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  if (opts.kernelUser !== undefined) fs.chownSync(dir, opts.kernelUser.uid, opts.kernelUser.gid);
  return dir;
}

/** Grades one submission file; never throws for problems with the submission. Returns the result and graded notebook. */
export async function gradeSubmission(
  a: Assignment,
  file: string,
  student: string,
  opts: GradeOptions,
): Promise<{ result: StudentResult; graded?: Notebook }> {
  const t0 = Date.now();
  const base = { student, file, maxScore: a.totalPoints, gradedAt: new Date().toISOString() };
  const finish = (r: Omit<StudentResult, keyof typeof base | "durationMs">): StudentResult => ({ ...base, ...r, durationMs: Date.now() - t0 });

  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_SUBMISSION_BYTES) {
      const why = `the submission is ${(size / 1e6).toFixed(0)} MB, over the ${MAX_SUBMISSION_BYTES / 1e6} MB limit; clear its outputs (Kernel > Restart & Clear Output) and resubmit`;
      return { result: finish({ status: "invalid", flags: [], score: 0, tests: emptyTests(a, "not graded: submission too large"), notes: [why], message: why }) };
    }
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const why = `cannot read the submission: ${e instanceof Error ? e.message : String(e)}`;
    return { result: finish({ status: "missing", flags: [], score: 0, tests: emptyTests(a, why), notes: [why], message: why }) };
  }
  let sub: Notebook;
  try {
    sub = parseNotebook(text, path.basename(file));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { result: finish({ status: "invalid", flags: [], score: 0, tests: emptyTests(a, "not graded: invalid notebook"), notes: [why], message: why }) };
  }

  const merged = mergeSubmission(a, sub);
  const flags: SubmissionFlag[] = [];
  const notes = [...merged.notes];
  const theirKernel = sub.metadata.kernelspec?.name;
  if (theirKernel !== undefined && theirKernel !== a.kernelName) {
    flags.push("wrong_kernel");
    notes.push(`the notebook was saved with kernel "${theirKernel}"; it was graded with "${a.kernelName}"`);
  }
  if (merged.tampered.length > 0) flags.push("tampered");
  if (merged.missing.length > 0) flags.push("missing_cells");

  const maxFileMb = opts.maxFileMb ?? GRADE_DEFAULTS.maxFileMb;
  const cwd = scratchDir(opts, student);
  let run: RunResult;
  try {
    run = await runNotebook(merged.notebook, {
      kernelName: a.kernelName,
      cwd,
      allowErrors: true,
      cellTimeoutMs: opts.cellTimeoutMs ?? GRADE_DEFAULTS.cellTimeoutMs,
      timeoutMs: opts.timeoutMs ?? GRADE_DEFAULTS.timeoutMs,
      memoryMb: opts.memoryMb ?? GRADE_DEFAULTS.memoryMb,
      maxOutputBytes: opts.maxOutputBytes ?? GRADE_DEFAULTS.maxOutputBytes,
      uid: opts.kernelUser?.uid,
      gid: opts.kernelUser?.gid,
      maxFileBytes: maxFileMb > 0 ? maxFileMb * 1e6 : undefined,
    });
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  if (run.cells.length === 0 && run.error !== undefined && run.error.startsWith("could not start kernel")) {
    return { result: finish({ status: "error", flags, score: 0, tests: emptyTests(a, run.error), notes: [...notes, run.error], message: run.error }) };
  }
  if (run.cells.some((c) => c.outputTruncated)) flags.push("output_truncated");

  const reports = new Map(run.cells.map((c) => [c.index, c]));
  const stop = run.cells.find((c) => c.kernelDied || c.timedOut);
  const tests: TestResult[] = a.tests.map((t) => {
    const idx = merged.testIndex.get(t.gradeId);
    const rep = idx === undefined ? undefined : reports.get(idx);
    const ok = rep !== undefined && rep.ok;
    const res: TestResult = {
      gradeId: t.gradeId,
      score: ok ? t.points : 0,
      maxScore: t.points,
      ok,
      ran: rep !== undefined,
      hidden: t.hasHidden,
      output: idx === undefined ? "" : cellText(run.notebook, idx),
    };
    if (!ok) {
      res.error =
        rep?.error ??
        (stop !== undefined ? `not run: ${stop.timedOut ? "a cell timed out" : "the kernel died"} earlier (cell ${stop.index})` : run.error ?? "not run");
    }
    return res;
  });
  const score = tests.reduce((s, t) => s + t.score, 0);

  let status: SubmissionStatus = "graded";
  let message = `${score}/${a.totalPoints} points`;
  const timedOut = run.cells.find((c) => c.timedOut);
  if (timedOut !== undefined) {
    status = "timeout";
    message += `; cell ${timedOut.index} ran too long: ${timedOut.error ?? "timed out"}`;
  } else if (run.kernelDied === true) {
    status = "kernel_died";
    const died = run.cells.find((c) => c.kernelDied);
    message += `; the kernel died in cell ${died?.index ?? "?"}: ${died?.error ?? run.error ?? ""}`;
  }
  if (flags.length > 0) message += ` [${flags.join(", ")}]`;

  // The feedback notebook never shows hidden tests.
  const graded = run.notebook;
  for (const t of a.tests) {
    const idx = merged.testIndex.get(t.gradeId);
    const c = idx === undefined ? undefined : graded.cells[idx];
    if (c !== undefined && t.hasHidden) c.source = maskHiddenTests(joinSource(c.source));
  }
  graded.metadata.metalab_grade = { student, score, max_score: a.totalPoints, status, flags };
  return { result: finish({ status, flags, score, tests, notes, message }), graded };
}
