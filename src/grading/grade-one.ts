/**
 * Grades one submission in its own fresh kernel. Value checks are decided here, in the grader's process, against the
 * reference (the instructor solution's values); throw-style cells are decided by the kernel's reply and reported as
 * in-kernel (forgeable). Nothing the student's kernel printed after hidden tests reached it is shown to the student.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkConfig, checkFunction, checkInteger, checkNonNegative, checkObject, checkOneOf, checkPositive, checkString } from "../core/validate";
import { joinSource, parseNotebook, type Cell, type Notebook, type Output } from "../notebook/ipynb";
import type { CellReport, RunResult } from "../notebook/runner";
import type { Assignment } from "./assignment";
import { bannedCalls, type BannedFinding } from "./banned";
import { CHECK_MIME, jsonDepth } from "./check-value";
import { scoreChecks, sentChecks, type CheckResult, type Reference, type ReferenceTest } from "./checks";
import { graderVersion, sha256 } from "./hashes";
import { defaultNodeModules, gradingRunner, type KernelLimits, type SandboxKind } from "./kernel-run";
import { HIDDEN_TESTS_NOTE, SOLUTION_STUB, maskHiddenTests } from "./markers";
import { mergeSubmission, type MergedSubmission } from "./merge";
import { buildReference, ReferenceBuildError, type RunKernel } from "./reference";

export { defaultNodeModules } from "./kernel-run";

/** Overall outcome for one student. */
export type SubmissionStatus = "graded" | "invalid" | "missing" | "timeout" | "kernel_died" | "error";

/** Secondary findings that do not stop grading. */
export type SubmissionFlag = "tampered" | "wrong_kernel" | "missing_cells" | "output_truncated" | "banned_call";

export type { SandboxKind } from "./kernel-run";

/** The result of one test cell. */
export interface TestResult {
  gradeId: string;
  score: number;
  maxScore: number;
  ok: boolean;
  /** False when the cell never ran (kernel died or timed out earlier). */
  ran: boolean;
  hidden: boolean;
  /** "checks": decided by the grader; "in-kernel": decided by the kernel (throw-style, forgeable). */
  mode: "checks" | "in-kernel";
  /** Per-check outcomes ("checks" mode). */
  checks?: CheckResult[];
  /** Why it failed, one line. */
  error?: string;
  /** The cell's text output, truncated; empty for cells with hidden tests and cells run after them. */
  output: string;
}

/** The hashes a result was produced from (`--resume` trusts a result only when all match). */
export interface ResultHashes {
  assignment: string;
  submission: string;
  grader: string;
}

/** Everything recorded for one student. */
export interface StudentResult {
  student: string;
  /** The submission: its path in the submissions folder (`ann.ipynb`, `bob/hw.ipynb`), or as given to grade-one. */
  file: string;
  status: SubmissionStatus;
  flags: SubmissionFlag[];
  score: number;
  maxScore: number;
  tests: TestResult[];
  notes: string[];
  /** One-line summary for the student and the terminal. */
  message: string;
  /** Wall time of this grading (kept in timing.json, not result.json, so results of reruns are byte-identical). */
  durationMs: number;
  gradedAt: string;
  /** How the kernel was isolated. */
  sandbox: SandboxKind;
  hashes: ResultHashes;
}

/** Limits and locations for grading. */
export interface GradeOptions {
  /** Per-cell wall-clock limit. Default 30 s. */
  cellTimeoutMs?: number;
  /** Whole-notebook wall-clock limit, kernel start included. Default 300 s. */
  timeoutMs?: number;
  /** Memory limit in MB. Default 2048. */
  memoryMb?: number;
  /** Output kept per cell, in bytes. Default 100 kB. */
  maxOutputBytes?: number;
  /** Scratch folder for kernels' working directories (never inside a submission folder). */
  workRoot: string;
  /** node_modules the kernel resolves imports from. Default: the one holding tslab. */
  nodeModulesDir?: string;
  /** Run kernels as this unprivileged user (uid/gid; the grader must be root). */
  kernelUser?: { uid: number; gid: number };
  /** Largest file student code may write, in MB; 0 turns the limit off. Default 100. */
  maxFileMb?: number;
  /** The instructor solution's values, or a function giving them when first needed; built (two extra kernel runs) when absent. */
  reference?: Reference | (() => Promise<Reference>);
  /** Runs a notebook in a fresh kernel; default: `gradingRunner` with `sandbox`. */
  runKernel?: RunKernel;
  /** How kernels are isolated (recorded in every result). Default "bubblewrap" (an error when it cannot run), "none" with a `runKernel` of your own. */
  sandbox?: SandboxKind;
  /** Most processes (threads) a sandboxed submission may run. Default 64. */
  maxProcs?: number;
  /** What the result records as the submission's file; default the path given. */
  fileLabel?: string;
}

/** Defaults, each with its reason. */
export const GRADE_DEFAULTS = {
  cellTimeoutMs: 30_000, // Lab exercises run in seconds; 30 s catches infinite loops without punishing slow machines.
  timeoutMs: 300_000, // Five minutes bounds one student's share of a batch.
  memoryMb: 2048, // tslab's compiler plus tfjs need ~400 MB; 2 GB stops runaway allocations before the machine swaps.
  maxOutputBytes: 100_000, // 100 kB per cell is far more than any legitimate output and keeps feedback files small.
  maxFileMb: 100, // Lab exercises write no files; 100 MB stops a student filling the grader's disk.
} as const;

/** The limits of `opts` with defaults filled in. */
export function gradeLimits(opts: Partial<KernelLimits>): KernelLimits {
  return {
    cellTimeoutMs: opts.cellTimeoutMs ?? GRADE_DEFAULTS.cellTimeoutMs,
    timeoutMs: opts.timeoutMs ?? GRADE_DEFAULTS.timeoutMs,
    memoryMb: opts.memoryMb ?? GRADE_DEFAULTS.memoryMb,
    maxOutputBytes: opts.maxOutputBytes ?? GRADE_DEFAULTS.maxOutputBytes,
    maxFileMb: opts.maxFileMb ?? GRADE_DEFAULTS.maxFileMb,
  };
}

/** The keys of `GradeOptions`: any other key (a typo, or a batch's own `jobs`) is an error. */
export const GRADE_OPTION_KEYS: { readonly [K in keyof GradeOptions]-?: true } = {
  cellTimeoutMs: true,
  timeoutMs: true,
  memoryMb: true,
  maxOutputBytes: true,
  workRoot: true,
  nodeModulesDir: true,
  kernelUser: true,
  maxFileMb: true,
  reference: true,
  runKernel: true,
  sandbox: true,
  maxProcs: true,
  fileLabel: true,
};

/** The keys of `KernelLimits` (what `checkGradeLimits` checks), for a nested limits object such as `assign`'s `run`. */
export const GRADE_LIMIT_KEYS: { readonly [K in keyof KernelLimits]-?: true } = {
  cellTimeoutMs: true,
  timeoutMs: true,
  memoryMb: true,
  maxOutputBytes: true,
  maxFileMb: true,
};

/** The ways kernels may be isolated. */
const SANDBOX_KINDS: readonly SandboxKind[] = ["bubblewrap", "none"];

/** Checks the limits of `o` that are set: timeouts and memory positive, output bytes and processes integers >= 1, file MB >= 0. */
export function checkGradeLimits(who: string, o: Partial<KernelLimits> & { readonly maxProcs?: number }): void {
  const hint = "Leave it out for the default.";
  if (o.cellTimeoutMs !== undefined) checkPositive(who, "cellTimeoutMs", o.cellTimeoutMs, `Milliseconds per cell, e.g. 60000; ${hint}`);
  if (o.timeoutMs !== undefined) checkPositive(who, "timeoutMs", o.timeoutMs, `Milliseconds for the whole notebook, e.g. 600000; ${hint}`);
  if (o.memoryMb !== undefined) checkPositive(who, "memoryMb", o.memoryMb, `Megabytes, e.g. 2048; ${hint}`);
  if (o.maxOutputBytes !== undefined) checkInteger(who, "maxOutputBytes", o.maxOutputBytes, 1, `Bytes kept per cell, e.g. 100000; ${hint}`);
  if (o.maxFileMb !== undefined) checkNonNegative(who, "maxFileMb", o.maxFileMb, `Megabytes, e.g. 100; 0 turns the limit off.`);
  if (o.maxProcs !== undefined) checkInteger(who, "maxProcs", o.maxProcs, 1, hint);
}

/** Checks every grade field of `o` that is set (its keys are checked by the caller): limits, paths, user, reference, runner, sandbox. */
export function checkGradeFields(who: string, o: Partial<GradeOptions>): void {
  checkGradeLimits(who, o);
  for (const k of ["workRoot", "nodeModulesDir", "fileLabel"] as const) {
    const v = o[k];
    if (v !== undefined) checkString(who, k, v, "Pass a path.");
  }
  if (o.kernelUser !== undefined) {
    checkObject(who, "kernelUser", o.kernelUser, "Pass { uid, gid } of an unprivileged user.");
    checkInteger(who, "kernelUser.uid", o.kernelUser.uid, 0, "A numeric user id.");
    checkInteger(who, "kernelUser.gid", o.kernelUser.gid, 0, "A numeric group id.");
  }
  if (o.reference !== undefined && typeof o.reference !== "function") checkObject(who, "reference", o.reference, "Pass a Reference (from buildReference) or a function giving one.");
  if (o.runKernel !== undefined) checkFunction(who, "runKernel", o.runKernel, "Pass a function (notebook, options) => Promise<RunResult>, or leave it out for the sandboxed runner.");
  if (o.sandbox !== undefined) checkOneOf(who, "sandbox", o.sandbox, SANDBOX_KINDS);
}

/** Checks `gradeSubmission`'s options: unknown keys are errors listing the known ones, `workRoot` is required, every field in range. Returns them unchanged. */
export function gradeOptions(o: GradeOptions): GradeOptions {
  const WHO = "gradeSubmission";
  checkConfig(WHO, o, GRADE_OPTION_KEYS, { hint: "Pass e.g. { workRoot: \"/tmp/grading\", cellTimeoutMs: 60000 }.", keysWho: `${WHO} options` });
  checkString(WHO, "workRoot", o.workRoot, "Pass a scratch folder outside every submission folder.");
  checkGradeFields(WHO, o);
  return o;
}

/** The grade fields of `o` (a batch's options, say), without its other keys, so `gradeSubmission` gets only what it knows. */
export function pickGradeOptions(o: Partial<GradeOptions>): Partial<GradeOptions> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(GRADE_OPTION_KEYS) as (keyof GradeOptions)[]) if (k in o) out[k] = o[k];
  return out as Partial<GradeOptions>;
}

const OUTPUT_CHARS = 2000;
/** Larger notebooks are rejected unread: lab notebooks with outputs are a few MB at most. */
export const MAX_SUBMISSION_BYTES = 50_000_000;
/** Outputs nested deeper than this are dropped from the graded notebook (serialising them could overflow the stack). */
const MAX_OUTPUT_DEPTH = 64;
/** Total output kept in a graded notebook. */
const MAX_NOTEBOOK_OUTPUT_BYTES = 5_000_000;

const TAINTED_NOTE =
  "[metalab: output not shown: this cell ran after hidden tests were sent to the kernel, so its output could reveal them. Run your notebook to see it.]\n";

/** How `opts` isolates kernels. */
export function sandboxOf(opts: Pick<GradeOptions, "sandbox" | "runKernel">): SandboxKind {
  return opts.sandbox ?? (opts.runKernel !== undefined ? "none" : "bubblewrap");
}

/** The runner `gradeSubmission` uses when none is given. */
export function runnerFor(a: Assignment, opts: GradeOptions): RunKernel {
  return (
    opts.runKernel ??
    gradingRunner({
      ...gradeLimits(opts),
      kernelName: a.kernelName,
      workRoot: opts.workRoot,
      nodeModulesDir: opts.nodeModulesDir ?? defaultNodeModules(),
      kernelUser: opts.kernelUser,
      sandbox: sandboxOf(opts),
      maxProcs: opts.maxProcs,
    })
  );
}

/** The reference for `a`, built with the same runner and limits when not given. */
export async function referenceFor(a: Assignment, opts: GradeOptions): Promise<Reference> {
  if (typeof opts.reference === "function") return opts.reference();
  return opts.reference ?? buildReference(a, runnerFor(a, opts), { assignmentHash: a.hash, grader: graderVersion() });
}

function knownReference(opts: GradeOptions): Reference | undefined {
  return typeof opts.reference === "function" ? undefined : opts.reference;
}

/** What reading a submission file gave. */
export type ReadOutcome =
  | { ok: true; text: string; hash: string }
  | { ok: false; status: "invalid" | "missing"; why: string; hash: string };

/**
 * Reads a submission without following symlinks (O_NOFOLLOW) and without blocking on FIFOs (O_NONBLOCK), and only
 * when it is a regular file of at most `MAX_SUBMISSION_BYTES`.
 */
export function readSubmissionFile(file: string): ReadOutcome {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    return { ok: false, status: "missing", why: `cannot read the submission: ${e instanceof Error ? e.message : String(e)}`, hash: "" };
  }
  const kind = st.isSymbolicLink() ? "a symbolic link" : st.isFIFO() ? "a FIFO (named pipe)" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isSocket() ? "a socket" : st.isDirectory() ? "a folder" : null;
  if (kind !== null) {
    const extra = st.isSymbolicLink() ? " (links are not followed: upload the notebook file itself)" : "";
    return { ok: false, status: "invalid", why: `the submission is ${kind}, not a regular file${extra}`, hash: "" };
  }
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, status: "invalid", why: `cannot open the submission: ${e instanceof Error ? e.message : String(e)}`, hash: "" };
  }
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile()) return { ok: false, status: "invalid", why: "the submission is not a regular file", hash: "" };
    if (fst.size > MAX_SUBMISSION_BYTES) {
      return {
        ok: false,
        status: "invalid",
        why: `the submission is ${(fst.size / 1e6).toFixed(0)} MB, over the ${MAX_SUBMISSION_BYTES / 1e6} MB limit; clear its outputs (Kernel > Restart & Clear Output) and resubmit`,
        hash: "",
      };
    }
    const buf = Buffer.alloc(fst.size);
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    const bytes = buf.subarray(0, off);
    return { ok: true, text: bytes.toString("utf8"), hash: sha256(bytes) };
  } finally {
    fs.closeSync(fd);
  }
}

function cellText(cell: Cell | undefined): string {
  if (cell === undefined || cell.cell_type !== "code") return "";
  const t = cell.outputs
    .map((o) => (o.output_type === "stream" ? joinSource(o.text) : o.output_type === "error" ? `${o.ename}: ${o.evalue}\n` : ""))
    .join("");
  return t.length > OUTPUT_CHARS ? `${t.slice(0, OUTPUT_CHARS)}\n[… ${t.length - OUTPUT_CHARS} more characters]` : t;
}

/** Results for every test when nothing ran. */
export function emptyTests(a: Assignment, why: string, ref?: Reference): TestResult[] {
  return a.tests.map((t) => ({
    gradeId: t.gradeId,
    score: 0,
    maxScore: t.points,
    ok: false,
    ran: false,
    hidden: t.hasHidden,
    mode: ref?.tests.find((r) => r.gradeId === t.gradeId)?.mode ?? "checks",
    error: why,
    output: "",
  }));
}

/** Messages the instructor wrote in test cells (`new Error("...")`), which are safe to show whatever ran before. */
function instructorMessages(a: Assignment): Set<string> {
  const out = new Set<string>([`Error: ${SOLUTION_STUB.replace(/^throw new Error\("(.*)"\);$/, "$1")}`]);
  const lit = /\b(?:new\s+)?(\w*Error)\(\s*(["'`])((?:\\.|(?!\2)[^\\$])*)\2\s*\)/g;
  for (const t of a.tests) {
    const src = joinSource(a.instructor.cells[t.index]?.source ?? "");
    for (const m of src.matchAll(lit)) out.add(`${m[1] ?? "Error"}: ${(m[3] ?? "").replace(/\\(.)/g, "$1")}`);
  }
  return out;
}

/** The trusted part of a kernel-death error (exit code or signal), without the kernel's own stderr. */
function trustedDeath(error: string): string {
  const cut = error.indexOf("; its stderr ended:");
  return cut >= 0 ? error.slice(0, cut) : error;
}

/** "2:7 - Type 'string' …" (tslab's compile-error format) → "line 2, column 7: Type 'string' …". */
export function compileErrorText(error: string): string {
  const m = /^(?:TypeScriptCompileError: )?(\d+):(\d+) - (.*)$/s.exec(error);
  return m === null ? error : `line ${m[1]}, column ${m[2]}: ${m[3]}`;
}

/** Outputs with check payloads reduced to their text, over-deep data dropped; counts bytes kept. */
function cleanOutputs(outputs: readonly Output[]): Output[] {
  return outputs.map((o): Output => {
    if (o.output_type === "stream" || o.output_type === "error") return o;
    if (jsonDepth(o.data, MAX_OUTPUT_DEPTH) > MAX_OUTPUT_DEPTH || jsonDepth(o.metadata, MAX_OUTPUT_DEPTH) > MAX_OUTPUT_DEPTH) {
      return { output_type: "stream", name: "stderr", text: "[metalab: an output nested too deep to keep was dropped]\n" };
    }
    if (Object.prototype.hasOwnProperty.call(o.data, CHECK_MIME)) {
      const text = typeof o.data["text/plain"] === "string" ? (o.data["text/plain"] as string) : "check sent";
      return { output_type: "stream", name: "stdout", text: `${text.slice(0, 300)}\n` };
    }
    return o;
  });
}

function outputBytes(outputs: readonly Output[]): number {
  let n = 0;
  for (const o of outputs) n += o.output_type === "stream" ? joinSource(o.text).length : JSON.stringify(o).length;
  return n;
}

function verdictLine(t: TestResult): string {
  const parts = [`[metalab grader] ${t.gradeId}: ${t.score}/${t.maxScore}${t.mode === "in-kernel" ? " (in-kernel test, forgeable)" : ""}`];
  for (const c of t.checks ?? []) parts.push(`  ${c.ok ? "passed" : "FAILED"} ${c.hidden ? "(hidden) " : ""}"${c.name}" ${c.score}/${c.maxScore}${c.reason ? `: ${c.reason}` : ""}`);
  if (t.checks === undefined && t.error) parts.push(`  ${t.error}`);
  return parts.join("\n") + "\n";
}

interface Context {
  a: Assignment;
  ref: Reference;
  merged: MergedSubmission;
  run: RunResult;
  /** Index of the first cell that received hidden tests (Infinity when none). */
  firstHidden: number;
  safe: Set<string>;
  /** Names of reference checks that arrived from cells other than test cells (name → first such cell). */
  elsewhere: Map<string, number>;
}

/** Reference check names sent from cells that are not test cells (only reference names are kept: nothing student-chosen). */
function checksElsewhere(ref: Reference, merged: MergedSubmission, run: RunResult): Map<string, number> {
  const names = new Set(ref.tests.flatMap((t) => t.checks.map((c) => c.name)));
  const tests = new Set(merged.testIndex.values());
  const out = new Map<string, number>();
  run.notebook.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code" || tests.has(i)) return;
    for (const s of sentChecks(cell.outputs)) if (s.ok && names.has(s.payload.name) && !out.has(s.payload.name)) out.set(s.payload.name, i);
  });
  return out;
}

/** A failed cell's reason as far as it may be shown: grader-made text always, kernel text only before hidden tests. */
function shownError(ctx: Context, rep: CellReport): string | null {
  const raw = rep.error ?? "failed";
  if (rep.timedOut) return raw; // Made by the grader (timing is the grader's).
  const afterHidden = rep.index >= ctx.firstHidden;
  if (rep.kernelDied) return afterHidden ? trustedDeath(raw) : raw;
  if (!afterHidden) return raw;
  return ctx.safe.has(raw) ? raw : null;
}

function scoreTest(ctx: Context, t: Assignment["tests"][number], refTest: ReferenceTest, stop: CellReport | undefined): TestResult {
  const idx = ctx.merged.testIndex.get(t.gradeId);
  const rep = idx === undefined ? undefined : ctx.run.cells.find((c) => c.index === idx);
  const cell = idx === undefined ? undefined : ctx.run.notebook.cells[idx];
  const showOutput = !t.hasHidden && idx !== undefined && idx < ctx.firstHidden;
  const notRun =
    stop !== undefined ? `${stop.timedOut ? "a cell timed out" : "the kernel died"} earlier (cell ${stop.index})` : ctx.run.error !== undefined && rep === undefined ? trustedDeath(ctx.run.error) : "not run";
  const cellError = rep !== undefined && !rep.ok ? shownError(ctx, rep) : null;
  const base = { gradeId: t.gradeId, maxScore: t.points, ran: rep !== undefined, hidden: t.hasHidden, output: showOutput ? cellText(cell) : "" };
  if (refTest.mode === "in-kernel") {
    const ok = rep !== undefined && rep.ok;
    const res: TestResult = { ...base, mode: "in-kernel", score: ok ? t.points : 0, ok };
    if (!ok) res.error = rep === undefined ? `not run: ${notRun}` : cellError ?? "failed (the details of tests run after hidden tests are not shown)";
    return res;
  }
  const sent = cell !== undefined && cell.cell_type === "code" ? sentChecks(cell.outputs) : [];
  const scored = scoreChecks(refTest, sent, { ran: rep !== undefined, failed: rep !== undefined && !rep.ok, error: cellError, notRun, elsewhere: ctx.elsewhere });
  const ok = scored.checks.every((c) => c.ok);
  const res: TestResult = { ...base, mode: "checks", checks: scored.checks, score: scored.score, ok };
  if (!ok) {
    const failing = scored.checks.filter((c) => !c.ok).map((c) => `"${c.name}": ${c.reason ?? "failed"}`);
    const head = rep === undefined ? `not run: ${notRun}` : cellError !== null ? cellError : null;
    res.error = [head, ...failing].filter((x) => x !== null).join("; ");
  }
  ctx.merged.notes.push(...scored.notes);
  return res;
}

/** Notes on student cells that failed, with their own cell number and line (TypeScript errors included). */
function studentCellNotes(ctx: Context): string[] {
  const notes: string[] = [];
  for (const rep of ctx.run.cells) {
    if (rep.ok) continue;
    const origin = ctx.merged.origins[rep.index];
    if (origin === undefined || (origin.kind !== "answer" && origin.kind !== "extra")) continue;
    const which = `your cell ${(origin.studentIndex ?? 0) + 1}${origin.kind === "answer" ? ` (answer ${origin.gradeId})` : " (a cell you added)"}`;
    const err = shownError(ctx, rep);
    notes.push(
      err !== null
        ? `${which} failed: ${compileErrorText(err)}`
        : `${which} failed; the details are not shown because hidden tests had already run in this kernel (run your notebook to see them)`,
    );
  }
  return notes;
}

/** The executed notebook as students may see it: hidden tests masked, later outputs withheld, verdicts added. */
function gradedNotebook(ctx: Context, tests: TestResult[], flags: { truncated: boolean }): Notebook {
  const nb = ctx.run.notebook;
  const byIndex = new Map<number, TestResult>();
  for (const t of tests) {
    const idx = ctx.merged.testIndex.get(t.gradeId);
    if (idx !== undefined) byIndex.set(idx, t);
  }
  const hiddenCells = new Set(ctx.a.tests.filter((t) => t.hasHidden).map((t) => ctx.merged.testIndex.get(t.gradeId)));
  let bytes = 0;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    const verdict = byIndex.get(i);
    let outputs: Output[];
    if (hiddenCells.has(i)) {
      c.source = maskHiddenTests(joinSource(c.source));
      outputs = [];
    } else if (i >= ctx.firstHidden) {
      outputs = c.outputs.length > 0 ? [{ output_type: "stream", name: "stderr", text: TAINTED_NOTE }] : [];
    } else {
      outputs = cleanOutputs(c.outputs);
    }
    if (bytes + outputBytes(outputs) > MAX_NOTEBOOK_OUTPUT_BYTES) {
      flags.truncated = true;
      outputs = [{ output_type: "stream", name: "stderr", text: "[metalab: output dropped: the graded notebook's outputs reached their size limit]\n" }];
    }
    bytes += outputBytes(outputs);
    if (verdict !== undefined) outputs.push({ output_type: "stream", name: "stdout", text: verdictLine(verdict) });
    c.outputs = outputs;
  });
  return nb;
}

/** Grades one submission file; never throws for problems with the submission. Returns the result and graded notebook. */
export async function gradeSubmission(
  a: Assignment,
  file: string,
  student: string,
  opts: GradeOptions,
): Promise<{ result: StudentResult; graded?: Notebook }> {
  gradeOptions(opts);
  const t0 = Date.now();
  const sandbox: SandboxKind = sandboxOf(opts);
  const grader = graderVersion();
  let hashes: ResultHashes = { assignment: a.hash, submission: "", grader };
  const finish = (r: Omit<StudentResult, "student" | "file" | "maxScore" | "gradedAt" | "durationMs" | "sandbox" | "hashes">): StudentResult => ({
    student,
    file: opts.fileLabel ?? file,
    maxScore: a.totalPoints,
    gradedAt: new Date(t0).toISOString(),
    ...r,
    durationMs: Date.now() - t0,
    sandbox,
    hashes,
  });

  const read = readSubmissionFile(file);
  hashes = { ...hashes, submission: read.hash };
  if (!read.ok) {
    return { result: finish({ status: read.status, flags: [], score: 0, tests: emptyTests(a, `not graded: ${read.why}`, knownReference(opts)), notes: [read.why], message: read.why }) };
  }
  let sub: Notebook;
  let merged: MergedSubmission;
  try {
    sub = parseNotebook(read.text, path.basename(file));
    merged = mergeSubmission(a, sub);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { result: finish({ status: "invalid", flags: [], score: 0, tests: emptyTests(a, "not graded: invalid notebook", knownReference(opts)), notes: [why], message: why }) };
  }

  let ref: Reference;
  try {
    ref = await referenceFor(a, opts);
  } catch (e) {
    const infra = e instanceof ReferenceBuildError && e.infrastructure ? " (the kernel could not run: re-run with --resume)" : "";
    const why = `the grader could not build the reference from the instructor's solution${infra}: ${e instanceof Error ? e.message : String(e)}`;
    return { result: finish({ status: "error", flags: [], score: 0, tests: emptyTests(a, why), notes: [why], message: why }) };
  }

  const flags: SubmissionFlag[] = [];
  const notes = merged.notes;
  const theirKernel = sub.metadata.kernelspec?.name;
  if (theirKernel !== undefined && theirKernel !== a.kernelName) {
    flags.push("wrong_kernel");
    notes.push(`the notebook was saved with kernel "${String(theirKernel).slice(0, 60)}"; it was graded with "${a.kernelName}"`);
  }
  if (merged.tampered.length > 0) flags.push("tampered");
  if (merged.missing.length > 0) flags.push("missing_cells");

  let banned: BannedFinding[] = [];
  try {
    banned = bannedCalls(a, merged);
  } catch (e) {
    const why = `the grader could not analyse the submission for banned calls: ${e instanceof Error ? e.message : String(e)}`;
    return { result: finish({ status: "error", flags, score: 0, tests: emptyTests(a, why, ref), notes: [...notes, why], message: why }) };
  }

  let runKernel: RunKernel;
  try {
    runKernel = runnerFor(a, opts);
  } catch (e) {
    const why = `the grader could not start a sandbox: ${e instanceof Error ? e.message : String(e)}`;
    return { result: finish({ status: "error", flags, score: 0, tests: emptyTests(a, why, ref), notes: [...notes, why], message: why }) };
  }
  const run = await runKernel(merged.notebook, student);
  if (run.cells.length === 0 && run.error !== undefined && run.error.startsWith("could not start kernel")) {
    return { result: finish({ status: "error", flags, score: 0, tests: emptyTests(a, run.error, ref), notes: [...notes, run.error], message: run.error }) };
  }

  const firstHidden = Math.min(Infinity, ...a.tests.filter((t) => t.hasHidden).map((t) => merged.testIndex.get(t.gradeId) ?? Infinity));
  const ctx: Context = { a, ref, merged, run, firstHidden, safe: instructorMessages(a), elsewhere: checksElsewhere(ref, merged, run) };
  const stop = run.cells.find((c) => c.kernelDied || c.timedOut);
  const tests: TestResult[] = a.tests.map((t) => {
    const refTest = ref.tests.find((r) => r.gradeId === t.gradeId) ?? { gradeId: t.gradeId, points: t.points, mode: "in-kernel" as const, checks: [] };
    return scoreTest(ctx, t, refTest, stop);
  });

  // Banned calls zero the tests of the answer they appear for.
  if (banned.length > 0) {
    flags.push("banned_call");
    for (const f of banned) {
      notes.push(`${f.where}: ${f.what}; tests ${f.tests.join(", ")} score 0`);
      for (const t of tests) {
        if (!f.tests.includes(t.gradeId) || t.score === 0) continue;
        t.score = 0;
        t.ok = false;
        t.error = `${f.what} (banned in answer ${f.answer})`;
        for (const c of t.checks ?? []) c.score = 0;
      }
    }
  }
  notes.push(...studentCellNotes(ctx));
  const score = Math.round(tests.reduce((s, t) => s + t.score, 0) * 1e9) / 1e9;

  let status: SubmissionStatus = "graded";
  let message = `${score}/${a.totalPoints} points`;
  const timedOut = run.cells.find((c) => c.timedOut);
  if (timedOut !== undefined) {
    status = "timeout";
    message += `; cell ${timedOut.index} ran too long: ${timedOut.error ?? "timed out"}`;
  } else if (run.kernelDied === true) {
    status = "kernel_died";
    const died = run.cells.find((c) => c.kernelDied);
    const why = died !== undefined ? shownError(ctx, died) : trustedDeath(run.error ?? "");
    message += `; the kernel died in cell ${died?.index ?? "?"}: ${why ?? ""}`;
  }
  const truncation = { truncated: run.cells.some((c) => c.outputTruncated) };
  const graded = gradedNotebook(ctx, tests, truncation);
  if (truncation.truncated) flags.push("output_truncated");
  if (flags.length > 0) message += ` [${flags.join(", ")}]`;
  graded.metadata.metalab_grade = { student, score, max_score: a.totalPoints, status, flags, sandbox };
  return { result: finish({ status, flags, score, tests, notes, message }), graded };
}

