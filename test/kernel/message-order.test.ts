/**
 * Message order as JupyterLab sees it during Run All (issue 10.4): every request is bracketed by busy and idle on
 * iopub exactly when it runs, requests never interleave, and cells queued behind a failure are answered "aborted"
 * with no execution count.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RawKernel } from "./raw-kernel";

describe("iopub message order", () => {
  let kernel: RawKernel;
  beforeAll(async () => {
    kernel = await RawKernel.start();
  });
  afterAll(async () => {
    await kernel?.close();
  });

  test("Run All: busy ... idle per cell in turn, aborted cells after an error, then counting resumes", async () => {
    const cells = [
      "1 + 1",
      "let t0 = Date.now(); while (Date.now() - t0 < 400) {} 'slow'", // a long synchronous cell
      "await new Promise((r) => setTimeout(r, 100)); console.log('async')",
      "throw new Error('boom')",
      "2 + 2",
      "console.log('never')",
    ];
    const ids = cells.map((c) => kernel.execute(c)); // all sent at once, as Run All does
    const replies = await Promise.all(ids.map((id) => kernel.reply(id)));
    await kernel.idle(ids[ids.length - 1]!);

    expect(replies.map((r) => r.content.status)).toEqual(["ok", "ok", "ok", "error", "aborted", "aborted"]);
    expect(replies.map((r) => r.content.execution_count)).toEqual([1, 2, 3, 4, null, null]);

    // One request at a time: the log is the concatenation of each request's messages, busy first and idle last.
    const log = kernel.iopubLog.filter((m) => ids.includes(m.parent ?? ""));
    let at = 0;
    for (const [i, id] of ids.entries()) {
      const own = log.slice(at).findIndex((m) => m.parent !== id);
      const block = own < 0 ? log.slice(at) : log.slice(at, at + own);
      at += block.length;
      expect(block[0], `cell ${i}`).toMatchObject({ type: "status", content: { execution_state: "busy" } });
      expect(block[block.length - 1], `cell ${i}`).toMatchObject({ type: "status", content: { execution_state: "idle" } });
      expect(block.filter((m) => m.type === "status"), `cell ${i}`).toHaveLength(2);
      const aborted = i >= 4;
      expect(block.some((m) => m.type === "execute_input"), `cell ${i}`).toBe(!aborted);
      if (aborted) expect(block).toHaveLength(2);
    }
    expect(at).toBe(log.length);
    expect(kernel.messagesOf(ids[3]!).find((m) => m.type === "error")?.content).toMatchObject({ ename: "Error", evalue: "boom" });

    // A cell sent after the error reply runs at once and takes the next count (not the failed cell's).
    const next = kernel.execute("'after'");
    const reply = await kernel.reply(next);
    expect(reply.content).toMatchObject({ status: "ok", execution_count: 5 });
  });

  test("a request that arrives during a long cell gets its busy only after that cell's idle", async () => {
    kernel.iopubLog.length = 0;
    const long = kernel.execute("let t1 = Date.now(); while (Date.now() - t1 < 500) {}");
    await kernel.waitFor((m) => m.parent === long && m.type === "execute_input");
    const info = kernel.send("kernel_info_request", {});
    await kernel.reply(info);
    await kernel.idle(info);
    const order = kernel.iopubLog.filter((m) => m.type === "status" && (m.parent === long || m.parent === info)).map((m) => `${m.parent === long ? "cell" : "info"}:${String(m.content.execution_state)}`);
    expect(order).toEqual(["cell:busy", "cell:idle", "info:busy", "info:idle"]);
  });

  test("silent requests publish no execute_input and do not count", async () => {
    kernel.iopubLog.length = 0;
    const before = await kernel.reply(kernel.execute("1"));
    const silent = kernel.execute("console.log('quiet')", { silent: true });
    const reply = await kernel.reply(silent);
    await kernel.idle(silent);
    expect(kernel.messagesOf(silent).map((m) => m.type)).toEqual(["status", "stream", "status"]);
    const after = await kernel.reply(kernel.execute("2"));
    expect(after.content.execution_count).toBe((before.content.execution_count as number) + 1);
    expect(reply.content.status).toBe("ok");
  });
});
