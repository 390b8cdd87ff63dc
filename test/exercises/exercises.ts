/**
 * The lab exercises (notebooks/instructor/*.instructor.ipynb) and their wrong-answer fixtures
 * (test/fixtures/exercises/<name>.mutants.json), shared by the static test (npm test) and the grading run (CI).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { assignmentName, cellRole, gradeId, loadAssignment, type Assignment } from "../../src/grading/assignment";
import { unmark } from "../../src/grading/markers";
import { cloneNotebook, joinSource, readNotebook, type Notebook } from "../../src/notebook/ipynb";

export const ROOT = path.join(__dirname, "..", "..");
export const INSTRUCTOR_DIR = path.join(ROOT, "notebooks", "instructor");
export const MUTANTS_DIR = path.join(ROOT, "test", "fixtures", "exercises");

/** Every instructor notebook, sorted by name. */
export function instructorNotebooks(): string[] {
  return fs
    .readdirSync(INSTRUCTOR_DIR)
    .filter((f) => f.endsWith(".instructor.ipynb"))
    .sort()
    .map((f) => path.join(INSTRUCTOR_DIR, f));
}

/** The lab notebooks (notebooks/NN-*.ipynb), sorted by name. */
export function labNotebooks(): string[] {
  const dir = path.join(ROOT, "notebooks");
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function assignmentOf(file: string): Assignment {
  return loadAssignment(readNotebook(file), assignmentName(file));
}

/** One plausible wrong answer: replaces answer cell `answer`; the tests in `loses` must lose points. */
export interface Mutant {
  answer: string;
  mistake: string;
  loses: string[];
  source: string[];
  /** Which mutated submission it goes into (default "mutant"); mutants that would mask each other go apart. */
  submission?: string;
}

export interface MutantFile {
  notebook: string;
  mutants: Mutant[];
}

/** The wrong-answer fixture of an assignment, or null when it has none. */
export function mutantsOf(a: Assignment): MutantFile | null {
  const file = path.join(MUTANTS_DIR, `${a.name}.mutants.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as MutantFile) : null;
}

/** The grade_ids of the answer cells. */
export function answerIds(a: Assignment): string[] {
  return a.instructor.cells.filter((c) => cellRole(c) === "solution").map((c) => gradeId(c) ?? "");
}

/**
 * A student notebook (the released version) with every answer solved as the instructor did, except the answers in
 * `replace` (grade_id → source).
 */
export function solvedStudent(a: Assignment, replace: ReadonlyMap<string, string> = new Map()): Notebook {
  const nb = cloneNotebook(a.student);
  for (const cell of nb.cells) {
    if (cellRole(cell) !== "solution") continue;
    const id = gradeId(cell) ?? "";
    const own = a.instructor.cells.find((c) => gradeId(c) === id);
    cell.source = replace.get(id) ?? unmark(joinSource(own?.source ?? ""));
  }
  return nb;
}

/** The mutated submissions of an assignment: label → notebook and what each must lose. */
export function mutantSubmissions(a: Assignment): Map<string, { notebook: Notebook; loses: Set<string>; mistakes: string[] }> {
  const out = new Map<string, { notebook: Notebook; loses: Set<string>; mistakes: string[] }>();
  const groups = new Map<string, Mutant[]>();
  for (const m of mutantsOf(a)?.mutants ?? []) {
    const label = m.submission ?? "mutant";
    groups.set(label, [...(groups.get(label) ?? []), m]);
  }
  for (const [label, ms] of groups) {
    const replace = new Map(ms.map((m) => [m.answer, m.source.join("\n")]));
    out.set(label, { notebook: solvedStudent(a, replace), loses: new Set(ms.flatMap((m) => m.loses)), mistakes: ms.map((m) => `${m.answer}: ${m.mistake}`) });
  }
  return out;
}
