/**
 * Grades a folder of submissions, several at once (each in its own kernel process), with resumable per-student
 * result files, then writes the gradebook. Submissions are only ever read.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeNotebook, type Notebook } from "../notebook/ipynb";
import type { Assignment } from "./assignment";
import { gradeSubmission, type GradeOptions, type StudentResult } from "./grade-one";
import { feedbackHtml, gradebook, toGradescope } from "./reports";

/** One submission found in the submissions folder. */
export interface SubmissionEntry {
  student: string;
  /** Notebook path, or null when a student folder holds no notebook. */
  file: string | null;
}

/** Options for a batch. */
export interface BatchOptions extends Omit<GradeOptions, "workRoot"> {
  /** Submissions graded at once (each runs its own kernel). Default 2. */
  jobs?: number;
  /** Skip students with a finished result file from an earlier run. */
  resume?: boolean;
  /** Scratch folder; default a fresh folder in the OS temp dir. */
  workRoot?: string;
  /** Called when a student starts (`result` undefined) and finishes. */
  onProgress?: (done: number, total: number, student: string, result?: StudentResult) => void;
}

/** What a batch produced. */
export interface BatchResult {
  results: StudentResult[];
  /** Students skipped because --resume found a finished result. */
  resumed: string[];
  gradebookPath: string;
  durationMs: number;
}

/** A file-system-safe student id. */
export function safeStudentId(name: string): string {
  const s = name.replace(/\.ipynb$/i, "").replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "");
  return s === "" ? "student" : s.slice(0, 100);
}

/** The notebook graded from a student folder: its first `*.ipynb` by name, hidden files skipped; null if none. */
export function folderNotebook(dir: string): string | null {
  const nbs = fs
    .readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith(".ipynb") && !f.startsWith("."))
    .sort();
  return nbs[0] !== undefined ? path.join(dir, nbs[0]) : null;
}

/**
 * Lists submissions: `<dir>/<student>.ipynb` files, and `<dir>/<student>/` folders holding one notebook
 * (a folder without a notebook is listed with `file: null`). Sorted by student.
 */
export function listSubmissions(dir: string): SubmissionEntry[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot read the submissions folder ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: SubmissionEntry[] = [];
  const seen = new Set<string>();
  const add = (raw: string, file: string | null): void => {
    let id = safeStudentId(raw);
    for (let k = 2; seen.has(id); k++) id = `${safeStudentId(raw)}-${k}`;
    seen.add(id);
    out.push({ student: id, file });
  };
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith(".")) continue;
    const full = path.join(dir, e.name);
    if (e.isFile() && e.name.toLowerCase().endsWith(".ipynb")) add(e.name, full);
    else if (e.isDirectory()) add(e.name, folderNotebook(full));
  }
  return out;
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

function readFinished(outDir: string, student: string): StudentResult | null {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(studentDir(outDir, student), "result.json"), "utf8")) as StudentResult;
    return r.status === "error" ? null : r;
  } catch {
    return null;
  }
}

/** Writes feedback.html, graded.ipynb and results.json (Gradescope), then result.json last as the "done" marker. */
export function writeStudentOutputs(outDir: string, a: Assignment, result: StudentResult, graded?: Notebook): void {
  const dir = studentDir(outDir, result.student);
  fs.mkdirSync(dir, { recursive: true });
  writeAtomic(path.join(dir, "feedback.html"), feedbackHtml(result, a.name));
  writeAtomic(path.join(dir, "results.json"), JSON.stringify(toGradescope(result), null, 2) + "\n");
  if (graded !== undefined) writeNotebook(path.join(dir, `${a.name}.graded.ipynb`), graded);
  writeAtomic(path.join(dir, "result.json"), JSON.stringify(result, null, 2) + "\n");
}

/** Grades every submission in `submissionsDir` into `outDir`; see the file comment. */
export async function gradeBatch(a: Assignment, submissionsDir: string, outDir: string, opts: BatchOptions = {}): Promise<BatchResult> {
  const t0 = Date.now();
  const outAbs = path.resolve(outDir);
  const subsAbs = path.resolve(submissionsDir);
  if (outAbs === subsAbs || outAbs.startsWith(subsAbs + path.sep)) {
    throw new Error(`the output folder ${outDir} is inside the submissions folder ${submissionsDir}; choose an output folder outside it.`);
  }
  const subs = listSubmissions(submissionsDir);
  const workRoot = opts.workRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), "metalab-grade-"));
  for (const s of subs) {
    if (s.file !== null && path.resolve(s.file).startsWith(outAbs + path.sep)) {
      throw new Error(`the output folder ${outDir} contains submission ${s.file}; choose an output folder outside the submissions.`);
    }
  }
  const results: StudentResult[] = [];
  const resumed: string[] = [];
  const todo: SubmissionEntry[] = [];
  for (const s of subs) {
    const prev = opts.resume === true ? readFinished(outDir, s.student) : null;
    if (prev !== null) {
      results.push(prev);
      resumed.push(s.student);
    } else todo.push(s);
  }
  let done = results.length;
  const total = subs.length;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const s = todo[next++];
      if (s === undefined) return;
      opts.onProgress?.(done, total, s.student);
      let result: StudentResult;
      let graded: Notebook | undefined;
      if (s.file === null) {
        const why = "no .ipynb notebook in the student's folder";
        result = {
          student: s.student,
          file: path.join(submissionsDir, s.student),
          status: "missing",
          flags: [],
          score: 0,
          maxScore: a.totalPoints,
          tests: a.tests.map((t) => ({ gradeId: t.gradeId, score: 0, maxScore: t.points, ok: false, ran: false, hidden: t.hasHidden, error: why, output: "" })),
          notes: [why],
          message: why,
          durationMs: 0,
          gradedAt: new Date().toISOString(),
        };
      } else {
        ({ result, graded } = await gradeSubmission(a, s.file, s.student, { ...opts, workRoot }));
      }
      writeStudentOutputs(outDir, a, result, graded);
      results.push(result);
      done++;
      opts.onProgress?.(done, total, s.student, result);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs ?? 2, todo.length || 1)) }, worker));
  } finally {
    if (opts.workRoot === undefined) fs.rmSync(workRoot, { recursive: true, force: true });
  }
  const gradebookPath = path.join(outDir, "gradebook.csv");
  const tmp = `${gradebookPath}.tmp-${process.pid}`;
  gradebook(a, results).writeCSV(tmp);
  fs.renameSync(tmp, gradebookPath);
  results.sort((x, y) => (x.student < y.student ? -1 : 1));
  return { results, resumed, gradebookPath, durationMs: Date.now() - t0 };
}
