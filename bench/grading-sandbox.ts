/**
 * Sandbox overhead: time per submission for `gradeBatch` without a sandbox (the reference, measured in the same run)
 * and in the bubblewrap sandbox, one submission at a time in pairs (order alternating); the median paired ratio is reported.
 * The reference (the solution's values) is built once beforehand, so only grading is timed.
 *
 *   npm run build && node dist/bench/grading-sandbox.js --n 6 --repeat 3
 *   node dist/bench/grading-sandbox.js --notebook notebooks/instructor/02-maml-inner-loop.instructor.ipynb --n 4
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { assignmentName, loadAssignment, type Assignment } from "../src/grading/assignment";
import { gradeBatch } from "../src/grading/grade-batch";
import { referenceFor } from "../src/grading/grade-one";
import type { SandboxKind } from "../src/grading/kernel-run";
import { unmark } from "../src/grading/markers";
import { joinSource, readNotebook, serializeNotebook } from "../src/notebook/ipynb";

function solved(a: Assignment): string {
  const nb = structuredClone(a.student);
  a.instructor.cells.forEach((inst, i) => {
    const cell = nb.cells[i];
    if (cell && inst.metadata.nbgrader?.solution === true) cell.source = unmark(joinSource(inst.source));
  });
  return serializeNotebook(nb);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

async function main(): Promise<void> {
  const root = path.join(__dirname, "..", "..");
  const { values } = parseArgs({
    options: {
      notebook: { type: "string", default: path.join(root, "test", "fixtures", "grading", "squares.instructor.ipynb") },
      n: { type: "string", default: "6" },
      repeat: { type: "string", default: "3" },
      jobs: { type: "string", default: "1" },
    },
  });
  const a = loadAssignment(readNotebook(values.notebook), assignmentName(values.notebook));
  const n = Number(values.n);
  const jobs = Number(values.jobs);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-bench-sandbox-"));
  const subs = path.join(tmp, "submissions");
  fs.mkdirSync(subs);
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(subs, `s${i}.ipynb`), solved(a));
  const reference = await referenceFor(a, { workRoot: path.join(tmp, "ref"), cellTimeoutMs: 120_000, sandbox: "none" });
  console.log(`sandbox overhead: ${n} solved submissions of ${path.basename(values.notebook)}, --jobs ${jobs}, ${os.cpus().length} CPUs, Node ${process.version}`);
  const times: Record<SandboxKind, number[]> = { none: [], bubblewrap: [] };
  const ratios: number[] = [];
  // Pairs of one submission each, the order alternating, so a change of load hits both sides of a pair alike.
  for (let round = 0; round < Number(values.repeat); round++) {
    for (let i = 0; i < n; i++) {
      const one = path.join(tmp, `one-${round}-${i}`);
      fs.mkdirSync(one);
      fs.copyFileSync(path.join(subs, `s${i}.ipynb`), path.join(one, `s${i}.ipynb`));
      const order = (round * n + i) % 2 === 0 ? (["none", "bubblewrap"] as const) : (["bubblewrap", "none"] as const);
      const pair: Partial<Record<SandboxKind, number>> = {};
      for (const sandbox of order) {
        const t0 = process.hrtime.bigint();
        const res = await gradeBatch(a, one, path.join(tmp, `out-${sandbox}-${round}-${i}`), { jobs, cellTimeoutMs: 120_000, reference, sandbox });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        const bad = res.results.filter((r) => r.score !== r.maxScore);
        if (bad.length > 0) throw new Error(`unexpected results: ${bad.map((r) => `${r.student}=${r.status} ${r.score}`).join(", ")}`);
        pair[sandbox] = s;
        times[sandbox].push(s);
      }
      ratios.push((pair.bubblewrap ?? NaN) / (pair.none ?? NaN));
      console.log(`  pair ${ratios.length}: none ${pair.none?.toFixed(2)} s, bubblewrap ${pair.bubblewrap?.toFixed(2)} s, load ${os.loadavg()[0]?.toFixed(1)}`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const none = median(times.none);
  const bwrap = median(times.bubblewrap);
  const r = median(ratios);
  console.log(`\n| sandbox | s per submission (median of ${times.none.length}) | vs none (median of paired ratios) |\n|---|---:|---:|`);
  console.log(`| none | ${none.toFixed(2)} | 1.00 |`);
  console.log(`| bubblewrap | ${bwrap.toFixed(2)} | ${r.toFixed(3)} (${((r - 1) * 100).toFixed(1)}% overhead; ${ratios.length} pairs) |`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
