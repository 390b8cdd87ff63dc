import { describe, expect, test } from "vitest";
import { OutputCollector, textOf } from "../../src/notebook/output-collector";

const stream = (name: string, text: string | string[]) => ["stream", { name, text }] as const;
const display = (data: Record<string, unknown>, id?: string) =>
  ["display_data", { data, metadata: {}, ...(id !== undefined ? { transient: { display_id: id } } : {}) }] as const;

function feed(c: OutputCollector, ...msgs: (readonly [string, Record<string, unknown>])[]): void {
  for (const [t, content] of msgs) c.onIopub(t, content);
}

describe("OutputCollector (no kernel)", () => {
  test("merges consecutive stream text of one name, keeps stdout/stderr apart, and records all stderr", () => {
    const c = new OutputCollector(1_000_000);
    feed(c, stream("stdout", "a\n"), stream("stdout", ["b", "\n"]), stream("stderr", "warn\n"), stream("stdout", "c\n"));
    expect(c.outputs).toEqual([
      { output_type: "stream", name: "stdout", text: "a\nb\n" },
      { output_type: "stream", name: "stderr", text: "warn\n" },
      { output_type: "stream", name: "stdout", text: "c\n" },
    ]);
    expect(c.stderr).toBe("warn\n");
  });

  test("turns display_data, execute_result and error into nbformat outputs; ignores unknown messages", () => {
    const c = new OutputCollector(1_000_000);
    feed(
      c,
      display({ "text/plain": "fig" }),
      ["execute_result", { execution_count: 3, data: { "text/plain": "42" }, metadata: {} }],
      ["error", { ename: "Error", evalue: "boom", traceback: ["line 1", 2] }],
      ["comm_open", { comm_id: "x" }],
      ["execute_input", { code: "1", execution_count: 3 }],
    );
    expect(c.outputs).toEqual([
      { output_type: "display_data", data: { "text/plain": "fig" }, metadata: {} },
      { output_type: "execute_result", execution_count: 3, data: { "text/plain": "42" }, metadata: {} },
      { output_type: "error", ename: "Error", evalue: "boom", traceback: ["line 1", "2"] },
    ]);
  });

  test("clear_output empties at once; with wait=true it empties when the next output arrives", () => {
    const c = new OutputCollector(1_000_000);
    feed(c, stream("stdout", "old\n"), ["clear_output", { wait: false }]);
    expect(c.outputs).toEqual([]);
    feed(c, stream("stdout", "frame 1\n"), ["clear_output", { wait: true }]);
    expect(c.outputs).toHaveLength(1); // still shows frame 1 until something replaces it
    feed(c, ["status", { execution_state: "busy" }]);
    expect(c.outputs).toHaveLength(1); // a status is not an output
    feed(c, stream("stdout", "frame 2\n"));
    expect(c.outputs).toEqual([{ output_type: "stream", name: "stdout", text: "frame 2\n" }]);
  });

  test("update_display_data replaces the data of the outputs with that display id only", () => {
    const c = new OutputCollector(1_000_000);
    feed(c, display({ "text/plain": "0%" }, "bar"), display({ "text/plain": "other" }, "chart"), display({ "text/plain": "plain" }));
    feed(c, ["update_display_data", { data: { "text/plain": "100%" }, metadata: {}, transient: { display_id: "bar" } }]);
    feed(c, ["update_display_data", { data: { "text/plain": "ghost" }, metadata: {}, transient: { display_id: "nowhere" } }]);
    expect(c.outputs.map((o) => (o.output_type === "display_data" ? o.data["text/plain"] : null))).toEqual(["100%", "other", "plain"]);
    expect(c.outputs).toHaveLength(3); // an update never adds an output
  });

  test("truncates at the byte cap: keeps what fits of the overflowing stream, adds one note, drops the rest", () => {
    const c = new OutputCollector(200);
    const first = { output_type: "stream", name: "stdout", text: "x".repeat(100) };
    const size = JSON.stringify(first).length;
    feed(c, stream("stdout", "x".repeat(100)), stream("stdout", "y".repeat(500)), stream("stdout", "never\n"), display({ "text/plain": "never" }));
    expect(c.truncated).toBe(true);
    expect(c.outputs).toHaveLength(2);
    expect(c.outputs[0]).toEqual(first);
    const note = c.outputs[1];
    expect(note?.output_type === "stream" && note.name).toBe("stderr");
    expect(note?.output_type === "stream" && textOf(note.text)).toBe(
      `${"y".repeat(200 - size)}\n[metalab: output truncated at 200 bytes; further output of this cell was dropped]\n`,
    );
    c.note("late note\n");
    expect(c.outputs).toHaveLength(2); // nothing after the cap, not even notes
  });

  test("is done after both the reply and idle; reads the execution count and error fields of the reply", () => {
    const c = new OutputCollector(1000);
    expect(c.done).toBe(false);
    c.onReply({ status: "error", execution_count: 7, ename: "ZeroDivisionError", evalue: "division by zero", traceback: ["tb"] });
    expect(c.done).toBe(false);
    feed(c, ["status", { execution_state: "idle" }]);
    expect(c.done).toBe(true);
    expect(c.executionCount()).toBe(7);
    expect(c.replyError()).toEqual({ ename: "ZeroDivisionError", evalue: "division by zero", traceback: ["tb"] });
    const ok = new OutputCollector(1000);
    ok.onReply({ status: "error", execution_count: null }); // tslab's error replies carry no fields
    expect(ok.replyError()).toBeUndefined();
    expect(ok.executionCount()).toBeNull();
  });

  test("rejects a negative or NaN cap", () => {
    expect(() => new OutputCollector(-1)).toThrow(/maxBytes must be a non-negative number/);
    expect(() => new OutputCollector(Number.NaN)).toThrow(/maxBytes/);
  });
});
