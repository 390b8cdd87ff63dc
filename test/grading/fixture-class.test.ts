/**
 * End-to-end: a class of submissions (correct, partly correct, wrong, crashing, hanging, tampered, invalid, ...)
 * graded with --jobs 2; each gets its exact expected score, status and flags.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createRequire } from "node:module";
import { assignmentName, loadAssignment, type Assignment } from "../../src/grading/assignment";
import { gradeBatch, type BatchResult } from "../../src/grading/grade-batch";
import { joinSource, readNotebook } from "../../src/notebook/ipynb";

const FIXTURE = path.join(__dirname, "..", "fixtures", "grading", "squares.instructor.ipynb");
const { writeFixtureClass } = createRequire(__filename)("../../scripts/grading/fixture-class.cjs") as { writeFixtureClass: (dir: string) => string[] };
/** student → [status, score, flags] */
const EXPECTED: Record<string, [string, number, string[]]> = {
  correct: ["graded", 6, []],
  partial: ["graded", 3, []],
  wrong_forger: ["graded", 0, []],
  exits: ["kernel_died", 2, []],
  crashes: ["kernel_died", 2, []],
  hangs: ["timeout", 3, []],
  tampered: ["graded", 3, ["tampered"]],
  oom: ["kernel_died", 2, []],
  wrong_kernel: ["graded", 0, ["wrong_kernel"]],
  missing_cell: ["graded", 3, ["missing_cells"]],
  invalid_json: ["invalid", 0, []],
  empty: ["invalid", 0, []],
  no_notebook: ["missing", 0, []],
};

describe("grading a fixture class", () => {
  let a: Assignment;
  let subs: string;
  let out: string;
  let res: BatchResult;
  let root = "";
  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });
  const hashes = new Map<string, string>();
  const hash = (f: string) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

  beforeAll(async () => {
    a = loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
    root = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-class-"));
    subs = path.join(root, "submissions");
    out = path.join(root, "out");
    fs.mkdirSync(subs);
    // The class is shared with the Slurm phase of .ci/run (scripts/grading/fixture-class.cjs, which needs the build).
    for (const f of writeFixtureClass(subs)) hashes.set(f, hash(f));
    res = await gradeBatch(a, subs, out, { jobs: 2, cellTimeoutMs: 10_000, timeoutMs: 120_000, memoryMb: 512 });
  }, 600_000); // About 250 s at load 35 (2 cores); the time budget, not an expectation.

  test("every student gets the exact expected status, score and flags", () => {
    const got = Object.fromEntries(res.results.map((r) => [r.student, [r.status, r.score, r.flags]]));
    expect(got).toEqual(EXPECTED);
    for (const r of res.results) expect(r.maxScore).toBe(6);
  });

  test("per-test details explain failures", () => {
    const by = new Map(res.results.map((r) => [r.student, r]));
    const partial = by.get("partial")?.tests.find((t) => t.gradeId === "test_sum_squares");
    expect(partial).toMatchObject({ ok: false, ran: true, hidden: true });
    expect(partial?.error).toMatch(/sumSquares\(\[\]\) should be 0/);
    const exits = by.get("exits");
    expect(exits?.tests.map((t) => t.ran)).toEqual([true, false, false]);
    // process.exit(0) ends the kernel with code 0, or zeromq's exit hook aborts it (SIGABRT, "Napi::Error"; most runs
    // here since the kernel's sockets moved to a worker thread): either way it died in that cell, as status and score say.
    expect(exits?.message).toMatch(/kernel died .*(exited with code 0|killed by SIGABRT; its stderr ended: terminate called after throwing an instance of 'Napi::Error')/);
    expect(by.get("crashes")?.message).toMatch(/SIGSEGV/);
    expect(by.get("oom")?.message).toMatch(/out of memory/);
    expect(by.get("hangs")?.tests.find((t) => t.gradeId === "test_sum_squares")?.error).toMatch(/Timed out/);
    expect(by.get("tampered")?.notes.join("\n")).toMatch(/test cell test_square was edited[\s\S]*test cell test_square_neg was deleted/);
    expect(by.get("invalid_json")?.message).toMatch(/not valid JSON/);
    expect(by.get("empty")?.message).toMatch(/is empty/);
    expect(by.get("wrong_kernel")?.notes.join("\n")).toMatch(/saved with kernel "python3"/);
  });

  test("writes the gradebook, feedback, graded notebooks and Gradescope results without exposing hidden tests", () => {
    const csv = fs.readFileSync(res.gradebookPath, "utf8").trim().split("\n");
    // The file column traces every row to its submission (issue 11).
    expect(csv[0]).toBe("student,file,status,flags,test_square,test_sum_squares,test_square_neg,total,max_score");
    expect(csv).toContain('correct,correct.ipynb,graded,"",2,3,1,6,6');
    expect(csv).toContain("tampered,tampered.ipynb,graded,tampered,0,3,0,3,6");
    expect(csv).toContain('no_notebook,no_notebook/,missing,"",0,0,0,0,6');
    expect(csv).toHaveLength(1 + Object.keys(EXPECTED).length);
    const dir = path.join(out, "students", "partial");
    const gs = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8"));
    expect(gs.score).toBe(3);
    expect(gs.tests.map((t: { name: string; score: number; max_score: number; visibility: string }) => [t.name, t.score, t.max_score, t.visibility])).toEqual([
      ["test_square", 2, 2, "visible"],
      ["test_sum_squares", 0, 3, "after_published"],
      ["test_square_neg", 1, 1, "visible"],
    ]);
    expect(fs.readFileSync(path.join(dir, "feedback.html"), "utf8")).toMatch(/<b>3 \/ 6<\/b>/);
    const graded = readNotebook(path.join(dir, "squares.graded.ipynb"));
    const allSource = graded.cells.map((c) => joinSource(c.source)).join("\n");
    expect(allSource).toMatch(/hidden tests ran here/);
    expect(allSource).not.toMatch(/sumSquares\(\[-1, 3\]\)/);
    const forged = readNotebook(path.join(out, "students", "wrong_forger", "squares.graded.ipynb"));
    expect(JSON.stringify(forged)).toMatch(/All tests passed! 6\/6/); // printed, yet 0 points
  });

  test("TypeScript errors are reported with the student's own cell and line", () => {
    const by = new Map(res.results.map((r) => [r.student, r]));
    expect(by.get("wrong_kernel")?.notes.join("\n")).toMatch(/your cell \d+ \(answer square\) failed: line 1, column \d+: /);
  });

  test("writes the class report (Vega-Lite with SVG, pass rates, flags with reasons) and a Canvas gradebook", () => {
    const html = fs.readFileSync(path.join(out, "class-report.html"), "utf8");
    expect(html).toMatch(/<svg/);
    expect(html.match(/<script type="application\/vnd\.vegalite\.v5\+json">/g)).toHaveLength(2);
    expect(html).toMatch(/Pass rate per check/);
    expect(html).toMatch(/test_sum_squares: sumSquares on edge cases/);
    expect(html).toMatch(/<td>tampered<\/td><td>graded<\/td><td>tampered<\/td><td>3<\/td><td>[^<]*test cell test_square was edited/);
    expect(html).toMatch(/<td>oom<\/td><td>kernel_died<\/td>/);
    expect(html).toMatch(/Slowest submissions/);
    const canvas = fs.readFileSync(path.join(out, "gradebook-canvas.csv"), "utf8").split("\r\n");
    expect(canvas[0]).toBe("Student,ID,SIS User ID,SIS Login ID,Section,squares");
    expect(canvas[1]).toBe("Points Possible,,,,,6");
    expect(canvas).toContain("correct,,,,,6");
    expect(canvas).toContain("tampered,,,,,3");
  });

  test("never modifies submissions", () => {
    for (const [f, h] of hashes) expect(hash(f)).toBe(h);
    expect(fs.readdirSync(subs).sort()).toEqual([...Object.keys(EXPECTED)].map((s) => (s === "no_notebook" ? s : `${s}.ipynb`)).sort());
  });

  test("--resume skips finished students and re-grades only the missing one", async () => {
    fs.rmSync(path.join(out, "students", "partial", "result.json"));
    const seen: string[] = [];
    const again = await gradeBatch(a, subs, out, { jobs: 2, resume: true, cellTimeoutMs: 10_000, memoryMb: 512, onProgress: (_d, _t, s, r) => r && seen.push(s) });
    expect(seen).toEqual(["partial"]);
    expect(again.resumed).toHaveLength(Object.keys(EXPECTED).length - 1);
    expect(Object.fromEntries(again.results.map((r) => [r.student, [r.status, r.score, r.flags]]))).toEqual(EXPECTED);
  }, 240_000);
});
