/**
 * The kernel's Jupyter server: its own ZeroMQ sockets around tslab's executor (tslab 1.0.22's server sends without
 * waiting, which kills the kernel under load). Every socket sends through one ordered `SendQueue`; shell requests
 * run one at a time, each bracketed by `busy` and `idle` on iopub exactly when it starts and ends; cells queued
 * behind a failed one are answered `aborted`; errors, last expressions and kernel_info follow the protocol.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html
 */
import { existsSync } from "fs";
import * as path from "path";
import * as util from "util";
import { Worker } from "worker_threads";
import type * as Zmq from "zeromq";
import { getVersion } from "tslab/dist/util";
import { interruptCounter, requestInterrupt, runningLoops } from "../core/interrupt";
import { socketAddress, type ConnectionInfo, type Transport } from "../jupyter/connection";
import { DELIMITER, decodeMessage, type JupyterMessage, verify } from "../jupyter/wire";
import type { CellOutcome, CellRequest, CellRunner } from "./cell-runner";
import type { ControlWorkerData, ToMain, ToWorker } from "./control-worker";
import { signedFrames } from "./frames";
import { SendQueue, writeRealStderr, type Frames, type Outgoing } from "./send-queue";
import { loadZmq } from "./zmq";

export { signedFrames } from "./frames";
export { loadZmq } from "./zmq";

/** A raw multipart message split into routing identities and its parsed header, if its signature is valid. */
export interface RawMessage {
  readonly identities: readonly Buffer[];
  readonly header: Record<string, unknown>;
}

/** Splits a raw message and checks its HMAC-SHA256 signature (the wire protocol); null if malformed or forged. */
export function parseRaw(frames: readonly Buffer[], key: string): RawMessage | null {
  const d = frames.findIndex((f) => f.equals(DELIMITER));
  if (d < 0 || frames.length < d + 6) return null;
  const parts = frames.slice(d + 2, d + 6);
  if (!verify(key, parts, frames[d + 1]!.toString("ascii"))) return null;
  try {
    const header: unknown = JSON.parse(parts[0]?.toString() ?? "");
    if (typeof header !== "object" || header === null) return null;
    return { identities: frames.slice(0, d), header: header as Record<string, unknown> };
  } catch {
    return null;
  }
}

/** Which TypeScript cells are compiled with (tslab's fork). */
function typescriptVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg: unknown = require("@tslab/typescript-for-tslab/package.json");
    if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") return pkg.version;
  } catch {
    // Not resolvable from here: report no version rather than a wrong one.
  }
  return "";
}

function field(content: object, name: string): unknown {
  return (content as Record<string, unknown>)[name];
}

/** Reads an execute_request's content with the protocol's defaults. */
export function readExecuteRequest(content: object): CellRequest {
  const code = field(content, "code");
  const silent = field(content, "silent") === true;
  return {
    code: typeof code === "string" ? code : "",
    silent,
    storeHistory: silent ? false : field(content, "store_history") !== false,
    stopOnError: field(content, "stop_on_error") !== false,
  };
}

/** The kernel_info_reply content. */
export function kernelInfo(): Record<string, unknown> {
  return {
    status: "ok",
    protocol_version: "5.3",
    implementation: "tslab",
    implementation_version: getVersion(),
    language_info: {
      name: "typescript",
      version: typescriptVersion(),
      mimetype: "text/typescript",
      file_extension: ".ts",
      // tslab's setting: TypeScript highlighting in both Notebook and JupyterLab.
      codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
    },
    banner: `TypeScript (tslab ${getVersion()}, metalab kernel launcher)`,
    help_links: [{ text: "tslab", url: "https://github.com/yunabe/tslab" }],
  };
}

/** How a request ended: a cell outcome, or "aborted" for a cell skipped after an earlier failure. */
export type ReplyOutcome = CellOutcome | { readonly status: "aborted" };

/** The execute_reply content; an aborted cell never ran, so it has no execution count (null). */
export function executeReplyContent(outcome: ReplyOutcome): Record<string, unknown> {
  if (outcome.status === "error") {
    return { status: "error", execution_count: outcome.executionCount, ...outcome.error, traceback: [...outcome.error.traceback] };
  }
  if (outcome.status === "aborted") return { status: "aborted", execution_count: null };
  return { status: "ok", execution_count: outcome.executionCount, payload: [], user_expressions: {} };
}

/** The text/plain form of a last expression, as Node's REPL shows it. */
export function plainText(value: unknown): string {
  return util.inspect(value, { colors: false });
}

/** Checks a parsed connection file (as Jupyter writes it) and applies its defaults. */
export function readConnectionInfo(raw: unknown): ConnectionInfo {
  if (typeof raw !== "object" || raw === null) throw new Error("the connection file is not a JSON object");
  const r = raw as Record<string, unknown>;
  const port = (p: string): number => {
    const v = r[p];
    if (typeof v !== "number") throw new Error(`the connection file has no numeric ${p}`);
    return v;
  };
  const scheme = r.signature_scheme;
  if (scheme !== undefined && scheme !== "hmac-sha256") throw new Error(`signature_scheme ${String(scheme)} is not supported (only hmac-sha256)`);
  const transport = r.transport ?? "tcp";
  if (transport !== "tcp" && transport !== "ipc") throw new Error(`transport ${String(transport)} is not supported (tcp or ipc)`);
  return {
    transport: transport as Transport,
    ip: typeof r.ip === "string" ? r.ip : "127.0.0.1",
    shell_port: port("shell_port"),
    iopub_port: port("iopub_port"),
    stdin_port: port("stdin_port"),
    control_port: port("control_port"),
    hb_port: port("hb_port"),
    key: typeof r.key === "string" ? r.key : "",
    signature_scheme: "hmac-sha256",
    kernel_name: typeof r.kernel_name === "string" ? r.kernel_name : "",
  };
}

/** Characters of stream text one message carries at most (consecutive writes of a cell are merged up to this). */
export const STREAM_CHUNK_CHARS = 1 << 20;

/** Consecutive stream text of one cell and stream name, merged into one message while it waits to be sent. */
class StreamMessage implements Outgoing {
  private readonly chunks: string[];
  private chars: number;
  readonly droppable = true;
  constructor(
    private readonly key: string,
    readonly parent: Readonly<Record<string, unknown>>,
    readonly name: "stdout" | "stderr",
    text: string,
  ) {
    this.chunks = [text];
    this.chars = text.length;
  }
  get bytes(): number {
    return this.chars;
  }
  frames(): Frames {
    return signedFrames(this.key, [], this.parent, "stream", { name: this.name, text: this.chunks.join("") });
  }
  absorb(next: Outgoing): boolean {
    if (!(next instanceof StreamMessage) || next.parent !== this.parent || next.name !== this.name) return false;
    if (this.chars + next.chars > STREAM_CHUNK_CHARS) return false;
    this.chunks.push(...next.chunks);
    this.chars += next.chars;
    return true;
  }
}

/** A fully built message. */
function message(frames: () => Frames, bytes: number): Outgoing {
  return { frames, bytes };
}

/** A received shell or control request. */
interface Request {
  readonly identities: Buffer[];
  readonly msg: JupyterMessage;
  readonly receivedAt: number;
}

/**
 * After a failed cell (stop_on_error), the kernel waits this long before replying, so requests a client sent before
 * it could see the failure (Run All sends every cell at once) arrive, and aborts everything received until the reply.
 * A request sent after the client saw the error reply runs normally.
 */
export const ABORT_DRAIN_MS = 20;

type Channel = "shell" | "control";

/** How long the main thread may take to pick up an interrupt from the control thread before SIGINT is sent. */
export const INTERRUPT_GRACE_MS = 2000;

/** How long a running library loop gets to stop itself (and say how far it got) before a pending await is rejected. */
export const LOOP_GRACE_MS = 1000;

/** The kernel: sockets, ordered send queues, and the request handlers. */
export class KernelServer {
  private readonly key: string;
  private iopubQueue!: SendQueue;
  private readonly queues: Partial<Record<Channel | "hb" | "stdin", SendQueue>> = {};
  private sockets: { close(): void }[] = [];
  private readonly inbox: Request[] = [];
  private processing = false;
  private abortCutoff = Number.NEGATIVE_INFINITY;
  private closed = false;
  private worker: Worker | null = null;
  /** Resolves when the server has shut down. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly runner: CellRunner, private readonly conn: ConnectionInfo, private readonly onShutdown: () => void = () => undefined) {
    this.key = conn.key;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Binds every socket and starts serving. Control and heartbeat live in a worker thread (see control-worker.ts),
   * unless `controlInWorker` is false or the worker cannot start; then they are served here.
   */
  async start(zmq: typeof Zmq = loadZmq(), controlInWorker = true): Promise<void> {
    // jupyter_client's addresses: tcp://<ip>:<port>, or ipc://<ip>-<port> for the ipc transport.
    const addr = (port: number): string => socketAddress(this.conn.transport, this.conn.ip, port);
    // No high-water mark: a PUB socket silently drops messages past it (1000 by default) when a subscriber is
    // slow. noDrop is no alternative: it fails the send with EAGAIN after later sends may already have succeeded.
    // sendTimeout 0: zeromq.js then hands every message over at once instead of deferring each 513th one to a
    // later tick, so a synchronous cell's output (a progress bar) flows while the cell runs. PUB and ROUTER never
    // block, so nothing is refused for it (the queue still retries, in order, if a send were ever refused).
    const iopub = new zmq.Publisher({ sendHighWaterMark: 0, sendTimeout: 0, linger: 1000 });
    const shell = new zmq.Router({ sendTimeout: 0, linger: 1000 });
    const stdin = new zmq.Router({ sendTimeout: 0, linger: 0 });
    this.sockets = [iopub, shell, stdin];
    await Promise.all([iopub.bind(addr(this.conn.iopub_port)), shell.bind(addr(this.conn.shell_port)), stdin.bind(addr(this.conn.stdin_port))]);
    this.iopubQueue = new SendQueue(iopub, { name: "iopub" });
    this.queues.shell = new SendQueue(shell, { name: "shell" });
    this.queues.stdin = new SendQueue(stdin, { name: "stdin" });
    const worker = controlInWorker ? await this.startControlWorker(addr(this.conn.control_port), addr(this.conn.hb_port)) : null;
    if (worker === null) {
      const control = new zmq.Router({ sendTimeout: 0, linger: 1000 });
      const hb = new zmq.Reply({ linger: 0 });
      this.sockets.push(control, hb);
      await Promise.all([control.bind(addr(this.conn.control_port)), hb.bind(addr(this.conn.hb_port))]);
      this.queues.control = new SendQueue(control, { name: "control" });
      this.queues.hb = new SendQueue(hb, { name: "heartbeat" });
      void this.receive(control, (frames) => this.onControl(frames));
      void this.heartbeat(hb);
    }
    void this.receive(shell, (frames) => this.onShell(frames));
    this.publish({}, "status", { execution_state: "starting" });
  }

  /** Starts the control/heartbeat thread; null (after a note on stderr) if it cannot. */
  private async startControlWorker(control: string, hb: string): Promise<Worker | null> {
    const file = path.join(__dirname, "control-worker.js");
    if (!existsSync(file)) return null;
    const data: ControlWorkerData = { control, hb, key: this.key, counter: interruptCounter().buffer as SharedArrayBuffer, graceMs: INTERRUPT_GRACE_MS };
    const worker = new Worker(file, { workerData: data });
    const started = await new Promise<string | null>((resolve) => {
      worker.once("error", (e) => resolve(e.message));
      worker.once("message", (m: ToMain) => resolve(m.type === "ready" ? null : m.type === "failed" ? m.message : `unexpected ${m.type}`));
    });
    if (started !== null) {
      writeRealStderr(`metalab kernel: serving control in the main thread (the control thread failed: ${started})`);
      await worker.terminate();
      return null;
    }
    worker.on("message", (m: ToMain) => {
      if (m.type === "interrupt") {
        worker.postMessage({ type: "ack" } satisfies ToWorker);
        this.interrupt(true);
      } else if (m.type === "request") {
        this.onControl(m.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
      }
    });
    worker.on("error", (e) => writeRealStderr(`metalab kernel: the control thread failed: ${e.message}`));
    worker.unref();
    // Replies to control requests handled here leave through the worker's socket.
    const viaWorker = {
      send: (frames: Frames): Promise<void> => {
        worker.postMessage({ type: "send", frames: frames.map((f) => (typeof f === "string" ? f : new Uint8Array(f))) } satisfies ToWorker);
        return Promise.resolve();
      },
    };
    this.queues.control = new SendQueue(viaWorker, { name: "control" });
    this.worker = worker;
    return worker;
  }

  /** Sends on iopub, in order with every other iopub message. */
  publish(parent: Readonly<Record<string, unknown>>, msgType: string, content: Readonly<Record<string, unknown>>): void {
    if (this.closed) return;
    const bytes = msgType === "display_data" || msgType === "update_display_data" ? JSON.stringify(content).length : 256;
    this.iopubQueue.push(message(() => signedFrames(this.key, [], parent, msgType, content), bytes));
  }

  private stream(parent: Readonly<Record<string, unknown>>, name: "stdout" | "stderr", text: string): void {
    if (this.closed || text === "") return;
    this.iopubQueue.push(new StreamMessage(this.key, parent, name, text));
  }

  private reply(channel: Channel, req: Request, msgType: string, content: Readonly<Record<string, unknown>>): void {
    this.queues[channel]?.push(message(() => signedFrames(this.key, req.identities, req.msg.header as unknown as Record<string, unknown>, msgType, content), 256));
  }

  private async receive(sock: AsyncIterable<Buffer[]>, handle: (frames: Buffer[]) => void): Promise<void> {
    try {
      for await (const frames of sock) handle(frames);
    } catch (e) {
      if (!this.closed) writeRealStderr(`metalab kernel: a socket stopped receiving: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async heartbeat(hb: Zmq.Reply): Promise<void> {
    try {
      for await (const frames of hb) {
        this.queues.hb?.push(message(() => frames, 16));
        await this.queues.hb?.flushed(); // A REP socket must send its reply before it can receive again.
      }
    } catch {
      // Closed.
    }
  }

  private decode(frames: Buffer[], channel: Channel): Request | null {
    const d = frames.findIndex((f) => f.equals(DELIMITER));
    try {
      const msg = decodeMessage(frames, this.key);
      return { identities: frames.slice(0, Math.max(0, d)), msg, receivedAt: Date.now() };
    } catch (e) {
      // Not from a client holding our key: never act on it.
      writeRealStderr(`metalab kernel: ignored a ${channel} message: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  }

  private onShell(frames: Buffer[]): void {
    const req = this.decode(frames, "shell");
    if (req === null) return;
    this.inbox.push(req);
    if (!this.processing) void this.processInbox();
  }

  /** Control requests are answered at once, not queued behind a running cell (interrupt must get through). */
  private onControl(frames: Buffer[]): void {
    const req = this.decode(frames, "control");
    if (req === null) return;
    const type = req.msg.header.msg_type;
    if (type === "interrupt_request") {
      this.interrupt();
      this.reply("control", req, "interrupt_reply", { status: "ok" });
    } else if (type === "shutdown_request") {
      void this.shutdown("control", req);
    } else if (type === "kernel_info_request") {
      this.reply("control", req, "kernel_info_reply", kernelInfo());
    } else {
      writeRealStderr(`metalab kernel: unsupported control request ${type}`);
    }
  }

  /**
   * Interrupts the running cell: library loops stop at their next step and say how far they got; a pending await
   * is rejected at once when no library loop runs, else after `LOOP_GRACE_MS` if the loop has not ended the cell.
   * `counted`: the control thread has already raised the interrupt counter.
   */
  interrupt(counted = false): void {
    if (!counted) requestInterrupt();
    if (!this.runner.running || runningLoops().length === 0) {
      this.runner.interrupt();
      return;
    }
    const cell = this.runner.cellSerial;
    setTimeout(() => {
      if (this.runner.running && this.runner.cellSerial === cell) this.runner.interrupt();
    }, LOOP_GRACE_MS).unref();
  }

  /** Runs shell requests one at a time, in arrival order. */
  private async processInbox(): Promise<void> {
    this.processing = true;
    try {
      for (let req = this.inbox.shift(); req !== undefined && !this.closed; req = this.inbox.shift()) {
        const parent = req.msg.header as unknown as Record<string, unknown>;
        this.publish(parent, "status", { execution_state: "busy" });
        try {
          await this.handleShell(req);
        } catch (e) {
          writeRealStderr(`metalab kernel: handling ${req.msg.header.msg_type} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
        this.publish(parent, "status", { execution_state: "idle" });
      }
    } finally {
      this.processing = false;
    }
  }

  private async handleShell(req: Request): Promise<void> {
    const type = req.msg.header.msg_type;
    const content = req.msg.content;
    const handler = this.runner.tslabHandler;
    switch (type) {
      case "execute_request":
        return this.execute(req);
      case "kernel_info_request":
        return this.reply("shell", req, "kernel_info_reply", kernelInfo());
      case "is_complete_request":
        return this.reply("shell", req, "is_complete_reply", { ...handler.handleIsComplete(content as never) });
      case "complete_request":
        return this.reply("shell", req, "complete_reply", { ...handler.handleComplete(content as never) });
      case "inspect_request":
        return this.reply("shell", req, "inspect_reply", { ...handler.handleInspect(content as never) });
      case "comm_info_request":
        // Comms are not supported, so the list is empty.
        return this.reply("shell", req, "comm_info_reply", { status: "ok", comms: {} });
      case "history_request":
        // tslab keeps no history: an empty list (JupyterLab's console asks for it on start).
        return this.reply("shell", req, "history_reply", { status: "ok", history: [] });
      case "shutdown_request":
        return this.shutdown("shell", req);
      default:
        writeRealStderr(`metalab kernel: unsupported shell request ${type}`);
    }
  }

  private async execute(req: Request): Promise<void> {
    const parent = req.msg.header as unknown as Record<string, unknown>;
    if (req.receivedAt <= this.abortCutoff) {
      this.reply("shell", req, "execute_reply", executeReplyContent({ status: "aborted" }));
      return;
    }
    const cell = readExecuteRequest(req.msg.content);
    const outcome = await this.runner.execute(cell, {
      onStart: (count) => {
        if (!cell.silent) this.publish(parent, "execute_input", { code: cell.code, execution_count: count });
      },
      stream: (name, text) => this.stream(parent, name, text),
      display: (data, update) => this.publish(parent, update ? "update_display_data" : "display_data", { ...data }),
    });
    if (!cell.silent) {
      if (outcome.status === "ok" && outcome.result) {
        this.publish(parent, "execute_result", {
          execution_count: outcome.executionCount,
          data: { "text/plain": plainText(outcome.result.value) },
          metadata: {},
        });
      } else if (outcome.status === "error") {
        this.publish(parent, "error", { ...outcome.error, traceback: [...outcome.error.traceback] });
      }
    }
    // The cell's outputs reach the socket before its reply, so a client that stops at the reply has them all.
    await this.iopubQueue.flushed();
    if (outcome.status === "error" && cell.stopOnError && !cell.silent) {
      await sleep(ABORT_DRAIN_MS);
      this.abortCutoff = Date.now();
    }
    this.reply("shell", req, "execute_reply", executeReplyContent(outcome));
  }

  private async shutdown(channel: Channel, req: Request): Promise<void> {
    const restart = field(req.msg.content, "restart") === true;
    this.reply(channel, req, "shutdown_reply", { status: "ok", restart });
    this.publish(req.msg.header as unknown as Record<string, unknown>, "status", { execution_state: "idle" });
    await Promise.race([Promise.all([this.queues[channel]?.flushed(), this.iopubQueue.flushed()]), sleep(1000)]);
    this.close();
    this.onShutdown();
  }

  /** Closes every socket and the compiler. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.iopubQueue?.close();
    for (const q of Object.values(this.queues)) q?.close();
    this.worker?.postMessage({ type: "close" } satisfies ToWorker);
    try {
      this.runner.close();
    } catch {
      // Best effort.
    }
    for (const s of this.sockets) {
      try {
        s.close();
      } catch {
        // Already closed.
      }
    }
    this.resolveDone();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
