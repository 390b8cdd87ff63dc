import { describe, expect, it } from "vitest";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const CLI = path.join(ROOT, "dist", "src", "cli", "reproduce.js");

/** Pids of processes whose command line mentions `needle`. */
function pidsWith(needle: string): number[] {
  return fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(needle);
    } catch {
      return false;
    }
  }).map(Number);
}

describe.skipIf(!fs.existsSync(CLI))("reproduce on SIGTERM", () => {
  it("stops its kernel instead of leaving it running", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "reproduce-signal-"));
    const child = spawn(process.execPath, [CLI, "--quick", "--out", out, "01-computational"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr.on("data", (d: Buffer) => (text += d.toString()));
    const t0 = Date.now();
    let kernels: number[] = [];
    while (Date.now() - t0 < 240_000 && kernels.length === 0) {
      await new Promise((r) => setTimeout(r, 200));
      kernels = pidsWith("kernel/launch.js").filter((p) => fs.readFileSync(`/proc/${p}/status`, "utf8").includes(`PPid:\t${child.pid}`));
    }
    expect(kernels.length, text).toBeGreaterThan(0);
    const code = await new Promise<number | null>((resolve) => {
      child.on("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    expect(code).toBe(143);
    await new Promise((r) => setTimeout(r, 500));
    for (const k of kernels) expect(fs.existsSync(`/proc/${k}`) && !fs.readFileSync(`/proc/${k}/status`, "utf8").includes("State:\tZ")).toBe(false);
    expect(text).toMatch(/reproduce: SIGTERM; stopping the running kernel/);
    fs.rmSync(out, { recursive: true, force: true });
  }, 300_000);
});
