#!/usr/bin/env node
// Compares the key numbers of notebook reports (out/reports/*.json, written by `npm run reproduce`) between a
// baseline run and one or more current runs, and prints a Markdown table: every number whose relative change is
// above the threshold, plus a count of those that agree. Timings (ms, KiB, seconds) are listed apart: they depend on
// the machine's load, not on the code's results.
//
// Usage: node scripts/compare-reports.mjs BASELINE_REPORTS_DIR CURRENT_REPORTS_DIR [CURRENT_DIR ...] [--threshold 1e-3]
import * as fs from "node:fs";
import * as path from "node:path";

const args = process.argv.slice(2);
const ti = args.indexOf("--threshold");
const threshold = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 1e-3;
if (args.length < 2 || !Number.isFinite(threshold)) {
  console.error("usage: node scripts/compare-reports.mjs BASELINE_REPORTS_DIR CURRENT_REPORTS_DIR [CURRENT_DIR ...] [--threshold 1e-3]");
  process.exit(2);
}
const [baseDir, ...currentDirs] = args;

/** Every report of a folder: { "02-maml-sines": { key: value } }. */
function readReports(dir) {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist; pass the out/reports folder of a reproduce run.`);
  const out = {};
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    try {
      out[f.replace(/\.json$/, "")] = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
    } catch (e) {
      throw new Error(`${path.join(dir, f)} is not valid JSON (${e.message}); was the run stopped while writing it?`);
    }
  }
  return out;
}

const isTiming = (key) => /(_ms_|_ms$|ms_per|_kib|_seconds|_time|seconds$)/.test(key);
const fmt = (v) => (v === null || v === undefined ? String(v) : typeof v === "number" ? Number(v.toPrecision(4)).toString() : JSON.stringify(v));
/** Relative change; against a baseline of 0, the absolute change (marked "abs" in the table). */
const rel = (a, b) => (a === b ? 0 : Math.abs(b - a) / (a === 0 ? 1 : Math.abs(a)));

const base = readReports(baseDir);
const runs = currentDirs.map(readReports);
const changed = [];
let same = 0;
let timings = 0;
const missing = [];
for (const [nb, keys] of Object.entries(base)) {
  for (const [key, b] of Object.entries(keys)) {
    if (isTiming(key)) {
      timings++;
      continue;
    }
    const cur = runs.map((r) => r[nb]?.[key]);
    if (cur.every((c) => c === undefined)) {
      missing.push(`${nb}: ${key}`);
      continue;
    }
    const diffs = cur.map((c) => (typeof b === "number" && typeof c === "number" ? rel(b, c) : b === c ? 0 : Infinity));
    const worst = Math.max(...diffs);
    if (worst > threshold) changed.push({ nb, key, b, cur, worst });
    else same++;
  }
}
const added = [];
for (const [i, r] of runs.entries()) for (const [nb, keys] of Object.entries(r)) for (const key of Object.keys(keys)) if (!isTiming(key) && base[nb]?.[key] === undefined && i === 0) added.push(`${nb}: ${key}`);

console.log(`Baseline ${baseDir}; current ${currentDirs.join(", ")}; threshold ${threshold} (relative).\n`);
console.log(`| lab | key | baseline | ${currentDirs.map((_, i) => `run ${i + 1}`).join(" | ")} | largest relative change |`);
console.log(`|---|---|---:|${currentDirs.map(() => "---:").join("|")}|---:|`);
for (const c of changed) console.log(`| ${c.nb.slice(0, 2)} | \`${c.key}\` | ${fmt(c.b)} | ${c.cur.map(fmt).join(" | ")} | ${Number.isFinite(c.worst) ? `${c.worst.toExponential(1)}${c.b === 0 ? " abs" : ""}` : "—"} |`);
console.log(`\n${same} key numbers agree within ${threshold}; ${changed.length} differ; ${timings} timings not compared; ${missing.length} baseline keys absent from the current runs${missing.length ? ` (${missing.join("; ")})` : ""}; ${added.length} keys new since the baseline.`);
