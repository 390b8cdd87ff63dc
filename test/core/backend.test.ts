import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(__dirname, "../..");

/** backend.ts compiled to CommonJS on the fly, so the check needs no build and always tests the current source. */
const backendJs = ts.transpileModule(readFileSync(resolve(root, "src/core/backend.ts"), "utf8"), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
}).outputText;

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `ready()` in a fresh Node process (the choice is made once per process) with METALAB_BACKEND set or unset. */
function selectIn(env: string | undefined): Promise<Outcome> {
  const script = `${backendJs}
exports.ready().then(
  (info) => console.log(JSON.stringify({ info, text: exports.describeBackend(info) })),
  (e) => { console.error(e.message); process.exit(3); });`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  if (env === undefined) delete childEnv.METALAB_BACKEND;
  else childEnv.METALAB_BACKEND = env;
  return new Promise((done) => {
    // cwd = project root, so `node -e` resolves @tensorflow/* from the project's node_modules.
    execFile(process.execPath, ["-e", script], { cwd: root, env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe("backend selection (METALAB_BACKEND)", () => {
  // Started together: four small processes run in parallel, about 0.2 s each.
  const runs = { cpu: selectIn("cpu"), bogus: selectIn("bogus"), tensorflow: selectIn("tensorflow"), auto: selectIn(undefined) };

  it("METALAB_BACKEND=cpu selects cpu and says it was forced", async () => {
    const r = await runs.cpu;
    expect(r.code, r.stderr).toBe(0);
    const { info, text } = JSON.parse(r.stdout);
    expect(info.name).toBe("cpu");
    expect(info.forced).toBe(true);
    expect(text).toContain("forced by METALAB_BACKEND");
  });

  it("an unknown METALAB_BACKEND throws an error naming the valid choices", async () => {
    const r = await runs.bogus;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/METALAB_BACKEND="bogus" is not a backend/);
    expect(r.stderr).toMatch(/tensorflow.*wasm.*cpu/);
    expect(r.stderr).toMatch(/unset it/);
  });

  it("METALAB_BACKEND=tensorflow fails with an explanation of the fix when tfjs-node cannot load", async () => {
    const r = await runs.tensorflow;
    if (r.code === 0) {
      // A machine with a working tfjs-node: forcing it must then select it.
      expect(JSON.parse(r.stdout).info.name).toBe("tensorflow");
      return;
    }
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/METALAB_BACKEND=tensorflow was forced but backend "tensorflow" is not available/);
    expect(r.stderr).toMatch(/Fix: .*npm rebuild @tensorflow\/tfjs-node.*or unset METALAB_BACKEND/);
    expect(r.stderr).not.toMatch(/\. \./);
  });

  it("the default picks the fastest loadable backend: wasm here, after skipping tfjs-node with its reason", async () => {
    const r = await runs.auto;
    expect(r.code, r.stderr).toBe(0);
    const { info, text } = JSON.parse(r.stdout);
    expect(info.forced).toBe(false);
    if (info.name === "tensorflow") return; // tfjs-node works on this machine
    expect(info.name).toBe("wasm");
    expect(info.skipped.map((s: { name: string }) => s.name)).toEqual(["tensorflow"]);
    expect(text).toMatch(/^wasm \((SIMD|no SIMD), (threads|1 thread)\); skipped tensorflow: /);
  });
});
