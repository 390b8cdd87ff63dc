/**
 * Banned calls are found with the TypeScript compiler API (tslab's own), through aliases, destructuring and element
 * access, and code that hides what it calls is flagged; other answers' tests are untouched. Needs the built library.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { assignmentName, loadAssignment, parseBanned, type Assignment } from "../../src/grading/assignment";
import { bannedCalls } from "../../src/grading/banned";
import { mergeSubmission } from "../../src/grading/merge";
import { readNotebook, type Notebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const FILE = path.join(ROOT, "notebooks", "instructor", "02-maml-inner-loop.instructor.ipynb");
const built = fs.existsSync(path.join(ROOT, "dist", "src", "index.d.ts"));

const OK_INNER = `function innerStep(theta: ml.Params, supportX: tf.Tensor3D, supportY: tf.Tensor3D, alpha: number): ml.Params {
  const tiled = ml.tileForTasks(theta, supportX.shape[0]);
  const g = ml.grad((p) => ml.summedTaskLoss("mse", model.apply(p, supportX), supportY))(tiled);
  return ml.mapParams(tiled, (t, k) => tf.sub(t, tf.mul(g[k], alpha)));
}`;

function submission(a: Assignment, answers: Record<string, string>, extra?: (nb: Notebook) => void): Notebook {
  const nb = structuredClone(a.student);
  for (const [id, src] of Object.entries(answers)) {
    const c = nb.cells.find((x) => x.id === id);
    if (c === undefined) throw new Error(id);
    c.source = src;
  }
  extra?.(nb);
  return nb;
}

function findings(a: Assignment, nb: Notebook): string[] {
  return bannedCalls(a, mergeSubmission(a, nb)).map((f) => `${f.answer} | ${f.where} | ${f.what}`);
}

describe("banned names in metadata", () => {
  test("parse as metalab exports or module:name", () => {
    expect(parseBanned("mamlInnerLoop")).toEqual({ module: "metalab", name: "mamlInnerLoop" });
    expect(parseBanned("@tensorflow/tfjs:softmax")).toEqual({ module: "@tensorflow/tfjs", name: "softmax" });
    expect(parseBanned("tf.softmax")).toBeNull();
  });
});

describe.skipIf(!built)("banned calls (TypeScript compiler API)", () => {
  const a = loadAssignment(readNotebook(FILE), assignmentName(FILE));

  test("an honest answer and the instructor's own solution have none", () => {
    expect(findings(a, submission(a, { inner_step: OK_INNER }))).toEqual([]);
    expect(findings(a, a.instructor)).toEqual([]);
  }, 120_000);

  test.each([
    ["a namespace call", "ml.mamlInnerLoop(theta, b, model, o, false, null)"],
    ["element access with a literal", 'ml["mamlInnerLoop"](theta, b, model, o, false, null)'],
    ["an alias", "const f = ml.mamlInnerLoop;\n  f(theta, b, model, o, false, null)"],
    ["destructuring", "const { mamlInnerLoop } = ml;\n  mamlInnerLoop(theta, b, model, o, false, null)"],
    ["destructuring with a rename", "const { mamlInnerLoop: loop } = ml;\n  loop(theta, b, model, o, false, null)"],
    ["a named import with a rename", 'null;\n}\nimport { mamlInnerLoop as sneaky } from "metalab";\nfunction unused() {\n  sneaky'],
    ["a deep import of the defining module", 'null;\n}\nimport * as m from "metalab/dist/src/learners/maml";\nfunction unused() {\n  m.mamlInnerLoop'],
    ["the second banned name", "ml.adaptSgd"],
  ])("finds %s", (_what, body) => {
    const src = `function innerStep(theta: ml.Params, supportX: tf.Tensor3D, supportY: tf.Tensor3D, alpha: number): ml.Params {
  const b = batch; const o = ml.mamlOptions({ innerSteps: 1, innerLr: alpha });
  return ${body};
}`;
    const f = findings(a, submission(a, { inner_step: src }));
    expect(f.length).toBeGreaterThan(0);
    expect(f[0]).toMatch(/^inner_step \| your cell \d+ \(answer inner_step\), line \d+ \| uses (mamlInnerLoop|adaptSgd) \(from metalab\)$/);
  }, 120_000);

  test.each([
    ["a computed property name", 'ml[["maml", "InnerLoop"].join("")]', /reads a computed property of an object that holds (mamlInnerLoop|adaptSgd)/],
    ["the module object passed around", "Object.values(ml).length as any", /passes a module object that holds banned functions around/],
    ["require", 'require("metalab").mamlInnerLoop', /uses require, which hides what it calls/],
    ["eval", 'eval("ml.maml" + "InnerLoop")', /uses eval, which hides what it calls/],
    ["Function", 'new Function("return 1")()', /uses Function, which hides what it calls/],
    ["import()", 'import("metalab") as any', /uses import\(\), which hides what it calls/],
    ["globalThis with a computed name", 'globalThis["re" + "quire"]', /computed property of globalThis/],
  ])("flags %s as hiding what it calls", (_what, body, pattern) => {
    const src = `function innerStep(theta: ml.Params, supportX: tf.Tensor3D, supportY: tf.Tensor3D, alpha: number): ml.Params {
  return ${body};
}`;
    expect(findings(a, submission(a, { inner_step: src })).join("\n")).toMatch(pattern);
  }, 120_000);

  test("a helper in a cell the student added before the answer is found too", () => {
    const nb = submission(a, { inner_step: OK_INNER.replace("return ml.mapParams", "void helper;\n  return ml.mapParams") }, (n) => {
      const at = n.cells.findIndex((c) => c.id === "inner_step");
      n.cells.splice(at, 0, { cell_type: "code", id: "helper", metadata: {}, source: "const helper = ml.mamlInnerLoop;", outputs: [], execution_count: null });
    });
    // Both answers that ban mamlInnerLoop (inner_step, maml_loss) run after the helper, so both are hit.
    expect(findings(a, nb)).toEqual([
      expect.stringMatching(/^inner_step \| your cell \d+ \(a cell you added\), line 1 \| uses mamlInnerLoop/),
      expect.stringMatching(/^maml_loss \| your cell \d+ \(a cell you added\), line 1 \| uses mamlInnerLoop/),
    ]);
  }, 120_000);

  test("a banned name used after the answer's tests, or in a type, does not count", () => {
    const nb = submission(a, { inner_step: `${OK_INNER}\ntype T = typeof ml.mamlInnerLoop;` }, (n) => {
      n.cells.push({ cell_type: "code", id: "late", metadata: {}, source: "ml.mamlInnerLoop;", outputs: [], execution_count: null });
    });
    // "late" sits after every test cell, so only the rules of answers whose tests run after it would see it: none.
    expect(findings(a, nb)).toEqual([]);
  }, 120_000);
});
