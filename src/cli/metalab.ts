#!/usr/bin/env node
/**
 * The `metalab` command: `run` a notebook, `assign` (release a student version), `grade` a folder of submissions,
 * and `grade-one` (one submission, for Gradescope or one cluster job per submission). See docs/grading.md.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { assign } from "../grading/assign";
import { AssignmentError, readAssignment, type Assignment } from "../grading/assignment";
import type { Reference } from "../grading/checks";
import { graderVersion } from "../grading/hashes";
import type { SandboxKind } from "../grading/kernel-run";
import { ReferenceBuildError, referenceWarnings } from "../grading/reference";
import { SANDBOX_DEFAULTS, sandboxProblem } from "../grading/sandbox";
import { cachedReference, gradeBatch, gradeEntry, listSubmissions, referencePath, studentId, writeAtomic, writeStudentOutputs } from "../grading/grade-batch";
import { entryFor } from "../grading/submissions";
import { GRADE_DEFAULTS, readSubmissionFile, referenceFor, type StudentResult } from "../grading/grade-one";
import { toGradescope } from "../grading/reports";
import { readNotebook, writeNotebook } from "../notebook/ipynb";
import { runNotebook } from "../notebook/runner";
import { datasetDir } from "../data/data-dir";
import { downloadOmniglot } from "../data/omniglot-download";

const USAGE = `usage:
  metalab run <notebook.ipynb> [--out executed.ipynb] [--kernel tslab] [--cell-timeout 60] [--timeout 600] [--allow-errors]
  metalab assign <x.instructor.ipynb>... [--release release/] [--no-check]
  metalab grade --instructor <x.instructor.ipynb> --submissions <dir> --out <dir>
                [--jobs 2] [--resume] [--reference <file>] [--cell-timeout 30] [--timeout 300] [--memory 2048] [--max-output 100000]
                [--max-file-mb 100] [--max-procs 64] [--kernel-user nobody] [--no-sandbox]
                (every kernel runs in a bubblewrap sandbox; --no-sandbox grades without one and records sandbox: none)
  metalab grade-one --instructor <x.instructor.ipynb> --submission <file.ipynb|dir> [--results <results.json>]
                [--out <dir>] [--student <id>] [--reference <file>] [same limits as grade]   (Gradescope, cluster jobs)
  metalab reference --instructor <x.instructor.ipynb> --out <dir>   (the solution's check values, once, before grade-one jobs)
  metalab data omniglot [--dir <folder>] [--full] [--force]   (download the Omniglot archives; default folder:
                METALAB_OMNIGLOT_DIR, else METALAB_DATA_DIR/omniglot, else ~/.cache/metalab/omniglot)
Times are in seconds; memory in MB (all the submission's processes in the sandbox, the V8 heap with --no-sandbox);
output in bytes per cell; --max-file-mb bounds each file and (sandbox) the scratch folder's total.`;

class UsageError extends Error {}

/** bubblewrap is missing or cannot create namespaces, and --no-sandbox was not given. */
class SandboxMissing extends Error {}

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
  return n;
}

/** A positive whole-number flag (a count of bytes or processes), or the fallback. */
function int(v: string | undefined, name: string, fallback: number): number {
  const n = num(v, name, fallback);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be a whole number, got "${v}"`);
  return n;
}

function need(v: string | undefined, name: string): string {
  if (v === undefined || v === "") throw new UsageError(`missing --${name}`);
  return v;
}

const limitOptions = {
  "kernel-user": { type: "string" },
  "cell-timeout": { type: "string" },
  timeout: { type: "string" },
  memory: { type: "string" },
  "max-output": { type: "string" },
  "max-file-mb": { type: "string" },
  "max-procs": { type: "string" },
  "no-sandbox": { type: "boolean" },
} as const;

/** uid and gid of a user name (or numeric uid), via `id`. */
function userIds(name: string): { uid: number; gid: number } {
  const run = (flag: string): number => {
    const r = spawnSync("id", [flag, name], { encoding: "utf8" });
    const n = Number(r.stdout.trim());
    if (r.status !== 0 || !Number.isInteger(n)) throw new UsageError(`--kernel-user: no user "${name}" (${r.stderr.trim()})`);
    return n;
  };
  return { uid: run("-u"), gid: run("-g") };
}

type LimitValues = {
  "kernel-user"?: string;
  "cell-timeout"?: string;
  timeout?: string;
  memory?: string;
  "max-output"?: string;
  "max-file-mb"?: string;
  "max-procs"?: string;
  "no-sandbox"?: boolean;
};

/** The sandbox choice: bubblewrap unless --no-sandbox; fails closed (a usage error saying how to install it). */
function sandboxChoice(v: LimitValues): SandboxKind {
  if (v["no-sandbox"] === true) return "none";
  const problem = sandboxProblem();
  if (problem !== null) throw new SandboxMissing(problem);
  return "bubblewrap";
}

function limits(v: LimitValues) {
  const maxFile = v["max-file-mb"] === undefined ? GRADE_DEFAULTS.maxFileMb : Number(v["max-file-mb"]);
  if (!Number.isFinite(maxFile) || maxFile < 0) throw new UsageError(`--max-file-mb must be 0 (off) or a positive number, got "${v["max-file-mb"]}"`);
  return {
    kernelUser: v["kernel-user"] !== undefined ? userIds(v["kernel-user"]) : undefined,
    cellTimeoutMs: num(v["cell-timeout"], "cell-timeout", GRADE_DEFAULTS.cellTimeoutMs / 1000) * 1000,
    timeoutMs: num(v.timeout, "timeout", GRADE_DEFAULTS.timeoutMs / 1000) * 1000,
    memoryMb: num(v.memory, "memory", GRADE_DEFAULTS.memoryMb),
    maxOutputBytes: int(v["max-output"], "max-output", GRADE_DEFAULTS.maxOutputBytes),
    maxFileMb: maxFile,
    maxProcs: int(v["max-procs"], "max-procs", SANDBOX_DEFAULTS.maxProcs),
    sandbox: sandboxChoice(v),
  };
}

/** A one-line progress bar on a terminal, plain lines otherwise. */
function progress(total: number): (done: number, student: string, r?: StudentResult) => void {
  const t0 = Date.now();
  const tty = process.stderr.isTTY === true;
  return (done, student, r) => {
    const mins = (Date.now() - t0) / 60_000;
    const rate = mins > 5 / 60 ? `${(done / mins).toFixed(1)}/min` : "-/min"; // A rate over the first seconds means nothing.
    if (tty) {
      const width = 24;
      const fill = total > 0 ? Math.round((done / total) * width) : width;
      const bar = "#".repeat(fill) + "-".repeat(width - fill);
      const last = r ? ` ${student}: ${r.status} ${r.score}/${r.maxScore}` : ` grading ${student}…`;
      process.stderr.write(`\r\x1b[K[${bar}] ${done}/${total} ${rate}${last.slice(0, 60)}`);
      if (done === total && r) process.stderr.write("\n");
    } else if (r) {
      process.stderr.write(`[${done}/${total}] ${student}: ${r.status} ${r.score}/${r.maxScore} ${r.flags.join(",")}\n`);
    }
  };
}

function summary(results: readonly StudentResult[]): string {
  const w = Math.max(7, ...results.map((r) => r.student.length));
  const lines = results.map(
    (r) => `${r.student.padEnd(w)}  ${r.status.padEnd(11)}  ${`${r.score}/${r.maxScore}`.padStart(7)}  ${r.flags.join(",")}`,
  );
  return [`${"student".padEnd(w)}  ${"status".padEnd(11)}  ${"score".padStart(7)}  flags`, ...lines].join("\n");
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: "string" }, kernel: { type: "string" }, "allow-errors": { type: "boolean" }, ...limitOptions },
  });
  const [file] = positionals;
  if (positionals.length !== 1 || file === undefined) throw new UsageError("run takes one notebook");
  const nb = readNotebook(file);
  const r = await runNotebook(nb, {
    kernelName: values.kernel,
    cwd: path.dirname(path.resolve(file)),
    cellTimeoutMs: num(values["cell-timeout"], "cell-timeout", 600) * 1000,
    timeoutMs: values.timeout !== undefined ? num(values.timeout, "timeout", 1) * 1000 : undefined,
    memoryMb: values.memory !== undefined ? num(values.memory, "memory", 1) : undefined,
    allowErrors: values["allow-errors"] === true,
    onCell: (i, total, rep) => process.stderr.write(`cell ${i + 1}/${total} ${rep.ok ? "ok" : "FAILED"} ${(rep.durationMs / 1000).toFixed(1)} s\n`),
  });
  if (values.out !== undefined) writeNotebook(values.out, r.notebook);
  process.stderr.write(r.ok ? `ok in ${(r.durationMs / 1000).toFixed(1)} s\n` : `FAILED: ${r.error}\n`);
  return r.ok ? 0 : 1;
}

async function cmdAssign(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { release: { type: "string" }, "no-check": { type: "boolean" }, ...limitOptions },
  });
  if (positionals.length === 0) throw new UsageError("assign needs at least one instructor notebook");
  const releaseDir = values.release ?? "release";
  const check = values["no-check"] !== true;
  for (const file of positionals) {
    const rep = await assign(file, releaseDir, {
      checkSolutions: check,
      checkStudent: check,
      run: { cellTimeoutMs: num(values["cell-timeout"], "cell-timeout", 60) * 1000 },
      sandbox: check ? sandboxChoice(values) : "none",
    });
    const a = rep.assignment;
    for (const w of rep.warnings) process.stderr.write(`metalab assign: warning: ${w}\n`);
    process.stdout.write(
      `${file}: ${a.tests.length} test cells, ${a.totalPoints} points; ` +
        (check ? `solutions pass ${rep.solutionPasses.length}/${a.tests.length}, student version fails ${rep.studentFails.length}/${a.tests.length}; ` : "not checked; ") +
        `released ${rep.releasePath}\n`,
    );
  }
  return 0;
}

async function cmdGrade(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instructor: { type: "string" },
      submissions: { type: "string" },
      out: { type: "string" },
      jobs: { type: "string" },
      resume: { type: "boolean" },
      reference: { type: "string" },
      ...limitOptions,
    },
  });
  const file = need(values.instructor, "instructor");
  const lim = limits(values); // Flags first: a bad limit is a usage error before any file is read.
  const jobs = int(values.jobs, "jobs", 2);
  const a = readAssignment(file);
  const subsDir = need(values.submissions, "submissions");
  const out = need(values.out, "out");
  const total = listSubmissions(subsDir).entries.length;
  const bar = progress(total);
  const res = await gradeBatch(a, subsDir, out, {
    ...lim,
    reference: values.reference !== undefined ? loadReference(values.reference, a) : undefined,
    jobs,
    resume: values.resume === true,
    onProgress: (done, _t, student, r) => bar(done, student, r),
  });
  process.stdout.write(`\n${summary(res.results)}\n`);
  const mins = res.durationMs / 60_000;
  const graded = res.results.length - res.resumed.length;
  process.stdout.write(
    `\n${graded} graded${res.resumed.length ? `, ${res.resumed.length} resumed` : ""} in ${(res.durationMs / 1000).toFixed(1)} s ` +
      `(${mins > 0 ? (graded / mins).toFixed(1) : "-"} submissions/min). Gradebook: ${res.gradebookPath}; feedback: ${path.join(out, "students")}\n`,
  );
  return 0;
}

/** lstat-based: a symlink to a folder is not a folder (it is graded as a file, and reported as a symlink). */
function isDirectory(p: string): boolean {
  try {
    return fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a reference file and checks it belongs to this assignment and grader. */
function loadReference(file: string, a: Assignment): Reference {
  let r: Reference;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8")) as Reference;
  } catch (e) {
    throw new UsageError(`--reference ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (r.format !== 1 || r.assignmentHash !== a.hash) throw new UsageError(`--reference ${file} was built from another version of the instructor notebook; run \`metalab reference\` again.`);
  if (r.grader !== graderVersion()) throw new UsageError(`--reference ${file} was built by another grader version (${r.grader}, this is ${graderVersion()}); run \`metalab reference\` again.`);
  return r;
}

async function cmdReference(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { instructor: { type: "string" }, out: { type: "string" }, ...limitOptions } });
  const file = need(values.instructor, "instructor");
  const out = need(values.out, "out");
  const a = readAssignment(file);
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-grade-"));
  try {
    const ref = await referenceFor(a, { ...limits(values), workRoot });
    writeAtomic(referencePath(out), JSON.stringify(ref) + "\n");
    for (const w of referenceWarnings(ref)) process.stderr.write(`metalab reference: warning: ${w}\n`);
    const checks = ref.tests.reduce((n, t) => n + t.checks.length, 0);
    process.stdout.write(`${file}: reference with ${checks} checks in ${ref.tests.length} test cells written to ${referencePath(out)} (keep it away from students: it holds the solution's values)\n`);
  } finally {
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
  return 0;
}

async function cmdGradeOne(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      instructor: { type: "string" },
      submission: { type: "string" },
      results: { type: "string" },
      out: { type: "string" },
      student: { type: "string" },
      reference: { type: "string" },
      ...limitOptions,
    },
  });
  const file = need(values.instructor, "instructor");
  const a = readAssignment(file);
  const sub = need(values.submission, "submission");
  if (values.results === undefined && values.out === undefined) throw new UsageError("grade-one needs --results and/or --out");
  // The same entry, id and file as `grade` gives it, so `grade --resume` collects exactly what `grade` would write.
  const entry = entryFor(sub);
  if (values.student !== undefined) entry.student = studentId(values.student);
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-grade-"));
  try {
    // The reference: --reference, else one cached in --out (written by `metalab reference` or an earlier run), else built.
    const reference = values.reference !== undefined ? loadReference(values.reference, a) : values.out !== undefined ? cachedReference(values.out, a) ?? undefined : undefined;
    const { result, graded } = await gradeEntry(a, entry, path.dirname(path.resolve(sub)), { ...limits(values), workRoot, reference }, entry.file === null ? "" : readSubmissionFile(entry.file).hash);
    if (values.results !== undefined) writeAtomic(values.results, JSON.stringify(toGradescope(result), null, 2) + "\n");
    if (values.out !== undefined) writeStudentOutputs(values.out, a, result, graded);
    process.stdout.write(`${summary([result])}\n${result.message}\n`);
  } finally {
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
  return 0;
}

async function cmdData(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { dir: { type: "string" }, full: { type: "boolean" }, force: { type: "boolean" } } });
  if (positionals.length !== 1 || positionals[0] !== "omniglot") throw new UsageError(`data: name a dataset (only "omniglot" is known), got "${positionals.join(" ")}"`);
  const dir = values.dir !== undefined ? path.resolve(values.dir) : datasetDir("omniglot").dir;
  const files = await downloadOmniglot({ dir, full: values.full === true, force: values.force === true, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`Omniglot archives in ${dir} (${files.length} downloaded).${values.dir !== undefined ? ` Set METALAB_OMNIGLOT_DIR=${dir} so the loader finds them.` : ""}\n`);
  return 0;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "run":
        return await cmdRun(rest);
      case "assign":
        return await cmdAssign(rest);
      case "grade":
        return await cmdGrade(rest);
      case "grade-one":
        return await cmdGradeOne(rest);
      case "reference":
        return await cmdReference(rest);
      case "data":
        return await cmdData(rest);
      case undefined:
      case "-h":
      case "--help":
      case "help":
        process.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    const parseError = e instanceof Error && "code" in e && typeof e.code === "string" && e.code.startsWith("ERR_PARSE_ARGS");
    if (e instanceof UsageError || parseError) {
      process.stderr.write(`metalab: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof AssignmentError || e instanceof ReferenceBuildError || e instanceof SandboxMissing) {
      process.stderr.write(`metalab: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`metalab: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
