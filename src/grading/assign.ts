/**
 * `metalab assign`: validates an instructor notebook, checks that its own solutions pass every test and that the
 * student version fails every test, and writes the student version to a release folder.
 */
import * as path from "node:path";
import { writeNotebook } from "../notebook/ipynb";
import { runNotebook, type RunOptions } from "../notebook/runner";
import { readAssignment, type Assignment } from "./assignment";
import { mergeSubmission } from "./merge";

/** Options for `assign`. */
export interface AssignOptions {
  /** Run the instructor version and require every cell to pass. Default true. */
  checkSolutions?: boolean;
  /** Run the student version and require every test cell to fail (no free points). Default true. */
  checkStudent?: boolean;
  /** Runner options for the checks (timeouts, cwd, memory). */
  run?: RunOptions;
}

/** What `assign` did. */
export interface AssignReport {
  assignment: Assignment;
  releasePath: string;
  /** Test cells that passed on the instructor version (all, when valid). */
  solutionPasses: string[];
  /** Test cells that failed on the student version (all, when valid). */
  studentFails: string[];
}

/** Which test cells pass when `nb` (already merged into executable form) runs. */
async function testOutcomes(a: Assignment, nb: Assignment["instructor"], opts: RunOptions): Promise<{ pass: string[]; fail: string[]; other: string[] }> {
  const merged = mergeSubmission(a, nb);
  const run = await runNotebook(merged.notebook, { ...opts, kernelName: a.kernelName, allowErrors: true });
  const ok = new Map(run.cells.map((c) => [c.index, c]));
  const pass: string[] = [];
  const fail: string[] = [];
  for (const t of a.tests) {
    const idx = merged.testIndex.get(t.gradeId);
    const r = idx === undefined ? undefined : ok.get(idx);
    if (r?.ok === true) pass.push(t.gradeId);
    else fail.push(`${t.gradeId}: ${r?.error ?? run.error ?? "not run"}`);
  }
  const testIdx = new Set(merged.testIndex.values());
  const other = run.cells.filter((c) => !c.ok && !testIdx.has(c.index)).map((c) => `cell ${c.index}: ${c.error ?? "failed"}`);
  return { pass, fail, other };
}

/** Validates, checks and releases one instructor notebook into `releaseDir/<name>.ipynb`. */
export async function assign(instructorPath: string, releaseDir: string, opts: AssignOptions = {}): Promise<AssignReport> {
  const a = readAssignment(instructorPath);
  const runOpts: RunOptions = { cellTimeoutMs: 60_000, timeoutMs: 600_000, cwd: path.dirname(path.resolve(instructorPath)), ...opts.run };
  let solutionPasses = a.tests.map((t) => t.gradeId);
  let studentFails = a.tests.map((t) => t.gradeId);
  if (opts.checkSolutions !== false) {
    const r = await testOutcomes(a, a.instructor, runOpts);
    if (r.fail.length > 0 || r.other.length > 0) {
      throw new Error(
        `the instructor version of ${instructorPath} does not pass its own tests; fix the solutions or tests:\n  - ${[...r.fail, ...r.other].join("\n  - ")}`,
      );
    }
    solutionPasses = r.pass;
  }
  if (opts.checkStudent !== false) {
    const r = await testOutcomes(a, a.student, runOpts);
    if (r.pass.length > 0) {
      throw new Error(
        `test cells ${r.pass.join(", ")} pass on the unanswered student version, so they award points for nothing; ` +
          `make each test call the student's code (the stub throws "not implemented").`,
      );
    }
    studentFails = r.fail.map((f) => f.split(":")[0]!);
  }
  const releasePath = path.join(releaseDir, `${a.name}.ipynb`);
  writeNotebook(releasePath, a.student);
  return { assignment: a, releasePath, solutionPasses, studentFails };
}
