/**
 * Grades a folder of submissions, several at once (each in its own kernel), with resumable per-student result files,
 * then writes the gradebooks and the class report. Submissions are only ever read. One hostile submission ends as
 * that student's `invalid` or `error` and nothing else: the batch always finishes and writes the gradebook.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkBoolean, checkConfig, checkFunction, checkInteger, checkString } from "../core/validate";
import { writeNotebook, type Notebook } from "../notebook/ipynb";
import type { Assignment } from "./assignment";
import { jsonDepth } from "./check-value";
import type { Reference } from "./checks";
import { checkGradeFields, emptyTests, gradeSubmission, pickGradeOptions, readSubmissionFile, referenceFor, sandboxOf, type GradeOptions, type StudentResult } from "./grade-one";
import { removeKernelFiles } from "./runtime-dirs";
import { sandboxProblem } from "./sandbox";
import { graderVersion } from "./hashes";
import { canvasGradebook, classReportHtml, feedbackHtml, gradebook, toGradescope } from "./reports";
import { listSubmissions, type SubmissionEntry } from "./submissions";

export { folderNotebook, listSubmissions, studentId, type SubmissionEntry } from "./submissions";

/** Options for a batch. */
export interface BatchOptions extends Omit<GradeOptions, "workRoot"> {
  /** Submissions graded at once (each runs its own kernel). Default 2. */
  jobs?: number;
  /** Skip students whose result was produced from the same assignment, submission and grader. */
  resume?: boolean;
  /** Scratch folder; default a fresh folder in the OS temp dir. */
  workRoot?: string;
  /** Called when a student starts (`result` undefined) and finishes. */
  onProgress?: (done: number, total: number, student: string, result?: StudentResult) => void;
  /** Assignment name for the Canvas gradebook column; default the assignment's name. */
  canvasColumn?: string;
}

/** What a batch produced. */
export interface BatchResult {
  results: StudentResult[];
  /** Students skipped because --resume found a result with matching hashes. */
  resumed: string[];
  /** Entries of the submissions folder that are neither notebooks nor folders. */
  skipped: string[];
  gradebookPath: string;
  canvasPath: string;
  classReportPath: string;
  durationMs: number;
}

/** Writes a file atomically (temp file + rename), so a crash never leaves a half-written result. */
export function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Where a student's outputs go. */
export function studentDir(outDir: string, student: string): string {
  return path.join(outDir, "students", student);
}

/** Results are small; a larger or deeper result.json is not one the grader wrote. */
const MAX_RESULT_BYTES = 20_000_000;

function readJson(file: string): unknown {
  const st = fs.lstatSync(file);
  if (!st.isFile() || st.size > MAX_RESULT_BYTES) return null;
  const raw: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  return jsonDepth(raw, 20) > 20 ? null : raw;
}

/** Reads a student's result.json (and timing.json) as the grader wrote them; null when absent or not plausibly ours. */
export function readResultFile(file: string): StudentResult | null {
  try {
    const raw = readJson(file);
    if (typeof raw !== "object" || raw === null) return null;
    const r = raw as StudentResult;
    if (typeof r.student !== "string" || typeof r.status !== "string" || typeof r.score !== "number" || !Array.isArray(r.tests)) return null;
    let timing: unknown = null;
    try {
      timing = readJson(path.join(path.dirname(file), "timing.json"));
    } catch {
      // No timing: the result stands without it.
    }
    const t = (typeof timing === "object" && timing !== null ? timing : {}) as { durationMs?: unknown; gradedAt?: unknown };
    return { ...r, durationMs: typeof t.durationMs === "number" ? t.durationMs : 0, gradedAt: typeof t.gradedAt === "string" ? t.gradedAt : "" };
  } catch {
    return null;
  }
}

/** A finished result that --resume may trust: same student, same assignment, submission and grader. */
function readFinished(outDir: string, s: SubmissionEntry, a: Assignment, submissionHash: string, grader: string): StudentResult | null {
  const r = readResultFile(path.join(studentDir(outDir, s.student), "result.json"));
  if (r === null || r.status === "error" || r.student !== s.student) return null;
  const h = r.hashes;
  if (h === undefined || h.assignment !== a.hash || h.submission !== submissionHash || h.grader !== grader) return null;
  return r;
}

/**
 * Writes feedback.html, graded.ipynb, results.json (Gradescope) and timing.json, then result.json last as the "done"
 * marker. result.json, feedback.html and the graded notebook hold no timing, so reruns give identical bytes.
 */
export function writeStudentOutputs(outDir: string, a: Assignment, result: StudentResult, graded?: Notebook): void {
  const dir = studentDir(outDir, result.student);
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, "feedback.html"), feedbackHtml(result, a.name));
  writeAtomic(path.join(dir, "results.json"), JSON.stringify(toGradescope(result), null, 2) + "\n");
  if (graded !== undefined) writeNotebook(path.join(dir, `${a.name}.graded.ipynb`), graded);
  writeAtomic(path.join(dir, "timing.json"), JSON.stringify({ durationMs: result.durationMs, gradedAt: result.gradedAt }) + "\n");
  const { durationMs: _d, gradedAt: _g, ...stable } = result;
  writeAtomic(path.join(dir, "result.json"), JSON.stringify(stable, null, 2) + "\n");
}

/** A result for an entry that was not graded (no notebook, two submissions, grader failure). */
export function ungradedResult(a: Assignment, student: string, file: string, status: StudentResult["status"], why: string, hashes: Partial<StudentResult["hashes"]> = {}, sandbox: StudentResult["sandbox"] = "none"): StudentResult {
  return {
    student,
    file,
    status,
    flags: [],
    score: 0,
    maxScore: a.totalPoints,
    tests: emptyTests(a, why),
    notes: [why],
    message: why,
    durationMs: 0,
    gradedAt: new Date().toISOString(),
    sandbox,
    hashes: { assignment: a.hash, submission: "", grader: graderVersion(), ...hashes },
  };
}

/**
 * Grades one entry of a submissions folder (what `grade` does per student, and `grade-one` for its one entry), so
 * both record the same id, file and result for it.
 */
export async function gradeEntry(a: Assignment, s: SubmissionEntry, submissionsDir: string, opts: GradeOptions, hash = ""): Promise<{ result: StudentResult; graded?: Notebook }> {
  const sandbox = sandboxOf(opts);
  const shown = s.file !== null ? path.relative(submissionsDir, s.file) : s.name;
  if (s.problem !== null) return { result: ungradedResult(a, s.student, shown, "invalid", s.problem, { submission: hash }, sandbox) };
  if (s.file === null) return { result: ungradedResult(a, s.student, shown, "missing", "no .ipynb notebook in the student's folder", {}, sandbox) };
  const out = await gradeSubmission(a, s.file, s.student, { ...opts, fileLabel: shown });
  if (s.ignored.length > 0) out.result.notes.push(`the folder also holds ${s.ignored.join(", ")}, which ${s.ignored.length === 1 ? "was" : "were"} not graded (one notebook per student)`);
  return out;
}

/** The reference cached in the output folder (written by an earlier run or `metalab reference`), if it still fits. */
export function cachedReference(outDir: string, a: Assignment): Reference | null {
  try {
    const r = JSON.parse(fs.readFileSync(referencePath(outDir), "utf8")) as Reference;
    return r.format === 1 && r.assignmentHash === a.hash && r.grader === graderVersion() ? r : null;
  } catch {
    return null;
  }
}

/** Where a batch keeps its reference (the solution's values: keep the output folder away from students). */
export function referencePath(outDir: string): string {
  return path.join(outDir, ".metalab", "reference.json");
}

/** Ends kernels and removes scratch folders when the grader is interrupted (Ctrl-C, SIGTERM). */
function onInterrupt(cleanup: () => void): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    cleanup();
    process.stderr.write(`\nmetalab: ${signal}: kernels ended and scratch removed; run again with --resume to continue.\n`);
    // process.exit runs the kernel client's exit hook, which kills every kernel's process group.
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.removeListener("SIGINT", handler);
    process.removeListener("SIGTERM", handler);
  };
}

/** The keys of `BatchOptions` (all optional): any other key is a typo and an error. */
export const BATCH_OPTION_KEYS: { readonly [K in keyof BatchOptions]-?: true } = {
  cellTimeoutMs: true,
  timeoutMs: true,
  memoryMb: true,
  maxOutputBytes: true,
  nodeModulesDir: true,
  kernelUser: true,
  maxFileMb: true,
  reference: true,
  runKernel: true,
  sandbox: true,
  maxProcs: true,
  fileLabel: true,
  jobs: true,
  resume: true,
  workRoot: true,
  onProgress: true,
  canvasColumn: true,
};

/** Checks `gradeBatch`'s options: unknown keys are errors, limits are numbers in range. Returns them unchanged. */
export function batchOptions(o: BatchOptions): BatchOptions {
  const WHO = "gradeBatch";
  checkConfig(WHO, o, BATCH_OPTION_KEYS, { hint: "Pass e.g. { jobs: 2, cellTimeoutMs: 60000 }.", keysWho: `${WHO} options` });
  checkGradeFields(WHO, o); // The grade fields, checked as gradeSubmission will, so a bad one fails here, not once per student.
  if (o.jobs !== undefined) checkInteger(WHO, "jobs", o.jobs, 1, "Kernels run at once; 1 grades one student at a time.");
  if (o.resume !== undefined) checkBoolean(WHO, "resume", o.resume);
  if (o.onProgress !== undefined) checkFunction(WHO, "onProgress", o.onProgress, "Pass (done, total, student, result?) => void, or leave it out.");
  if (o.canvasColumn !== undefined) checkString(WHO, "canvasColumn", o.canvasColumn, "Leave it out for the assignment's name.");
  return o;
}

/** Grades every submission in `submissionsDir` into `outDir`; see the file comment. */
export async function gradeBatch(a: Assignment, submissionsDir: string, outDir: string, opts: BatchOptions = {}): Promise<BatchResult> {
  batchOptions(opts);
  const t0 = Date.now();
  const outAbs = path.resolve(outDir);
  const subsAbs = path.resolve(submissionsDir);
  if (outAbs === subsAbs || outAbs.startsWith(subsAbs + path.sep)) {
    throw new Error(`the output folder ${outDir} is inside the submissions folder ${submissionsDir}; choose an output folder outside it.`);
  }
  if (subsAbs.startsWith(outAbs + path.sep)) {
    throw new Error(`the submissions folder ${submissionsDir} is inside the output folder ${outDir}; choose an output folder outside the submissions.`);
  }
  const { entries: subs, skipped } = listSubmissions(submissionsDir);
  const ownRoot = opts.workRoot === undefined;
  const workRoot = opts.workRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), "metalab-grade-"));
  const removeWork = (): void => {
    if (ownRoot) fs.rmSync(workRoot, { recursive: true, force: true });
  };
  const stopListening = onInterrupt(() => {
    removeKernelFiles();
    removeWork();
  });
  const sandbox = sandboxOf(opts);
  if (sandbox === "bubblewrap" && opts.runKernel === undefined) {
    const problem = sandboxProblem(); // Fail closed: no sandbox, no grading (unless --no-sandbox).
    if (problem !== null) throw new Error(problem);
  }
  const grader = graderVersion();
  try {
    fs.mkdirSync(outDir, { recursive: true });
    // The reference is built when the first submission needs it (a batch of broken files runs no kernel).
    let reference: Reference | null = (typeof opts.reference === "object" ? opts.reference : null) ?? cachedReference(outDir, a);
    let building: Promise<Reference> | null = null;
    const getReference = async (): Promise<Reference> => {
      if (reference !== null) return reference;
      building ??= (async () => {
        const r = await referenceFor(a, { ...pickGradeOptions(opts), workRoot });
        writeAtomic(referencePath(outDir), JSON.stringify(r) + "\n");
        reference = r;
        return r;
      })();
      return building;
    };
    const results: StudentResult[] = [];
    const resumed: string[] = [];
    const todo: { s: SubmissionEntry; hash: string }[] = [];
    for (const s of subs) {
      const hash = s.file === null ? "" : readSubmissionFile(s.file).hash;
      const prev = opts.resume === true ? readFinished(outDir, s, a, hash, grader) : null;
      if (prev !== null) {
        results.push(prev);
        resumed.push(s.student);
      } else todo.push({ s, hash });
    }
    let done = results.length;
    const total = subs.length;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const item = todo[next++];
        if (item === undefined) return;
        const { s, hash } = item;
        opts.onProgress?.(done, total, s.student);
        let out: { result: StudentResult; graded?: Notebook };
        try {
          out = await gradeEntry(a, s, submissionsDir, { ...pickGradeOptions(opts), workRoot, reference: getReference }, hash);
        } catch (e) {
          out = { result: ungradedResult(a, s.student, s.file !== null ? path.relative(submissionsDir, s.file) : s.name, "error", `the grader failed on this submission: ${e instanceof Error ? e.message : String(e)}`, { submission: hash }, sandbox) };
        }
        try {
          writeStudentOutputs(outDir, a, out.result, out.graded);
        } catch (e) {
          // Even a result that cannot be written in full (e.g. unserialisable outputs) leaves a result.json.
          out.result = ungradedResult(a, s.student, out.result.file, "error", `the grader could not write this student's outputs: ${e instanceof Error ? e.message : String(e)}`, { submission: hash }, sandbox);
          try {
            writeStudentOutputs(outDir, a, out.result);
          } catch {
            // The output folder itself is unwritable; the gradebook below still lists the student.
          }
        }
        results.push(out.result);
        done++;
        opts.onProgress?.(done, total, s.student, out.result);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 2, todo.length || 1)) }, worker));
    results.sort((x, y) => (x.student < y.student ? -1 : x.student > y.student ? 1 : 0));
    const gradebookPath = path.join(outDir, "gradebook.csv");
    writeAtomic(gradebookPath, gradebook(a, results));
    const canvasPath = path.join(outDir, "gradebook-canvas.csv");
    writeAtomic(canvasPath, canvasGradebook(a, results, opts.canvasColumn));
    const classReportPath = path.join(outDir, "class-report.html");
    writeAtomic(classReportPath, await classReportHtml(a, results, reference, skipped));
    return { results, resumed, skipped, gradebookPath, canvasPath, classReportPath, durationMs: Date.now() - t0 };
  } finally {
    stopListening();
    removeWork();
  }
}
