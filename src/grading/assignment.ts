/**
 * An assignment read from an instructor notebook: nbgrader cell roles, validation, and the student version.
 * Cell metadata follows nbgrader's schema 3 (https://nbgrader.readthedocs.io/en/stable/contributor_guide/metadata.html),
 * so the same notebooks also work with nbgrader.
 */
import { cloneNotebook, joinSource, readNotebook, type Cell, type Notebook } from "../notebook/ipynb";
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

/** A validated assignment. */
export interface Assignment {
  /** Name used for the release file (instructor file name without `.instructor`). */
  name: string;
  instructor: Notebook;
  student: Notebook;
  tests: TestCellInfo[];
  totalPoints: number;
  kernelName: string;
}

/** Raised when an instructor notebook is not a valid assignment; lists every problem found. */
export class AssignmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid instructor notebook:\n  - ${problems.join("\n  - ")}`);
    this.name = "AssignmentError";
  }
}

const GRADE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

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
  });
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
