/**
 * The Gradescope entry script run locally: /autograder paths simulated through environment overrides.
 * Needs the CLI built (`npm run build`), as in Gradescope's setup.sh.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { assignmentName, loadAssignment } from "../../src/grading/assignment";
import { readNotebook, serializeNotebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "gradescope", "run_autograder");
const FIXTURE = path.join(ROOT, "test", "fixtures", "grading", "squares.instructor.ipynb");
const CLI = path.join(ROOT, "dist", "src", "cli", "metalab.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-gs-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function studentNotebook(square: string): string {
  const a = loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
  const nb = structuredClone(a.student);
  for (const c of nb.cells) {
    if (c.id === "square") c.source = square;
    if (c.id === "sum_squares") c.source = "function sumSquares(xs: number[]): number {\n  return xs.reduce((s, x) => s + square(x), 0);\n}";
  }
  return serializeNotebook(nb);
}

interface Results {
  score: number;
  output: string;
  tests: { name: string; score: number; max_score: number; output: string; visibility: string }[];
}

function runAutograder(name: string, submission: string, env: Record<string, string> = {}): { results: Results; stdout: string } {
  const ag = path.join(tmp, name);
  fs.mkdirSync(path.join(ag, "submission"), { recursive: true });
  fs.writeFileSync(path.join(ag, "submission", "squares.ipynb"), submission);
  const r = spawnSync("bash", [SCRIPT], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      AUTOGRADER_ROOT: ag,
      METALAB_SOURCE: ROOT,
      METALAB_INSTRUCTOR: FIXTURE,
      METALAB_GRADE_ARGS: "--cell-timeout 20 --memory 1024",
      METALAB_KERNEL_USER: "",
      ...env,
    },
  });
  expect(r.status, r.stderr).toBe(0);
  return { results: JSON.parse(fs.readFileSync(path.join(ag, "results", "results.json"), "utf8")), stdout: r.stdout };
}

describe("scripts/gradescope/run_autograder", () => {
  test("the CLI is built", () => {
    expect(fs.existsSync(CLI), "run `npm run build` first").toBe(true);
  });

  test("grades /autograder/submission into /autograder/results/results.json", () => {
    const { results } = runAutograder("good", studentNotebook("function square(x: number): number {\n  return x * x;\n}"));
    expect(results.score).toBe(6);
    expect(results.tests.map((t) => [t.name, t.score, t.max_score, t.visibility])).toEqual([
      ["test_square", 2, 2, "visible"],
      ["test_sum_squares", 3, 3, "after_published"],
      ["test_square_neg", 1, 1, "visible"],
    ]);
    expect(results.output).toMatch(/^Status: graded\. 6\/6 points/);
  }, 150_000);

  test("an invalid submission still yields a results.json with a clear message", () => {
    const { results } = runAutograder("bad", "{ nope");
    expect(results.score).toBe(0);
    expect(results.output).toMatch(/Status: invalid.*not valid JSON/);
    expect(results.tests).toHaveLength(3);
  }, 150_000);

  test.runIf(process.getuid?.() === 0)("as root with --no-sandbox, student code runs as the kernel user and cannot read the hidden tests", () => {
    const secret = path.join(tmp, "secret");
    fs.mkdirSync(secret, { mode: 0o700 });
    const instructor = path.join(secret, "squares.instructor.ipynb");
    fs.copyFileSync(FIXTURE, instructor);
    const spy = [
      "function square(x: number): number {\n  return x * x;\n}",
      `console.log("uid", process.getuid());`,
      `try { require("fs").readFileSync(${JSON.stringify(instructor)}, "utf8"); console.log("LEAKED"); } catch (e) { console.log("read failed:", (e as NodeJS.ErrnoException).code); }`,
    ].join("\n");
    const out = path.join(tmp, "isolated-out");
    const { results } = runAutograder("isolated", studentNotebook(spy), {
      METALAB_INSTRUCTOR: instructor,
      METALAB_KERNEL_USER: "nobody",
      METALAB_SANDBOX: "none",
      METALAB_GRADE_ARGS: `--cell-timeout 20 --out ${out}`,
    });
    expect(results.score).toBe(6);
    expect(JSON.parse(fs.readFileSync(path.join(out, "students", "submission", "result.json"), "utf8")).sandbox).toBe("none");
    const nb = readNotebook(path.join(out, "students", "submission", "squares.graded.ipynb"));
    const cell = nb.cells.find((c) => c.id === "square");
    const graded = cell?.cell_type === "code" ? JSON.stringify(cell.outputs) : "";
    expect(graded).toMatch(/uid 65534/);
    expect(graded).toMatch(/read failed: EACCES/);
    expect(graded).not.toMatch(/LEAKED/);
  }, 200_000);

  test("in the sandbox (the default), the instructor notebook does not even exist for student code", () => {
    const secret = path.join(tmp, "secret-sbx");
    fs.mkdirSync(secret, { mode: 0o700 });
    const instructor = path.join(secret, "squares.instructor.ipynb");
    fs.copyFileSync(FIXTURE, instructor);
    const spy = [
      "function square(x: number): number {\n  return x * x;\n}",
      `console.log("uid", process.getuid());`,
      `try { require("fs").readFileSync(${JSON.stringify(instructor)}, "utf8"); console.log("LEAKED"); } catch (e) { console.log("read failed:", (e as NodeJS.ErrnoException).code); }`,
    ].join("\n");
    const out = path.join(tmp, "sandboxed-out");
    const { results } = runAutograder("sandboxed", studentNotebook(spy), { METALAB_INSTRUCTOR: instructor, METALAB_GRADE_ARGS: `--cell-timeout 20 --out ${out}` });
    expect(results.score).toBe(6);
    const r = JSON.parse(fs.readFileSync(path.join(out, "students", "submission", "result.json"), "utf8"));
    expect(r.sandbox).toBe("bubblewrap");
    const nb = readNotebook(path.join(out, "students", "submission", "squares.graded.ipynb"));
    const cell = nb.cells.find((c) => c.id === "square");
    const graded = cell?.cell_type === "code" ? JSON.stringify(cell.outputs) : "";
    expect(graded).toMatch(/uid 1000/);
    expect(graded).toMatch(/read failed: ENOENT/);
    expect(graded).not.toMatch(/LEAKED/);
  }, 200_000);

  test("without bubblewrap it fails closed, and results.json says how to fix it", () => {
    const bin = path.join(tmp, "no-bwrap-bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const tool of ["node", "bash", "mkdir", "dirname", "cat", "head", "tr", "rm", "mktemp", "id", "chmod", "prlimit"]) {
      const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
      if (found) fs.symlinkSync(found, path.join(bin, tool));
    }
    const { results } = runAutograder("no-bwrap", studentNotebook("function square(x: number): number {\n  return x * x;\n}"), { PATH: bin });
    expect(results.score).toBe(0);
    expect(results.output).toMatch(/The autograder failed \(exit code 1\)/);
    expect(results.output).toMatch(/bwrap. is not installed: install it \(Debian\/Ubuntu: .sudo apt-get install bubblewrap/);
  }, 60_000);
});
