/**
 * Runs every lab notebook headlessly (quick mode) in fresh tslab kernels and checks: no cell fails, every figure
 * output carries all four MIME types, every number the prose quotes for quick mode holds (notebook/claims.ts), and a
 * second run gives identical key numbers and identical SVGs.
 * Also re-runs notebook 02's training cell to check it leaks no tensors.
 *
 * Needs a kernel and minutes, so it is skipped unless METALAB_NOTEBOOK_TESTS=1: run `npm run test:notebooks`
 * (which builds dist/ and links node_modules/metalab first).
 */
import { mkdtempSync, readFileSync, readdirSync, existsSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";
import { labNotebooks, projectRoot } from "../../src/cli/reproduce";
import { figureOutputProblems, figureOutputs } from "../../src/notebook/check-outputs";
import { VEGA_LITE_MIME } from "../../src/jupyter/mime";
import { codeCell, joinSource, readNotebook, type Notebook } from "../../src/notebook/ipynb";
import { runNotebook, type RunResult } from "../../src/notebook/runner";
import { checkClaims, claimApplies, claimsOf, type ReportedNumbers } from "../../src/notebook/claims";

const enabled = process.env.METALAB_NOTEBOOK_TESTS === "1";
const root = projectRoot(__dirname);

/** Report keys that hold wall-clock measurements, which legitimately differ between runs. */
const MEASURED_KEY = /(^|_)(ms|seconds?)(_|$)/;

interface Run {
  readonly result: RunResult;
  readonly numbers: Record<string, unknown>;
  readonly figuresDir: string;
}

async function runQuick(nb: Notebook, file: string, label: string): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), `metalab-nbtest-${label}-`));
  const reportFile = path.join(dir, "report.json");
  const figuresDir = path.join(dir, "figures");
  const result = await runNotebook(nb, {
    cwd: path.dirname(file),
    env: { METALAB_QUICK: "1", METALAB_REPORT_FILE: reportFile, METALAB_FIGURES_DIR: figuresDir },
    cellTimeoutMs: 300_000,
    timeoutMs: 600_000,
  });
  const numbers = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, "utf8")) as Record<string, unknown>) : {};
  return { result, numbers, figuresDir };
}

/** SVGs of the figure outputs whose Vega-Lite spec is not marked as a wall-clock measurement, in output order. */
function deterministicSvgs(nb: Notebook): string[] {
  return figureOutputs(nb)
    .filter((f) => {
      const spec = f.data[VEGA_LITE_MIME] as { usermeta?: { measured?: boolean } } | undefined;
      return spec?.usermeta?.measured !== true;
    })
    .map((f) => {
      const svg = f.data["image/svg+xml"];
      return Array.isArray(svg) ? svg.join("") : String(svg);
    });
}

/** Saved figure files (.svg) under a figures dir, skipping measured ones, as name → content. */
function savedSvgs(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".svg")) {
        const spec = JSON.parse(readFileSync(p.replace(/\.svg$/, ".vl.json"), "utf8")) as { usermeta?: { measured?: boolean } };
        if (spec.usermeta?.measured !== true) out[path.relative(dir, p)] = readFileSync(p, "utf8");
      }
    }
  };
  walk(dir);
  return out;
}

function withoutMeasured(numbers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(numbers).filter(([k]) => !MEASURED_KEY.test(k)));
}

describe.skipIf(!enabled)("lab notebooks (quick mode, real tslab kernel)", () => {
  beforeAll(() => {
    if (!existsSync(path.join(root, "node_modules", "metalab", "package.json")) || !existsSync(path.join(root, "dist", "src", "index.js"))) {
      throw new Error("Notebooks import metalab from dist/: run `npm run build && node scripts/link-self.cjs` first (npm run test:notebooks does).");
    }
  });

  for (const file of labNotebooks(root)) {
    const name = path.basename(file, ".ipynb");
    it(`${name}: runs without errors, four MIME types per figure, identical numbers and SVGs when run twice`, async () => {
      const nb = readNotebook(file);
      const first = await runQuick(nb, file, `${name}-a`);
      expect(first.result.error, first.result.error).toBeUndefined();
      expect(first.result.ok).toBe(true);
      expect(figureOutputProblems(first.result.notebook)).toEqual([]);
      expect(figureOutputs(first.result.notebook).length).toBeGreaterThan(0);
      // Numbers quoted for quick mode (or any mode) hold in this run, and editing one of them is caught.
      const claims = claimsOf(nb.cells);
      const numbers = first.numbers as ReportedNumbers;
      expect(checkClaims(claims, numbers, "quick")).toEqual([]);
      const quick = claims.find((c) => claimApplies(c, "quick"));
      if (quick) expect(checkClaims([{ ...quick, value: quick.value + 10 * quick.tolerance + 1 }], numbers, "quick")).toHaveLength(1);

      const second = await runQuick(nb, file, `${name}-b`);
      expect(second.result.ok, second.result.error).toBe(true);
      expect(withoutMeasured(second.numbers)).toEqual(withoutMeasured(first.numbers));
      const svgsA = deterministicSvgs(first.result.notebook);
      const svgsB = deterministicSvgs(second.result.notebook);
      expect(svgsB.length).toBe(svgsA.length);
      svgsA.forEach((svg, i) => expect(svgsB[i] === svg, `figure output ${i} of ${name} differs between runs`).toBe(true));
      const filesA = savedSvgs(first.figuresDir);
      const filesB = savedSvgs(second.figuresDir);
      expect(Object.keys(filesB).sort()).toEqual(Object.keys(filesA).sort());
      for (const k of Object.keys(filesA)) expect(filesB[k] === filesA[k], `saved figure ${k} differs between runs`).toBe(true);
    }, 1_300_000);
  }

  it("re-running notebook 02's MAML training cell leaks no tensors", async () => {
    const file = path.join(root, "notebooks", "02-maml-sines.ipynb");
    const nb = readNotebook(file);
    const index = nb.cells.findIndex((c) => c.cell_type === "code" && joinSource(c.source).includes("ml.trainLive(maml"));
    expect(index).toBeGreaterThan(0);
    const training = joinSource(nb.cells[index]!.source);
    const cells = nb.cells.slice(0, index + 1);
    cells.push(codeCell("const tensorsBeforeRerun = tf.memory().numTensors;", "rerun-before"));
    cells.push(codeCell(training, "rerun-training"));
    cells.push(codeCell(
      "if (tf.memory().numTensors !== tensorsBeforeRerun) throw new Error(`re-running the training cell changed live tensors from ${tensorsBeforeRerun} to ${tf.memory().numTensors}`);",
      "rerun-after",
    ));
    const run = await runQuick({ ...nb, cells }, file, "02-rerun");
    expect(run.result.error, run.result.error).toBeUndefined();
    expect(run.result.ok).toBe(true);
  }, 600_000);
});
