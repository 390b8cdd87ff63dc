/**
 * `metalab assign`: validates an instructor notebook, builds its reference (the solution's check values), grades the
 * instructor's own version against it (full marks required: proves the checks are deterministic) and the student
 * version (zero on every test required: no free points), and writes the student version to a release folder.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkBoolean, checkConfig } from "../core/validate";
import { serializeNotebook, writeNotebook } from "../notebook/ipynb";
import { readAssignment, type Assignment } from "./assignment";
import { bannedCalls } from "./banned";
import type { Reference } from "./checks";
import { checkGradeLimits, GRADE_LIMIT_KEYS, gradeLimits, gradeSubmission } from "./grade-one";
import { graderVersion } from "./hashes";
import { defaultNodeModules, gradingRunner, type KernelLimits, type SandboxKind } from "./kernel-run";
import { mergeSubmission } from "./merge";
import { buildReference, referenceWarnings, type RunKernel } from "./reference";

/** Options for `assign`. */
export interface AssignOptions {
  /** Grade the instructor version against the reference and require full marks. Default true. */
  checkSolutions?: boolean;
  /** Grade the student version and require zero on every test (no free points). Default true. */
  checkStudent?: boolean;
  /** Limits for the checks' kernels (defaults: 60 s per cell, 600 s per notebook). */
  run?: Partial<KernelLimits>;
  /** Runs a notebook in a fresh kernel; default: `gradingRunner` with `sandbox`. */
  runKernel?: RunKernel;
  /** How kernels are isolated; default "bubblewrap" (an error when it cannot run), "none" with a `runKernel` of your own. */
  sandbox?: SandboxKind;
}

/** What `assign` did. */
export interface AssignReport {
  assignment: Assignment;
  releasePath: string;
  /** Test cells that earn full marks on the instructor version (all, when valid). */
  solutionPasses: string[];
  /** Test cells that earn nothing on the student version (all, when valid). */
  studentFails: string[];
  /** Things that work but should be fixed, e.g. throw-style (in-kernel, forgeable) test cells. */
  warnings: string[];
  /** The reference, when the checks ran. */
  reference?: Reference;
}

/** The keys of `AssignOptions` (all optional): any other key is a typo and an error. */
export const ASSIGN_OPTION_KEYS: { readonly [K in keyof AssignOptions]-?: true } = { checkSolutions: true, checkStudent: true, run: true, runKernel: true, sandbox: true };

/** Checks `assign`'s options: unknown keys are errors, the switches are booleans. Returns them unchanged. */
export function assignOptions(o: AssignOptions): AssignOptions {
  checkConfig("assign", o, ASSIGN_OPTION_KEYS, { hint: "Pass e.g. { checkSolutions: true }.", keysWho: "assign options" });
  for (const k of ["checkSolutions", "checkStudent"] as const) if (o[k] !== undefined) checkBoolean("assign", k, o[k]);
  if (o.run !== undefined) {
    // The checks' kernels run through gradeSubmission, which checks these again: a bad one fails here, before any kernel.
    checkConfig("assign run", o.run, GRADE_LIMIT_KEYS, { name: "run", hint: "Pass e.g. { run: { cellTimeoutMs: 60000 } }.", keysWho: "assign run" });
    checkGradeLimits("assign run", o.run);
  }
  return o;
}

/** Validates, checks and releases one instructor notebook into `releaseDir/<name>.ipynb`. */
export async function assign(instructorPath: string, releaseDir: string, opts: AssignOptions = {}): Promise<AssignReport> {
  assignOptions(opts);
  const a = readAssignment(instructorPath);
  const limits = gradeLimits({ cellTimeoutMs: 60_000, timeoutMs: 600_000, ...opts.run });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-assign-"));
  const sandbox = opts.sandbox ?? (opts.runKernel !== undefined ? "none" : "bubblewrap");
  const runKernel = opts.runKernel ?? gradingRunner({ ...limits, kernelName: a.kernelName, workRoot: work, nodeModulesDir: defaultNodeModules(), sandbox });
  let solutionPasses = a.tests.map((t) => t.gradeId);
  let studentFails = a.tests.map((t) => t.gradeId);
  const warnings: string[] = [];
  let reference: Reference | undefined;
  try {
    const ownBanned = bannedCalls(a, mergeSubmission(a, a.instructor));
    if (ownBanned.length > 0) {
      throw new Error(`the solution of ${instructorPath} calls functions it bans:\n  - ${ownBanned.map((f) => `${f.where.replace(/^your /, "")}: ${f.what}`).join("\n  - ")}`);
    }
    if (opts.checkSolutions !== false || opts.checkStudent !== false) {
      reference = await buildReference(a, runKernel, { assignmentHash: a.hash, grader: graderVersion() });
      warnings.push(...referenceWarnings(reference));
    }
    const gradeVersion = async (label: string, text: string) => {
      const file = path.join(work, `${label}.ipynb`);
      fs.writeFileSync(file, text);
      const { result } = await gradeSubmission(a, file, label, { ...limits, workRoot: work, reference, runKernel, sandbox });
      return result;
    };
    if (opts.checkSolutions !== false) {
      const r = await gradeVersion("solution", serializeNotebook(a.instructor));
      const bad = r.tests.filter((t) => t.score !== t.maxScore);
      if (bad.length > 0) {
        throw new Error(
          `the instructor version of ${instructorPath} does not earn full marks against its own reference; fix the solutions or tests ` +
            `(a check that fails here gives different values in two runs: seed every random draw):\n  - ${bad.map((t) => `${t.gradeId}: ${t.error ?? "failed"}`).join("\n  - ")}`,
        );
      }
      solutionPasses = r.tests.map((t) => t.gradeId);
    }
    if (opts.checkStudent !== false) {
      const r = await gradeVersion("student", serializeNotebook(a.student));
      const free = r.tests.filter((t) => t.score > 0);
      if (free.length > 0) {
        throw new Error(
          `test cells ${free.map((t) => `${t.gradeId} (${t.score} points)`).join(", ")} give points on the unanswered student version, so they award points for nothing; ` +
            `make each check send a value computed by the student's code (the stub throws "not implemented").`,
        );
      }
      studentFails = r.tests.map((t) => t.gradeId);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const releasePath = path.join(releaseDir, `${a.name}.ipynb`);
  writeNotebook(releasePath, a.student);
  const report: AssignReport = { assignment: a, releasePath, solutionPasses, studentFails, warnings };
  if (reference !== undefined) report.reference = reference;
  return report;
}
