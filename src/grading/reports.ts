/**
 * Per-student and class outputs: Gradescope results.json, an HTML feedback page, the gradebook CSV (nodejs-polars),
 * a Canvas-importable gradebook CSV and the instructor's class report. Feedback shows hidden checks by name and
 * pass/fail (and the instructor's message) only.
 */
import * as path from "node:path";
import * as pl from "nodejs-polars";
import { barChart, type Chart } from "../plot/chart";
import { renderSvg } from "../plot/render";
import type { Assignment } from "./assignment";
import type { Reference } from "./checks";
import type { StudentResult, TestResult } from "./grade-one";

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

/** One line per check of a test: `passed "square(3)" 2/2`. */
function checkLines(t: TestResult): string[] {
  return (t.checks ?? []).map((c) => `${c.ok ? "passed" : "failed"}${c.hidden ? " (hidden)" : ""} "${c.name}" ${c.score}/${c.maxScore}${c.ok || !c.reason ? "" : `: ${c.reason}`}`);
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
    tests: r.tests.map((t) => {
      const detail = [...(t.mode === "in-kernel" ? ["(in-kernel test: decided inside your kernel)"] : []), ...checkLines(t)];
      const body = t.ok ? ["passed", ...detail] : [t.error ?? "failed", ...detail, ...(t.output ? ["", t.output] : [])];
      return {
        name: t.gradeId,
        score: t.score,
        max_score: t.maxScore,
        output: body.join("\n"),
        visibility: t.hidden ? "after_published" : "visible",
        status: t.ok ? "passed" : "failed",
      };
    }),
  };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em}table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}tr.pass td:first-child{border-left:4px solid #2a2}
tr.fail td:first-child{border-left:4px solid #c22}pre{white-space:pre-wrap;margin:0;font-size:85%}small{color:#555}figure{margin:1em 0}
figcaption{font-size:90%;color:#333;max-width:40em}`;

/** A self-contained HTML feedback page for one student. */
export function feedbackHtml(r: StudentResult, assignmentName: string): string {
  const rows = r.tests
    .map((t) => {
      const tag = `${t.hidden ? " <small>(includes hidden tests)</small>" : ""}${t.mode === "in-kernel" ? " <small>(in-kernel test)</small>" : ""}`;
      const head = `<tr class="${t.ok ? "pass" : "fail"}"><td>${esc(t.gradeId)}${tag}</td><td>${t.score} / ${t.maxScore}</td><td>${t.ok ? "passed" : esc(t.error ?? "failed")}</td></tr>`;
      const checks = (t.checks ?? [])
        .map((c) => `<tr class="${c.ok ? "pass" : "fail"}"><td>&nbsp;&nbsp;${esc(c.name)}${c.hidden ? " <small>(hidden)</small>" : ""}</td><td>${c.score} / ${c.maxScore}</td><td>${c.ok ? "passed" : esc(c.reason ?? "failed")}</td></tr>`)
        .join("\n");
      const out = t.output && !t.ok ? `<tr class="out"><td colspan="3"><pre>${esc(t.output)}</pre></td></tr>` : "";
      return [head, checks, out].filter((x) => x !== "").join("\n");
    })
    .join("\n");
  const notes = r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(assignmentName)}: feedback for ${esc(r.student)}</title>
<style>${STYLE}</style></head>
<body><h1>${esc(assignmentName)}</h1>
<p><b>${esc(r.student)}</b>: <b>${r.score} / ${r.maxScore}</b> points. Status: <b>${esc(r.status)}</b>${r.flags.length ? ` (${esc(r.flags.join(", "))})` : ""}.</p>
<p>${esc(r.message)}</p>
<table><tr><th>Test</th><th>Points</th><th>Result</th></tr>
${rows}
</table>
${notes}
<p><small>Sandbox: ${esc(r.sandbox ?? "none")}. Hidden checks show their name and whether they passed, never their code or expected values.</small></p>
</body></html>
`;
}

function sortedResults(results: readonly StudentResult[]): StudentResult[] {
  return [...results].sort((x, y) => (x.student < y.student ? -1 : x.student > y.student ? 1 : 0));
}

/** The gradebook CSV: one row per student (student, file, status, flags, points per test cell, total, max_score). */
export function gradebook(a: Assignment, results: readonly StudentResult[]): string {
  const sorted = sortedResults(results);
  const cols: Record<string, (string | number)[]> = {
    student: sorted.map((r) => r.student),
    file: sorted.map((r) => r.file),
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
  return pl.DataFrame(series).writeCSV().toString("utf8");
}

/** Canvas's "Download Submissions" names files `name_<user id>_<submission id>_<file>` (with `_LATE_` when late). */
const CANVAS_NAME = /^(.+?)_(?:LATE_)?(\d+)_(\d+)_.+$/;

function csvField(s: string): string {
  return /[",\n\r]/.test(s) || s.trim() !== s ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A gradebook Canvas's Grades > Import accepts: Student, ID, SIS User ID, SIS Login ID, Section, then one column for
 * the assignment (Canvas creates the assignment when no column of that name exists), after a "Points Possible" row.
 * The Canvas user id is read from file names in Canvas's download format; other rows keep the metalab id as Student.
 */
export function canvasGradebook(a: Assignment, results: readonly StudentResult[], column = a.name): string {
  const lines = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column], ["Points Possible", "", "", "", "", String(a.totalPoints)]];
  for (const r of sortedResults(results)) {
    const m = CANVAS_NAME.exec(path.basename(r.file));
    lines.push([m?.[1] ?? r.student, m?.[2] ?? "", "", "", "", String(r.score)]);
  }
  return lines.map((l) => l.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** A figure for the class report: inline SVG (works everywhere) with its Vega-Lite spec beside it. */
async function figureHtml(chart: Chart, caption: string): Promise<string> {
  const svg = await renderSvg(chart);
  const spec = JSON.stringify(chart).replace(/</g, "\\u003c");
  return `<figure>${svg}<script type="application/vnd.vegalite.v5+json">${spec}</script><figcaption>${esc(caption)}</figcaption></figure>`;
}

/** The instructor's view of the class: score histogram, per-check pass rates, slowest submissions, every flag. */
export async function classReportHtml(a: Assignment, results: readonly StudentResult[], ref: Reference | null, skipped: readonly string[] = []): Promise<string> {
  const sorted = sortedResults(results);
  const n = sorted.length;
  const bins = Math.max(1, Math.min(10, Math.ceil(a.totalPoints)));
  const width = a.totalPoints / bins;
  const hist = Array.from({ length: bins }, (_, i) => ({
    range: `${+(i * width).toFixed(2)}–${+((i + 1) * width).toFixed(2)}`,
    students: sorted.filter((r) => (i === bins - 1 ? r.score >= i * width : r.score >= i * width && r.score < (i + 1) * width)).length,
  }));
  const histChart = barChart(hist, { x: { field: "range", title: "score (points)" }, y: { field: "students", title: "students" }, title: "Scores", width: 420 });
  const rateRows: { check: string; passed: number }[] = [];
  for (const t of a.tests) {
    const refTest = ref?.tests.find((x) => x.gradeId === t.gradeId);
    const names = refTest !== undefined && refTest.mode === "checks" ? refTest.checks.map((c) => c.name) : [];
    if (names.length === 0) {
      const passed = sorted.filter((r) => r.tests.find((x) => x.gradeId === t.gradeId)?.ok === true).length;
      rateRows.push({ check: `${t.gradeId} (in-kernel)`, passed: n > 0 ? Math.round((1000 * passed) / n) / 10 : 0 });
      continue;
    }
    for (const name of names) {
      const passed = sorted.filter((r) => r.tests.find((x) => x.gradeId === t.gradeId)?.checks?.find((c) => c.name === name)?.ok === true).length;
      rateRows.push({ check: `${t.gradeId}: ${name}`, passed: n > 0 ? Math.round((1000 * passed) / n) / 10 : 0 });
    }
  }
  const rateChart = barChart(rateRows, { x: { field: "check", title: "check" }, y: { field: "passed", title: "students passing (%)", domain: [0, 100] }, title: "Pass rate per check", width: Math.max(420, 40 * rateRows.length) });
  const byStatus = new Map<string, number>();
  for (const r of sorted) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  const mean = n > 0 ? sorted.reduce((s, r) => s + r.score, 0) / n : 0;
  const slow = [...sorted].sort((x, y) => y.durationMs - x.durationMs).slice(0, 10);
  const flagged = sorted.filter((r) => r.flags.length > 0 || (r.status !== "graded" && r.status !== "missing"));
  const inKernel = ref?.tests.filter((t) => t.mode === "in-kernel").map((t) => t.gradeId) ?? [];
  const sandboxes = [...new Set(sorted.map((r) => r.sandbox ?? "none"))];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(a.name)}: class report</title><style>${STYLE}</style></head>
<body><h1>${esc(a.name)}: class report</h1>
<p>${n} submissions, mean ${mean.toFixed(2)} / ${a.totalPoints} points. ${[...byStatus].map(([s, k]) => `${esc(s)}: ${k}`).join(", ")}. Sandbox: ${esc(sandboxes.join(", "))}.</p>
${inKernel.length > 0 ? `<p><b>Warning:</b> test cells ${esc(inKernel.join(", "))} are in-kernel (throw-style) tests: their verdicts are decided inside the student's kernel and can be forged. Move them to <code>check()</code>.</p>` : ""}
${await figureHtml(histChart, "Number of students per score range. A cluster at 0 with status error or invalid points at submissions that never ran, not at a hard exercise.")}
${await figureHtml(rateChart, "Share of students passing each check (hidden checks included). A check almost nobody passes is either hard or wrong: look at its reasons in a few feedback pages.")}
<h2>Flags and problems</h2>
${flagged.length === 0 ? "<p>None.</p>" : `<table><tr><th>student</th><th>status</th><th>flags</th><th>score</th><th>why</th></tr>${flagged.map((r) => `<tr><td>${esc(r.student)}</td><td>${esc(r.status)}</td><td>${esc(r.flags.join(", "))}</td><td>${r.score}</td><td>${esc([r.message, ...r.notes].join(" · ").slice(0, 2000))}</td></tr>`).join("\n")}</table>`}
<h2>Slowest submissions</h2>
<table><tr><th>student</th><th>seconds</th><th>status</th></tr>${slow.map((r) => `<tr><td>${esc(r.student)}</td><td>${(r.durationMs / 1000).toFixed(1)}</td><td>${esc(r.status)}</td></tr>`).join("\n")}</table>
${skipped.length > 0 ? `<h2>Not graded</h2><p>Entries of the submissions folder that are neither notebooks nor folders: ${esc(skipped.join(", "))}.</p>` : ""}
</body></html>
`;
}
