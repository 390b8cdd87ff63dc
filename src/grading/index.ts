/**
 * metalab/grading: build student versions of instructor notebooks (`assign`) and grade submissions (`gradeSubmission`,
 * `gradeBatch`) into reports, a gradebook and Gradescope results. Value checks are decided here against the reference
 * (`buildReference`); every kernel runs in a bubblewrap sandbox (`sandboxProblem`, `gradingRunner`). Runs notebooks
 * through metalab/notebook. The kernel-side `check()` is its own entry point, `metalab/check`.
 */
export { type AssignOptions, type AssignReport, assign } from "./assign";
export {
  type CellRole,
  cellRole,
  gradeId,
  type TestCellInfo,
  type Assignment,
  AssignmentError,
  validateInstructor,
  loadAssignment,
  assignmentName,
  readAssignment,
  type AnswerRule,
  type BannedName,
  parseBanned,
} from "./assignment";
export { type BannedFinding, bannedCalls } from "./banned";
export { type CheckOptions, type Encoded, type Comparison, CHECK_MIME, CHECK_DEFAULTS, compareValues } from "./check-value";
export { type Reference, type ReferenceTest, type ReferenceCheck, type CheckResult } from "./checks";
export { type RunKernel, ReferenceBuildError, buildReference, referenceWarnings } from "./reference";
export { type SandboxKind, type KernelLimits, gradingRunner } from "./kernel-run";
export { type SandboxReport, SANDBOX_DEFAULTS, sandboxProblem } from "./sandbox";
export { studentId } from "./submissions";
export { type SubmissionStatus, type SubmissionFlag, type TestResult, type StudentResult, type GradeOptions, GRADE_DEFAULTS, gradeSubmission, referenceFor } from "./grade-one";
export { type SubmissionEntry, type BatchOptions, type BatchResult, listSubmissions, gradeBatch, gradeEntry } from "./grade-batch";
export { type MergedSubmission, mergeSubmission } from "./merge";
export { SOLUTION_STUB, HIDDEN_TESTS_NOTE, MarkerError, regionsIn, stripSolutions, stripHiddenTests, maskHiddenTests } from "./markers";
export { type GradescopeTest, type GradescopeResults, toGradescope, feedbackHtml, gradebook, canvasGradebook, classReportHtml } from "./reports";
