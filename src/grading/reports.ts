/**
 * Per-student and class outputs: Gradescope results.json, an HTML feedback page, and the gradebook CSV (nodejs-polars).
 */
import * as pl from "nodejs-polars";
import type { Assignment } from "./assignment";
import type { StudentResult } from "./grade-one";

/** One test in Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/). */
export interface GradescopeTest {
  name: string;
  score: number;
  max_score: number;
  output: string;
  visibility: "visible" | "hidden" | "after_due_date" | "after_published";
  status: "passed" | "failed";
}

/** Gradescope's results.json. */
export interface GradescopeResults {
  score: number;
  execution_time: number;
  output: string;
  visibility: "visible";
  stdout_visibility: "hidden";
  tests: GradescopeTest[];
}

/** Converts a result to Gradescope's schema; tests with hidden parts are shown only after grades are published. */
export function toGradescope(r: StudentResult): GradescopeResults {
  const header = `Status: ${r.status}${r.flags.length ? ` (${r.flags.join(", ")})` : ""}. ${r.message}`;
  return {
    score: r.score,
    execution_time: Math.round(r.durationMs / 1000),
    output: [header, ...r.notes.map((n) => `- ${n}`)].join("\n"),
    visibility: "visible",
    stdout_visibility: "hidden",
    tests: r.tests.map((t) => ({
      name: t.gradeId,
      score: t.score,
      max_score: t.maxScore,
      output: t.ok ? "passed" : `${t.error ?? "failed"}${t.output ? `\n\n${t.output}` : ""}`,
      visibility: t.hidden ? "after_published" : "visible",
      status: t.ok ? "passed" : "failed",
    })),
  };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained HTML feedback page for one student. */
export function feedbackHtml(r: StudentResult, assignmentName: string): string {
  const rows = r.tests
    .map(
      (t) =>
        `<tr class="${t.ok ? "pass" : "fail"}"><td>${esc(t.gradeId)}${t.hidden ? " <small>(includes hidden tests)</small>" : ""}</td>` +
        `<td>${t.score} / ${t.maxScore}</td><td>${t.ok ? "passed" : esc(t.error ?? "failed")}</td></tr>` +
        (t.output && !t.ok ? `<tr class="out"><td colspan="3"><pre>${esc(t.output)}</pre></td></tr>` : ""),
    )
    .join("\n");
  const notes = r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(assignmentName)}: feedback for ${esc(r.student)}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}tr.pass td:first-child{border-left:4px solid #2a2}
tr.fail td:first-child{border-left:4px solid #c22}pre{white-space:pre-wrap;margin:0;font-size:85%}</style></head>
<body><h1>${esc(assignmentName)}</h1>
<p><b>${esc(r.student)}</b>: <b>${r.score} / ${r.maxScore}</b> points. Status: <b>${esc(r.status)}</b>${r.flags.length ? ` (${esc(r.flags.join(", "))})` : ""}.</p>
<p>${esc(r.message)}</p>
<table><tr><th>Test</th><th>Points</th><th>Result</th></tr>
${rows}
</table>
${notes}
<p><small>Graded ${esc(r.gradedAt)} in ${(r.durationMs / 1000).toFixed(1)} s.</small></p>
</body></html>
`;
}

/** The gradebook: one row per student, one column per test cell (points earned), the total, status and flags. */
export function gradebook(a: Assignment, results: readonly StudentResult[]): pl.DataFrame {
  const sorted = [...results].sort((x, y) => (x.student < y.student ? -1 : x.student > y.student ? 1 : 0));
  const cols: Record<string, (string | number)[]> = {
    student: sorted.map((r) => r.student),
    status: sorted.map((r) => r.status),
    flags: sorted.map((r) => r.flags.join(";")),
  };
  for (const t of a.tests) {
    cols[t.gradeId] = sorted.map((r) => r.tests.find((x) => x.gradeId === t.gradeId)?.score ?? 0);
  }
  cols.total = sorted.map((r) => r.score);
  cols.max_score = sorted.map(() => a.totalPoints);
  // Whole-point columns are written as integers ("2", not "2.0").
  const series = Object.entries(cols).map(([name, values]) => {
    const integral = values.every((v) => typeof v === "number" && Number.isInteger(v));
    return integral && values.length > 0 ? pl.Series(name, values, pl.Int64) : pl.Series(name, values);
  });
  return pl.DataFrame(series);
}
