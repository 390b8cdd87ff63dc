/**
 * metalab/grading: build student versions of instructor notebooks (`assign`) and grade submissions (`gradeSubmission`,
 * `gradeBatch`) into reports, a gradebook and Gradescope results. Runs notebooks through metalab/notebook.
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
} from "./assignment";
export { type SubmissionStatus, type SubmissionFlag, type TestResult, type StudentResult, type GradeOptions, GRADE_DEFAULTS, gradeSubmission } from "./grade-one";
export { type SubmissionEntry, type BatchOptions, type BatchResult, listSubmissions, gradeBatch } from "./grade-batch";
export { type MergedSubmission, mergeSubmission } from "./merge";
export { SOLUTION_STUB, HIDDEN_TESTS_NOTE, MarkerError, regionsIn, stripSolutions, stripHiddenTests, maskHiddenTests } from "./markers";
export { type GradescopeTest, type GradescopeResults, toGradescope, feedbackHtml, gradebook } from "./reports";
