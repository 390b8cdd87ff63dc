/**
 * A Jupyter kernel client that speaks the messaging protocol itself over zeromq (the copy tslab depends on),
 * so running notebooks needs no Python. One `KernelClient` owns one kernel process. The parts: `kernel-process`
 * launches the process, `kernel-channels` holds the sockets, `output-collector` turns messages into outputs.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html
 */
import { randomUUID } from "node:crypto";
import { checkConfig, checkFunction, checkNonNegative, checkObject, checkString } from "../core/validate";
import { findKernelSpec, type KernelSpec } from "../jupyter/kernelspec";
import { PROGRESS_TRANSIENT_KEY, type ProgressTransient } from "../jupyter/mime";
import { newMessage, type JupyterMessage } from "../jupyter/wire";
import type { Output } from "./ipynb";
import { KernelChannels, type ClientChannel } from "./kernel-channels";
import { checkLaunchFields, LAUNCH_OPTION_KEYS, launchKernel, type KernelLaunchOptions, type KernelProcess } from "./kernel-process";
import { OutputCollector } from "./output-collector";

/** Options for starting a kernel: the launch options, with the spec found by name when not given. */
export interface KernelStartOptions extends Omit<KernelLaunchOptions, "spec"> {
  /** Kernel name (kernelspec folder name); default "tslab". */
  readonly kernelName?: string;
  /** A resolved spec; overrides `kernelName`. */
  readonly spec?: KernelSpec;
  /** How long to wait for the kernel to answer kernel_info; tslab warms its compiler for several seconds first. */
  readonly startTimeoutMs?: number;
}

/** Options for one execution. */
export interface ExecuteOptions {
  /** Wall-clock limit; on expiry the kernel is interrupted (SIGINT), then killed if it does not answer. */
  timeoutMs?: number;
  /** How long to wait after the interrupt before killing the kernel. */
  interruptGraceMs?: number;
  /** Cap on the bytes of output text kept for this execution; the rest is dropped with a note. */
  maxOutputBytes?: number;
  /** Called with each state of a progress bar the cell shows (metalab's `progressBar`, `trainLive`, ...). */
  onProgress?: (progress: CellProgress) => void;
}

/** The keys of `KernelStartOptions`: the launch fields (without `spec`'s requirement) and the client's own. */
export const KERNEL_START_OPTION_KEYS: { readonly [K in keyof KernelStartOptions]-?: true } = {
  ...LAUNCH_OPTION_KEYS,
  kernelName: true,
  startTimeoutMs: true,
};

/** Checks `KernelClient.start`'s options: unknown keys are errors listing the known ones, the client's fields and every launch field. Returns them unchanged. */
export function kernelStartOptions(o: KernelStartOptions): KernelStartOptions {
  const WHO = "KernelClient.start";
  checkConfig(WHO, o, KERNEL_START_OPTION_KEYS, { hint: "Pass e.g. { kernelName: \"tslab\" }.", keysWho: `${WHO} options` });
  if (o.kernelName !== undefined) checkString(WHO, "kernelName", o.kernelName, "A kernelspec folder name, e.g. \"tslab\".");
  if (o.spec !== undefined) checkObject(WHO, "spec", o.spec, "Pass a resolved kernel spec (findKernelSpec), or leave it out and give kernelName.");
  if (o.startTimeoutMs !== undefined) checkNonNegative(WHO, "startTimeoutMs", o.startTimeoutMs, "Milliseconds, e.g. 90000; leave it out for the default.");
  checkLaunchFields(WHO, o);
  return o;
}

/** The launch fields of `o`, without the client's own (`kernelName`, `startTimeoutMs`), for `launchKernel`. */
export function pickLaunchOptions(o: KernelStartOptions): Omit<KernelLaunchOptions, "spec"> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(LAUNCH_OPTION_KEYS) as (keyof KernelLaunchOptions)[]) if (k !== "spec" && k in o) out[k] = o[k];
  return out as Omit<KernelLaunchOptions, "spec">;
}

/** The keys of `ExecuteOptions`: any other key is a typo and an error. */
export const EXECUTE_OPTION_KEYS: { readonly [K in keyof ExecuteOptions]-?: true } = {
  timeoutMs: true,
  interruptGraceMs: true,
  maxOutputBytes: true,
  onProgress: true,
};

/** Checks `KernelClient.execute`'s options: unknown keys, times and `maxOutputBytes` numbers >= 0 (as `runNotebook` accepts them), `onProgress` a function. Returns them unchanged. */
export function executeOptions(o: ExecuteOptions): ExecuteOptions {
  const WHO = "KernelClient.execute";
  checkConfig(WHO, o, EXECUTE_OPTION_KEYS, { hint: "Pass e.g. { timeoutMs: 30000 }.", keysWho: `${WHO} options` });
  for (const k of ["timeoutMs", "interruptGraceMs"] as const) {
    const v = o[k];
    if (v !== undefined) checkNonNegative(WHO, k, v, "Milliseconds; leave it out for the default.");
  }
  if (o.maxOutputBytes !== undefined) checkNonNegative(WHO, "maxOutputBytes", o.maxOutputBytes, "Bytes of output kept, e.g. 1000000; leave it out for the default.");
  if (o.onProgress !== undefined) checkFunction(WHO, "onProgress", o.onProgress, "Pass (progress) => void, or leave it out.");
  return o;
}

/** One state of a progress bar inside a running cell. */
export interface CellProgress extends ProgressTransient {
  /** The bar as one line of text, as the notebook shows it. */
  readonly text: string;
}

/** The progress bar state a display message carries, if it is one. */
export function progressOf(msgType: string, content: Record<string, unknown>): CellProgress | null {
  if (msgType !== "display_data" && msgType !== "update_display_data") return null;
  const transient = content.transient;
  const data = content.data;
  if (typeof transient !== "object" || transient === null || typeof data !== "object" || data === null) return null;
  const p = (transient as Record<string, unknown>)[PROGRESS_TRANSIENT_KEY];
  const text = (data as Record<string, unknown>)["text/plain"];
  if (typeof p !== "object" || p === null || typeof text !== "string") return null;
  const { label, done, total, final } = p as Record<string, unknown>;
  if (typeof done !== "number" || typeof total !== "number") return null;
  return { label: typeof label === "string" ? label : "", done, total, final: final === true, text };
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

/** How long to wait for iopub "idle" after execute_reply before assuming it was dropped. */
const IDLE_GRACE_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One execution in flight: its collector and the wake-up of whoever waits on it. */
interface Pending {
  readonly collector: OutputCollector;
  wake: () => void;
  readonly onProgress?: (progress: CellProgress) => void;
}

/** What a kernel prints when another process took one of its ports between the pick and the bind. */
const PORT_IN_USE = /Address already in use|EADDRINUSE/;
/** Launch attempts with fresh ports before a port conflict is reported. */
const PORT_ATTEMPTS = 5;

/** A running kernel with shell, control and iopub channels. */
export class KernelClient {
  readonly spec: KernelSpec;
  private readonly session = randomUUID();
  private readonly channels: KernelChannels;
  /** Executions by request id; kept after the reply so late outputs still land in their cell. */
  private readonly pending = new Map<string, Pending>();
  private readonly shellWaiters = new Map<string, (m: JupyterMessage) => void>();
  private readonly iopubWaiters = new Map<string, (m: JupyterMessage) => void>();
  private closed = false;
  /** When the last error reply arrived: tslab cancels requests that arrive within 200 ms of an error. */
  private lastErrorAt = 0;

  private constructor(private readonly proc: KernelProcess) {
    this.spec = proc.spec;
    this.channels = new KernelChannels(proc.connection, (channel, m) => this.onMessage(channel, m));
    void proc.exited.then(() => {
      for (const p of this.pending.values()) p.wake();
    });
  }

  /** Launches a kernel process and waits until it answers kernel_info on shell and publishes on iopub. */
  static async start(opts: KernelStartOptions = {}): Promise<KernelClient> {
    kernelStartOptions(opts);
    const spec = opts.spec ?? findKernelSpec(opts.kernelName ?? "tslab");
    const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
    for (let attempt = 1; ; attempt++) {
      const proc = await launchKernel({ ...pickLaunchOptions(opts), spec });
      const client = new KernelClient(proc);
      try {
        await Promise.race([
          client.waitReady(Math.max(1000, deadline - Date.now())),
          proc.spawnError.then((e) => {
            throw new Error(`could not launch kernel "${spec.name}" (${proc.argv.join(" ")}): ${e.message}`);
          }),
        ]);
        return client;
      } catch (e) {
        await client.shutdown();
        // Free TCP ports are picked, released, then bound by the kernel (as Jupyter does), so another process can
        // take one in between; a kernel that lost that race gets fresh ports.
        const lostPortRace = (opts.transport ?? "tcp") === "tcp" && PORT_IN_USE.test(e instanceof Error ? e.message : String(e));
        if (!lostPortRace || attempt >= PORT_ATTEMPTS || Date.now() >= deadline) throw e;
      }
    }
  }

  /** True once the kernel process has exited. */
  get dead(): boolean {
    return this.proc.dead;
  }

  /** The kernel process id. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** A one-line account of how the kernel died, with the tail of its own stderr. */
  deathReport(): string {
    return this.proc.deathReport();
  }

  private get exited(): Promise<void> {
    return this.proc.exited;
  }

  private send(channel: "shell" | "control", msg: JupyterMessage): Promise<void> {
    return this.channels.send(channel, msg);
  }

  private onMessage(channel: ClientChannel, m: JupyterMessage): void {
    const parent = m.parent_header.msg_id;
    if (parent === undefined) return;
    if (channel === "iopub") {
      this.iopubWaiters.get(parent)?.(m);
      const p = this.pending.get(parent);
      if (p === undefined) return;
      p.collector.onIopub(m.header.msg_type, m.content);
      if (p.onProgress !== undefined) {
        const progress = progressOf(m.header.msg_type, m.content);
        if (progress !== null) p.onProgress(progress);
      }
      if (p.collector.idle && m.header.msg_type === "status") p.wake();
      return;
    }
    const p = this.pending.get(parent);
    if (p !== undefined && m.header.msg_type === "execute_reply") {
      p.collector.onReply(m.content);
      p.wake();
    }
    this.shellWaiters.get(parent)?.(m);
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
        this.send(channel, msg).catch(reject);
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
        this.send("shell", msg).catch(() => resolve(false));
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
    // The barrier's wait doubles from 100 ms to 1 s: a subscription that joined late costs one short retry, not 1 s.
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (this.dead) throw new Error(`kernel "${this.spec.name}" failed to start: ${this.deathReport()}`);
      try {
        await this.request("kernel_info_request", {}, Math.min(3000, Math.max(1, deadline - Date.now())));
      } catch (e) {
        if (this.dead) throw new Error(`kernel "${this.spec.name}" failed to start: ${this.deathReport()}`);
        continue;
      }
      if (await this.barrier(Math.min(1000, 100 * 2 ** attempt))) return;
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
    executeOptions(opts);
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
    const c = new OutputCollector(opts.maxOutputBytes ?? 1_000_000);
    const pending: Pending = { collector: c, wake: () => undefined, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
    this.pending.set(id, pending);
    const outcome = (status: ExecuteOutcome["status"], interrupted = false): ExecuteOutcome => {
      const res: ExecuteOutcome = {
        status,
        executionCount: c.executionCount(),
        outputs: c.outputs,
        stderr: c.stderr,
        outputTruncated: c.truncated,
        durationMs: Date.now() - t0,
        interrupted,
      };
      const replyError = c.replyError();
      if (replyError !== undefined) res.replyError = replyError;
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
          pending.wake = () => undefined;
          resolve(v);
        };
        const check = (): void => {
          if (c.done) finish("done");
          else if (this.dead) finish("died");
          else if (c.reply !== null && grace === undefined) {
            grace = setTimeout(() => {
              lostIdle = true;
              finish("done");
            }, IDLE_GRACE_MS);
          }
        };
        const timer = setTimeout(() => finish("timeout"), ms);
        pending.wake = check;
        check();
      });
    await this.send("shell", msg).catch(() => undefined);
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
      c.note("[metalab: the kernel dropped some output of this cell (too many messages at once)]\n");
    }
    if (r === "died") return outcome("died");
    await this.barrier();
    const status = c.reply?.status;
    return outcome(status === "ok" ? "ok" : status === "abort" || status === "aborted" ? "abort" : "error");
  }

  /** Sends SIGINT (tslab's interrupt_mode is "signal": it breaks synchronous loops and rejects pending awaits). */
  interrupt(): void {
    this.proc.interrupt();
  }

  /** Kills the kernel's process group immediately (synchronous). */
  killNow(): void {
    this.proc.killNow();
  }

  /** Kills the kernel and waits for the process to exit. */
  async kill(): Promise<void> {
    await this.proc.kill();
  }

  /** Asks the kernel to shut down, kills it if it lingers, and releases sockets and the runtime folder. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.dead) {
      await this.send("control", newMessage("shutdown_request", { restart: false }, this.session)).catch(() => undefined);
      await Promise.race([this.exited, sleep(graceMs)]);
      if (!this.dead) await this.kill();
    }
    this.channels.close();
    this.proc.release();
  }
}
