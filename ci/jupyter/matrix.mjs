#!/usr/bin/env node
// The JupyterLab check's results as one table: a row per check, a column per lab notebook (pass / FAIL), then the
// one-off sections (restart, scratch, bad-input, student, nb7) as rows of their own. Used by ci/jupyterlab_check.mjs
// (results-matrix.md) and by hand: node ci/jupyter/matrix.mjs ci-artifacts/jupyterlab/results.json
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Per-cell checks ("live progress bar (cell 5 …)") are folded into one row per kind of check. */
const rowName = (name) => name.replace(/ \(cell \d+ .*\)$/s, " (every live cell)");

/** Markdown: the labs matrix, then the other sections' checks. */
export function resultsMatrix(results) {
  const labs = results.filter((r) => r.section === "labs");
  const notebooks = [...new Set(labs.map((r) => r.subject))];
  const rows = [...new Set(labs.map((r) => rowName(r.name)))];
  const cell = (row, nb) => {
    const rs = labs.filter((r) => r.subject === nb && rowName(r.name) === row);
    if (rs.length === 0) return "–";
    return rs.every((r) => r.ok) ? `pass${rs.length > 1 ? ` (${rs.length})` : ""}` : `FAIL (${rs.filter((r) => !r.ok).length}/${rs.length})`;
  };
  const short = (nb) => path.basename(nb, ".ipynb").split("-")[0];
  const seconds = (nb) => labs.find((r) => r.subject === nb && r.seconds !== undefined)?.seconds;
  const out = notebooks.length === 0 ? [] : [
    `| check | ${notebooks.map(short).join(" | ")} |`,
    `| --- |${notebooks.map(() => " --- |").join("")}`,
    ...rows.map((row) => `| ${row} | ${notebooks.map((nb) => cell(row, nb)).join(" | ")} |`),
    `| Run All (s) | ${notebooks.map((nb) => (seconds(nb) !== undefined ? seconds(nb).toFixed(0) : "?")).join(" | ")} |`,
    "",
  ];
  const others = results.filter((r) => r.section !== "labs");
  if (others.length) out.push(
    "| section | check | result |",
    "| --- | --- | --- |",
    ...others.map((r) => `| ${r.section} | ${r.name} | ${r.ok ? "pass" : `FAIL: ${String(r.detail).split("\n")[0].replace(/\|/g, "\\|").slice(0, 160)}`} |`),
  );
  return out.join("\n") + "\n";
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node ci/jupyter/matrix.mjs results.json");
    process.exit(2);
  }
  process.stdout.write(resultsMatrix(JSON.parse(fs.readFileSync(file, "utf8")).results));
}
