import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { codeCell, emptyNotebook, joinSource, markdownCell, type Notebook } from "../../src/notebook/ipynb";
import { findKernelSpec, launcherArgv, listKernelSpecs, type KernelSpec } from "../../src/jupyter/kernelspec";
import { runNotebook } from "../../src/notebook/runner";

function nbOf(...sources: string[]): Notebook {
  const nb = emptyNotebook();
  nb.cells.push(markdownCell("# test", "md"));
  sources.forEach((s, i) => nb.cells.push(codeCell(s, `c${i}`)));
  return nb;
}

function text(nb: Notebook, id: string): string {
  const c = nb.cells.find((x) => x.id === id);
  if (c === undefined || c.cell_type !== "code") return "";
  return c.outputs.map((o) => (o.output_type === "stream" ? joinSource(o.text) : o.output_type === "error" ? `[${o.ename}] ${o.evalue}` : "")).join("");
}

/** metalab's own kernel launcher from dist/ (vitest runs src/, where the built-in spec falls back to plain tslab). */
function builtLauncherSpec(): KernelSpec {
  const launcher = path.resolve(__dirname, "..", "..", "dist", "src", "kernel", "launch.js");
  const sources = ["kernel/server.ts", "kernel/launch.ts", "jupyter/connection.ts"].map((f) => path.resolve(__dirname, "..", "..", "src", f));
  if (!fs.existsSync(launcher) || sources.some((f) => fs.statSync(f).mtimeMs > fs.statSync(launcher).mtimeMs)) {
    throw new Error(`${launcher} is missing or older than src/kernel: run \`npm run build\` first.`);
  }
  return { name: "tslab", argv: launcherArgv(launcher), displayName: "TypeScript", language: "typescript", env: {}, source: "test:dist-launcher" };
}

describe("kernelspec", () => {
  test("falls back to node_modules tslab when no kernelspec is installed, and names the fix for unknown kernels", () => {
    const env = { ...process.env, JUPYTER_PATH: "", JUPYTER_DATA_DIR: "/nonexistent-metalab", PATH: "/nonexistent" };
    const spec = findKernelSpec("tslab", env);
    expect(spec.argv.slice(-3)).toEqual(["kernel", "--config-path", "{connection_file}"]);
    expect(spec.argv[0]).toBe(process.execPath);
    expect(() => findKernelSpec("no-such-kernel", env)).toThrow(/No Jupyter kernel named "no-such-kernel".*Install it/);
  });
});

describe("runNotebook (tslab)", () => {
  test("detects each failure kind, lets console.error pass, and keeps going with allowErrors", async () => {
    const nb = nbOf(
      "const x: number = 40 + 2;\nx", // c0 ok, value printed
      "console.error('just a warning');\nconsole.warn('careful');", // c1 ok despite stderr
      "throw new Error('boom');", // c2 exception
      "const y: number = 'str';", // c3 type error
      "await Promise.reject(new Error('rejected'));", // c4 awaited rejection
      "Promise.reject(new Error('unawaited'));\n1", // c5 unhandled rejection
      "async function f(): Promise<void> { throw new Error('async'); }\nf()", // c6 rejected value
      "console.log('still alive', x)", // c7 ok, state kept
      "", // c8 empty: skipped
    );
    const seen: number[] = [];
    const r = await runNotebook(nb, { allowErrors: true, cellTimeoutMs: 30_000, onCell: (i, total) => seen.push(i * 100 + total) });
    const ok = Object.fromEntries(r.cells.map((c) => [r.notebook.cells[c.index]?.id, c.ok]));
    expect(ok).toEqual({ c0: true, c1: true, c2: false, c3: false, c4: false, c5: false, c6: false, c7: true });
    const err = Object.fromEntries(r.cells.map((c) => [r.notebook.cells[c.index]?.id, c.error ?? ""]));
    expect(err.c2).toMatch(/Error: boom/);
    expect(err.c3).toMatch(/Type 'string' is not assignable to type 'number'/);
    expect(err.c4).toMatch(/Error: rejected/);
    expect(err.c5).toMatch(/UnhandledPromiseRejection: Error: unawaited/);
    expect(err.c6).toMatch(/Error: async/); // reported as an unhandled rejection or as a rejected value
    expect(text(r.notebook, "c0")).toBe("42\n");
    expect(text(r.notebook, "c1")).toBe("just a warning\ncareful\n");
    expect(text(r.notebook, "c7")).toBe("still alive 42\n");
    expect(text(r.notebook, "c2")).toMatch(/\[CellFailed\] Error: boom/);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^cell 3 \(id c2\): Error: boom/);
    expect(r.notebook.nbformat_minor).toBe(5);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => i * 100 + 10));
    const c0 = r.notebook.cells[1];
    expect(c0?.cell_type === "code" && c0.execution_count).toBe(1);
    expect(nb.cells[1]?.cell_type === "code" && nb.cells[1].outputs.length).toBe(0); // input untouched
  });

  test("stops at the first failure by default; interrupts a hung cell and continues; truncates floods", async () => {
    const stop = await runNotebook(nbOf("1", "throw new Error('first')", "console.log('never')"));
    expect(stop.cells.map((c) => c.ok)).toEqual([true, false]);
    expect(stop.error).toMatch(/Error: first/);
    expect(text(stop.notebook, "c2")).toBe("");

    const big = path.join(os.tmpdir(), `metalab-fsize-${process.pid}.bin`);
    const r = await runNotebook(
      nbOf(
        "while (true) {}",
        "console.log('after')",
        "for (let i = 0; i < 3000; i++) console.log('spam ' + i)",
        `require("fs").writeFileSync(${JSON.stringify(big)}, Buffer.alloc(5_000_000));`,
      ),
      { allowErrors: true, cellTimeoutMs: 5000, maxOutputBytes: 2000, maxFileBytes: 1_000_000 },
    );
    expect(r.cells[3]?.error).toMatch(/EFBIG/);
    expect(fs.statSync(big).size).toBeLessThanOrEqual(1_000_000);
    fs.rmSync(big, { force: true });
    expect(r.cells[0]).toMatchObject({ ok: false, timedOut: true });
    expect(r.cells[0]?.error).toMatch(/interrupted/);
    expect(r.cells[1]?.ok).toBe(true);
    expect(r.cells[2]?.error).toBeUndefined();
    expect(r.cells[2]).toMatchObject({ ok: true, outputTruncated: true });
    expect(text(r.notebook, "c2").length).toBeLessThan(3000);
    expect(text(r.notebook, "c2")).toMatch(/output truncated at 2000 bytes/);
    expect(r.kernelDied).toBeUndefined();
  });

  test("runs metalab's kernel over ipc sockets through a caller's command wrapper (as a sandbox would)", async () => {
    const wrapped: string[] = [];
    const r = await runNotebook(nbOf("console.log('over ipc', process.env.METALAB_WRAPPED)"), {
      kernelSpec: builtLauncherSpec(),
      transport: "ipc",
      wrapKernel: (cmd, ctx) => {
        wrapped.push(ctx.connection.transport, ctx.connection.ip.slice(0, ctx.runtimeDir.length) === ctx.runtimeDir ? "in-dir" : "outside");
        return { argv: ["env", "METALAB_WRAPPED=yes", ...cmd.argv], env: cmd.env };
      },
    });
    expect(wrapped).toEqual(["ipc", "in-dir"]);
    expect(r.ok).toBe(true);
    expect(text(r.notebook, "c0")).toBe("over ipc yes\n");
  });

  test("a kernel whose port another process took between the pick and the bind is relaunched on fresh ports", async () => {
    const taken: net.Server[] = [];
    const shellPorts: number[] = [];
    try {
      const r = await runNotebook(nbOf("console.log('started')"), {
        kernelSpec: builtLauncherSpec(),
        wrapKernel: (cmd, ctx) => {
          shellPorts.push(ctx.connection.shell_port);
          // The first launch loses the race: this process binds the kernel's shell port before the kernel starts.
          if (shellPorts.length === 1) taken.push(net.createServer().listen(ctx.connection.shell_port, ctx.connection.ip));
          return cmd;
        },
      });
      expect(r.ok, r.error).toBe(true);
      expect(text(r.notebook, "c0")).toBe("started\n");
      expect(shellPorts.length).toBe(2);
      expect(shellPorts[1]).not.toBe(shellPorts[0]);
    } finally {
      for (const s of taken) s.close();
    }
  });

  test("kills a kernel that ignores the interrupt, reports process.exit as kernel death, enforces the notebook timeout", async () => {
    const hang = await runNotebook(nbOf("require('child_process').execSync('sleep 30');", "1"), {
      cellTimeoutMs: 1500,
      allowErrors: true,
    });
    expect(hang.cells).toHaveLength(1);
    expect(hang.cells[0]).toMatchObject({ ok: false, timedOut: true, kernelDied: true });
    expect(hang.kernelDied).toBe(true);

    const exit = await runNotebook(nbOf("console.log('bye');\nprocess.exit(3);", "1"), { allowErrors: true });
    expect(exit.kernelDied).toBe(true);
    expect(exit.cells[0]?.error).toMatch(/Kernel died: kernel process exited with code 3/);
    expect(text(exit.notebook, "c0")).toMatch(/^bye\n/);

    const slow = await runNotebook(nbOf("await new Promise((r) => setTimeout(r, 60_000));", "1"), { timeoutMs: 25_000, cellTimeoutMs: 60_000 });
    expect(slow.ok).toBe(false);
    expect(slow.error).toMatch(/notebook timed out after 25000 ms/);
    expect(slow.durationMs).toBeLessThan(40_000);
  });
});

const hasIpykernel =
  listKernelSpecs().includes("python3") && spawnSync(findKernelSpec("python3").argv[0] ?? "python3", ["-c", "import ipykernel"]).status === 0;

describe.runIf(hasIpykernel)("runNotebook (any kernel: ipykernel)", () => {
  test("runs a Python notebook: execute_result, streams, error messages, interrupt", async () => {
    const nb = emptyNotebook();
    nb.metadata.kernelspec = { name: "python3" };
    nb.cells.push(
      codeCell("x = 41 + 1\nx", "a"),
      codeCell("import sys\nprint('hi')\nprint('warn', file=sys.stderr)", "b"),
      codeCell("1/0", "c"),
      codeCell("import time\nwhile True: time.sleep(0.01)", "d"),
      codeCell("print(x)", "e"),
    );
    const r = await runNotebook(nb, { allowErrors: true, cellTimeoutMs: 5000 });
    expect(r.cells.map((c) => c.ok)).toEqual([true, true, false, false, true]);
    expect(r.cells[2]?.error).toBe("ZeroDivisionError: division by zero");
    expect(r.cells[3]?.timedOut).toBe(true);
    const a = r.notebook.cells[0];
    expect(a?.cell_type === "code" && a.outputs).toEqual([{ output_type: "execute_result", execution_count: 1, data: { "text/plain": "42" }, metadata: {} }]);
    const c = r.notebook.cells[2];
    expect(c?.cell_type === "code" && c.outputs.map((o) => o.output_type)).toEqual(["error"]); // the kernel's own error, not a duplicate
    expect(text(r.notebook, "e")).toBe("42\n");
  });

  test("runs ipykernel over ipc sockets", async () => {
    const nb = emptyNotebook();
    nb.metadata.kernelspec = { name: "python3" };
    nb.cells.push(codeCell("print('ipc', 6 * 7)", "a"));
    const r = await runNotebook(nb, { transport: "ipc", cellTimeoutMs: 20_000 });
    expect(r.ok).toBe(true);
    expect(text(r.notebook, "a")).toBe("ipc 42\n");
  });
});
