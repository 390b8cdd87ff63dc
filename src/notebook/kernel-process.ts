/**
 * Launching a kernel process: a private runtime folder with the connection file (and the ipc sockets), the command
 * from the kernelspec with limits applied, an optional caller wrapper (e.g. a `bwrap` sandbox), and the process's
 * life afterwards (interrupt, kill, how it died). No zeromq here: `KernelChannels` talks to the sockets.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkConfig, checkFunction, checkInteger, checkNonNegative, checkObject, checkString } from "../core/validate";
import { newConnectionInfo, type ConnectionInfo, type Transport } from "../jupyter/connection";
import type { KernelSpec } from "../jupyter/kernelspec";

/** A command to run: what the kernelspec says, after limits; what a `KernelWrapper` receives and returns. */
export interface KernelCommand {
  readonly argv: readonly string[];
  /** The whole environment of the process (not a delta). */
  readonly env: Readonly<Record<string, string>>;
  /** The process that gets SIGINT on interrupt when it is not the launched one (a sandbox whose parent does not forward it). */
  readonly interruptPid?: () => number | undefined;
}

/** What a wrapper may need to know to sandbox the kernel. */
export interface LaunchContext {
  readonly spec: KernelSpec;
  readonly connection: ConnectionInfo;
  /** The connection file the kernel reads (inside `runtimeDir`). */
  readonly connectionFile: string;
  /**
   * Private folder (mode 0700, owned by `uid` when set) holding the connection file and, for ipc, the sockets.
   * A sandbox must make it visible at the same path (e.g. `bwrap --bind DIR DIR`).
   */
  readonly runtimeDir: string;
  /** Working directory the kernel is started in. */
  readonly cwd: string | undefined;
}

/** Rewrites the kernel command, e.g. `(c) => ({ ...c, argv: ["bwrap", ...flags, "--", ...c.argv] })`. */
export type KernelWrapper = (command: KernelCommand, context: LaunchContext) => KernelCommand;

/** How to launch one kernel process. */
export interface KernelLaunchOptions {
  readonly spec: KernelSpec;
  /** Working directory of the kernel process. */
  readonly cwd?: string;
  /** Extra environment variables for the kernel process. */
  readonly env?: Readonly<Record<string, string>>;
  /** V8 old-space limit in MB for Node-based kernels (NODE_OPTIONS=--max-old-space-size); unset = Node's default. */
  readonly memoryMb?: number;
  /** Run the kernel as this user and group (needs root): student code then cannot read the grader's files. */
  readonly uid?: number;
  readonly gid?: number;
  /** Largest file the kernel may write, in bytes (RLIMIT_FSIZE: launched through `prlimit`, which also disables core dumps). */
  readonly maxFileBytes?: number;
  /** Socket transport; default "tcp" on 127.0.0.1. "ipc" uses Unix sockets in the runtime folder (no network needed). */
  readonly transport?: Transport;
  /** Applied last to the command (after prlimit), so a sandbox wraps everything. */
  readonly wrap?: KernelWrapper;
}

/** The keys of `KernelLaunchOptions`: `KernelClient.start` hands on only these; any other key is an error. */
export const LAUNCH_OPTION_KEYS: { readonly [K in keyof KernelLaunchOptions]-?: true } = {
  spec: true,
  cwd: true,
  env: true,
  memoryMb: true,
  uid: true,
  gid: true,
  maxFileBytes: true,
  transport: true,
  wrap: true,
};

/** Checks the launch fields of `o` that are set (its keys are checked by the caller): paths, environment, limits, ids, transport, wrapper. */
export function checkLaunchFields(who: string, o: Partial<KernelLaunchOptions>): void {
  if (o.cwd !== undefined) checkString(who, "cwd", o.cwd, "Pass the folder the kernel starts in, or leave it out for this process's.");
  if (o.env !== undefined) {
    checkObject(who, "env", o.env, "Pass { NAME: \"value\" }.");
    for (const [k, v] of Object.entries(o.env)) if (typeof v !== "string") throw new Error(`${who} env.${k} must be a string, got ${String(v)}. Environment variables are strings: quote it.`);
  }
  // 0 is as runNotebook has always accepted it; above 0 it is a limit.
  if (o.memoryMb !== undefined) checkNonNegative(who, "memoryMb", o.memoryMb, "Megabytes of V8 heap, e.g. 2048; leave it out for Node's default.");
  if (o.maxFileBytes !== undefined) checkNonNegative(who, "maxFileBytes", o.maxFileBytes, "Bytes, e.g. 100000000; leave it out for no limit.");
  for (const k of ["uid", "gid"] as const) {
    const v = o[k];
    if (v !== undefined) checkInteger(who, k, v, 0, "A numeric user or group id.");
  }
  if (o.transport !== undefined && o.transport !== "tcp" && o.transport !== "ipc") {
    throw new Error(`${who}: transport must be "tcp" or "ipc", got ${JSON.stringify(o.transport)}. Use "ipc" where the kernel has no network (a sandbox).`);
  }
  if (o.wrap !== undefined) checkFunction(who, "wrap", o.wrap, "Pass (command, context) => command, or leave it out.");
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

/**
 * The command for `spec` (pure): `{connection_file}` substituted, the environment merged (process, spec, options),
 * the heap limit in NODE_OPTIONS, and `prlimit` in front when file sizes are limited.
 */
export function kernelCommand(
  spec: KernelSpec,
  connectionFile: string,
  opts: Pick<KernelLaunchOptions, "env" | "memoryMb" | "maxFileBytes">,
  baseEnv: NodeJS.ProcessEnv = process.env,
): KernelCommand {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  Object.assign(env, spec.env, opts.env ?? {});
  if (opts.memoryMb !== undefined) {
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --max-old-space-size=${Math.round(opts.memoryMb)}`.trim();
  }
  let argv = spec.argv.map((a) => a.replace("{connection_file}", connectionFile));
  if (opts.maxFileBytes !== undefined) {
    // prlimit sets the limits on itself (after the uid switch, so no privilege is needed) and execs the kernel.
    const n = Math.round(opts.maxFileBytes);
    argv = ["prlimit", `--fsize=${n}:${n}`, "--core=0:0", "--", ...argv];
  }
  return { argv, env };
}

const live = new Set<KernelProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Never leave kernels behind when the parent exits.
  process.on("exit", () => {
    for (const k of live) k.killNow();
  });
}

/** Starts the kernel process (it may still be warming up: wait for its sockets with `KernelClient`). */
export async function launchKernel(opts: KernelLaunchOptions): Promise<KernelProcess> {
  const WHO = "launchKernel";
  checkConfig(WHO, opts, LAUNCH_OPTION_KEYS, { hint: "Pass e.g. { spec: findKernelSpec(\"tslab\") }.", keysWho: `${WHO} options` });
  checkObject(WHO, "spec", opts.spec, "Pass a resolved kernel spec, e.g. findKernelSpec(\"tslab\").");
  checkLaunchFields(WHO, opts);
  const { spec } = opts;
  const transport = opts.transport ?? "tcp";
  if (opts.maxFileBytes !== undefined && !hasPrlimit()) {
    throw new Error("limiting file sizes needs util-linux's `prlimit` on PATH; install it or turn the limit off (`--max-file-mb 0`).");
  }
  installExitHook();
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-kernel-"));
  try {
    const connection = await newConnectionInfo({
      transport,
      ipcPrefix: path.join(runtimeDir, "kernel"),
      key: randomBytes(32).toString("hex"),
      kernelName: spec.name,
    });
    const connectionFile = path.join(runtimeDir, "connection.json");
    fs.writeFileSync(connectionFile, JSON.stringify(connection), { mode: 0o600 });
    if (opts.uid !== undefined) {
      const gid = opts.gid ?? opts.uid;
      fs.chownSync(runtimeDir, opts.uid, gid);
      fs.chownSync(connectionFile, opts.uid, gid);
    }
    const base = kernelCommand(spec, connectionFile, opts);
    const context: LaunchContext = { spec, connection, connectionFile, runtimeDir, cwd: opts.cwd };
    const command = opts.wrap ? opts.wrap(base, context) : base;
    const [file, ...args] = command.argv;
    if (file === undefined) throw new Error(`kernelspec "${spec.name}" (${spec.source}) has an empty argv; fix its kernel.json.`);
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...command.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // Own process group, so a kill reaches anything the kernel spawned.
      uid: opts.uid,
      gid: opts.uid !== undefined ? opts.gid ?? opts.uid : undefined,
    });
    const proc = new KernelProcess(spec, child, connection, connectionFile, runtimeDir, command.argv, command.interruptPid);
    live.add(proc);
    return proc;
  } catch (e) {
    fs.rmSync(runtimeDir, { recursive: true, force: true });
    throw e;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One running kernel process and its runtime folder. */
export class KernelProcess {
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Resolves with the error if the process could not be started (e.g. command not found); never rejects. */
  readonly spawnError: Promise<Error>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly output = new Tail(4000);

  /** Use `launchKernel`. */
  constructor(
    readonly spec: KernelSpec,
    private readonly child: ChildProcess,
    readonly connection: ConnectionInfo,
    readonly connectionFile: string,
    readonly runtimeDir: string,
    /** The command that was run (after wrapping). */
    readonly argv: readonly string[],
    private readonly interruptPid?: () => number | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve();
      });
    });
    this.spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    child.stderr?.on("data", (d: Buffer) => this.output.push(d.toString("utf8")));
    child.stdout?.on("data", (d: Buffer) => this.output.push(d.toString("utf8")));
  }

  /** True once the process has exited. */
  get dead(): boolean {
    return this.exitInfo !== null;
  }

  /** The process id (undefined if it never started). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** A one-line account of how the kernel died, with the tail of its own stderr. */
  deathReport(): string {
    const e = this.exitInfo;
    const how = e === null ? "is still running" : e.signal !== null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
    const tail = this.output.toString().trim();
    const oom = /heap out of memory|Allocation failed/i.test(tail) ? " (out of memory)" : "";
    const lines = tail.split("\n").filter((l) => l.trim() !== "");
    const fatal = lines.find((l) => /FATAL ERROR|Fatal error/.test(l));
    const lastLines = fatal ?? lines.slice(-3).join(" | ");
    return `kernel process ${how}${oom}${lastLines ? `; its stderr ended: ${lastLines.slice(0, 500)}` : ""}`;
  }

  /** Sends SIGINT (tslab's interrupt_mode is "signal": it breaks synchronous loops and rejects pending awaits). */
  interrupt(): void {
    if (this.dead || this.child.pid === undefined) return;
    try {
      process.kill(this.interruptPid?.() ?? this.child.pid, "SIGINT");
    } catch {
      // Already gone.
    }
  }

  /** Kills the process group immediately (synchronous; used on exit). */
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

  /** Kills the kernel and waits (at most 5 s) for the process to exit. */
  async kill(): Promise<void> {
    this.killNow();
    await Promise.race([this.exited, sleep(5000)]);
  }

  /** Forgets the process and removes the runtime folder (connection file, ipc sockets); call after it exited. */
  release(): void {
    live.delete(this);
    fs.rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}
