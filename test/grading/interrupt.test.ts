/**
 * Ctrl-C (SIGINT) and SIGTERM during `metalab grade`: every sandboxed kernel ends, its runtime folder (connection file
 * with the HMAC key, sockets) and the scratch folder are removed, and the grader exits 130 / 143. Needs the build.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { assignmentName, loadAssignment } from "../../src/grading/assignment";
import { sandboxProblem } from "../../src/grading/sandbox";
import { readNotebook, serializeNotebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "dist", "src", "cli", "metalab.js");
const FIXTURE = path.join(ROOT, "test", "fixtures", "grading", "squares.instructor.ipynb");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-int-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function children(ppid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === ppid) out.push(Number(d));
    } catch {
      // Gone.
    }
  }
  return out;
}

function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** A live process (a zombie has exited; it only waits for its new parent to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running sandbox: its bwrap pid, the kernel's runtime folder it binds, and its working folder (the scratch). */
interface Sandbox {
  readonly pid: number;
  readonly runtimeDir: string;
  readonly workRoot: string;
}

/** What sandbox `pid` uses, or null if it has already ended (its /proc entry is gone). */
function sandboxOf(pid: number): Sandbox | null {
  const argv = cmdline(pid);
  try {
    return { pid, runtimeDir: argv[argv.indexOf("--bind") + 1] ?? "", workRoot: fs.readlinkSync(`/proc/${pid}/cwd`) };
  } catch {
    return null;
  }
}

describe.skipIf(sandboxProblem() !== null || !fs.existsSync(CLI))("interrupting metalab grade", () => {
  test.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s ends every kernel and removes keys and scratch", async (signal, code) => {
    const a = loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
    const subs = path.join(tmp, `subs-${signal}`);
    fs.mkdirSync(subs);
    for (const s of ["h1", "h2", "h3"]) {
      const nb = structuredClone(a.student);
      for (const c of nb.cells) if (c.id === "square") c.source = "function square(x: number): number {\n  return x * x;\n}\nwhile (true) {}";
      fs.writeFileSync(path.join(subs, `${s}.ipynb`), serializeNotebook(nb));
    }
    const child = spawn(process.execPath, [CLI, "grade", "--instructor", FIXTURE, "--submissions", subs, "--out", path.join(tmp, `out-${signal}`), "--jobs", "2", "--cell-timeout", "120"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    // Wait for sandboxes that stay up (the students' hung kernels; the reference's kernel may end on its own first,
    // so a sandbox is looked at only while it is alive), then note what they use.
    let boxes: Sandbox[] = [];
    for (let i = 0; i < 600 && boxes.length < 1; i++) {
      await sleep(200);
      const seen = children(child.pid ?? -1).filter((p) => path.basename(cmdline(p)[0] ?? "") === "bwrap");
      if (seen.length === 0) continue;
      await sleep(1500); // Let the kernels bind their sockets.
      boxes = seen.map(sandboxOf).filter((b): b is Sandbox => b !== null && alive(b.pid));
    }
    expect(boxes.length).toBeGreaterThan(0);
    const sandboxes = boxes.map((b) => b.pid);
    const runtimeDirs = boxes.map((b) => b.runtimeDir);
    const workRoots = boxes.map((b) => b.workRoot);
    for (const d of runtimeDirs) expect(fs.existsSync(path.join(d, "connection.json")), d).toBe(true);
    const inside = sandboxes.flatMap((p) => children(p));
    child.kill(signal);
    expect(await exited).toBe(code);
    expect(err).toMatch(new RegExp(`${signal}: kernels ended and scratch removed`));
    await sleep(500);
    for (const p of [...sandboxes, ...inside]) expect(alive(p), `process ${p}: ${cmdline(p).join(" ").slice(0, 200)}`).toBe(false);
    for (const d of runtimeDirs) expect(fs.existsSync(d), d).toBe(false);
    for (const w of workRoots) expect(fs.existsSync(w), w).toBe(false);
  }, 240_000);
});
