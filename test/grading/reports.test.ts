/** Gradebooks and feedback from results (no kernel). */
import { describe, expect, test } from "vitest";
import type { Assignment } from "../../src/grading/assignment";
import type { StudentResult } from "../../src/grading/grade-one";
import { canvasGradebook, feedbackHtml, gradebook, toGradescope } from "../../src/grading/reports";

const a = { name: "hw1", totalPoints: 3, tests: [{ gradeId: "t1", points: 3, index: 0, hasHidden: true }] } as unknown as Assignment;
function result(student: string, file: string, score: number): StudentResult {
  return {
    student,
    file,
    status: "graded",
    flags: [],
    score,
    maxScore: 3,
    tests: [
      {
        gradeId: "t1",
        score,
        maxScore: 3,
        ok: score === 3,
        ran: true,
        hidden: true,
        mode: "checks",
        checks: [
          { name: "visible", score: Math.min(score, 1), maxScore: 1, ok: score >= 1, hidden: false },
          { name: "edge cases", score: Math.max(0, score - 1), maxScore: 2, ok: score === 3, hidden: true, ...(score === 3 ? {} : { reason: "think about []" }) },
        ],
        ...(score === 3 ? {} : { error: '"edge cases": think about []' }),
        output: "",
      },
    ],
    notes: [],
    message: `${score}/3 points`,
    durationMs: 1000,
    gradedAt: "2026-01-01T00:00:00.000Z",
    sandbox: "bubblewrap",
    hashes: { assignment: "a", submission: "s", grader: "g" },
  };
}

describe("gradebooks", () => {
  const rs = [result("doejane_12345_67890_hw1", "doejane_12345_67890_hw1.ipynb", 3), result("late~20one", "smith_LATE_222_333_hw1 (1).ipynb", 1), result("陈", "陈.ipynb", 0)];
  test("the gradebook has a file column and keeps Unicode", () => {
    const csv = gradebook(a, rs).trim().split("\n");
    expect(csv[0]).toBe("student,file,status,flags,t1,total,max_score");
    expect(csv).toContain('陈,陈.ipynb,graded,"",0,0,3');
  });
  test("the Canvas CSV takes Canvas user ids from Canvas's download names, after a Points Possible row", () => {
    expect(canvasGradebook(a, rs, "Homework 1").split("\r\n")).toEqual([
      "Student,ID,SIS User ID,SIS Login ID,Section,Homework 1",
      "Points Possible,,,,,3",
      "doejane,12345,,,,3",
      "smith,222,,,,1",
      "陈,,,,,0",
      "",
    ]);
  });
});

describe("feedback", () => {
  test("hidden checks show name, pass/fail and the instructor's message only; visibility follows hidden tests", () => {
    const r = result("x", "x.ipynb", 1);
    const html = feedbackHtml(r, "hw1");
    expect(html).toMatch(/edge cases <small>\(hidden\)<\/small><\/td><td>0 \/ 2<\/td><td>think about \[\]<\/td>/);
    expect(html).not.toMatch(/Graded 2026/); // No timing: reruns give identical bytes.
    const gs = toGradescope(r);
    expect(gs.tests[0]).toMatchObject({ name: "t1", score: 1, max_score: 3, visibility: "after_published", status: "failed" });
    expect(gs.tests[0]?.output).toMatch(/failed \(hidden\) "edge cases" 0\/2: think about \[\]/);
  });
});
