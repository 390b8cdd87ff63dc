import { describe, expect, it } from "vitest";
import { COMPILE_ERROR_NAME, toJupyterError } from "../../src/kernel/errors";

describe("toJupyterError", () => {
  it("turns a thrown Error into ename/evalue and a stack without Node or tslab frames", () => {
    const err = new RangeError("late");
    err.stack = [
      "RangeError: late",
      "    at evalmachine.<anonymous>:3:9",
      "    at Script.runInThisContext (node:vm:137:12)",
      "    at Object.execute (/p/node_modules/tslab/dist/executor.js:159:38)",
      "    at processTicksAndRejections (node:internal/process/task_queues:95:5)",
    ].join("\n");
    const out = toJupyterError([[err]]);
    expect(out.ename).toBe("RangeError");
    expect(out.evalue).toBe("late");
    expect(out.traceback).toEqual(["RangeError: late", "    at evalmachine.<anonymous>:3:9"]);
  });

  it("reports TypeScript diagnostics as a compile error, one traceback line each", () => {
    const out = toJupyterError([
      ["%s%d:%d - %s", "", 1, 7, "Type 'string' is not assignable to type 'number'."],
      ["%s%d:%d - %s", "", 2, 1, "Cannot find name 'y'."],
    ]);
    expect(out.ename).toBe(COMPILE_ERROR_NAME);
    expect(out.evalue).toBe("1:7 - Type 'string' is not assignable to type 'number'.");
    expect(out.traceback).toHaveLength(2);
  });

  it("describes non-Error thrown values", () => {
    const out = toJupyterError([["just a string"]]);
    expect(out.ename).toBe("NonErrorThrown");
    expect(out.evalue).toBe("'just a string'");
  });

  it("still produces an error when tslab gave no details", () => {
    expect(toJupyterError([]).ename).toBe("Error");
  });
});
