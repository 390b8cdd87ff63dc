/**
 * Builds the notebook the grader executes from an assignment and one submission: official test and locked cells
 * come from the instructor version (hidden tests included), answers and extra cells from the student.
 * Edits to or deletions of official cells are ignored and reported.
 */
import { joinSource, type Cell, type Notebook } from "../notebook/ipynb";
import { type Assignment, cellRole, gradeId } from "./assignment";

/** The executable notebook plus what the merge noticed. */
export interface MergedSubmission {
  /** Notebook to execute (instructor kernel, official test cells with hidden tests). */
  notebook: Notebook;
  /** grade_id of each test cell → its index in `notebook.cells`. */
  testIndex: Map<string, number>;
  /** Human-readable notes (edited/deleted official cells, missing answers, duplicates). */
  notes: string[];
  /** Official cells the student edited or deleted. */
  tampered: string[];
  /** Solution cells the student deleted (the unanswered stub was used). */
  missing: string[];
  /** Where each cell of `notebook` came from (same order). */
  origins: CellOrigin[];
}

/** Where a cell of the executed notebook came from. */
export interface CellOrigin {
  /** "official": instructor (test, locked, plain); "answer": a student's answer; "stub": an unanswered stub; "extra": a cell the student added. */
  kind: "official" | "answer" | "stub" | "extra";
  /** Position in the student's own notebook (answers and extras). */
  studentIndex?: number;
  /** grade_id of the answer cell. */
  gradeId?: string;
}

/**
 * A fresh cell holding only what grading uses from a student's cell (type, id, source), so nothing the student put in
 * metadata, outputs or attachments (however large or deeply nested) is ever copied.
 */
function studentCopy(c: Cell): Cell {
  const source = joinSource(c.source);
  if (c.cell_type === "code") return { cell_type: "code", id: c.id, metadata: {}, source, execution_count: null, outputs: [] };
  return c.cell_type === "markdown" ? { cell_type: "markdown", id: c.id, metadata: {}, source } : { cell_type: "raw", id: c.id, metadata: {}, source };
}

const norm = (s: string): string =>
  s
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .trim();

/** Key that identifies "the same cell" across versions: grade_id, else nbformat cell id. */
function keyOf(c: Cell): string {
  const g = gradeId(c);
  return g !== undefined ? `g:${g}` : `id:${c.id}`;
}

/** Merges a submission into the assignment (see file comment). */
export function mergeSubmission(a: Assignment, submission: Notebook): MergedSubmission {
  const notes: string[] = [];
  const tampered: string[] = [];
  const missing: string[] = [];
  const official = new Set(a.instructor.cells.map(keyOf));
  const byKey = new Map<string, { cell: Cell; at: number }>();
  // Student cells not matching any official cell, grouped after the official cell they follow ("" = before all).
  const extrasAfter = new Map<string, { cell: Cell; at: number }[]>();
  let anchor = "";
  submission.cells.forEach((c, at) => {
    const k = keyOf(c);
    if (official.has(k) && !byKey.has(k)) {
      byKey.set(k, { cell: c, at });
      anchor = k;
      return;
    }
    if (official.has(k)) notes.push(`duplicate cell ${k.slice(2)} in the submission: the first copy was used, this one was kept as an extra cell`);
    const list = extrasAfter.get(anchor) ?? [];
    list.push({ cell: c, at });
    extrasAfter.set(anchor, list);
  });

  const cells: Cell[] = [];
  const origins: CellOrigin[] = [];
  const testIndex = new Map<string, number>();
  const push = (c: Cell, origin: CellOrigin): void => {
    cells.push(structuredClone(c)); // Instructor cells only: trusted, shallow data.
    origins.push(origin);
  };
  const pushExtras = (k: string): void => {
    for (const { cell, at } of extrasAfter.get(k) ?? []) {
      // Extra student cells keep no metadata, so they cannot claim official roles or ids.
      cells.push(studentCopy(cell));
      origins.push({ kind: "extra", studentIndex: at });
    }
  };
  pushExtras("");
  a.instructor.cells.forEach((inst, i) => {
    const k = keyOf(inst);
    const released = a.student.cells[i];
    if (released === undefined) {
      throw new Error(`assignment ${a.name}: the student version has fewer cells than the instructor version; rebuild it with \`metalab assign\`.`);
    }
    const theirs = byKey.get(k);
    const role = cellRole(inst);
    const label = gradeId(inst) ?? inst.id;
    if (role === "solution") {
      if (theirs === undefined) {
        missing.push(label);
        notes.push(`answer cell ${label} is missing from the submission; the unanswered stub was used`);
        push(released, { kind: "stub", gradeId: label });
      } else {
        const c = structuredClone(released);
        c.source = joinSource(theirs.cell.source);
        cells.push(c);
        origins.push({ kind: "answer", studentIndex: theirs.at, gradeId: label });
      }
    } else if (role === "test" || role === "locked") {
      if (theirs === undefined) {
        tampered.push(label);
        notes.push(`${role === "test" ? "test" : "locked"} cell ${label} was deleted; the official version was re-inserted`);
      } else if (
        norm(joinSource(theirs.cell.source)) !== norm(joinSource(released.source)) &&
        norm(joinSource(theirs.cell.source)) !== norm(joinSource(inst.source))
      ) {
        tampered.push(label);
        notes.push(`${role === "test" ? "test" : "locked"} cell ${label} was edited; the edit was ignored and the official version used`);
      }
      if (role === "test") testIndex.set(label, cells.length);
      push(inst, { kind: "official" });
    } else {
      // Plain cells (setup code, instructions) always come from the assignment.
      push(released, { kind: "official" });
    }
    pushExtras(k);
  });
  for (const c of cells) {
    if (c.cell_type === "code") {
      c.outputs = [];
      c.execution_count = null;
    }
  }
  const notebook: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: structuredClone(a.instructor.metadata),
    cells,
  };
  // Extra cells may reuse ids of official ones; keep ids unique for nbformat 4.5.
  const seen = new Set<string>();
  cells.forEach((c, i) => {
    if (seen.has(c.id)) c.id = `extra-${i}`;
    seen.add(c.id);
  });
  return { notebook, testIndex, notes, tampered, missing, origins };
}
