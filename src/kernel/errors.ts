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

/** Maps stack frames of cells to their own lines (see source-maps.ts); absent when maps are off. */
export interface FrameMapper {
  /** The frame with cell positions rewritten; null for a frame of a cell that maps to no cell line (the wrapper). */
  mapFrame(frame: string): string | null;
  /** The innermost cell position the frames name, with the cell's label and source. */
  firstCellPosition(frames: readonly string[]): { label: string; source: string; at: { line: number; column: number } } | null;
}

/** Node puts "file:line", the compiled source line, a caret and a blank line before the stack of a vm error. */
function dropCompiledExcerpt(stack: string[]): string[] {
  if (!/:\d+$/.test(stack[0] ?? "")) return stack;
  const blank = stack.findIndex((l) => l === "");
  return blank > 0 && blank <= 4 ? stack.slice(blank + 1) : stack;
}

/** The cell's lines around `line` with a caret under `column`, numbered as TypeScript diagnostics are. */
export function codeExcerpt(source: string, line: number, column: number, before = 2): string[] {
  const lines = source.split("\n");
  const from = Math.max(1, line - before);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = from; n <= Math.min(line, lines.length); n++) {
    out.push(`${n === line ? ">" : " "} ${String(n).padStart(width)} | ${lines[n - 1] ?? ""}`);
  }
  out.push(`  ${" ".repeat(width)} | ${" ".repeat(Math.max(0, column - 1))}^`);
  return out;
}

function fromThrown(value: unknown, mapper?: FrameMapper): JupyterError {
  if (value instanceof Error) {
    const name = value.name || "Error";
    const raw = dropCompiledExcerpt((value.stack ?? `${name}: ${value.message}`).split("\n"));
    const frames = raw.filter((line) => !NOISE_FRAME.test(line));
    const mapped = mapper ? frames.map((f) => mapper.mapFrame(f)).filter((f): f is string => f !== null) : frames;
    const where = mapper?.firstCellPosition(frames);
    const excerpt = where ? ["", `${where.label}, line ${where.at.line}, column ${where.at.column}:`, ...codeExcerpt(where.source, where.at.line, where.at.column)] : [];
    return { ename: name, evalue: value.message, traceback: [...mapped, ...excerpt] };
  }
  const text = util.inspect(value);
  return { ename: "NonErrorThrown", evalue: text, traceback: [`Uncaught ${text}`] };
}

/** Builds the error content from the executor's error calls for one failed cell. */
export function toJupyterError(calls: readonly ErrorCall[], mapper?: FrameMapper): JupyterError {
  if (calls.length === 0) {
    return { ename: "Error", evalue: "the cell failed but tslab reported no details", traceback: ["Error: the cell failed but tslab reported no details"] };
  }
  if (calls.every(isDiagnosticCall)) {
    const lines = calls.map((call) => util.format(...call));
    return { ename: COMPILE_ERROR_NAME, evalue: lines[0] ?? "", traceback: lines };
  }
  const thrown = calls.find((call) => !isDiagnosticCall(call));
  if (thrown !== undefined && thrown.length === 1) return fromThrown(thrown[0], mapper);
  const text = calls.map((call) => util.format(...call)).join("\n");
  return { ename: "Error", evalue: text.split("\n")[0] ?? "", traceback: text.split("\n") };
}
