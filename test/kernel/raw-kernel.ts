/**
 * Test helper: starts metalab's built kernel launcher (dist/src/kernel/launch.js, rebuilt when src/ is newer) and
 * talks to it over raw ZeroMQ, recording every iopub message in arrival order, so tests can check message order.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type * as Zmq from "zeromq";
import { loadZmq } from "../../src/kernel/server";
import { decodeMessage, encodeMessage, newMessage, type JupyterMessage } from "../../src/jupyter/wire";

const ROOT = path.resolve(__dirname, "..", "..");
export const LAUNCHER = path.join(ROOT, "dist", "src", "kernel", "launch.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  return !fs.existsSync(LAUNCHER) || fs.statSync(LAUNCHER).mtimeMs < newestMtime(path.join(ROOT, "src"));
}

const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Path of the launcher, rebuilt first with `npm run build` if any src/ file is newer than it, so tests never run a
 * stale build. A lock folder keeps test files that run in parallel from building at the same time.
 */
export function builtLauncher(): string {
  const lock = path.join(ROOT, "dist", ".test-build-lock");
  const deadline = Date.now() + 300_000;
  while (isStale()) {
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    let mine = false;
    try {
      fs.mkdirSync(lock);
      mine = true;
    } catch {
      // Another test file is building: wait for it, then look again.
    }
    if (!mine) {
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}; remove it if no build is running`);
      sleepSync(500);
      continue;
    }
    try {
      const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`npm run build failed: ${r.stdout}${r.stderr}`);
    } finally {
      fs.rmdirSync(lock);
    }
  }
  return LAUNCHER;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** One iopub message as recorded. */
export interface Recorded {
  readonly type: string;
  readonly parent: string | undefined;
  readonly content: Record<string, unknown>;
}

/** A kernel process and raw shell/control/iopub sockets to it. */
export class RawKernel {
  readonly iopubLog: Recorded[] = [];
  private readonly replies = new Map<string, (m: JupyterMessage) => void>();
  private readonly early = new Map<string, JupyterMessage>();
  private readonly session = randomUUID();
  private stderrText = "";
  private exit: { code: number | null; signal: string | null } | null = null;

  private constructor(
    readonly child: ChildProcess,
    private readonly key: string,
    private readonly shell: Zmq.Dealer,
    private readonly control: Zmq.Dealer,
    private readonly iopub: Zmq.Subscriber,
    private readonly connectionFile: string,
  ) {
    child.stderr?.on("data", (d: Buffer) => (this.stderrText += d.toString()));
    child.stdout?.on("data", (d: Buffer) => (this.stderrText += d.toString()));
    child.once("exit", (code, signal) => (this.exit = { code, signal }));
    const onReply = (m: JupyterMessage): void => {
      const id = m.parent_header.msg_id ?? "";
      const waiter = this.replies.get(id);
      if (waiter) waiter(m);
      else this.early.set(id, m); // arrived before anyone asked for it
    };
    void this.read(shell, onReply);
    void this.read(control, onReply);
    void this.read(iopub, (m) => this.iopubLog.push({ type: m.header.msg_type, parent: m.parent_header.msg_id, content: m.content }));
  }

  /** Starts a kernel and waits until it answers kernel_info and publishes on iopub. */
  static async start(options: { cwd?: string; env?: Record<string, string>; argv?: readonly string[] } = {}): Promise<RawKernel> {
    const [shell_port, iopub_port, stdin_port, control_port, hb_port] = await freePorts(5);
    const key = randomBytes(16).toString("hex");
    const connectionFile = path.join(os.tmpdir(), `metalab-test-kernel-${randomBytes(6).toString("hex")}.json`);
    fs.writeFileSync(connectionFile, JSON.stringify({ transport: "tcp", ip: "127.0.0.1", shell_port, iopub_port, stdin_port, control_port, hb_port, key, signature_scheme: "hmac-sha256" }));
    const argv = options.argv ?? [process.execPath, builtLauncher(), "--config-path", "{connection_file}"];
    const [cmd, ...args] = argv.map((a) => a.replace("{connection_file}", connectionFile));
    const child = spawn(cmd!, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const zmq = loadZmq();
    const shell = new zmq.Dealer({ linger: 0 });
    const control = new zmq.Dealer({ linger: 0 });
    const iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 });
    shell.connect(`tcp://127.0.0.1:${shell_port}`);
    control.connect(`tcp://127.0.0.1:${control_port}`);
    iopub.connect(`tcp://127.0.0.1:${iopub_port}`);
    iopub.subscribe();
    const k = new RawKernel(child, key, shell, control, iopub, connectionFile);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (k.exit) throw new Error(`kernel exited at start: ${k.stderr}`);
      if (Date.now() > deadline) throw new Error(`kernel did not start: ${k.stderr}`);
      try {
        const id = k.send("kernel_info_request", {});
        await k.reply(id, 3000);
        // A status on iopub proves the subscription is live (SUB misses what was published before it joined).
        const seen = await k.waitFor((m) => m.parent === id && m.type === "status", 1000).then(() => true, () => false);
        if (seen) break;
      } catch {
        // Not up yet.
      }
    }
    k.iopubLog.length = 0;
    return k;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Exit code and signal once the process has exited, else null. */
  get exited(): { code: number | null; signal: string | null } | null {
    return this.exit;
  }

  private async read(sock: AsyncIterable<Buffer[]>, on: (m: JupyterMessage) => void): Promise<void> {
    try {
      for await (const frames of sock) on(decodeMessage(frames, this.key));
    } catch {
      // Closed.
    }
  }

  private sendChain: Promise<void> = Promise.resolve();

  /** Sends a request on shell (or control); returns its msg_id. */
  send(type: string, content: Record<string, unknown>, channel: "shell" | "control" = "shell"): string {
    const msg = newMessage(type, content, this.session);
    const sock = channel === "shell" ? this.shell : this.control;
    const frames = encodeMessage(msg, this.key);
    this.sendChain = this.sendChain.then(() => sock.send(frames));
    return msg.header.msg_id;
  }

  /** Sends an execute_request; returns its msg_id. */
  execute(code: string, extra: Record<string, unknown> = {}): string {
    return this.send("execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...extra });
  }

  /** Waits for the reply to `id` on shell or control; rejects if the kernel exits first. */
  reply(id: string, timeoutMs = 120_000): Promise<JupyterMessage> {
    const early = this.early.get(id);
    if (early !== undefined) {
      this.early.delete(id);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(watch);
        this.replies.delete(id);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no reply to ${id} within ${timeoutMs} ms; kernel stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const watch = setInterval(() => {
        if (this.exit === null) return;
        done();
        reject(new Error(`the kernel exited (${JSON.stringify(this.exit)}) before replying; its stderr: ${this.stderr.slice(-2000)}`));
      }, 50);
      this.replies.set(id, (m) => {
        done();
        resolve(m);
      });
    });
  }

  /** Waits until an iopub message matching `pred` has been recorded. */
  async waitFor(pred: (m: Recorded) => boolean, timeoutMs = 120_000): Promise<Recorded> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.iopubLog.find(pred);
      if (hit) return hit;
      if (this.exit) throw new Error(`kernel exited (${JSON.stringify(this.exit)}): ${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for an iopub message; kernel stderr: ${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits for the idle status of request `id`. */
  idle(id: string, timeoutMs = 120_000): Promise<Recorded> {
    return this.waitFor((m) => m.parent === id && m.type === "status" && m.content.execution_state === "idle", timeoutMs);
  }

  /** iopub messages of one request, in arrival order. */
  messagesOf(id: string): Recorded[] {
    return this.iopubLog.filter((m) => m.parent === id);
  }

  /** Asks the kernel to shut down and releases the sockets; kills it if it lingers. */
  async close(): Promise<void> {
    if (!this.exit) {
      this.send("shutdown_request", { restart: false }, "control");
      await Promise.race([new Promise((r) => this.child.once("exit", r)), new Promise((r) => setTimeout(r, 3000))]);
      if (!this.exit) this.child.kill("SIGKILL");
    }
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    fs.rmSync(this.connectionFile, { force: true });
  }
}
