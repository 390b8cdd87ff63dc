/**
 * Every lab exercise, graded for real through the `metalab` command (CI phase `exercises`; run it with
 * `METALAB_EXERCISE_TESTS=1 npx vitest run test/exercises/grade-exercises.test.ts`, optionally with
 * `METALAB_EXERCISE_OUT=dir` to keep the runs): `metalab assign` releases the
 * student version, then `metalab grade` grades a class of three kinds of submissions against the instructor
 * notebook: the solution (full marks), the released stub (zero), and the wrong answers of
 * test/fixtures/exercises/<name>.mutants.json (the tests each mistake should fail lose points; every other test
 * keeps full marks). `npm test`'s test/grading/assign.test.ts runs `assign` with its own checks on each notebook.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { serializeNotebook } from "../../src/notebook/ipynb";
import { ROOT, assignmentOf, instructorNotebooks, mutantSubmissions } from "./exercises";

const enabled = process.env.METALAB_EXERCISE_TESTS === "1";
const CLI = path.join(ROOT, "dist", "src", "cli", "metalab.js");
/** Notebooks graded at the same time (each grade runs its kernels one after another; CI machines have 2 cores). */
const PARALLEL = Math.max(1, Number(process.env.METALAB_EXERCISE_PARALLEL ?? 2));
/** METALAB_EXERCISE_OUT keeps every release, submission, gradebook and log there (CI's artifacts); else a temp folder. */
const keep = process.env.METALAB_EXERCISE_OUT;
const work = !enabled ? "" : keep !== undefined && keep !== "" ? path.resolve(keep) : fs.mkdtempSync(path.join(os.tmpdir(), "metalab-exercises-"));
afterAll(() => {
  if (work !== "" && (keep === undefined || keep === "")) fs.rmSync(work, { recursive: true, force: true });
});

let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs the metalab command; resolves with its output, rejects with it when the exit code is not 0. */
function metalab(args: string[], log: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      fs.appendFileSync(log, `$ metalab ${args.join(" ")}\n${out}\n(exit ${code})\n`);
      if (code === 0) resolve(out);
      else reject(new Error(`metalab ${args[0]} exited with ${code}:\n${out.slice(-4000)}`));
    });
  });
}

/** gradebook.csv rows by student id (numbers for the score columns). */
function readGradebook(file: string): Map<string, Record<string, string>> {
  const [head, ...rows] = fs.readFileSync(file, "utf8").trim().split("\n");
  const cols = (head ?? "").split(",");
  const out = new Map<string, Record<string, string>>();
  for (const line of rows) {
    // Ids, file names, statuses, flags and scores here hold no commas; polars quotes empty strings ("").
    const cells = line.split(",").map((c) => c.replace(/^"(.*)"$/, "$1"));
    const rec = Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? ""]));
    out.set(rec.student ?? "", rec);
  }
  return out;
}

describe.runIf(enabled)("every exercise, graded with `metalab grade`", () => {
  test.concurrent.each(instructorNotebooks().map((f) => [path.basename(f), f]))("%s", async (_name, file) => {
    const a = assignmentOf(file);
    const dir = path.join(work, a.name);
    fs.rmSync(dir, { recursive: true, force: true });
    const subs = path.join(dir, "submissions");
    const out = path.join(dir, "out");
    fs.mkdirSync(subs, { recursive: true });
    const log = path.join(dir, "metalab.log");
    const started = Date.now();
    await slot(async () => {
      await metalab(["assign", file, "--release", path.join(dir, "release"), "--no-check"], log);
      fs.copyFileSync(path.join(dir, "release", `${a.name}.ipynb`), path.join(subs, "stub.ipynb"));
      fs.copyFileSync(file, path.join(subs, "solution.ipynb"));
      const mutants = mutantSubmissions(a);
      for (const [label, m] of mutants) fs.writeFileSync(path.join(subs, `${label}.ipynb`), serializeNotebook(m.notebook));
      await metalab(["grade", "--instructor", file, "--submissions", subs, "--out", out, "--jobs", "1", "--cell-timeout", "300", "--timeout", "900"], log);
      const book = readGradebook(path.join(out, "gradebook.csv"));
      const ids = a.tests.map((t) => t.gradeId);
      const points = new Map(a.tests.map((t) => [t.gradeId, t.points]));
      const row = (s: string) => {
        const r = book.get(s);
        if (r === undefined) throw new Error(`no gradebook row for ${s}; see ${log}`);
        return r;
      };
      const scores = (s: string) => Object.fromEntries(ids.map((t) => [t, Number(row(s)[t])]));
      const full = Object.fromEntries(ids.map((t) => [t, points.get(t)!]));

      expect(row("solution").status).toBe("graded");
      expect(scores("solution")).toEqual(full);
      expect(Number(row("solution").total)).toBe(a.totalPoints);
      expect(row("stub").status).toBe("graded");
      expect(scores("stub")).toEqual(Object.fromEntries(ids.map((t) => [t, 0])));
      for (const [label, m] of mutants) {
        const got = scores(label);
        for (const t of ids) {
          if (m.loses.has(t)) expect(got[t], `${label}: ${t} should lose points (${m.mistakes.join("; ")})`).toBeLessThan(points.get(t)!);
          else expect(got[t], `${label}: ${t} should keep full marks`).toBe(points.get(t));
        }
        expect(row(label).flags).toBe("");
      }
      fs.appendFileSync(log, `graded ${2 + mutants.size} submissions in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${a.name}: solution ${row("solution").total}/${a.totalPoints}, stub ${row("stub").total}` +
        [...mutants.keys()].map((l) => `, ${l} ${row(l).total}`).join("") + ` (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    });
  }, 3_600_000);
});
