/**
 * Static checks of the lab exercises (no kernel): every lab has an instructor notebook; every test cell sends value
 * checks; every answer bans the library shortcuts its tests compare against, and the grader catches each of them;
 * the wrong-answer fixtures name real answers and tests. The kernel runs (solution full marks, released stub zero,
 * wrong answers lose the right tests, all through `metalab grade`) are in grade-exercises.test.ts (CI phase
 * `exercises`); `metalab assign` on each notebook is in test/grading/assign.test.ts.
 */
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { bannedCalls } from "../../src/grading/banned";
import { cellRole, gradeId } from "../../src/grading/assignment";
import { mergeSubmission } from "../../src/grading/merge";
import { joinSource } from "../../src/notebook/ipynb";
import { answerIds, assignmentOf, instructorNotebooks, labNotebooks, mutantsOf, solvedStudent } from "./exercises";

const notebooks = instructorNotebooks();
const lab = (f: string) => path.basename(f).slice(0, 2);

describe("lab exercises", () => {
  test("every lab notebook has at least one instructor notebook", () => {
    const withExercises = new Set(notebooks.map(lab));
    expect(labNotebooks().map(lab).filter((n) => !withExercises.has(n))).toEqual([]);
  });

  test.each(notebooks)("%s: value checks in every test cell, a banned list on every answer, points on every test", (file) => {
    const a = assignmentOf(file);
    expect(a.tests.length).toBeGreaterThan(0);
    for (const cell of a.instructor.cells) {
      const role = cellRole(cell);
      const src = joinSource(cell.source);
      if (role === "test") {
        expect(src, `test cell ${gradeId(cell)}`).toMatch(/\bcheck\(/);
        expect(src, `test cell ${gradeId(cell)} decides in the kernel`).not.toMatch(/\bthrow\b|\bassert\w*\(/);
      }
    }
    const rules = new Map(a.rules.map((r) => [r.answer, r]));
    for (const id of answerIds(a)) {
      expect(rules.get(id)?.banned.length ?? 0, `answer ${id} bans no shortcut`).toBeGreaterThan(0);
      expect(rules.get(id)?.tests.length ?? 0, `answer ${id} guards no test`).toBeGreaterThan(0);
    }
  });

  test.each(notebooks)("%s: the solution calls nothing it bans, and every banned shortcut is caught", (file) => {
    const a = assignmentOf(file);
    expect(bannedCalls(a, mergeSubmission(a, solvedStudent(a)))).toEqual([]);
    // Each answer = its solution plus one alias of every function it bans (`const f = ml.mamlLoss` is enough).
    const replace = new Map<string, string>();
    for (const r of a.rules) {
      const own = joinSource(a.instructor.cells[r.index]?.source ?? "");
      const aliases = r.banned.map((b, i) => `const shortcut_${r.answer}_${i} = ${b.module === "metalab" ? "ml" : "tf"}.${b.name};`);
      expect(r.banned.every((b) => b.module === "metalab" || b.module === "@tensorflow/tfjs"), "banned names come from metalab or tfjs").toBe(true);
      replace.set(r.answer, `${own}\n${aliases.join("\n")}`);
    }
    const findings = bannedCalls(a, mergeSubmission(a, solvedStudent(a, replace)));
    for (const r of a.rules) {
      const mine = findings.filter((f) => f.answer === r.answer).map((f) => f.what).join("\n");
      for (const b of r.banned) expect(mine, `answer ${r.answer}: ${b.name}`).toContain(`uses ${b.name} (from ${b.module})`);
      expect(findings.find((f) => f.answer === r.answer)?.tests).toEqual(r.tests);
    }
  }, 60_000);

  test.each(notebooks)("%s: the wrong-answer fixture names real answers and tests", (file) => {
    const a = assignmentOf(file);
    const m = mutantsOf(a);
    if (m === null) return;
    expect(m.notebook).toBe(`notebooks/instructor/${path.basename(file)}`);
    const answers = new Set(answerIds(a));
    const tests = new Set(a.tests.map((t) => t.gradeId));
    for (const mu of m.mutants) {
      expect(answers.has(mu.answer), `answer ${mu.answer}`).toBe(true);
      expect(mu.loses.length).toBeGreaterThan(0);
      for (const t of mu.loses) expect(tests.has(t), `test ${t}`).toBe(true);
    }
  });
});
