/**
 * The package's entry points as a user's `require` sees them (through package.json `exports`, on the built dist/):
 * `metalab` is the library alone (no zeromq, no tslab, no TypeScript compiler); the tooling has its own entries.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";

const root = path.resolve(__dirname, "..", "..");

/** Newest modification time of the .ts files under src/. */
function newestSource(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (e.name.endsWith(".ts")) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Runs `script` in a fresh Node from the project root (where node_modules/metalab links to this checkout). */
function node(script: string): unknown {
  const index = path.join(root, "dist", "src", "index.js");
  if (!fs.existsSync(index) || newestSource(path.join(root, "src")) > fs.statSync(index).mtimeMs) {
    throw new Error("dist/ is missing or older than src/: run `npm run build` (npm install does it) first.");
  }
  if (!fs.existsSync(path.join(root, "node_modules", "metalab", "package.json"))) {
    throw new Error("node_modules/metalab is not linked: run `node scripts/link-self.cjs` (npm install does it).");
  }
  const r = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8", env: { ...process.env, METALAB_BACKEND: "cpu" } });
  if (r.status !== 0) throw new Error(`node exited with ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Loaded module files matching `heavy`, after requiring `spec`. */
const LOADED = (spec: string): string => `
  const ml = require(${JSON.stringify(spec)});
  const heavy = Object.keys(require.cache).filter((f) => /node_modules\\/(zeromq|tslab|@tslab)\\//.test(f));
  console.log(JSON.stringify({ names: Object.keys(ml).length, heavy: heavy.map((f) => f.replace(/.*node_modules\\//, "")).slice(0, 5) }));`;

describe("package entry points", () => {
  test("`metalab` loads neither zeromq nor tslab's TypeScript fork, and exports a curated, named surface", () => {
    const r = node(LOADED("metalab")) as { names: number; heavy: string[] };
    expect(r.heavy).toEqual([]);
    expect(r.names).toBeGreaterThan(100);
    const names = node(`console.log(JSON.stringify(Object.keys(require("metalab"))))`) as string[];
    for (const n of ["Maml", "mamlOptions", "SineFamily", "Rng", "grad", "lineChart", "report", "trainLive", "runBnPitfalls", "fitRows", "measureStep"]) {
      expect(names).toContain(n);
    }
    // Internals stay internal: fast-path kernels, display plumbing, renderer details, notebook checks.
    for (const n of ["kernelFor", "packParams", "figureOutputProblems", "sendDisplay", "setDisplaySink", "compileChart", "runNotebook", "KernelClient"]) {
      expect(names).not.toContain(n);
    }
  });

  test("metalab/notebook, metalab/grading, metalab/kernel and metalab/check resolve through `exports`; deep paths do not", () => {
    const r = node(`
      const nb = require("metalab/notebook"), gr = require("metalab/grading");
      const heavyAfterRunner = Object.keys(require.cache).some((f) => /node_modules\\/(tslab|@tslab)\\//.test(f));
      const k = require("metalab/kernel");
      const ch = require("metalab/check");
      let deep = "resolved";
      try { require.resolve("metalab/dist/src/notebook/runner.js"); } catch (e) { deep = e.code; }
      console.log(JSON.stringify({ runNotebook: typeof nb.runNotebook, launchKernel: typeof nb.launchKernel, gradeBatch: typeof gr.gradeBatch,
        server: typeof k.KernelServer, check: typeof ch.check, heavyAfterRunner, deep, libraryInRunner: typeof nb.Maml }));`);
    expect(r).toEqual({
      runNotebook: "function",
      launchKernel: "function",
      gradeBatch: "function",
      server: "function",
      check: "function",
      heavyAfterRunner: false, // the runner needs zeromq only when it starts a kernel
      deep: "ERR_PACKAGE_PATH_NOT_EXPORTED",
      libraryInRunner: "undefined",
    });
  });
});
