/**
 * Runs one notebook cell on tslab's executor and reports it as ok or error, with the error details and the last
 * expression's value (which tslab itself only prints to stdout). The server calls it for one cell at a time.
 */
import type { ConverterSet, Executor } from "tslab/dist/executor";
import type { Converter } from "tslab/dist/converter";
import type * as TslabJupyter from "tslab/dist/jupyter";
import type { JupyterHandlerImpl } from "tslab/dist/jupyter";
import { describeProgress, takeRunningLoops, type LoopProgress } from "../core/interrupt";
import { toJupyterError, type ErrorCall, type JupyterError } from "./errors";
import { installCellSourceMaps, type CellSourceMaps } from "./source-maps";

/** tslab's modules, loaded after the source-map hooks are in place (see source-maps.ts). */
interface Tslab {
  readonly executor: typeof import("tslab/dist/executor");
  readonly converter: typeof import("tslab/dist/converter");
  readonly jupyter: typeof TslabJupyter;
}

function loadTslab(): { tslab: Tslab; maps: CellSourceMaps } {
  const maps = installCellSourceMaps();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const tslab: Tslab = {
    executor: require("tslab/dist/executor") as Tslab["executor"],
    converter: require("tslab/dist/converter") as Tslab["converter"],
    jupyter: require("tslab/dist/jupyter") as Tslab["jupyter"],
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { tslab, maps };
}

/** The display sink tslab's `display` API writes to (one display_data / update_display_data message). */
export type DisplaySink = NonNullable<typeof TslabJupyter.lastWriteDisplayData>;

/** What the protocol layer passes in for one execute_request. */
export interface CellRequest {
  readonly code: string;
  readonly silent: boolean;
  readonly storeHistory: boolean;
  readonly stopOnError: boolean;
}

/** Where a running cell's output goes. */
export interface CellIo {
  /** Called once when the cell starts running, with its execution count. */
  readonly onStart: (executionCount: number) => void;
  readonly stream: (name: "stdout" | "stderr", text: string) => void;
  readonly display: DisplaySink;
}

/** How one cell ended. `result` is set only when the cell ended with a non-null expression. */
export type CellOutcome =
  | { readonly status: "ok"; readonly executionCount: number; readonly result?: { readonly value: unknown } }
  | { readonly status: "error"; readonly executionCount: number; readonly error: JupyterError };

interface Capture {
  errors: ErrorCall[];
  result?: { readonly value: unknown };
}

/** A SIGINT stops synchronous code with this message; the loops it cut off say how far they had got. */
function withLoopProgress(error: JupyterError, loops: readonly LoopProgress[]): JupyterError {
  if (loops.length === 0 || !/Script execution interrupted/.test(error.evalue)) return error;
  const note = `Interrupted. ${describeProgress(loops)}; the step in progress was cut off (its learner keeps the state of its last completed step).`;
  return { ename: "InterruptedError", evalue: note, traceback: [`InterruptedError: ${note}`, ...error.traceback] };
}

/** Lazily created tslab converters, as tslab's own kernel does. */
class Converters implements ConverterSet {
  private nodeConv: Converter | null = null;
  private browserConv: Converter | null = null;
  constructor(private readonly create: Tslab["converter"]["createConverter"]) {}
  get node(): Converter {
    this.nodeConv ??= this.create({ isJS: false, isBrowser: false });
    return this.nodeConv;
  }
  get browser(): Converter {
    this.browserConv ??= this.create({ isJS: false, isBrowser: true });
    return this.browserConv;
  }
  close(): void {
    this.nodeConv?.close();
    this.browserConv?.close();
  }
}

const utf8 = new TextDecoder();

/** Cell execution with per-cell capture of errors and the last expression. Cells must not overlap. */
export class CellRunner {
  /** tslab's handler, reused for completion, inspection and is_complete (they only read the executor). */
  readonly tslabHandler: JupyterHandlerImpl;
  readonly executor: Executor;
  private count = 0;
  private serial = 0;
  private busy = false;
  private capture: Capture = { errors: [] };

  private readonly tslab: Tslab;
  /** Maps runtime stack frames to cell lines. */
  readonly sourceMaps: CellSourceMaps;

  constructor(rootDir: string) {
    const { tslab, maps } = loadTslab();
    this.tslab = tslab;
    this.sourceMaps = maps;
    const converters = new Converters(tslab.converter.createConverter);
    void converters.node; // Warm the compiler now, as tslab does, so the first cell is not slower.
    this.executor = tslab.executor.createExecutor(rootDir, converters, {
      log: (value: unknown) => {
        // tslab logs exactly one thing through this console: the cell's last expression.
        this.capture.result = { value };
      },
      error: (...args: unknown[]) => {
        this.capture.errors.push(args);
      },
    });
    this.tslabHandler = new tslab.jupyter.JupyterHandlerImpl(this.executor, false);
  }

  /** True while a cell runs. */
  get running(): boolean {
    return this.busy;
  }

  /** Increases with every cell run (silent ones too). */
  get cellSerial(): number {
    return this.serial;
  }

  /** The execution count of the last stored execution. */
  get executionCount(): number {
    return this.count;
  }

  /** Runs one cell. */
  async execute(req: CellRequest, io: CellIo): Promise<CellOutcome> {
    if (req.storeHistory && !req.silent) this.count += 1;
    const executionCount = this.count;
    io.onStart(executionCount);
    // Like tslab, route this process's stdout/stderr to the running cell (and keep them there afterwards).
    const writer = (name: "stdout" | "stderr") => (chunk: string | Uint8Array): boolean => {
      io.stream(name, typeof chunk === "string" ? chunk : utf8.decode(chunk));
      return true;
    };
    process.stdout.write = writer("stdout");
    process.stderr.write = writer("stderr");
    Object.assign(this.tslab.jupyter, { lastWriteDisplayData: io.display });
    this.capture = { errors: [] };
    this.serial += 1;
    this.sourceMaps.expect(this.serial, req.storeHistory && !req.silent ? `Cell In[${executionCount}]` : "Cell (silent)", req.code);
    this.busy = true;
    let ok: boolean;
    try {
      ok = await this.executor.execute(req.code);
    } catch (e) {
      this.capture.errors.push([e]);
      ok = false;
    } finally {
      this.busy = false;
    }
    const capture = this.capture;
    this.capture = { errors: [] };
    // Loops still registered were cut off by SIGINT (which skips their finally blocks) or run on in the background.
    const cutOff = takeRunningLoops();
    if (!ok) return { status: "error", executionCount, error: withLoopProgress(toJupyterError(capture.errors, this.sourceMaps), cutOff) };
    return capture.result ? { status: "ok", executionCount, result: capture.result } : { status: "ok", executionCount };
  }

  /** Interrupts a cell waiting on a promise (SIGINT interrupts synchronous code by itself). */
  interrupt(): void {
    this.executor.interrupt();
  }

  /** Releases the compiler's watchers. */
  close(): void {
    this.executor.close();
  }
}
