import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { defaultJobs, formatSummary, documentClaimProblems, labNotebooks, parseArgs, previousRuns, projectRoot } from "../../src/cli/reproduce";

describe("reproduce CLI", () => {
  it("finds the project root", () => {
    expect(projectRoot(__dirname)).toBe(path.resolve(__dirname, "..", ".."));
  });

  it("parses options and defaults by mode", () => {
    const root = "/r";
    const full = parseArgs([], root, {});
    expect(full).toMatchObject({ mode: "full", outDir: "/r/out", figuresDir: "/r/figures", cellTimeoutMs: 1_200_000, filters: [] });
    const quick = parseArgs(["--quick", "--out", "/o", "--figures", "/f", "--cell-timeout-s", "5", "02", "03"], root, {});
    expect(quick).toMatchObject({ mode: "quick", outDir: "/o", figuresDir: "/f", cellTimeoutMs: 5000, timeoutMs: 600_000, filters: ["02", "03"] });
    expect(parseArgs([], root, { METALAB_QUICK: "1" }).mode).toBe("quick");
    expect(() => parseArgs(["--bogus"], root, {})).toThrow(/Unknown option --bogus/);
    expect(() => parseArgs(["--out"], root, {})).toThrow(/needs a value/);
    expect(() => parseArgs(["--timeout-s", "-1"], root, {})).toThrow(/positive number/);
  });

  it("lists top-level notebooks only, sorted, filtered by substring", () => {
    const root = mkdtempSync(path.join(tmpdir(), "metalab-repro-"));
    mkdirSync(path.join(root, "notebooks", "instructor"), { recursive: true });
    for (const f of ["02-b.ipynb", "01-a.ipynb", "instructor/01-key.ipynb", "notes.md"]) writeFileSync(path.join(root, "notebooks", f), "{}");
    expect(labNotebooks(root).map((f) => path.basename(f))).toEqual(["01-a.ipynb", "02-b.ipynb"]);
    expect(labNotebooks(root, ["02"]).map((f) => path.basename(f))).toEqual(["02-b.ipynb"]);
    expect(() => labNotebooks(root, ["zz"])).toThrow(/No notebook matches zz; available: 01-a.ipynb, 02-b.ipynb/);
  });

  it("summarises pass/fail, time, errors and key numbers", () => {
    const text = formatSummary("quick", [
      { name: "01-a", ok: true, durationMs: 1500, cellsRun: 3, codeCells: 3, figureProblems: [], claimProblems: [], numbers: { x: 0.1234567, y: null }, executedPath: "" },
      { name: "02-bb", ok: false, durationMs: 2000, cellsRun: 1, codeCells: 4, error: "cell 2 (id c): boom", figureProblems: ["cell 1: figure output lacks image/png"], claimProblems: ["cell 3: quotes 0.5 for \"x\""], numbers: {}, executedPath: "" },
    ], 3500);
    expect(text.split("\n")).toEqual([
      "metalab reproduce — quick mode, 2 notebook(s), 3.5s total",
      "PASS  01-a      1.5s  3/3 cells",
      "      x = 0.1235",
      "      y = non-finite",
      "FAIL  02-bb     2.0s  1/4 cells",
      "      error: cell 2 (id c): boom",
      "      figure: cell 1: figure output lacks image/png",
      "      claim: cell 3: quotes 0.5 for \"x\"",
      "1 notebook(s) failed.",
    ]);
  });

  it("checks the READMEs' quoted numbers against the notebooks that ran", () => {
    const root = mkdtempSync(path.join(tmpdir(), "metalab-claims-"));
    mkdirSync(path.join(root, "notebooks"));
    writeFileSync(path.join(root, "README.md"), "MAML: 0.35<!--claim 02-b:mse--> and 7<!--claim 03-c:n-->.");
    const row = (name: string, numbers: Record<string, number>) => ({ name, ok: true, durationMs: 1, cellsRun: 1, codeCells: 1, figureProblems: [], claimProblems: [], numbers, executedPath: "" });
    expect(documentClaimProblems(root, [row("02-b", { mse: 0.347 })], "full")).toEqual([]); // 03-c did not run: skipped
    expect(documentClaimProblems(root, [row("02-b", { mse: 0.36 })], "full")[0]).toMatch(/^README.md .*quotes 0.35 for "02-b:mse"/);
    expect(documentClaimProblems(root, [row("02-b", { mse: 0.36 })], "quick")).toEqual([]); // a full-mode claim
  });

  it("runs two notebooks at once by default on two or more cores, one on one core, and validates --jobs", () => {
    expect([defaultJobs(1), defaultJobs(2), defaultJobs(8)]).toEqual([1, 2, 2]);
    expect(parseArgs([], "/r", {}).jobs).toBe(defaultJobs());
    expect(parseArgs(["--jobs", "1"], "/r", {}).jobs).toBe(1);
    expect(parseArgs(["-j", "3", "--notebooks", "/nb"], "/r", {})).toMatchObject({ jobs: 3, notebooksDir: "/nb" });
    expect(parseArgs([], "/r", {}).notebooksDir).toBe("/r/notebooks");
    for (const bad of ["0", "1.5", "two"]) expect(() => parseArgs(["--jobs", bad], "/r", {})).toThrow(/--jobs must be a whole number/);
  });

  it("reads the previous run's notebooks of the same mode for the order (failed ones and other modes ignored)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "metalab-prev-"));
    expect(previousRuns(dir, "full")).toEqual([]);
    writeFileSync(path.join(dir, "summary.json"), JSON.stringify({ mode: "full", notebooks: [{ name: "a", ok: true, durationMs: 5, cpuMs: 4 }, { name: "b", ok: false, durationMs: 1 }] }));
    expect(previousRuns(dir, "full").map((r) => r.name)).toEqual(["a"]);
    expect(previousRuns(dir, "quick")).toEqual([]);
    writeFileSync(path.join(dir, "summary.json"), "{ torn");
    expect(previousRuns(dir, "full")).toEqual([]);
  });

  it("prints kernel CPU per notebook and in all, and how many ran at a time", () => {
    const row = (name: string, cpuMs: number) => ({ name, ok: true, durationMs: 2000, cellsRun: 1, codeCells: 1, figureProblems: [], claimProblems: [], numbers: {}, executedPath: "", cpuMs });
    expect(formatSummary("full", [row("01-a", 1500), row("02-b", 500)], 2500, 2).split("\n")).toEqual([
      "metalab reproduce — full mode, 2 notebook(s), 2.5s total, 2 at a time, kernel CPU 2.0s",
      "PASS  01-a     2.0s  1/1 cells  cpu    1.5s",
      "PASS  02-b     2.0s  1/1 cells  cpu    0.5s",
      "All notebooks passed.",
    ]);
  });
});
