/**
 * Decides whether an executed cell failed. tslab never sends `error` messages: exceptions and type errors arrive
 * only as stderr text. The rule (documented in docs/grading.md):
 * a cell FAILS when
 *   1. execute_reply status is not "ok" (tslab replies "error" for a throw, a type error, a rejected top-level await), or
 *   2. it timed out or the kernel died, or
 *   3. tslab's process handlers reported "UncaughtException:" or "UnhandledPromiseRejection:" on stderr while it ran, or
 *   4. its value is a rejected promise (`Promise { <rejected> ... }` on stdout, or as execute_result under metalab's launcher).
 * Other stderr text (console.error, console.warn, library warnings) does NOT fail a cell.
 */
import { joinSource, type Output } from "./ipynb";
import type { ExecuteOutcome } from "./kernel";

/** Markers tslab's process-level handlers print (tslab/dist/main.js). */
const ASYNC_FAILURE = /^(UncaughtException|UnhandledPromiseRejection): /m;
/** How Node prints a rejected promise that tslab echoes as the cell's value. */
const REJECTED_VALUE = /^Promise \{\s*<rejected>/;

/** Verdict on one execution. */
export interface CellVerdict {
  ok: boolean;
  /** Short human-readable reason, e.g. "Error: boom" or "1:7 - Type 'string' is not assignable to type 'number'." */
  error?: string;
  timedOut?: boolean;
  kernelDied?: boolean;
}

function firstMeaningfulLines(text: string, max = 3): string {
  const lines = text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "" && !/^\s+at /.test(l) && !/^evalmachine\.<anonymous>:\d+$/.test(l) && l.trim() !== "^");
  // Node prints the offending source line before "Error: ..."; prefer the line that names the error.
  const named = lines.findIndex((l) => /^(Uncaught|Unhandled)?[A-Za-z]*(Error|Exception|Rejection)\b/.test(l) || /^\d+:\d+ - /.test(l));
  const from = named >= 0 ? named : 0;
  return lines
    .slice(from, from + max)
    .join(" ")
    .slice(0, 400);
}

/** The cell's printed value: stdout (plain tslab echoes it there) plus execute_result text (metalab's launcher). */
function valueText(outputs: readonly Output[]): string {
  return outputs
    .map((o) => {
      if (o.output_type === "stream" && o.name === "stdout") return joinSource(o.text);
      if (o.output_type === "execute_result") {
        const t = o.data["text/plain"];
        return t === undefined ? "" : typeof t === "string" ? t : Array.isArray(t) ? t.join("") : "";
      }
      return "";
    })
    .join("");
}

/** Applies the failure rule to one execution outcome. */
export function judgeExecution(r: ExecuteOutcome, deathReport = "the kernel died"): CellVerdict {
  if (r.status === "died") return { ok: false, kernelDied: true, error: `Kernel died: ${deathReport}` };
  if (r.status === "timeout") {
    return {
      ok: false,
      timedOut: true,
      error: r.interrupted
        ? `Timed out after ${r.durationMs} ms; the cell was interrupted`
        : `Timed out after ${r.durationMs} ms; the kernel did not respond to the interrupt and was killed`,
      kernelDied: !r.interrupted,
    };
  }
  if (r.status === "abort") return { ok: false, error: "The kernel aborted the request (a previous request failed)" };
  if (r.status === "error") {
    const fromReply = r.replyError ? `${r.replyError.ename}: ${r.replyError.evalue}` : "";
    const text = fromReply || firstMeaningfulLines(r.stderr) || "the kernel reported an error without a message";
    return { ok: false, error: text };
  }
  const m = ASYNC_FAILURE.exec(r.stderr);
  if (m !== null) return { ok: false, error: firstMeaningfulLines(r.stderr.slice(m.index)) };
  const out = valueText(r.outputs);
  if (REJECTED_VALUE.test(out)) {
    return { ok: false, error: `The cell's value is a rejected promise: ${firstMeaningfulLines(out.replace(REJECTED_VALUE, ""), 1)}` };
  }
  return { ok: true };
}
