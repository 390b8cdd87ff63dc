/**
 * The kernel survives errors a cell leaves behind (issue 10.1). Once the wasm backend is loaded, its Emscripten glue
 * rethrows every uncaught exception and unhandled rejection, which aborted the kernel: a throw in a timer, an
 * unawaited rejected promise, or TypeScript's file watcher (tslab 1.0.22 throws "Unexpected pending rebuildTimer"
 * when a watched file changes while another rebuild is pending, e.g. during `npm install`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RawKernel } from "./raw-kernel";

const ROOT = path.resolve(__dirname, "..", "..");

describe("errors left behind by a cell", () => {
  let kernel: RawKernel;
  let dir: string;

  /** Runs `code` and returns its text/plain result (or the error's message when it fails). */
  async function run(code: string): Promise<string> {
    const id = kernel.execute(code);
    const reply = await kernel.reply(id, 60_000);
    await kernel.idle(id);
    const msgs = kernel.messagesOf(id);
    if (reply.content.status !== "ok") return `error: ${JSON.stringify(msgs.map((m) => m.content))}`;
    const result = msgs.find((m) => m.type === "execute_result");
    return String((result?.content.data as Record<string, unknown> | undefined)?.["text/plain"]);
  }

  beforeAll(async () => {
    // A project of its own, so the files this test changes are watched by this kernel only.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-survives-"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "survives", private: true }));
    fs.writeFileSync(path.join(dir, "helper.ts"), "export const k: number = 1;\n");
    kernel = await RawKernel.start({ cwd: dir });
    expect(await run('import * as ml from "metalab";\nconst info = await ml.ready();\ninfo.name')).toBe("'wasm'");
  });

  afterAll(async () => {
    await kernel?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a throw in a timer and an unawaited rejection: reported, and the next cell runs", async () => {
    expect(await run('setTimeout(() => { throw new Error("late boom"); }, 0);\nvoid Promise.reject(new Error("never awaited"));\n"left"')).toBe("'left'");
    await new Promise((r) => setTimeout(r, 500));
    expect(await run("1 + 2")).toBe("3");
    expect(kernel.exited).toBeNull();
    const stderr = kernel.iopubLog.filter((m) => m.type === "stream" && m.content.name === "stderr").map((m) => String(m.content.text)).join("");
    expect(stderr).toMatch(/late boom/);
    expect(stderr).toMatch(/never awaited/);
  });

  test("files the compiler watches change between cells (an edit, an npm install): the kernel lives on", async () => {
    expect(await run('import { k } from "./helper";\nk')).toBe("1");
    for (let round = 0; round < 5; round++) {
      // Atomic replacement, as editors and npm do: write a temporary file, rename it over the old one.
      for (const [name, text] of [["helper.ts", `export const k: number = ${round + 2};\n`], ["package.json", JSON.stringify({ name: "survives", version: `1.0.${round}` })]] as const) {
        fs.writeFileSync(path.join(dir, `${name}.tmp`), text);
        fs.renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
      }
      fs.mkdirSync(path.join(dir, "node_modules-new"), { recursive: true });
      fs.rmSync(path.join(dir, "node_modules-new"), { recursive: true });
      await new Promise((r) => setTimeout(r, 300));
      expect(await run("2 * 3")).toBe("6");
    }
    expect(kernel.exited).toBeNull();
  });
});
