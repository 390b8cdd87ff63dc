import { describe, expect, it } from "vitest";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { codeCell, emptyNotebook, writeNotebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "dist", "src", "cli", "reproduce.js");

/** A folder of tiny fixture notebooks: name → code cells. */
function fixtures(notebooks: Record<string, string[]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reproduce-jobs-"));
  fs.mkdirSync(path.join(dir, "notebooks"));
  for (const [name, cells] of Object.entries(notebooks)) {
    const nb = emptyNotebook();
    cells.forEach((s, i) => nb.cells.push(codeCell(s, `c${i}`)));
    writeNotebook(path.join(dir, "notebooks", `${name}.ipynb`), nb);
  }
  return dir;
}

/** A cell that blocks the kernel for `ms` (no await needed). */
const sleep = (ms: number) => `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${ms});`;

function start(dir: string, extra: string[]) {
  const child = spawn(process.execPath, [CLI, "--quick", "--notebooks", path.join(dir, "notebooks"), "--out", path.join(dir, "out"), "--figures", path.join(dir, "figures"), ...extra], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const log = { out: "", err: "" };
  child.stdout.on("data", (d: Buffer) => (log.out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log.err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  return { child, log, exited };
}

/** Kernels (metalab's launcher) whose parent is `pid`. */
function kernelsOf(pid: number): number[] {
  return fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("kernel/launch.js") && fs.readFileSync(`/proc/${p}/status`, "utf8").includes(`PPid:\t${pid}`);
    } catch {
      return false;
    }
  }).map(Number);
}

function alive(pid: number): boolean {
  try {
    return !fs.readFileSync(`/proc/${pid}/status`, "utf8").includes("State:\tZ");
  } catch {
    return false;
  }
}

describe.skipIf(!fs.existsSync(CLI))("reproduce --jobs 2", () => {
  it("runs two notebooks at once, each in its own kernel; a failing one loses nothing of the others; the summary keeps notebook order", async () => {
    const dir = fixtures({
      "a-slow": ['console.log("a start");', `${sleep(3000)} console.log("a done");`],
      "b-fails": ['console.log("b start");', 'throw new Error("b broke");'],
      "c-after": ['console.log("c ran");'],
    });
    const run = start(dir, ["--jobs", "2"]);
    const code = await run.exited;
    const all = `${run.log.err}\n${run.log.out}`;
    expect(code, all).toBe(1);
    // Both of the first two started before either finished: they ran at the same time.
    const firstEnd = run.log.err.indexOf("■ ");
    expect(run.log.err.indexOf("▶ a-slow"), all).toBeGreaterThanOrEqual(0);
    expect(run.log.err.indexOf("▶ a-slow")).toBeLessThan(firstEnd);
    expect(run.log.err.indexOf("▶ b-fails")).toBeLessThan(firstEnd);
    expect(run.log.err).toMatch(/^ {2}a-slow \[2\/2\] cell 1 ok /m); // every cell line names its notebook
    expect(run.log.err).toMatch(/^■ b-fails FAIL /m);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, "out", "summary.json"), "utf8")) as { jobs: number; notebooks: { name: string; ok: boolean; cpuMs?: number }[] };
    expect(summary.jobs).toBe(2);
    expect(summary.notebooks.map((r) => [r.name, r.ok])).toEqual([["a-slow", true], ["b-fails", false], ["c-after", true]]);
    expect(summary.notebooks.every((r) => typeof r.cpuMs === "number" && r.cpuMs > 0)).toBe(true);
    for (const name of ["a-slow", "b-fails", "c-after"]) expect(fs.existsSync(path.join(dir, "out", "notebooks", `${name}.ipynb`))).toBe(true);
    const a = fs.readFileSync(path.join(dir, "out", "notebooks", "a-slow.ipynb"), "utf8");
    expect(a).toContain("a done");
    expect(run.log.out.split("\n").filter((l) => /^(PASS|FAIL) /.test(l)).map((l) => l.slice(0, 14).trim())).toEqual(["PASS  a-slow", "FAIL  b-fails", "PASS  c-after"]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it("stops every running kernel on SIGTERM", async () => {
    const dir = fixtures({ "a-long": [sleep(120_000)], "b-long": [sleep(120_000)] });
    const run = start(dir, ["--jobs", "2"]);
    const t0 = Date.now();
    let kernels: number[] = [];
    while (Date.now() - t0 < 240_000 && kernels.length < 2) {
      await new Promise((r) => setTimeout(r, 200));
      kernels = kernelsOf(run.child.pid!);
    }
    expect(kernels.length, run.log.err).toBe(2);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(143);
    await new Promise((r) => setTimeout(r, 500));
    for (const k of kernels) expect(alive(k)).toBe(false);
    expect(run.log.err).toMatch(/reproduce: SIGTERM; stopping the running kernel/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
