/**
 * Turns what tslab's executor reports through `console.error` into a Jupyter `error` message content.
 * tslab 1.0.22 calls `console.error(thrownValue)` for runtime errors and
 * `console.error("%s%d:%d - %s", file, line, col, text)` once per TypeScript diagnostic.
 */
import * as util from "util";

/** The content of a Jupyter `error` iopub message (and of an execute_reply with status "error"). */
export interface JupyterError {
  readonly ename: string;
  readonly evalue: string;
  readonly traceback: readonly string[];
}

/** ename used when a cell does not compile (TypeScript diagnostics). */
export const COMPILE_ERROR_NAME = "TypeScriptCompileError";

// Stack frames from Node internals and tslab's own executor say nothing about the user's cell.
const NOISE_FRAME = /^\s+at .*(\(node:|node:internal|[/\\]node_modules[/\\]tslab[/\\]|[/\\]dist[/\\]src[/\\]kernel[/\\])/;

/** One `console.error(...)` call as the executor made it. */
export type ErrorCall = readonly unknown[];

function isDiagnosticCall(call: ErrorCall): boolean {
  return call.length === 5 && call[0] === "%s%d:%d - %s";
}

function fromThrown(value: unknown): JupyterError {
  if (value instanceof Error) {
    const stack = (value.stack ?? `${value.name}: ${value.message}`).split("\n");
    const frames = stack.filter((line) => !NOISE_FRAME.test(line));
    return { ename: value.name || "Error", evalue: value.message, traceback: frames };
  }
  const text = util.inspect(value);
  return { ename: "NonErrorThrown", evalue: text, traceback: [`Uncaught ${text}`] };
}

/** Builds the error content from the executor's error calls for one failed cell. */
export function toJupyterError(calls: readonly ErrorCall[]): JupyterError {
  if (calls.length === 0) {
    return { ename: "Error", evalue: "the cell failed but tslab reported no details", traceback: ["Error: the cell failed but tslab reported no details"] };
  }
  if (calls.every(isDiagnosticCall)) {
    const lines = calls.map((call) => util.format(...call));
    return { ename: COMPILE_ERROR_NAME, evalue: lines[0] ?? "", traceback: lines };
  }
  const thrown = calls.find((call) => !isDiagnosticCall(call));
  if (thrown !== undefined && thrown.length === 1) return fromThrown(thrown[0]);
  const text = calls.map((call) => util.format(...call)).join("\n");
  return { ename: "Error", evalue: text.split("\n")[0] ?? "", traceback: text.split("\n") };
}
