/**
 * Grading throughput: submissions per minute for `metalab grade` with --jobs 1 (the reference, measured in the same
 * run) and --jobs 2, on a class of generated submissions (correct, partly correct, wrong answers in rotation).
 *
 *   npm run build && node dist/bench/grading-throughput.js                       # squares fixture, 8 submissions
 *   node dist/bench/grading-throughput.js --notebook notebooks/instructor/02-maml-inner-loop.instructor.ipynb --n 6
 *   options: --n <submissions>, --jobs 1,2,3 (job counts to time), --repeat <rounds, interleaved; the median is
 *   reported, which tames drift on a shared machine>, --notebook <instructor.ipynb>
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { assignmentName, loadAssignment, type Assignment } from "../src/grading/assignment";
import { gradeBatch } from "../src/grading/grade-batch";
import { joinSource, readNotebook, serializeNotebook } from "../src/notebook/ipynb";
import { unmark } from "../src/grading/markers";

/** A submission: every answer cell solved (instructor solution) except those listed, which keep the stub. */
function submission(a: Assignment, unanswered: ReadonlySet<string>): string {
  const nb = structuredClone(a.student);
  a.instructor.cells.forEach((inst, i) => {
    const id = inst.metadata.nbgrader?.grade_id;
    const cell = nb.cells[i];
    if (cell && inst.metadata.nbgrader?.solution === true && id !== undefined && !unanswered.has(id)) {
      cell.source = unmark(joinSource(inst.source));
    }
  });
  return serializeNotebook(nb);
}

async function main(): Promise<void> {
  const root = path.join(__dirname, "..", "..");
  const { values } = parseArgs({
    options: {
      notebook: { type: "string", default: path.join(root, "test", "fixtures", "grading", "squares.instructor.ipynb") },
      n: { type: "string", default: "8" },
      jobs: { type: "string", default: "1,2" },
      repeat: { type: "string", default: "1" },
    },
  });
  const file = values.notebook;
  const n = Number(values.n);
  const jobsList = values.jobs.split(",").map(Number);
  const a = loadAssignment(readNotebook(file), assignmentName(file));
  const answers = a.instructor.cells.filter((c) => c.metadata.nbgrader?.solution === true).map((c) => c.metadata.nbgrader?.grade_id ?? "");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-bench-grading-"));
  const subs = path.join(tmp, "submissions");
  fs.mkdirSync(subs);
  for (let i = 0; i < n; i++) {
    // Rotate: all correct, first answer missing, everything missing.
    const unanswered = new Set(i % 3 === 0 ? [] : i % 3 === 1 ? answers.slice(0, 1) : answers);
    fs.writeFileSync(path.join(subs, `student${String(i).padStart(3, "0")}.ipynb`), submission(a, unanswered));
  }
  console.log(`grading throughput: ${n} submissions of ${path.basename(file)} (${a.tests.length} test cells), ${os.cpus().length} CPUs, Node ${process.version}`);
  const rounds = Math.max(1, Number(values.repeat));
  const times = new Map<number, number[]>(jobsList.map((j) => [j, []]));
  for (let round = 0; round < rounds; round++) {
    for (const jobs of jobsList) {
      const out = path.join(tmp, `out-${jobs}-${round}`);
      const t0 = Date.now();
      const res = await gradeBatch(a, subs, out, { jobs, cellTimeoutMs: 120_000 });
      const seconds = (Date.now() - t0) / 1000;
      const bad = res.results.filter((r) => r.status !== "graded");
      if (bad.length > 0) throw new Error(`unexpected statuses: ${bad.map((r) => `${r.student}=${r.status}`).join(", ")}`);
      times.get(jobs)?.push(seconds);
      console.log(`  round ${round + 1}, --jobs ${jobs}: ${seconds.toFixed(1)} s (${((n / seconds) * 60).toFixed(1)} submissions/min), load ${os.loadavg()[0]!.toFixed(1)}`);
    }
  }
  const median = (xs: number[]): number => {
    if (xs.length === 0) throw new Error("median of no rounds");
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const rows = jobsList.map((jobs) => {
    const seconds = median(times.get(jobs) ?? []);
    return { jobs, seconds, perMin: (n / seconds) * 60 };
  });
  const reference = rows[0]!.perMin;
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`\nmedian of ${rounds} round(s):\n| jobs | wall time (s) | submissions/min | vs --jobs ${jobsList[0]} |\n|---:|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r.jobs} | ${r.seconds.toFixed(1)} | ${r.perMin.toFixed(1)} | ${(r.perMin / reference).toFixed(2)}x |`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
