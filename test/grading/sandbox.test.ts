/** The bubblewrap sandbox's command line and its post-processing (no kernel), plus one real sandboxed run. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { defaultNodeModules } from "../../src/grading/kernel-run";
import { bwrapArgs, readOnlyPaths, sandboxedRunner, sandboxProblem, signalDeaths, type SandboxReport } from "../../src/grading/sandbox";
import { codeCell, emptyNotebook } from "../../src/notebook/ipynb";
import type { RunResult } from "../../src/notebook/runner";

const ROOT = path.join(__dirname, "..", "..");

/** bwrap arguments for a checkout whose HOME is `home`, with the given read-only paths (default: the real ones). */
function argsFor(home: string, readOnly?: readonly string[]): string[] {
  return bwrapArgs({ nodeModules: defaultNodeModules(), home, scratchBytes: 20e6, etc: { passwd: "/w/passwd", group: "/w/group" }, runtimeDir: "/tmp/metalab-kernel-abc", ...(readOnly ? { readOnly } : {}) });
}

describe("bwrap arguments", () => {
  const args = argsFor("/work/x/.metalab-home", ["/work/x/node_modules", "/work/x/dist"]);
  const s = args.join(" ");
  test("every namespace, no capabilities, and the sandbox dies with the grader", () => {
    expect(args.slice(0, 5)).toEqual(["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]);
  });
  test("the scratch tmpfs is bounded, is /tmp, and is mounted before the socket folder bound under it", () => {
    expect(s).toMatch(/--size 20000000 --tmpfs \/work\/x\/\.metalab-home --symlink \/work\/x\/\.metalab-home \/tmp --bind \/tmp\/metalab-kernel-abc \/work\/x\/\.metalab-home\/metalab-kernel-abc/);
    expect(s).toMatch(/--chdir \/work\/x\/\.metalab-home$/);
  });
  test("a checkout under /tmp: /tmp is its own bounded tmpfs, mounted before the binds and HOME inside it", () => {
    const t = argsFor("/tmp/ci/.metalab-home", ["/tmp/ci/node_modules", "/tmp/ci/dist"]).join(" ");
    expect(t).toMatch(/--size 20000000 --tmpfs \/tmp --ro-bind \/tmp\/ci\/node_modules \/tmp\/ci\/node_modules --ro-bind \/tmp\/ci\/dist/);
    expect(t).toMatch(/--size 20000000 --tmpfs \/tmp\/ci\/\.metalab-home --bind \/tmp\/metalab-kernel-abc \/tmp\/metalab-kernel-abc --chdir \/tmp\/ci\/\.metalab-home$/);
    expect(t).not.toMatch(/--symlink \S+ \/tmp/);
  });
  test("only the built library, node_modules and /usr are visible, read-only; no project source", () => {
    const ro = readOnlyPaths(defaultNodeModules());
    const s = argsFor("/work/x/.metalab-home").join(" ");
    expect(ro).toContain(fs.realpathSync(path.join(ROOT, "node_modules")));
    expect(ro).not.toContain(ROOT);
    expect(ro.some((p) => p.startsWith(path.join(ROOT, "src")) || p.startsWith(path.join(ROOT, "test")) || p.startsWith(path.join(ROOT, "notebooks")))).toBe(false);
    for (const p of ro) expect(s).toContain(`--ro-bind ${p} ${p}`);
    expect(s).not.toMatch(/--bind \/ |--ro-bind \/ \//);
  });
});

describe("exit codes from bwrap", () => {
  test("128 + n is reported as signal n, as for a kernel outside the sandbox", () => {
    const run: RunResult = { notebook: emptyNotebook(), ok: false, cells: [{ index: 0, id: "a", ok: false, durationMs: 1, kernelDied: true, error: "Kernel died: kernel process exited with code 139" }], durationMs: 1, error: "cell 0 (id a): Kernel died: kernel process exited with code 139" };
    signalDeaths(run);
    expect(run.cells[0]?.error).toBe("Kernel died: kernel process was killed by SIGSEGV");
    expect(run.error).toMatch(/killed by SIGSEGV$/);
  });
});

describe.skipIf(sandboxProblem() !== null || !fs.existsSync(path.join(ROOT, "dist", "src", "kernel", "launch.js")))("a sandboxed kernel", () => {
  test("has its own namespaces, no network, a read-only library, and leaves no process behind", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-sbx-"));
    let report: SandboxReport | null = null;
    try {
      const run = sandboxedRunner({ kernelName: "tslab", workRoot: work, cellTimeoutMs: 60_000, timeoutMs: 120_000, memoryMb: 1024, maxOutputBytes: 100_000, maxFileMb: 20, onReport: (r) => (report = r) });
      const nb = emptyNotebook();
      nb.cells.push(
        codeCell(
          [
            'const os = require("os"), fs = require("fs");',
            'console.log("host", os.hostname(), "uid", process.getuid(), "nics", Object.keys(os.networkInterfaces()).join(","));',
            'console.log("pids", fs.readdirSync("/proc").filter((p: string) => /^\\d+$/.test(p)).length);',
            'try { fs.writeFileSync("/usr/x", "1"); } catch (e) { console.log("usr", (e as any).code); }',
            'try { fs.writeFileSync(require.resolve("metalab/check"), "1"); } catch (e) { console.log("lib", (e as any).code); }',
            // /tmp is HOME (a checkout elsewhere) or its own bounded tmpfs (a checkout under /tmp): writable either way.
            'fs.writeFileSync("scratch.txt", "ok"); fs.writeFileSync("/tmp/t.txt", "ok"); console.log("scratch", fs.readFileSync(os.homedir() + "/scratch.txt", "utf8"), fs.readFileSync("/tmp/t.txt", "utf8"), process.cwd() === os.homedir());',
            'require("child_process").spawn("/bin/sleep", ["300"], { detached: true, stdio: "ignore" }).unref();',
            // 700 MB reserved, untouched: committed memory, under its bound (twice --memory), so no kill.
            'const reserved = new Uint8Array(7e8); console.log("reserved", reserved.length);',
            // Held for 2 s (20 polls at 100 ms) so a loaded grader's watchdog still samples it before the run ends.
            "await new Promise((r) => setTimeout(r, 2000));",
          ].join("\n"),
          "probe",
        ),
      );
      const r = await run(nb, "probe");
      const text = JSON.stringify(r.notebook.cells[0]);
      expect(r.ok, r.error).toBe(true);
      expect(text).toMatch(/host sandbox uid 1000 nics (lo)?\\n/);
      expect(text).toMatch(/pids [23]\\n/);
      expect(text).toMatch(/usr (EROFS|EACCES)/);
      expect(text).toMatch(/lib (EROFS|EACCES)/);
      expect(text).toMatch(/scratch ok ok true/);
      expect(report).toMatchObject({ killed: null, leftover: 0 });
      expect((report as SandboxReport | null)?.peakMb ?? 0).toBeGreaterThan(10);
      expect(text).toMatch(/reserved 700000000/);
      expect((report as SandboxReport | null)?.peakCommittedMb ?? 0).toBeGreaterThan(700);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);
});
