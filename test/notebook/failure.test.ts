import { describe, expect, it } from "vitest";
import { judgeExecution } from "../../src/notebook/failure";
import type { ExecuteOutcome } from "../../src/notebook/kernel";

function outcome(partial: Partial<ExecuteOutcome>): ExecuteOutcome {
  return { status: "ok", executionCount: 1, outputs: [], stderr: "", outputTruncated: false, durationMs: 1, interrupted: false, ...partial };
}

describe("judgeExecution", () => {
  it("fails a rejected promise value printed on stdout (plain tslab)", () => {
    const v = judgeExecution(outcome({ outputs: [{ output_type: "stream", name: "stdout", text: "Promise {\n  <rejected> Error: late\n}" }] }));
    expect(v.ok).toBe(false);
    expect(v.error).toMatch(/rejected promise/);
  });
  it("fails a rejected promise value sent as execute_result (metalab's launcher)", () => {
    const v = judgeExecution(
      outcome({ outputs: [{ output_type: "execute_result", execution_count: 1, data: { "text/plain": "Promise {\n  <rejected> Error: late\n}" }, metadata: {} }] }),
    );
    expect(v.ok).toBe(false);
  });
  it("prefers the reply's ename and evalue when the kernel sends them", () => {
    const v = judgeExecution(outcome({ status: "error", replyError: { ename: "Error", evalue: "boom", traceback: [] }, stderr: "noise" }));
    expect(v).toEqual({ ok: false, error: "Error: boom" });
  });
  it("passes a cell that only wrote to console.error", () => {
    expect(judgeExecution(outcome({ stderr: "warning: something\n" })).ok).toBe(true);
  });
});
