/**
 * Every instructor notebook passes its own tests, and the student version generated from it fails every test.
 * Also grades one instructor notebook as a submission from a scratch folder outside the project (full marks),
 * which checks that `import "metalab"` resolves through the grader's node_modules link.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { assign } from "../../src/grading/assign";
import { assignmentName, loadAssignment } from "../../src/grading/assignment";
import { gradeSubmission } from "../../src/grading/grade-one";
import { readNotebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const INSTRUCTOR = path.join(ROOT, "notebooks", "instructor");
const notebooks = [
  ...fs
    .readdirSync(INSTRUCTOR)
    .filter((f) => f.endsWith(".instructor.ipynb"))
    .map((f) => path.join(INSTRUCTOR, f)),
  path.join(ROOT, "test", "fixtures", "grading", "squares.instructor.ipynb"),
];
const release = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-release-"));
afterAll(() => fs.rmSync(release, { recursive: true, force: true }));

function needBuild(): void {
  if (!fs.existsSync(path.join(ROOT, "node_modules", "metalab", "dist", "src", "index.js"))) {
    throw new Error("instructor notebooks import metalab: run `npm run build && node scripts/link-self.cjs` first");
  }
}

describe("metalab assign on every instructor notebook", () => {
  test("there are instructor notebooks for the gradient and MAML labs", () => {
    expect(notebooks.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining(["01-gradients-exercises.instructor.ipynb", "02-maml-inner-loop.instructor.ipynb"]),
    );
  });

  test.each(notebooks)("%s: solutions pass every test, the student version fails every test", async (file) => {
    needBuild();
    const rep = await assign(file, release, { run: { cellTimeoutMs: 120_000 } });
    const ids = rep.assignment.tests.map((t) => t.gradeId);
    expect(rep.solutionPasses).toEqual(ids);
    expect(rep.studentFails).toEqual(ids);
    const released = fs.readFileSync(rep.releasePath, "utf8");
    expect(released).not.toMatch(/BEGIN HIDDEN TESTS|BEGIN SOLUTION/);
    expect(released).toMatch(/not implemented/);
  }, 240_000);

  test("a solved MAML notebook graded from a scratch folder earns full marks", async () => {
    needBuild();
    const file = path.join(INSTRUCTOR, "02-maml-inner-loop.instructor.ipynb");
    const a = loadAssignment(readNotebook(file), assignmentName(file));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-work-"));
    try {
      const { result } = await gradeSubmission(a, file, "solver", { workRoot: work, cellTimeoutMs: 120_000 });
      expect(result.tests.map((t) => t.error ?? "")).toEqual(a.tests.map(() => ""));
      expect(result).toMatchObject({ status: "graded", score: 10, maxScore: 10, flags: [] });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);
});
