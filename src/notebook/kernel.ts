/**
 * A Jupyter kernel client that speaks the messaging protocol itself over zeromq (the copy tslab depends on),
 * so running notebooks needs no Python. One `KernelClient` owns one kernel process.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type * as Zmq from "zeromq";
import type { MimeBundle, Output } from "./ipynb";
import { findKernelSpec, type KernelSpec } from "./kernelspec";
import { decodeMessage, encodeMessage, type JupyterMessage, newMessage } from "./wire";

/** Loads zeromq through tslab's own resolution so it works whether or not npm hoisted it. */
function loadZmq(): typeof Zmq {
  let req: NodeRequire = require;
  try {
    req = createRequire(require.resolve("tslab/package.json"));
  } catch {
    // tslab absent: fall back to a top-level zeromq.
  }
  return req("zeromq");
}

/** Options for starting a kernel. */
export interface KernelStartOptions {
  /** Kernel name (kernelspec folder name); default "tslab". */
  kernelName?: string;
  /** A resolved spec; overrides `kernelName`. */
  spec?: KernelSpec;
  /** Working directory of the kernel process. */
  cwd?: string;
  /** Extra environment variables for the kernel process. */
  env?: Record<string, string>;
  /** V8 old-space limit in MB for Node-based kernels (NODE_OPTIONS=--max-old-space-size); unset = Node's default. */
  memoryMb?: number;
  /** How long to wait for the kernel to answer kernel_info; tslab warms its compiler for several seconds first. */
  startTimeoutMs?: number;
  /** Run the kernel as this user and group (needs root): student code then cannot read the grader's files. */
  uid?: number;
  gid?: number;
  /** Largest file the kernel may write, in bytes (RLIMIT_FSIZE: launched through `prlimit`, which also disables core dumps). */
  maxFileBytes?: number;
}

/** Options for one execution. */
export interface ExecuteOptions {
  /** Wall-clock limit; on expiry the kernel is interrupted (SIGINT), then killed if it does not answer. */
  timeoutMs?: number;
  /** How long to wait after the interrupt before killing the kernel. */
  interruptGraceMs?: number;
  /** Cap on the bytes of output text kept for this execution; the rest is dropped with a note. */
  maxOutputBytes?: number;
}

/** What happened to one execute_request. */
export interface ExecuteOutcome {
  /** execute_reply status, or "timeout" (interrupted or killed) or "died" (kernel process exited). */
  status: "ok" | "error" | "abort" | "timeout" | "died";
  executionCount: number | null;
  /** Outputs in nbformat shape; late outputs (arriving after the reply) keep being appended to this array. */
  outputs: Output[];
  /** All stderr stream text of this execution received before the post-execution barrier. */
  stderr: string;
  /** execute_reply error fields, when the kernel sent them (tslab does not). */
  replyError?: { ename: string; evalue: string; traceback: string[] };
  outputTruncated: boolean;
  durationMs: number;
  /** For timeouts: true when the interrupt stopped the cell and the kernel is still alive. */
  interrupted: boolean;
}

interface Collector {
  outputs: Output[];
  stderr: string;
  bytes: number;
  maxBytes: number;
  truncated: boolean;
  reply: Record<string, unknown> | null;
  idle: boolean;
  clearPending: boolean;
  wake: () => void;
}

/** Keeps the last `max` characters written to a stream (for crash reports). */
class Tail {
  private text = "";
  constructor(private readonly max: number) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

let prlimitFound: boolean | null = null;
/** Whether util-linux's prlimit can be run. */
function hasPrlimit(): boolean {
  if (prlimitFound === null) prlimitFound = spawnSync("prlimit", ["--version"]).status === 0;
  return prlimitFound;
}

const live = new Set<KernelClient>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave kernels behind when the parent exits.
  process.on("exit", () => {
    for (const k of live) k.killNow();
  });
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("could not pick a free TCP port");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** How long to wait for iopub "idle" after execute_reply before assuming it was dropped. */
const IDLE_GRACE_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function str(x: unknown): string {
  if (typeof x === "string") return x;
  if (Array.isArray(x)) return x.map(String).join("");
  return "";
}

function bundle(x: unknown): MimeBundle {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as MimeBundle) : {};
}

/** A running kernel with shell, control and iopub channels. */
export class KernelClient {
  readonly spec: KernelSpec;
  private readonly child: ChildProcess;
  private readonly key: string;
  private readonly session = randomUUID();
  private readonly shell: Zmq.Dealer;
  private readonly control: Zmq.Dealer;
  private readonly iopub: Zmq.Subscriber;
  private readonly connectionFile: string;
  private readonly collectors = new Map<string, Collector>();
  private readonly shellWaiters = new Map<string, (m: JupyterMessage) => void>();
  private readonly iopubWaiters = new Map<string, (m: JupyterMessage) => void>();
  private readonly procStderr = new Tail(4000);
  private readonly displayIds = new WeakMap<Output, string>();
  private sendChain: Promise<void> = Promise.resolve();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private closed = false;
  /** When the last error reply arrived: tslab cancels requests that arrive within 200 ms of an error. */
  private lastErrorAt = 0;

  private constructor(spec: KernelSpec, child: ChildProcess, key: string, connectionFile: string, ports: number[]) {
    const zmq = loadZmq();
    this.spec = spec;
    this.child = child;
    this.key = key;
    this.connectionFile = connectionFile;
    this.shell = new zmq.Dealer({ linger: 0, routingId: `metalab-${randomBytes(6).toString("hex")}` });
    this.control = new zmq.Dealer({ linger: 0 });
    this.iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 }); // 0 = unbounded: never drop on our side.
    const [shellPort, iopubPort, , controlPort] = ports;
    this.shell.connect(`tcp://127.0.0.1:${shellPort}`);
    this.control.connect(`tcp://127.0.0.1:${controlPort}`);
    this.iopub.connect(`tcp://127.0.0.1:${iopubPort}`);
    this.iopub.subscribe();
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        for (const c of this.collectors.values()) c.wake();
        resolve();
      });
    });
    child.stderr?.on("data", (d: Buffer) => this.procStderr.push(d.toString("utf8")));
    child.stdout?.on("data", (d: Buffer) => this.procStderr.push(d.toString("utf8")));
    void this.readLoop(this.shell, (m) => this.onShell(m));
    void this.readLoop(this.control, (m) => this.onShell(m));
    void this.readLoop(this.iopub, (m) => this.onIopub(m));
  }

  /** Launches a kernel process and waits until it answers kernel_info on shell and publishes on iopub. */
  static async start(opts: KernelStartOptions = {}): Promise<KernelClient> {
    installExitHook();
    const spec = opts.spec ?? findKernelSpec(opts.kernelName ?? "tslab");
    const ports = await freePorts(5);
    const key = randomBytes(32).toString("hex");
    const connectionFile = path.join(os.tmpdir(), `metalab-kernel-${randomBytes(8).toString("hex")}.json`);
    const [shell_port, iopub_port, stdin_port, control_port, hb_port] = ports;
    fs.writeFileSync(
      connectionFile,
      JSON.stringify({
        transport: "tcp",
        ip: "127.0.0.1",
        shell_port,
        iopub_port,
        stdin_port,
        control_port,
        hb_port,
        key,
        signature_scheme: "hmac-sha256",
        kernel_name: spec.name,
      }),
      { mode: 0o600 },
    );
    if (opts.uid !== undefined) fs.chownSync(connectionFile, opts.uid, opts.gid ?? opts.uid);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, spec.env, opts.env ?? {});
    if (opts.memoryMb !== undefined) {
      env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --max-old-space-size=${Math.round(opts.memoryMb)}`.trim();
    }
    let argv = spec.argv.map((a) => a.replace("{connection_file}", connectionFile));
    if (opts.maxFileBytes !== undefined) {
      // prlimit sets the limits on itself (after the uid switch, so no privilege is needed) and execs the kernel.
      if (!hasPrlimit()) {
        fs.rmSync(connectionFile, { force: true });
        throw new Error("limiting file sizes needs util-linux's `prlimit` on PATH; install it or turn the limit off (`--max-file-mb 0`).");
      }
      const n = Math.round(opts.maxFileBytes);
      argv = ["prlimit", `--fsize=${n}:${n}`, "--core=0:0", "--", ...argv];
    }
    const [command, ...args] = argv;
    if (command === undefined) {
      fs.rmSync(connectionFile, { force: true });
      throw new Error(`kernelspec "${spec.name}" (${spec.source}) has an empty argv; fix its kernel.json.`);
    }
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // Own process group, so a kill reaches anything the kernel spawned.
      uid: opts.uid,
      gid: opts.uid !== undefined ? opts.gid ?? opts.uid : undefined,
    });
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const client = new KernelClient(spec, child, key, connectionFile, ports);
    live.add(client);
    try {
      await Promise.race([
        client.waitReady(opts.startTimeoutMs ?? 90_000),
        spawnError.then((e) => {
          throw new Error(`could not launch kernel "${spec.name}" (${argv.join(" ")}): ${e.message}`);
        }),
      ]);
    } catch (e) {
      await client.shutdown();
      throw e;
    }
    return client;
  }

  /** True once the kernel process has exited. */
  get dead(): boolean {
    return this.exitInfo !== null;
  }

  /** The kernel process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** A one-line account of how the kernel died, with the tail of its own stderr. */
  deathReport(): string {
    const e = this.exitInfo;
    const how = e === null ? "is still running" : e.signal !== null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
    const tail = this.procStderr.toString().trim();
    const oom = /heap out of memory|Allocation failed/i.test(tail) ? " (out of memory)" : "";
    const lines = tail.split("\n").filter((l) => l.trim() !== "");
    const fatal = lines.find((l) => /FATAL ERROR|Fatal error/.test(l));
    const lastLines = fatal ?? lines.slice(-3).join(" | ");
    return `kernel process ${how}${oom}${lastLines ? `; its stderr ended: ${lastLines.slice(0, 500)}` : ""}`;
  }

  private async readLoop(sock: Zmq.Dealer | Zmq.Subscriber, handle: (m: JupyterMessage) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(frames, this.key);
        } catch {
          continue; // Unsigned or malformed frames are not from our kernel; drop them.
        }
        handle(msg);
      }
    } catch {
      // Socket closed.
    }
  }

  private send(sock: Zmq.Dealer, msg: JupyterMessage): Promise<void> {
    const frames = encodeMessage(msg, this.key);
    const next = this.sendChain.then(() => sock.send(frames));
    this.sendChain = next.catch(() => undefined);
    return next;
  }

  private onShell(m: JupyterMessage): void {
    const parent = m.parent_header.msg_id;
    if (parent === undefined) return;
    const c = this.collectors.get(parent);
    if (c !== undefined && m.header.msg_type === "execute_reply") {
      c.reply = m.content;
      c.wake();
    }
    this.shellWaiters.get(parent)?.(m);
  }

  private onIopub(m: JupyterMessage): void {
    const parent = m.parent_header.msg_id;
    if (parent === undefined) return;
    this.iopubWaiters.get(parent)?.(m);
    const c = this.collectors.get(parent);
    if (c === undefined) return;
    const t = m.header.msg_type;
    const ct = m.content;
    if (t === "status") {
      if (ct.execution_state === "idle") {
        c.idle = true;
        c.wake();
      }
      return;
    }
    if (t === "clear_output") {
      if (ct.wait === true) c.clearPending = true;
      else c.outputs.length = 0;
      return;
    }
    if (t === "update_display_data") {
      const id = bundle(ct.transient).display_id;
      for (const o of c.outputs) {
        if ((o.output_type === "display_data" || o.output_type === "execute_result") && this.displayIds.get(o) === id) {
          o.data = bundle(ct.data);
        }
      }
      return;
    }
    let out: Output | null = null;
    if (t === "stream") {
      const name = ct.name === "stderr" ? "stderr" : "stdout";
      const text = str(ct.text);
      if (name === "stderr") c.stderr += text;
      out = { output_type: "stream", name, text };
    } else if (t === "display_data") {
      out = { output_type: "display_data", data: bundle(ct.data), metadata: bundle(ct.metadata) };
      const id = bundle(ct.transient).display_id;
      if (typeof id === "string") this.displayIds.set(out, id);
    } else if (t === "execute_result") {
      const count = typeof ct.execution_count === "number" ? ct.execution_count : null;
      out = { output_type: "execute_result", execution_count: count, data: bundle(ct.data), metadata: bundle(ct.metadata) };
    } else if (t === "error") {
      out = {
        output_type: "error",
        ename: str(ct.ename),
        evalue: str(ct.evalue),
        traceback: Array.isArray(ct.traceback) ? ct.traceback.map(String) : [],
      };
    }
    if (out === null) return;
    if (c.clearPending) {
      c.outputs.length = 0;
      c.clearPending = false;
    }
    this.appendCapped(c, out);
  }

  private appendCapped(c: Collector, out: Output): void {
    if (c.truncated) return;
    const size = JSON.stringify(out).length;
    if (c.bytes + size > c.maxBytes) {
      c.truncated = true;
      let kept = "";
      if (out.output_type === "stream") kept = str(out.text).slice(0, Math.max(0, c.maxBytes - c.bytes));
      this.mergeStream(c.outputs, {
        output_type: "stream",
        name: "stderr",
        text: `${kept}\n[metalab: output truncated at ${c.maxBytes} bytes; further output of this cell was dropped]\n`,
      });
      return;
    }
    c.bytes += size;
    if (out.output_type === "stream") this.mergeStream(c.outputs, out);
    else c.outputs.push(out);
  }

  private mergeStream(outputs: Output[], out: Output & { output_type: "stream" }): void {
    const last = outputs[outputs.length - 1];
    if (last !== undefined && last.output_type === "stream" && last.name === out.name) {
      last.text = str(last.text) + str(out.text);
    } else {
      outputs.push(out);
    }
  }

  /** Sends a request on shell and waits for its reply (or throws after `timeoutMs`). */
  private async request(
    msgType: string,
    content: Record<string, unknown>,
    timeoutMs: number,
    channel: "shell" | "control" = "shell",
  ): Promise<JupyterMessage> {
    const msg = newMessage(msgType, content, this.session);
    const id = msg.header.msg_id;
    try {
      return await new Promise<JupyterMessage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${msgType} reply within ${timeoutMs} ms`)), timeoutMs);
        this.shellWaiters.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        this.send(channel === "shell" ? this.shell : this.control, msg).catch(reject);
        void this.exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`the ${this.deathReport()}`));
        });
      });
    } finally {
      this.shellWaiters.delete(id);
    }
  }

  /**
   * Waits until iopub has delivered everything the kernel published before now: sends kernel_info_request and waits
   * for its "busy" status on iopub (iopub is one ordered stream). Returns false if the kernel does not answer.
   */
  async barrier(timeoutMs = 5000): Promise<boolean> {
    if (this.dead) return false;
    const msg = newMessage("kernel_info_request", {}, this.session);
    const id = msg.header.msg_id;
    try {
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.iopubWaiters.set(id, () => {
          clearTimeout(timer);
          resolve(true);
        });
        this.send(this.shell, msg).catch(() => resolve(false));
        void this.exited.then(() => resolve(false));
      });
    } finally {
      this.iopubWaiters.delete(id);
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // kernel_info on shell proves the kernel is up; a status on iopub proves our subscription is live
    // (a SUB socket misses messages published before it joined).
    while (Date.now() < deadline) {
      if (this.dead) throw new Error(`kernel "${this.spec.name}" failed to start: ${this.deathReport()}`);
      try {
        await this.request("kernel_info_request", {}, Math.min(3000, Math.max(1, deadline - Date.now())));
      } catch (e) {
        if (this.dead) throw new Error(`kernel "${this.spec.name}" failed to start: ${this.deathReport()}`);
        continue;
      }
      if (await this.barrier(1000)) return;
    }
    throw new Error(
      `kernel "${this.spec.name}" did not answer within ${timeoutMs} ms (${this.spec.argv.join(" ")}); ` +
        `check that it starts by hand, or raise the start timeout. ${this.deathReport()}`,
    );
  }

  /**
   * Executes code and collects its outputs; never throws for kernel-side failures (see `status`).
   * After an error, tslab aborts every request that arrives within 200 ms, so this waits that out first.
   */
  async execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    const settle = this.lastErrorAt + 300 - Date.now();
    if (settle > 0) await sleep(settle);
    let r = await this.executeOnce(code, opts);
    if (r.status === "abort" && r.outputs.length === 0 && !this.dead) {
      await sleep(300);
      r = await this.executeOnce(code, opts);
    }
    if (r.status !== "ok") this.lastErrorAt = Date.now();
    return r;
  }

  private async executeOnce(code: string, opts: ExecuteOptions): Promise<ExecuteOutcome> {
    const t0 = Date.now();
    const msg = newMessage(
      "execute_request",
      { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false },
      this.session,
    );
    const id = msg.header.msg_id;
    let wakeFn: () => void = () => undefined;
    const c: Collector = {
      outputs: [],
      stderr: "",
      bytes: 0,
      maxBytes: opts.maxOutputBytes ?? 1_000_000,
      truncated: false,
      reply: null,
      idle: false,
      clearPending: false,
      wake: () => wakeFn(),
    };
    this.collectors.set(id, c);
    const outcome = (status: ExecuteOutcome["status"], interrupted = false): ExecuteOutcome => {
      const reply = c.reply;
      const count = reply !== null && typeof reply.execution_count === "number" ? reply.execution_count : null;
      const res: ExecuteOutcome = {
        status,
        executionCount: count,
        outputs: c.outputs,
        stderr: c.stderr,
        outputTruncated: c.truncated,
        durationMs: Date.now() - t0,
        interrupted,
      };
      if (reply !== null && reply.status === "error" && (reply.ename !== undefined || reply.evalue !== undefined)) {
        res.replyError = {
          ename: str(reply.ename),
          evalue: str(reply.evalue),
          traceback: Array.isArray(reply.traceback) ? reply.traceback.map(String) : [],
        };
      }
      return res;
    };
    if (this.dead) return outcome("died");
    // Resolves when reply + idle arrived, the kernel died, or the deadline passed. tslab's PUB socket drops messages
    // past its high-water mark (1000) when a cell floods output, which can swallow "idle": so once the reply is in,
    // wait at most `IDLE_GRACE_MS` more for idle and then rely on the barrier.
    let lostIdle = false;
    const waitDone = (ms: number): Promise<"done" | "died" | "timeout"> =>
      new Promise((resolve) => {
        let grace: NodeJS.Timeout | undefined;
        const finish = (v: "done" | "died" | "timeout"): void => {
          clearTimeout(timer);
          clearTimeout(grace);
          wakeFn = () => undefined;
          resolve(v);
        };
        const check = (): void => {
          if (c.reply !== null && c.idle) finish("done");
          else if (this.dead) finish("died");
          else if (c.reply !== null && grace === undefined) {
            grace = setTimeout(() => {
              lostIdle = true;
              finish("done");
            }, IDLE_GRACE_MS);
          }
        };
        const timer = setTimeout(() => finish("timeout"), ms);
        wakeFn = check;
        check();
      });
    await this.send(this.shell, msg).catch(() => undefined);
    const limit = opts.timeoutMs ?? 24 * 3600_000;
    let r = await waitDone(limit);
    if (r === "timeout") {
      this.interrupt();
      r = await waitDone(opts.interruptGraceMs ?? 3000);
      if (r === "done") {
        await this.barrier();
        return outcome("timeout", true);
      }
      await this.kill();
      return outcome("timeout", false);
    }
    if (lostIdle && !c.truncated) {
      this.appendCapped(c, { output_type: "stream", name: "stderr", text: "[metalab: the kernel dropped some output of this cell (too many messages at once)]\n" });
    }
    if (r === "died") return outcome("died");
    await this.barrier();
    const status = c.reply?.status;
    return outcome(status === "ok" ? "ok" : status === "abort" || status === "aborted" ? "abort" : "error");
  }

  /** Sends SIGINT (tslab's interrupt_mode is "signal": it breaks synchronous loops and rejects pending awaits). */
  interrupt(): void {
    if (this.dead || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, "SIGINT");
    } catch {
      // Already gone.
    }
  }

  /** Kills the kernel's process group immediately (synchronous; used on exit). */
  killNow(): void {
    if (this.dead || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }

  /** Kills the kernel and waits for the process to exit. */
  async kill(): Promise<void> {
    this.killNow();
    await Promise.race([this.exited, sleep(5000)]);
  }

  /** Asks the kernel to shut down, kills it if it lingers, and releases sockets and the connection file. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.dead) {
      await this.send(this.control, newMessage("shutdown_request", { restart: false }, this.session)).catch(() => undefined);
      await Promise.race([this.exited, sleep(graceMs)]);
      if (!this.dead) await this.kill();
    }
    live.delete(this);
    for (const s of [this.shell, this.control, this.iopub]) {
      try {
        s.close();
      } catch {
        // Already closed.
      }
    }
    fs.rmSync(this.connectionFile, { force: true });
  }
}
