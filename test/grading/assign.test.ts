/**
 * Every instructor notebook passes its own tests, and the student version generated from it fails every test.
 * Also grades one instructor notebook as a submission from a scratch folder outside the project (full marks),
 * which checks that `import "metalab"` resolves through the grader's node_modules link.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { assign } from "../../src/grading/assign";
import { assignmentName, loadAssignment } from "../../src/grading/assignment";
import { gradeSubmission } from "../../src/grading/grade-one";
import { graderVersion } from "../../src/grading/hashes";
import { defaultNodeModules, unsandboxedRunner } from "../../src/grading/kernel-run";
import { buildReference } from "../../src/grading/reference";
import { joinSource, readNotebook, serializeNotebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const INSTRUCTOR = path.join(ROOT, "notebooks", "instructor");
const notebooks = [
  ...fs
    .readdirSync(INSTRUCTOR)
    .filter((f) => f.endsWith(".instructor.ipynb"))
    .map((f) => path.join(INSTRUCTOR, f)),
  path.join(ROOT, "test", "fixtures", "grading", "squares.instructor.ipynb"),
];
const release = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-release-"));
afterAll(() => fs.rmSync(release, { recursive: true, force: true }));

function needBuild(): void {
  if (!fs.existsSync(path.join(ROOT, "node_modules", "metalab", "dist", "src", "index.js"))) {
    throw new Error("instructor notebooks import metalab: run `npm run build && node scripts/link-self.cjs` first");
  }
}

describe("metalab assign on every instructor notebook", () => {
  test("there are instructor notebooks for the gradient and MAML labs", () => {
    expect(notebooks.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining(["01-gradients-exercises.instructor.ipynb", "02-maml-inner-loop.instructor.ipynb"]),
    );
  });

  test.each(notebooks)("%s: solutions pass every test, the student version fails every test", async (file) => {
    needBuild();
    const rep = await assign(file, release, { run: { cellTimeoutMs: 120_000 } });
    const ids = rep.assignment.tests.map((t) => t.gradeId);
    expect(rep.solutionPasses).toEqual(ids);
    expect(rep.studentFails).toEqual(ids);
    // Every shipped test cell uses value checks: nothing is decided inside the student's kernel.
    expect(rep.warnings).toEqual([]);
    expect(rep.reference?.tests.every((t) => t.mode === "checks")).toBe(true);
    const released = fs.readFileSync(rep.releasePath, "utf8");
    expect(released).not.toMatch(/BEGIN HIDDEN TESTS|BEGIN SOLUTION/);
    expect(released).toMatch(/not implemented/);
  }, 240_000);

  test("a solved MAML notebook earns full marks; banned calls and a first-order meta-gradient do not", async () => {
    needBuild();
    const file = path.join(INSTRUCTOR, "02-maml-inner-loop.instructor.ipynb");
    const a = loadAssignment(readNotebook(file), assignmentName(file));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-work-"));
    try {
      const runKernel = unsandboxedRunner({ cellTimeoutMs: 120_000, timeoutMs: 600_000, memoryMb: 2048, maxOutputBytes: 100_000, maxFileMb: 100, kernelName: a.kernelName, workRoot: work, nodeModulesDir: defaultNodeModules() });
      const reference = await buildReference(a, runKernel, { assignmentHash: a.hash, grader: graderVersion() });
      const opts = { workRoot: work, cellTimeoutMs: 120_000, reference, runKernel };
      const { result } = await gradeSubmission(a, file, "solver", opts);
      expect(result.tests.map((t) => t.error ?? "")).toEqual(a.tests.map(() => ""));
      expect(result).toMatchObject({ status: "graded", score: 10, maxScore: 10, flags: [] });

      const nb = structuredClone(a.student);
      const set = (id: string, src: string): void => {
        const c = nb.cells.find((x) => x.id === id);
        if (c) c.source = src;
      };
      const solution = (id: string): string => joinSource(a.instructor.cells.find((c) => c.id === id)?.source ?? "");
      set("inner_step", solution("inner_step"));
      set("maml_loss", "function myMamlLoss(theta: ml.Params, b: ml.TaskBatch, alpha: number): tf.Scalar {\n  return ml.mamlLoss(theta, b, model, { innerSteps: 1, innerLr: alpha });\n}");
      set(
        "meta_grad",
        "function myMetaGradient(theta: ml.Params, b: ml.TaskBatch, alpha: number): ml.Params {\n" +
          "  // First order: the query gradient at the adapted parameters, ignoring how they depend on theta.\n" +
          "  const adapted = innerStep(theta, b.supportX, b.supportY, alpha);\n" +
          "  const g = ml.grad((p) => ml.meanTaskLoss(\"mse\", model.apply(p, b.queryX), b.queryY))(adapted);\n" +
          "  return ml.mapParams(g, (t) => tf.sum(t, 0)); // d(mean over tasks)/d(task copy), summed over tasks\n}",
      );
      const sub = path.join(work, "mixed.ipynb");
      fs.writeFileSync(sub, serializeNotebook(nb));
      const mixed = (await gradeSubmission(a, sub, "mixed", opts)).result;
      const by = new Map(mixed.tests.map((t) => [t.gradeId, t]));
      expect(by.get("test_inner_step")).toMatchObject({ score: 4, ok: true });
      expect(by.get("test_maml_loss")).toMatchObject({ score: 0, ok: false });
      expect(by.get("test_maml_loss")?.error).toMatch(/uses mamlLoss \(from metalab\) \(banned in answer maml_loss\)/);
      expect(mixed.flags).toContain("banned_call");
      const hiddenSecondOrder = by.get("test_meta_grad")?.checks?.find((c) => c.name === "meta-gradient, α = 0.5");
      expect(hiddenSecondOrder).toMatchObject({ ok: false, hidden: true, reason: "differentiate through the inner step (second order)" });
      expect(mixed.score).toBeLessThan(6);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});
