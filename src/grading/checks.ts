/**
 * Value checks on the grader's side: the reference (each test cell's checks as the instructor's solution produced
 * them, with points and tolerances), reading what a student's kernel sent, and scoring one test cell against it.
 */
import type { Output } from "../notebook/ipynb";
import {
  CHECK_MIME,
  PayloadError,
  compareValues,
  readPayload,
  type CheckOptions,
  type CheckPayload,
  type Encoded,
} from "./check-value";

/** One check of the reference. */
export interface ReferenceCheck {
  name: string;
  /** The instructor solution's value. Never shown to students. */
  value: Encoded;
  options: CheckOptions;
  points: number;
  /** True when only the hidden part of the test cell sends it. */
  hidden: boolean;
}

/** One test cell of the reference. */
export interface ReferenceTest {
  gradeId: string;
  points: number;
  /** "checks": decided by the grader from values; "in-kernel": a throw-style cell, decided by the kernel (forgeable). */
  mode: "checks" | "in-kernel";
  checks: ReferenceCheck[];
}

/** Everything the grader compares submissions with. */
export interface Reference {
  format: 1;
  /** sha256 of the instructor notebook's bytes. */
  assignmentHash: string;
  /** The grader version that produced it. */
  grader: string;
  tests: ReferenceTest[];
  createdAt: string;
}

/** A check payload as found in a cell's outputs, or why it could not be read. */
export type Sent = { ok: true; payload: CheckPayload } | { ok: false; error: string };

/** The check payloads among a cell's outputs, in order (malformed ones reported, never thrown). */
export function sentChecks(outputs: readonly Output[]): Sent[] {
  const out: Sent[] = [];
  for (const o of outputs) {
    if (o.output_type !== "display_data" && o.output_type !== "execute_result") continue;
    if (!Object.prototype.hasOwnProperty.call(o.data, CHECK_MIME)) continue;
    try {
      out.push({ ok: true, payload: readPayload(o.data[CHECK_MIME]) });
    } catch (e) {
      out.push({ ok: false, error: e instanceof PayloadError ? e.message : "unreadable" });
    }
  }
  return out;
}

/** Splits a cell's points among its checks: declared points first, the rest shared equally. Returns problems. */
export function assignPoints(cellPoints: number, options: readonly CheckOptions[]): { points: number[]; problems: string[] } {
  const declared = options.reduce((s, o) => s + (o.points ?? 0), 0);
  const open = options.filter((o) => o.points === undefined).length;
  const problems: string[] = [];
  const rest = cellPoints - declared;
  if (rest < -1e-9) problems.push(`its checks declare ${declared} points but the cell has ${cellPoints} (nbgrader.points)`);
  else if (open === 0 && Math.abs(rest) > 1e-9) problems.push(`its checks declare ${declared} points but the cell has ${cellPoints}; make them add up or leave some without points`);
  else if (open > 0 && rest <= 1e-9) problems.push(`checks without points share nothing: the declared points already use all ${cellPoints}`);
  const share = open > 0 ? Math.max(0, rest) / open : 0;
  return { points: options.map((o) => o.points ?? share), problems };
}

/** One check's outcome for a student. */
export interface CheckResult {
  name: string;
  score: number;
  maxScore: number;
  ok: boolean;
  hidden: boolean;
  /** Why it failed, for the student. Hidden checks carry only the instructor's message. */
  reason?: string;
}

/** What the grader knows about how a test cell ran, to explain missing checks. */
export interface CellRunInfo {
  /** The cell ran at all. */
  ran: boolean;
  /** The cell failed (threw, did not compile, timed out). */
  failed: boolean;
  /** A reason safe to show (null when it must not be shown, e.g. kernel text after hidden tests ran). */
  error: string | null;
  /** Why the cell never ran, when it did not. */
  notRun?: string;
  /** Checks of this cell that arrived from other cells instead (name → cell index), which never count. */
  elsewhere?: ReadonlyMap<string, number>;
}

/** The scored checks of one test cell, plus notes on what was ignored. */
export interface CellScore {
  score: number;
  checks: CheckResult[];
  notes: string[];
}

const round = (x: number): number => Math.round(x * 1e9) / 1e9;

/** Scores one test cell in "checks" mode from the payloads its own execution sent. */
export function scoreChecks(ref: ReferenceTest, sent: readonly Sent[], run: CellRunInfo): CellScore {
  const byName = new Map<string, CheckPayload[]>();
  let malformed = 0;
  for (const s of sent) {
    if (!s.ok) {
      malformed++;
      continue;
    }
    const list = byName.get(s.payload.name) ?? [];
    list.push(s.payload);
    byName.set(s.payload.name, list);
  }
  const known = new Set(ref.checks.map((c) => c.name));
  const unknown = [...byName.keys()].filter((n) => !known.has(n)).length;
  const notes: string[] = [];
  if (unknown > 0) notes.push(`test ${ref.gradeId}: ${unknown} check${unknown === 1 ? "" : "s"} with names the solution does not send ${unknown === 1 ? "was" : "were"} ignored`);
  if (malformed > 0) notes.push(`test ${ref.gradeId}: ${malformed} malformed check payload${malformed === 1 ? " was" : "s were"} ignored`);
  const checks = ref.checks.map((c): CheckResult => {
    const got = byName.get(c.name) ?? [];
    const base = { name: c.name, maxScore: c.points, hidden: c.hidden };
    const fail = (why: string): CheckResult => {
      const msg = c.options.message;
      const reason = c.hidden ? (msg ?? "failed") : msg !== undefined ? `${why} (${msg})` : why;
      return { ...base, score: 0, ok: false, reason };
    };
    if (got.length === 0) {
      const other = run.elsewhere?.get(c.name);
      if (other !== undefined) return fail(`sent from cell ${other}, not from its test cell; a check counts only from its own test cell`);
      if (!run.ran) return fail(`not run: ${run.notRun ?? "the cell did not run"}`);
      if (run.failed) return fail(run.error !== null ? `not sent: the cell stopped before it (${run.error})` : "not sent: the cell stopped before it");
      return fail("not sent: the cell never called this check");
    }
    const only = got[0];
    if (got.length > 1 || only === undefined) return fail(`sent ${got.length} times; a check counts only when it is sent once`);
    const r = compareValues(c.value, only.value, c.options);
    return r.ok ? { ...base, score: c.points, ok: true } : fail(r.reason ?? "does not match the solution");
  });
  return { score: round(checks.reduce((s, c) => s + c.score, 0)), checks, notes };
}
