/**
 * `npm run reproduce` sees a running cell's progress bar (issue 10.6), and bad output cannot kill the kernel:
 * a cell printing 50 MB and one calling display 10,000 times leave it alive, and the next cell runs.
 */
import { describe, expect, test } from "vitest";
import { launcherArgv, type KernelSpec } from "../../src/jupyter/kernelspec";
import { codeCell, emptyNotebook, joinSource, type Notebook } from "../../src/notebook/ipynb";
import { progressOf, type CellProgress } from "../../src/notebook/kernel";
import { runNotebook } from "../../src/notebook/runner";
import { builtLauncher } from "../kernel/raw-kernel";

const ROOT = `${__dirname}/../..`;

function spec(): KernelSpec {
  return { name: "tslab", argv: launcherArgv(builtLauncher()), displayName: "TypeScript", language: "typescript", env: {}, source: "test" };
}

function nbOf(...sources: string[]): Notebook {
  const nb = emptyNotebook();
  sources.forEach((s, i) => nb.cells.push(codeCell(s, `c${i}`)));
  return nb;
}

describe("progress of a running cell", () => {
  test("progressOf reads a bar's display and ignores other displays", () => {
    const bar = { data: { "text/plain": "train ██ 50% 1/2" }, transient: { display_id: "d", metalab_progress: { label: "train", done: 1, total: 2, final: false } } };
    expect(progressOf("update_display_data", bar)).toEqual({ label: "train", done: 1, total: 2, final: false, text: "train ██ 50% 1/2" });
    expect(progressOf("display_data", { data: { "text/plain": "x" }, transient: { display_id: "d" } })).toBeNull();
    expect(progressOf("stream", bar)).toBeNull();
  });

  test("the runner reports every state of ml.progressBar while the cell runs", async () => {
    const seen: { index: number; p: CellProgress; at: number }[] = [];
    const t0 = Date.now();
    const r = await runNotebook(
      nbOf(
        'import * as ml from "metalab";',
        "const bar = ml.progressBar(5, { label: 'work', minIntervalMs: 0 });\nfor (let i = 1; i <= 5; i++) { await new Promise((r) => setTimeout(r, 300)); bar.update(i); }\nbar.close();",
      ),
      { kernelSpec: spec(), cwd: ROOT, cellTimeoutMs: 120_000, onProgress: (index, p) => seen.push({ index, p, at: Date.now() - t0 }) },
    );
    expect(r.ok, r.error).toBe(true);
    expect(seen.every((s) => s.index === 1)).toBe(true);
    expect(seen.map((s) => s.p.done)).toEqual([0, 1, 2, 3, 4, 5, 5]);
    expect(seen.at(-1)?.p.final).toBe(true);
    expect(seen[2]?.p.text).toMatch(/^work .* 40% 2\/5/);
    // They arrive while the cell runs, not all at its end.
    expect(seen.at(-1)!.at - seen[1]!.at).toBeGreaterThan(800);
  });
});

describe("progress of a synchronous cell", () => {
  test("arrives while the cell runs, even after more than 512 messages (zeromq.js defers every 513th send)", async () => {
    const seen: number[] = [];
    const t0 = Date.now();
    const r = await runNotebook(
      nbOf(
        'import * as ml from "metalab";',
        "for (let i = 0; i < 700; i++) console.log(i);\nconst bar = ml.progressBar(5, { label: 'sync', minIntervalMs: 0 });\nfor (let i = 1; i <= 5; i++) { const t = Date.now(); while (Date.now() - t < 300) {} bar.update(i); }\nbar.close();",
      ),
      { kernelSpec: spec(), cwd: ROOT, cellTimeoutMs: 120_000, onProgress: () => seen.push(Date.now() - t0) },
    );
    expect(r.ok, r.error).toBe(true);
    expect(seen).toHaveLength(7);
    expect(seen.at(-1)! - seen[1]!).toBeGreaterThan(800);
  });
});

describe("bad output", () => {
  test("a cell that prints 50 MB and one that calls display 10,000 times: the kernel survives and the next cell runs", async () => {
    const r = await runNotebook(
      nbOf(
        'import * as ml from "metalab";\nimport * as tslab from "tslab";',
        "const mb = 'x'.repeat(1024 * 1024 - 1) + '\\n';\nfor (let i = 0; i < 50; i++) process.stdout.write(mb);",
        "for (let i = 0; i < 10_000; i++) await ml.display(`**row ${i}**`);",
        "for (let i = 0; i < 10_000; i++) tslab.display.text(String(i));",
        "console.log('alive')",
      ),
      { kernelSpec: spec(), cwd: ROOT, cellTimeoutMs: 300_000 },
    );
    expect(r.ok, r.error).toBe(true);
    expect(r.kernelDied).toBeUndefined();
    expect(r.cells.map((c) => c.outputTruncated === true)).toEqual([false, true, true, false, false]);
    const texts = r.notebook.cells[3];
    expect(texts?.cell_type === "code" ? texts.outputs.filter((o) => o.output_type === "display_data").length : 0).toBe(10_000);
    const last = r.notebook.cells[4];
    expect(last?.cell_type === "code" ? last.outputs.map((o) => (o.output_type === "stream" ? joinSource(o.text) : "")).join("") : "").toBe("alive\n");
    // The kernel delivered every byte (the runner keeps the first 1 MB and says it dropped the rest).
    const printed = r.notebook.cells[1];
    expect(printed?.cell_type === "code" ? JSON.stringify(printed.outputs) : "").toMatch(/output truncated at 1000000 bytes/);
  }, 600_000);
});
