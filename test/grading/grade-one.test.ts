/** Infrastructure failures: a kernel that cannot start gives status "error", and --resume grades it again. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { assignmentName, loadAssignment } from "../../src/grading/assignment";
import { gradeBatch } from "../../src/grading/grade-batch";
import { readNotebook, serializeNotebook } from "../../src/notebook/ipynb";

const FIXTURE = path.join(__dirname, "..", "fixtures", "grading", "squares.instructor.ipynb");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-g1-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("grader infrastructure errors", () => {
  test("a kernel that cannot start is status error, and --resume re-grades it", async () => {
    const a = loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
    const subs = path.join(tmp, "subs");
    fs.mkdirSync(subs);
    fs.writeFileSync(path.join(subs, "ann.ipynb"), serializeNotebook(a.student));
    const out = path.join(tmp, "out");
    const broken = await gradeBatch({ ...a, kernelName: "no-such-kernel" }, subs, out, { jobs: 1 });
    expect(broken.results[0]).toMatchObject({ student: "ann", status: "error", score: 0 });
    expect(broken.results[0]?.message).toMatch(/could not start kernel: No Jupyter kernel named "no-such-kernel"/);
    const again = await gradeBatch(a, subs, out, { jobs: 1, resume: true, cellTimeoutMs: 20_000 });
    expect(again.resumed).toEqual([]);
    expect(again.results[0]).toMatchObject({ student: "ann", status: "graded", score: 0 });
    expect(again.results[0]?.tests.every((t) => /not implemented/.test(t.error ?? ""))).toBe(true);
  }, 120_000);
});
