import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { assignmentName, loadAssignment, validateInstructor, AssignmentError } from "../../src/grading/assignment";
import { maskHiddenTests, MarkerError, regionsIn, stripHiddenTests, stripSolutions, SOLUTION_STUB } from "../../src/grading/markers";
import { mergeSubmission } from "../../src/grading/merge";
import { codeCell, joinSource, readNotebook, type Notebook } from "../../src/notebook/ipynb";

const FIXTURE = path.join(__dirname, "..", "fixtures", "grading", "squares.instructor.ipynb");
const load = () => loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
const src = (nb: Notebook, id: string): string => joinSource(nb.cells.find((c) => c.id === id)?.source ?? "");

describe("markers", () => {
  const code = "function f(x: number) {\n  // BEGIN SOLUTION\n  return x + 1;\n  // END SOLUTION\n}\nf(1);\n// BEGIN HIDDEN TESTS\nassertHidden();\n// END HIDDEN TESTS\ndone();";
  test("stubs solutions at their indentation and removes or masks hidden tests", () => {
    expect(stripSolutions(code)).toBe(`function f(x: number) {\n  ${SOLUTION_STUB}\n}\nf(1);\n// BEGIN HIDDEN TESTS\nassertHidden();\n// END HIDDEN TESTS\ndone();`);
    expect(stripHiddenTests(code)).not.toMatch(/assertHidden|HIDDEN/);
    expect(stripHiddenTests(code)).toMatch(/f\(1\);\ndone\(\);$/);
    expect(maskHiddenTests(code)).toMatch(/\/\/ \(hidden tests ran here\)\ndone\(\);$/);
    expect(regionsIn(code)).toEqual({ solution: true, hidden: true });
  });
  test("rejects unbalanced and nested markers with the line", () => {
    expect(() => stripSolutions("// BEGIN SOLUTION\nx")).toThrow(MarkerError);
    expect(() => regionsIn("a\n// END SOLUTION", "cell 4")).toThrow(/cell 4, line 2: "\/\/ END SOLUTION" without/);
    expect(() => regionsIn("// BEGIN SOLUTION\n// BEGIN HIDDEN TESTS\n// END HIDDEN TESTS\n// END SOLUTION")).toThrow(/inside an open SOLUTION/);
  });
});

describe("assignment", () => {
  test("reads roles, points and the student version of the fixture", () => {
    const a = load();
    expect(a.name).toBe("squares");
    expect(a.tests.map((t) => [t.gradeId, t.points, t.hasHidden])).toEqual([
      ["test_square", 2, false],
      ["test_sum_squares", 3, true],
      ["test_square_neg", 1, false],
    ]);
    expect(a.totalPoints).toBe(6);
    expect(src(a.student, "square")).toBe(`function square(x: number): number {\n  ${SOLUTION_STUB}\n}`);
    expect(src(a.student, "test_sum_squares")).not.toMatch(/sumSquares\(\[\]\)|HIDDEN/);
    expect(a.student.cells.find((c) => c.id === "test_square")?.metadata).toMatchObject({ editable: false, deletable: false });
  });

  test("lists every problem in a bad instructor notebook", () => {
    const nb = readNotebook(FIXTURE);
    const t = nb.cells.find((c) => c.id === "test_square");
    const s = nb.cells.find((c) => c.id === "sum_squares");
    if (!t?.metadata.nbgrader || !s?.metadata.nbgrader) throw new Error("fixture changed");
    delete t.metadata.nbgrader.points;
    s.metadata.nbgrader.grade_id = "square";
    nb.cells.push(codeCell("// BEGIN SOLUTION\nx", "loose"));
    const problems = validateInstructor(nb);
    expect(problems.join("\n")).toMatch(/test cell without positive "points"/);
    expect(problems.join("\n")).toMatch(/duplicate grade_id "square"/);
    expect(problems.join("\n")).toMatch(/never closed/);
    expect(() => loadAssignment(nb, "x")).toThrow(AssignmentError);
  });
});

describe("mergeSubmission", () => {
  test("uses official tests, student answers and extra cells; reports edits and deletions", () => {
    const a = load();
    const sub = structuredClone(a.student);
    const answer = sub.cells.find((c) => c.id === "square");
    if (!answer) throw new Error("fixture changed");
    answer.source = "function square(x: number): number { return x * x; }";
    const ti = sub.cells.findIndex((c) => c.id === "test_square");
    const testCell = sub.cells[ti];
    if (!testCell) throw new Error("fixture changed");
    testCell.source = 'console.log("All tests passed")';
    sub.cells.splice(ti + 1, 0, codeCell("console.log('my scratch')", "scratch"));
    sub.cells = sub.cells.filter((c) => c.id !== "test_square_neg" && c.id !== "sum_squares");
    const m = mergeSubmission(a, sub);
    const ids = m.notebook.cells.map((c) => c.id);
    expect(ids).toEqual(["intro", "setup", "q1", "square", "test_square", "scratch", "q2", "sum_squares", "test_sum_squares", "test_square_neg"]);
    expect(src(m.notebook, "square")).toBe("function square(x: number): number { return x * x; }");
    expect(src(m.notebook, "test_square")).toBe(src(a.instructor, "test_square"));
    expect(src(m.notebook, "test_sum_squares")).toMatch(/sumSquares\(\[\]\)/); // hidden tests are executed
    expect(src(m.notebook, "sum_squares")).toMatch(/not implemented/);
    expect(m.tampered).toEqual(["test_square", "test_square_neg"]);
    expect(m.missing).toEqual(["sum_squares"]);
    expect(m.testIndex.get("test_sum_squares")).toBe(8);
    expect(a.student.cells.find((c) => c.id === "square")?.source).not.toMatch(/x \* x/); // inputs untouched
  });
});
