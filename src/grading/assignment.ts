/**
 * An assignment read from an instructor notebook: nbgrader cell roles, validation, and the student version.
 * Cell metadata follows nbgrader's schema 3 (https://nbgrader.readthedocs.io/en/stable/contributor_guide/metadata.html),
 * so the same notebooks also work with nbgrader.
 */
import { cloneNotebook, joinSource, readNotebook, type Cell, type Notebook } from "../notebook/ipynb";
import { assignmentHash } from "./hashes";
import { MarkerError, regionsIn, stripHiddenTests, stripSolutions } from "./markers";

/** What a cell is for in grading. */
export type CellRole = "solution" | "test" | "locked" | "plain";

/** The role of a cell from its nbgrader metadata. */
export function cellRole(cell: Cell): CellRole {
  const g = cell.metadata.nbgrader;
  if (g === undefined) return "plain";
  if (g.solution) return "solution";
  if (g.grade) return "test";
  if (g.locked) return "locked";
  return "plain";
}

/** The nbgrader grade_id of a cell, if any. */
export function gradeId(cell: Cell): string | undefined {
  const id = cell.metadata.nbgrader?.grade_id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/** One autograded test cell. */
export interface TestCellInfo {
  gradeId: string;
  points: number;
  /** Index in the instructor notebook. */
  index: number;
  hasHidden: boolean;
}

/**
 * Functions one answer must not call (usually the library function its tests compare against), from the answer
 * cell's `metadata.metalab.banned`: `"mamlInnerLoop"` (an export of metalab) or `"@tensorflow/tfjs:softmax"`.
 */
export interface AnswerRule {
  /** grade_id of the answer cell. */
  answer: string;
  /** Index of the answer cell in the instructor notebook. */
  index: number;
  banned: BannedName[];
  /** Tests zeroed when the answer calls a banned function: `metadata.metalab.tests`, else the tests up to the next answer. */
  tests: string[];
}

/** One banned function: a module and one of its exports. */
export interface BannedName {
  module: string;
  name: string;
}

/** A validated assignment. */
export interface Assignment {
  /** Name used for the release file (instructor file name without `.instructor`). */
  name: string;
  instructor: Notebook;
  student: Notebook;
  tests: TestCellInfo[];
  totalPoints: number;
  kernelName: string;
  /** Banned calls, per answer cell. */
  rules: AnswerRule[];
  /** sha256 of the instructor notebook's content. */
  hash: string;
}

/** Raised when an instructor notebook is not a valid assignment; lists every problem found. */
export class AssignmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid instructor notebook:\n  - ${problems.join("\n  - ")}`);
    this.name = "AssignmentError";
  }
}

const GRADE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BANNED = /^(?:((?:@[\w.-]+\/)?[\w.-]+(?:\/[\w.-]+)*):)?([A-Za-z_$][\w$]*)$/;

/** Parses a banned entry (`"name"` of metalab, or `"module:name"`); null when malformed. */
export function parseBanned(entry: string): BannedName | null {
  const m = BANNED.exec(entry);
  const name = m?.[2];
  return m === null || name === undefined ? null : { module: m[1] ?? "metalab", name };
}

function metalabMeta(cell: Cell): Record<string, unknown> | undefined {
  const m = cell.metadata.metalab;
  return typeof m === "object" && m !== null && !Array.isArray(m) ? (m as Record<string, unknown>) : undefined;
}

/** The answer rules of a notebook (assumes it is valid). */
function answerRules(nb: Notebook): AnswerRule[] {
  const rules: AnswerRule[] = [];
  nb.cells.forEach((cell, index) => {
    const meta = metalabMeta(cell);
    const id = gradeId(cell);
    if (meta === undefined || cellRole(cell) !== "solution" || id === undefined || !Array.isArray(meta.banned)) return;
    const banned = meta.banned.map((b) => parseBanned(String(b))).filter((b): b is BannedName => b !== null);
    let tests: string[];
    if (Array.isArray(meta.tests)) tests = meta.tests.map(String);
    else {
      tests = [];
      for (const next of nb.cells.slice(index + 1)) {
        if (cellRole(next) === "solution") break;
        const t = gradeId(next);
        if (cellRole(next) === "test" && t !== undefined) tests.push(t);
      }
    }
    rules.push({ answer: id, index, banned, tests });
  });
  return rules;
}

/** Checks nbgrader metadata, ids, points and markers; returns the problems (empty when valid). */
export function validateInstructor(nb: Notebook): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const cellIds = new Set<string>();
  nb.cells.forEach((cell, i) => {
    const where = `cell ${i}${gradeId(cell) ? ` (grade_id ${gradeId(cell)})` : ""}`;
    if (cellIds.has(cell.id)) problems.push(`${where}: duplicate cell id "${cell.id}"; give each cell a unique id.`);
    cellIds.add(cell.id);
    let regions = { solution: false, hidden: false };
    try {
      regions = regionsIn(joinSource(cell.source), where);
    } catch (e) {
      problems.push(e instanceof MarkerError ? e.message : String(e));
    }
    const g = cell.metadata.nbgrader;
    const role = cellRole(cell);
    if (g !== undefined) {
      const id = gradeId(cell);
      if (id === undefined) problems.push(`${where}: nbgrader metadata without grade_id; add a unique "grade_id".`);
      else if (!GRADE_ID.test(id)) problems.push(`${where}: grade_id "${id}" must match [A-Za-z0-9_.-]{1,64}.`);
      else if (ids.has(id)) problems.push(`${where}: duplicate grade_id "${id}"; grade_ids must be unique.`);
      if (id !== undefined) ids.add(id);
      if (g.grade && g.solution) {
        problems.push(`${where}: grade and solution both true means a manually graded answer, which metalab does not grade; use a solution cell plus a test cell.`);
      }
      if (role === "test" && !(typeof g.points === "number" && g.points > 0)) {
        problems.push(`${where}: test cell without positive "points"; set nbgrader.points.`);
      }
      if (role === "solution" && cell.cell_type !== "code") problems.push(`${where}: solution cells must be code cells.`);
      if (role === "test" && cell.cell_type !== "code") problems.push(`${where}: test cells must be code cells.`);
    }
    if (regions.solution && role !== "solution") {
      problems.push(`${where}: "// BEGIN SOLUTION" outside a solution cell; mark the cell nbgrader.solution = true.`);
    }
    if (regions.hidden && role !== "test") {
      problems.push(`${where}: "// BEGIN HIDDEN TESTS" outside a test cell; mark the cell nbgrader.grade = true with points.`);
    }
    const meta = metalabMeta(cell);
    if (meta !== undefined) {
      if (role !== "solution") problems.push(`${where}: metadata.metalab (banned calls) belongs on answer cells (nbgrader.solution = true).`);
      for (const k of Object.keys(meta)) if (k !== "banned" && k !== "tests") problems.push(`${where}: unknown metadata.metalab key "${k}"; use "banned" and "tests".`);
      if (meta.banned !== undefined && !(Array.isArray(meta.banned) && meta.banned.every((b) => typeof b === "string" && parseBanned(b) !== null))) {
        problems.push(`${where}: metadata.metalab.banned must be a list like ["mamlInnerLoop", "@tensorflow/tfjs:softmax"].`);
      }
      if (meta.tests !== undefined && !(Array.isArray(meta.tests) && meta.tests.every((t) => typeof t === "string"))) {
        problems.push(`${where}: metadata.metalab.tests must be a list of test grade_ids.`);
      }
    }
  });
  const testIds = new Set(nb.cells.filter((c) => cellRole(c) === "test").map(gradeId));
  for (const cell of nb.cells) {
    const tests = metalabMeta(cell)?.tests;
    if (!Array.isArray(tests)) continue;
    for (const t of tests) if (!testIds.has(String(t))) problems.push(`answer ${gradeId(cell) ?? cell.id}: metadata.metalab.tests names "${String(t)}", which is not a test cell.`);
  }
  if (!nb.cells.some((c) => cellRole(c) === "test")) problems.push("no test cells (nbgrader.grade = true with points); nothing to grade.");
  if (!nb.cells.some((c) => cellRole(c) === "solution")) problems.push("no solution cells (nbgrader.solution = true); nothing for students to write.");
  return problems;
}

/** The student version of one instructor cell (solutions stubbed, hidden tests removed, outputs cleared). */
export function studentCell(cell: Cell, where: string): Cell {
  const c = structuredClone(cell);
  const src = joinSource(c.source);
  const role = cellRole(c);
  if (role === "solution") {
    const { solution } = regionsIn(src, where);
    c.source = solution ? stripSolutions(src, where) : `// YOUR CODE HERE\n${"throw new Error(\"not implemented\");"}`;
  } else if (role === "test") {
    c.source = stripHiddenTests(src, where);
  }
  if (role === "test" || role === "locked") {
    c.metadata = { ...c.metadata, deletable: false, editable: false };
  }
  if (c.cell_type === "code") {
    c.outputs = [];
    c.execution_count = null;
  }
  return c;
}

/** Builds a validated assignment from an instructor notebook; throws `AssignmentError` listing every problem. */
export function loadAssignment(instructor: Notebook, name: string): Assignment {
  const problems = validateInstructor(instructor);
  if (problems.length > 0) throw new AssignmentError(problems);
  const student = cloneNotebook(instructor);
  student.cells = instructor.cells.map((c, i) => studentCell(c, `cell ${i}`));
  const tests: TestCellInfo[] = [];
  instructor.cells.forEach((c, index) => {
    const id = gradeId(c);
    if (cellRole(c) === "test" && id !== undefined) {
      tests.push({ gradeId: id, points: c.metadata.nbgrader?.points ?? 0, index, hasHidden: regionsIn(joinSource(c.source)).hidden });
    }
  });
  return {
    name,
    instructor,
    student,
    tests,
    totalPoints: tests.reduce((s, t) => s + t.points, 0),
    kernelName: instructor.metadata.kernelspec?.name ?? "tslab",
    rules: answerRules(instructor),
    hash: assignmentHash(instructor),
  };
}

/** Release file name for an instructor path: `x.instructor.ipynb` → `x`. */
export function assignmentName(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.ipynb$/, "").replace(/\.instructor$/, "");
}

/** Reads and validates the instructor notebook at `file`, named by `assignmentName`. */
export function readAssignment(file: string): Assignment {
  return loadAssignment(readNotebook(file), assignmentName(file));
}
