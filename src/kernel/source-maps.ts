/**
 * Maps stack frames of a cell's compiled JavaScript back to the cell's own TypeScript line and column.
 * tslab 1.0.22 compiles each cell without a source map and runs it as "evalmachine.<anonymous>", so a runtime
 * traceback points into compiled code (and, for a function from an earlier cell, cannot even say which cell). Here:
 * (1) tslab's compiler is asked for an inline source map of each cell, and the CommonJS pass after it for a second
 * map, kept with the code it produced; (2) each cell runs under its own file name, so every frame maps to its cell.
 * Both hooks are installed before tslab's converter loads; if that is too late they stay off and frames are unmapped.
 */
import { createRequire } from "module";
import type * as Vm from "vm";
import { originalPositionFor, TraceMap, type EncodedSourceMap } from "@jridgewell/trace-mapping";

/** A position in a cell: 1-based line and column, as TypeScript diagnostics show them. */
export interface CellPosition {
  readonly line: number;
  readonly column: number;
}

/** What is known about one executed cell. */
interface CellRecord {
  /** The label shown in tracebacks, e.g. "Cell In[3]". */
  readonly label: string;
  readonly source: string;
  /** Characters before the compiled code on line 1 (tslab's function wrapper). */
  readonly prefix: number;
  readonly maps: CompiledMaps | null;
}

/** The two maps of one compiled cell: CommonJS → ES module output → TypeScript file. */
interface CompiledMaps {
  readonly cjs: TraceMap;
  readonly esm: TraceMap;
}

/** tslab's source file starts with this line before the cell ("export {};\n" in converter.js). */
const SOURCE_PREFIX_LINES = 1;
const INLINE_MAP = /\n?\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;
const WRAPPER = /^\((?:async )?function\(exports, require\) \{ /;
const WRAPPER_END = "\n})(__tslab__.exports, __tslab__.require)";
const CELL_FILE = /metalab-cell-(\d+)\.js:(\d+):(\d+)/g;

/** Records compiled cells and maps frames; one per kernel process. */
export class CellSourceMaps {
  /** Maps of compiled CommonJS texts not yet run, keyed by the text. */
  private readonly compiled = new Map<string, CompiledMaps>();
  private readonly cells = new Map<number, CellRecord>();
  private next: { serial: number; label: string; source: string } | null = null;
  /** True when both hooks are in place. */
  active = false;

  /** Names the next cell to run (call just before tslab executes it). */
  expect(serial: number, label: string, source: string): void {
    this.next = { serial, label, source };
  }

  /** Maps a 1-based line and column of cell `serial`'s running code to the cell's source; null if unknown. */
  position(serial: number, line: number, column: number): CellPosition | null {
    const cell = this.cells.get(serial);
    if (!cell?.maps) return null;
    const col0 = (line === 1 ? column - cell.prefix : column) - 1;
    const esm = originalPositionFor(cell.maps.cjs, { line, column: Math.max(0, col0) });
    if (esm.line === null || esm.column === null) return null;
    const src = originalPositionFor(cell.maps.esm, { line: esm.line, column: esm.column });
    if (src.line === null || src.column === null) return null;
    const cellLine = src.line - SOURCE_PREFIX_LINES;
    return cellLine >= 1 ? { line: cellLine, column: src.column + 1 } : null;
  }

  /**
   * Rewrites `metalab-cell-N.js:L:C` in one stack line to `Cell In[k]:line:column`; null for a frame in a cell's
   * code that is no line of the cell (tslab's wrapper that calls it).
   */
  mapFrame(frame: string): string | null {
    let unmapped = false;
    const out = frame.replace(CELL_FILE, (whole, s: string, l: string, c: string) => {
      const serial = Number(s);
      const cell = this.cells.get(serial);
      if (!cell) return whole;
      const p = this.position(serial, Number(l), Number(c));
      if (p === null) unmapped = true;
      return p ? `${cell.label}:${p.line}:${p.column}` : cell.label;
    });
    // Functions of cells live on tslab's exports proxy, so V8 names them "Proxy.f".
    return unmapped ? null : out === frame ? out : out.replace(/\bat Proxy\./, "at ");
  }

  /** The innermost cell position a stack names, with that cell's label and source. */
  firstCellPosition(stack: readonly string[]): { label: string; source: string; at: CellPosition } | null {
    for (const line of stack) {
      for (const m of line.matchAll(CELL_FILE)) {
        const serial = Number(m[1]);
        const cell = this.cells.get(serial);
        const at = cell ? this.position(serial, Number(m[2]), Number(m[3])) : null;
        if (cell && at) return { label: cell.label, source: cell.source, at };
      }
    }
    return null;
  }

  /** Called by the compile hook with the ES module text (carrying an inline map) and its CommonJS result. */
  recordCompiled(cjsText: string, cjsMap: EncodedSourceMap, esmMap: EncodedSourceMap): void {
    this.compiled.set(cjsText, { cjs: new TraceMap(cjsMap), esm: new TraceMap(esmMap) });
    // Side modules (local .ts files) are compiled too but never run through vm: keep the map count bounded.
    if (this.compiled.size > 64) this.compiled.delete(this.compiled.keys().next().value!);
  }

  /** Called by the vm hook with the code tslab is about to run; returns the file name to run it under. */
  claim(code: string): string | null {
    const next = this.next;
    if (next === null) return null;
    const head = WRAPPER.exec(code);
    if (head === null || !code.endsWith(WRAPPER_END)) return null;
    this.next = null;
    const body = code.slice(head[0].length, code.length - WRAPPER_END.length);
    const maps = this.compiled.get(body) ?? null;
    this.compiled.delete(body);
    this.cells.set(next.serial, { label: next.label, source: next.source, prefix: head[0].length, maps });
    return `metalab-cell-${next.serial}.js`;
  }
}

let installed: CellSourceMaps | null = null;

/**
 * Installs the compile and run hooks (once per process) and returns the maps. Must run before anything loads
 * tslab/dist/converter; otherwise it returns an inactive instance and tracebacks stay unmapped.
 */
export function installCellSourceMaps(): CellSourceMaps {
  if (installed) return installed;
  const maps = new CellSourceMaps();
  installed = maps;
  const fromTslab = createRequire(require.resolve("tslab/package.json"));
  const converterPath = fromTslab.resolve("./dist/converter.js");
  if (require.cache[converterPath]) return maps; // too late: the converter holds the plain compiler already
  const tsPath = createRequire(converterPath).resolve("@tslab/typescript-for-tslab");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require(tsPath) as typeof import("typescript");
  const mod = require.cache[tsPath];
  if (!mod) return maps;
  const hooked = new Proxy(ts, {
    get(target, prop, receiver) {
      if (prop === "createWatchCompilerHost") {
        return (...args: unknown[]) => {
          // (rootFiles, options, system, ...): every cell's ES module output gets an inline source map.
          const options = args[1] as Record<string, unknown>;
          args[1] = { ...options, inlineSourceMap: true };
          return (target.createWatchCompilerHost as (...a: unknown[]) => unknown)(...args);
        };
      }
      if (prop === "transpileModule") {
        return (input: string, options: import("typescript").TranspileOptions) => {
          const inline = INLINE_MAP.exec(input);
          if (inline === null || inline[1] === undefined) return target.transpileModule(input, options);
          const esmMap = JSON.parse(Buffer.from(inline[1], "base64").toString("utf8")) as EncodedSourceMap;
          const out = target.transpileModule(input.slice(0, inline.index), { ...options, compilerOptions: { ...options.compilerOptions, sourceMap: true } });
          // The text that runs is tslab's usual output: no source-map comment.
          const text = out.outputText.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n");
          if (out.sourceMapText !== undefined) maps.recordCompiled(text, JSON.parse(out.sourceMapText) as EncodedSourceMap, esmMap);
          return { ...out, outputText: text };
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const plain = mod.exports as unknown;
  mod.exports = hooked;
  try {
    fromTslab(converterPath);
  } finally {
    mod.exports = plain;
  }
  // The module object itself (tslab calls vm.runInThisContext through it), not an import namespace copy.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const vm = require("vm") as typeof Vm;
  const run = vm.runInThisContext.bind(vm);
  vm.runInThisContext = (code: string, options?: Vm.RunningScriptOptions | string) => {
    const filename = typeof code === "string" ? maps.claim(code) : null;
    if (filename === null) return run(code, options);
    return run(code, { ...(typeof options === "object" ? options : {}), filename });
  };
  maps.active = true;
  return maps;
}
