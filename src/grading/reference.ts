/**
 * The reference: each test cell's checks as the instructor's solution produced them in kernels that never ran
 * student code. Two runs: the full instructor version (every check, hidden ones included) and the instructor
 * solutions with hidden tests removed (the checks a student can see). A check sent only by the first is hidden;
 * a visible check must give the same value in both (the notebook is seeded, so it is deterministic).
 */
import { cloneNotebook, joinSource, type Notebook } from "../notebook/ipynb";
import type { RunResult } from "../notebook/runner";
import { cellRole, type Assignment } from "./assignment";
import { compareValues, describe, readOptions } from "./check-value";
import { assignPoints, sentChecks, type Reference, type ReferenceCheck, type ReferenceTest } from "./checks";
import { stripHiddenTests } from "./markers";
import { mergeSubmission } from "./merge";

/** Runs one notebook in a fresh (sandboxed) kernel; `label` names it in errors. */
export type RunKernel = (nb: Notebook, label: string) => Promise<RunResult>;

/** Raised when the reference cannot be built. `infrastructure` means a kernel could not run at all (retry later). */
export class ReferenceBuildError extends Error {
  constructor(
    readonly problems: string[],
    readonly infrastructure: boolean,
  ) {
    super(`cannot build the reference from the instructor's solution:\n  - ${problems.join("\n  - ")}`);
    this.name = "ReferenceBuildError";
  }
}

/** The instructor's solutions with the hidden parts of test cells removed. */
export function visibleSolution(a: Assignment): Notebook {
  const nb = cloneNotebook(a.instructor);
  nb.cells.forEach((c, i) => {
    if (cellRole(c) === "test") c.source = stripHiddenTests(joinSource(c.source), `cell ${i}`);
  });
  return nb;
}

function infrastructureFailure(run: RunResult): string | null {
  if (run.cells.length === 0 && run.error !== undefined) return run.error;
  const bad = run.cells.find((c) => c.kernelDied || c.timedOut);
  return bad === undefined ? null : `cell ${bad.index}: ${bad.error ?? "the kernel died"}`;
}

/** Builds the reference from the two runs; throws `ReferenceBuildError` listing every problem. */
export function referenceFromRuns(a: Assignment, full: RunResult, fullTestIndex: Map<string, number>, visible: RunResult, meta: { assignmentHash: string; grader: string }): Reference {
  const problems: string[] = [];
  for (const [label, run] of [["the instructor version", full], ["the instructor version without hidden tests", visible]] as const) {
    const infra = infrastructureFailure(run);
    if (infra !== null) throw new ReferenceBuildError([`${label} could not run: ${infra}`], run.cells.length === 0);
    for (const c of run.cells) if (!c.ok) problems.push(`${label} fails in cell ${c.index}: ${c.error ?? "failed"}`);
  }
  if (problems.length > 0) throw new ReferenceBuildError(problems, false);

  const testAt = new Map<number, string>();
  for (const [id, idx] of fullTestIndex) testAt.set(idx, id);
  const seen = new Map<string, string>();
  const perTest = new Map<string, { name: string; value: ReferenceCheck["value"]; options: ReferenceCheck["options"] }[]>();
  full.notebook.cells.forEach((cell, idx) => {
    if (cell.cell_type !== "code") return;
    for (const s of sentChecks(cell.outputs)) {
      if (!s.ok) {
        problems.push(`cell ${idx} sends a malformed check: ${s.error}`);
        continue;
      }
      const p = s.payload;
      const test = testAt.get(idx);
      if (test === undefined) {
        problems.push(`check "${p.name}" is sent from cell ${idx}, which is not a test cell; call check() only in test cells`);
        continue;
      }
      if (seen.has(p.name)) {
        problems.push(`check "${p.name}" is sent more than once (in ${seen.get(p.name)} and ${test}); give every check a unique name`);
        continue;
      }
      seen.set(p.name, test);
      if (p.value.t === "unsupported") problems.push(`check "${p.name}": the solution's value is ${p.value.what}; send numbers, arrays, tensors or records`);
      const list = perTest.get(test) ?? [];
      list.push({ name: p.name, value: p.value, options: p.options });
      perTest.set(test, list);
    }
  });

  // Visible checks: those the hidden-free run sends, with the same value.
  const visibleNames = new Set<string>();
  visible.notebook.cells.forEach((cell, idx) => {
    if (cell.cell_type !== "code") return;
    const test = a.tests.find((t) => t.index === idx)?.gradeId;
    for (const s of sentChecks(cell.outputs)) {
      if (!s.ok) continue;
      const p = s.payload;
      const owner = seen.get(p.name);
      if (test === undefined || owner !== test) {
        problems.push(`check "${p.name}" is sent by cell ${idx} only when hidden tests are removed; keep each check in one test cell`);
        continue;
      }
      visibleNames.add(p.name);
      const want = perTest.get(test)?.find((c) => c.name === p.name);
      if (want !== undefined && !compareValues(want.value, p.value, want.options).ok) {
        problems.push(
          `check "${p.name}" gives a different value when the hidden tests do not run before it (${describe(want.value)}); ` +
            `seed every random draw and do not let visible checks depend on hidden code`,
        );
      }
    }
  });

  const tests: ReferenceTest[] = a.tests.map((t) => {
    const sent = perTest.get(t.gradeId) ?? [];
    const { points, problems: pp } = assignPoints(t.points, sent.map((c) => c.options));
    for (const p of pp) problems.push(`test cell ${t.gradeId}: ${p}`);
    return {
      gradeId: t.gradeId,
      points: t.points,
      mode: sent.length > 0 ? "checks" : "in-kernel",
      checks: sent.map((c, i) => ({ name: c.name, value: c.value, options: readOptions(c.options), points: points[i] ?? 0, hidden: !visibleNames.has(c.name) })),
    };
  });
  if (problems.length > 0) throw new ReferenceBuildError(problems, false);
  return { format: 1, assignmentHash: meta.assignmentHash, grader: meta.grader, tests, createdAt: new Date().toISOString() };
}

/** Runs the instructor's version twice (with and without hidden tests) and builds the reference. */
export async function buildReference(a: Assignment, run: RunKernel, meta: { assignmentHash: string; grader: string }): Promise<Reference> {
  const merged = mergeSubmission(a, a.instructor);
  const full = await run(merged.notebook, "reference (instructor solution)");
  const visible = await run(visibleSolution(a), "reference (instructor solution, hidden tests removed)");
  return referenceFromRuns(a, full, merged.testIndex, visible, meta);
}

/** Warnings for an assignment whose reference is built: throw-style cells are decided in the student's kernel. */
export function referenceWarnings(ref: Reference): string[] {
  return ref.tests
    .filter((t) => t.mode === "in-kernel")
    .map(
      (t) =>
        `test cell ${t.gradeId} calls no check(): it passes when it does not throw, which student code in the same kernel can forge ` +
        `(in-kernel, forgeable). Send values with check("name", value) so the grader compares them with the solution's.`,
    );
}
