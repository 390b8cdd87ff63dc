/**
 * Every grading kernel in a bubblewrap sandbox (https://github.com/containers/bubblewrap, Debian's `bubblewrap`):
 * new user, PID, network, IPC, UTS and cgroup namespaces; read-only /usr, Node, node_modules and the built library;
 * a fresh size-limited tmpfs as cwd, HOME and /tmp; the kernel's own socket folder (zeromq ipc) and nothing else.
 * Limits: memory of all the submission's processes (resident anonymous memory, so ArrayBuffers and wasm count, and
 * committed memory at twice that, so a reservation is stopped before it is touched), processes,
 * scratch disk, file size, wall time (the runner's), output (the runner's). When the run ends every process of the
 * sandbox is dead before the runner returns.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { launcherArgv, type KernelSpec } from "../jupyter/kernelspec";
import type { KernelCommand, KernelWrapper, LaunchContext } from "../notebook/kernel-process";
import { runNotebook, type RunResult } from "../notebook/runner";
import type { KernelRunOptions } from "./kernel-run";
import { trackRuntimeDir, untrackRuntimeDir } from "./runtime-dirs";
import type { RunKernel } from "./reference";

/** Sandbox limits beyond the grading limits, each default with its reason. */
export const SANDBOX_DEFAULTS = {
  maxProcs: 64, // Threads count: tslab + tfjs use about 20; 64 stops a fork bomb long before the machine notices.
  pollMs: 100, // Memory is measured 10 times a second: cheap (a few /proc reads) and a runaway loop overshoots little.
  addressSlackMb: 8192, // Per-process address space beyond --memory: V8 and tfjs-wasm reserve memory they never touch, and at 4 GB a lab kernel ran 14% slower.
  commitFactor: 2, // Committed (private writable) memory may reach twice --memory: thread stacks and arenas are committed but barely touched (a tslab kernel: 265 MB committed, 159 MB resident).
  scratchMinMb: 16, // A scratch folder smaller than this cannot even hold tslab's compiler cache.
} as const;

/** Environment variables passed into the sandbox (everything else of the grader's environment stays out). */
export const ENV_ALLOW = ["METALAB_BACKEND", "METALAB_QUICK", "METALAB_FAST_KERNELS", "LANG", "LC_ALL"] as const;

let probed: string | null | undefined;
let bwrapPath: string | null = null;

/** The bwrap executable on the grader's PATH, or null. */
function findBwrap(): string | null {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const p = path.join(dir, "bwrap");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** Why the sandbox cannot run here (no bwrap, no namespaces), or null when it can. Probed once per process. */
export function sandboxProblem(): string | null {
  if (probed !== undefined) return probed;
  bwrapPath = findBwrap();
  if (bwrapPath === null) {
    probed =
      "metalab grade runs every submission in a bubblewrap sandbox, and `bwrap` is not installed: install it " +
      "(Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`), or pass --no-sandbox " +
      "to grade without isolation (every result then records sandbox: none).";
    return probed;
  }
  const r = spawnSync(bwrapPath, ["--unshare-all", "--die-with-parent", ...systemBinds(), "--proc", "/proc", "--dev", "/dev", "--", "/usr/bin/true"], {
    encoding: "utf8",
    timeout: 20_000,
    uid: process.getuid?.() === 0 ? 65534 : undefined,
    gid: process.getuid?.() === 0 ? 65534 : undefined,
  });
  if (r.status !== 0) {
    probed =
      `bubblewrap cannot create namespaces here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 300)}). ` +
      "Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 an AppArmor profile for bwrap), " +
      "or run in a container that permits them, or pass --no-sandbox (every result then records sandbox: none).";
  } else probed = null;
  return probed;
}

/** /usr read-only and the merged-/usr links (/bin, /lib, /lib64, /sbin) as the host has them. */
function systemBinds(): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const d of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(d);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push("--symlink", fs.readlinkSync(d), d);
    else if (st.isDirectory()) args.push("--ro-bind", d, d);
  }
  return args;
}

/** Paths bound read-only at their own place: Node, node_modules and the packages it links to, the built library. */
export function readOnlyPaths(nodeModules: string): string[] {
  const paths = new Set<string>();
  const exec = fs.realpathSync(process.execPath);
  if (!exec.startsWith("/usr/")) paths.add(path.dirname(path.dirname(exec))); // Node's install prefix (bin/, lib/).
  const nm = fs.realpathSync(nodeModules);
  paths.add(nm);
  const packageFiles = (root: string): void => {
    for (const f of ["package.json", "dist", "check.js", "check.d.ts"]) if (fs.existsSync(path.join(root, f))) paths.add(path.join(root, f));
  };
  // Linked packages (metalab links itself as node_modules/metalab -> ..): their built files, not their sources.
  const entries = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir).map((n) => path.join(dir, n));
    } catch {
      return [];
    }
  };
  for (const e of entries(nm).flatMap((p) => (path.basename(p).startsWith("@") ? entries(p) : [p]))) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(e);
    } catch {
      continue;
    }
    if (!st.isSymbolicLink()) continue;
    let target: string;
    try {
      target = fs.realpathSync(e);
    } catch {
      continue;
    }
    if (target.startsWith(nm + path.sep)) continue;
    if (fs.existsSync(path.join(target, "package.json"))) packageFiles(target);
  }
  // The grader's own build (its kernel launcher), when it is another checkout.
  const graderRoot = packageRoot();
  if (fs.existsSync(path.join(graderRoot, "dist"))) {
    packageFiles(graderRoot);
    if (fs.existsSync(path.join(graderRoot, "node_modules"))) paths.add(fs.realpathSync(path.join(graderRoot, "node_modules")));
  }
  // Drop paths inside other paths (bwrap binds each one).
  const sorted = [...paths].sort();
  return sorted.filter((p) => !sorted.some((q) => q !== p && p.startsWith(q + path.sep)));
}

/** The root of the metalab package this code belongs to (the folder holding its package.json). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/**
 * The kernel a sandbox runs for tslab: metalab's own built launcher (bound read-only), whatever kernelspecs the grader's
 * user has installed (their commands point outside the sandbox). Other kernels are looked up as usual (and only work
 * when their command lives under /usr or node_modules).
 */
export function sandboxKernelSpec(kernelName: string): KernelSpec | undefined {
  if (kernelName !== "tslab") return undefined;
  const launcher = path.join(packageRoot(), "dist", "src", "kernel", "launch.js");
  if (!fs.existsSync(launcher)) throw new Error(`metalab's kernel launcher ${launcher} is not built; run \`npm run build\` first.`);
  return { name: "tslab", argv: launcherArgv(launcher), displayName: "TypeScript", language: "typescript", env: {}, source: "builtin:metalab-launcher (sandbox)" };
}

/** The sandbox's /etc/passwd and /etc/group (one user, "student"), written once per work root. */
function etcFiles(workRoot: string, home: string): { passwd: string; group: string } {
  const dir = path.join(workRoot, "sandbox-etc");
  const passwd = path.join(dir, "passwd");
  const group = path.join(dir, "group");
  if (!fs.existsSync(group)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.chmodSync(workRoot, 0o755);
    fs.writeFileSync(passwd, `student:x:1000:1000:student:${home}:/bin/sh\n`, { mode: 0o644 });
    fs.writeFileSync(group, "student:x:1000:\n", { mode: 0o644 });
  }
  return { passwd, group };
}

/** Where the kernel's socket folder appears inside the sandbox (under /tmp it is reached through the scratch folder). */
function runtimeMount(runtimeDir: string, home: string): string {
  return runtimeDir.startsWith("/tmp/") ? path.join(home, runtimeDir.slice("/tmp/".length)) : runtimeDir;
}

/** True if `p` is /tmp or lies under it. */
function underTmp(p: string): boolean {
  return p === "/tmp" || p.startsWith("/tmp/");
}

/**
 * The bwrap arguments for one kernel (before `--`). When the checkout (or HOME) lies under /tmp, /tmp is its own
 * bounded tmpfs mounted first, so the read-only binds and HOME can sit inside it; otherwise /tmp links to HOME.
 */
export function bwrapArgs(o: { nodeModules: string; home: string; scratchBytes: number; etc: { passwd: string; group: string }; runtimeDir: string; readOnly?: readonly string[] }): string[] {
  const args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--uid", "1000", "--gid", "1000", "--hostname", "sandbox"];
  args.push(...systemBinds());
  const ro = o.readOnly ?? readOnlyPaths(o.nodeModules);
  const tmpOwnFs = underTmp(o.home) || ro.some(underTmp);
  if (tmpOwnFs) args.push("--size", String(o.scratchBytes), "--tmpfs", "/tmp");
  for (const p of ro) args.push("--ro-bind", p, p);
  args.push("--ro-bind", o.etc.passwd, "/etc/passwd", "--ro-bind", o.etc.group, "/etc/group");
  if (fs.existsSync("/etc/ld.so.cache")) args.push("--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache");
  args.push("--proc", "/proc", "--dev", "/dev");
  // The scratch folder: a fresh tmpfs of bounded size, also HOME and /tmp (mounted before binds under it).
  args.push("--size", String(o.scratchBytes), "--tmpfs", o.home);
  if (tmpOwnFs) args.push("--bind", o.runtimeDir, o.runtimeDir);
  else args.push("--symlink", o.home, "/tmp", "--bind", o.runtimeDir, runtimeMount(o.runtimeDir, o.home));
  args.push("--chdir", o.home);
  return args;
}

/** The kernel's environment inside the sandbox: an allow-list, never the grader's environment. */
function sandboxEnv(cmd: KernelCommand, home: string): Record<string, string> {
  const env: Record<string, string> = { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: home, TMPDIR: "/tmp", USER: "student", LANG: "C.UTF-8", TZ: "UTC" };
  for (const k of ENV_ALLOW) {
    const v = cmd.env[k];
    if (v !== undefined) env[k] = v;
  }
  // Only the flags the launcher set (the heap limit); wasm without guard regions so RLIMIT_AS can bound it.
  const heap = /--max-old-space-size=\d+/.exec(cmd.env.NODE_OPTIONS ?? "")?.[0];
  env.NODE_OPTIONS = [heap, "--disable-wasm-trap-handler"].filter((x) => x !== undefined).join(" ");
  return env;
}

interface ProcInfo {
  pid: number;
  ppid: number;
}

function readProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = fs.readdirSync("/proc");
  } catch {
    return out;
  }
  for (const n of names) {
    if (n.charCodeAt(0) < 48 || n.charCodeAt(0) > 57) continue;
    try {
      const stat = fs.readFileSync(`/proc/${n}/stat`, "utf8");
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({ pid: Number(n), ppid: Number(rest[1]) });
    } catch {
      // Exited meanwhile.
    }
  }
  return out;
}

function cmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** A process's memory in bytes, from one read of /proc/<pid>/status (zeros once it is gone). */
function memoryOf(pid: number): { resident: number; committed: number } {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return { resident: 0, committed: 0 };
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return {
    // Anonymous resident memory (heap, ArrayBuffers, wasm memory) and shared memory; not shared file pages.
    resident: kb("RssAnon") + kb("RssShmem"),
    // Committed private writable memory (VmData): counted when allocated, before it is touched.
    committed: kb("VmData"),
  };
}

/** Every process under `root` (root included), from one scan of /proc. */
function tree(root: number, procs: readonly ProcInfo[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the watchdog saw of one sandboxed run. */
export interface SandboxReport {
  /** Why the grader killed the sandbox, if it did. */
  killed: string | null;
  /** Largest total anonymous memory of the sandbox's processes, in MB. */
  peakMb: number;
  /** Largest total committed memory of the sandbox's processes, in MB. */
  peakCommittedMb: number;
  /** Processes left when the run ended (always 0 after the final kill). */
  leftover: number;
}

/** Watches one sandbox: finds its processes, bounds their memory, locks the socket folder, and kills them all. */
class Watchdog {
  private outer: number | null = null;
  private kernel: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private locked = false;
  readonly report: SandboxReport = { killed: null, peakMb: 0, peakCommittedMb: 0, leftover: 0 };

  constructor(
    private readonly ctx: LaunchContext,
    private readonly memoryBytes: number,
    private readonly lockAs: { uid: number; gid: number } | null,
  ) {}

  start(pollMs: number): void {
    this.timer = setInterval(() => this.tick(), pollMs);
    this.timer.unref();
  }

  /** The outer bwrap process: our child whose command line names this kernel's connection file. */
  private findOuter(procs: readonly ProcInfo[]): number | null {
    for (const p of procs) {
      if (p.ppid !== process.pid) continue;
      const argv = cmdline(p.pid);
      if (path.basename(argv[0] ?? "") === "bwrap" && argv.includes(this.ctx.connectionFile)) return p.pid;
    }
    return null;
  }

  /** The kernel itself: the first process under the sandbox's init that is not bwrap. */
  kernelPid(): number | undefined {
    if (this.kernel !== null) return this.kernel;
    const procs = readProcs();
    this.outer ??= this.findOuter(procs);
    if (this.outer === null) return undefined;
    for (const pid of tree(this.outer, procs)) {
      const argv0 = cmdline(pid)[0] ?? "";
      if (pid !== this.outer && path.basename(argv0) !== "bwrap") {
        this.kernel = pid;
        return pid;
      }
    }
    return undefined;
  }

  private tick(): void {
    const procs = readProcs();
    this.outer ??= this.findOuter(procs);
    if (this.outer === null) return;
    if (this.kernel === null) this.kernelPid(); // Found before any student code runs, so no child of it can pose as it.
    const pids = tree(this.outer, procs);
    let total = 0;
    let committed = 0;
    for (const pid of pids) {
      const m = memoryOf(pid);
      total += m.resident;
      committed += m.committed;
    }
    this.report.peakMb = Math.max(this.report.peakMb, Math.round(total / 1e6));
    this.report.peakCommittedMb = Math.max(this.report.peakCommittedMb, Math.round(committed / 1e6));
    // Resident memory grows only as fast as the kernel gets CPU to touch pages; committed memory counts at once, so a
    // big allocation is stopped at the next poll however loaded the machine is.
    const over = total > this.memoryBytes || committed > this.memoryBytes * SANDBOX_DEFAULTS.commitFactor;
    if (over && this.report.killed === null) {
      this.report.killed = outOfMemory(this.memoryBytes / 1e6);
      this.killAll(pids);
    }
    this.guardRuntimeDir();
  }

  /** Once the kernel has bound its sockets, the socket folder stops being writable for it (as root), or is watched. */
  private guardRuntimeDir(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.ctx.runtimeDir);
    } catch {
      return;
    }
    const sockets = names.filter((n) => /^kernel-\d$/.test(n)).length;
    if (!this.locked && this.lockAs !== null && sockets >= 5) {
      try {
        fs.chownSync(this.ctx.runtimeDir, 0, 0);
        fs.chmodSync(this.ctx.runtimeDir, 0o711);
        this.locked = true;
      } catch {
        // Not root after all: the size watch below still applies.
      }
    }
    const unexpected = names.filter((n) => n !== "connection.json" && !/^kernel-\d$/.test(n));
    if (unexpected.length > 0 && this.report.killed === null) {
      this.report.killed = "the submission wrote into the kernel's socket folder (only the kernel's sockets belong there) and was killed by the grader";
      if (this.outer !== null) this.killAll(tree(this.outer, readProcs()));
    }
  }

  private killAll(pids: readonly number[]): void {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }

  /** Stops watching, kills whatever is left of the sandbox and waits until it is all gone. */
  async finish(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.outer === null) return;
    for (let i = 0; i < 100; i++) {
      const left = tree(this.outer, readProcs()).filter((pid) => fs.existsSync(`/proc/${pid}`));
      // The outer bwrap is reaped by the runner once it exits; a zombie entry has no memory and no children.
      const alive = left.filter((pid) => !isZombie(pid));
      if (alive.length === 0) {
        this.report.leftover = 0;
        return;
      }
      this.report.leftover = alive.length;
      this.killAll(alive);
      await sleep(50);
    }
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** bwrap exits with 128 + n when the kernel died of signal n: say which signal, as for an unsandboxed kernel. */
export function signalDeaths(run: RunResult): RunResult {
  const names = Object.entries(os.constants.signals);
  const fix = (text: string | undefined): string | undefined =>
    text?.replace(/kernel process exited with code (\d+)/g, (all, code: string) => {
      const sig = names.find(([, n]) => n === Number(code) - 128)?.[0];
      return Number(code) > 128 && sig !== undefined ? `kernel process was killed by ${sig}` : all;
    });
  for (const c of run.cells) if (c.error !== undefined) c.error = fix(c.error);
  if (run.error !== undefined) run.error = fix(run.error);
  return run;
}

/** The one message for a submission over its memory, whoever noticed first (the watchdog, or V8 for its heap). */
export function outOfMemory(limitMb: number): string {
  return `out of memory: the submission's processes used more than the ${Math.round(limitMb)} MB limit (--memory)`;
}

/** V8's own heap out-of-memory deaths get the same message as the watchdog's, so a result does not depend on who won. */
export function memoryDeaths(run: RunResult, limitMb: number): RunResult {
  const text = `Kernel died: ${outOfMemory(limitMb)}`;
  for (const c of run.cells) if (c.kernelDied && !c.timedOut && /\(out of memory\)/.test(c.error ?? "")) c.error = text;
  if (run.kernelDied === true && /\(out of memory\)/.test(run.error ?? "")) run.error = text;
  return run;
}

/** Replaces the kernel-death text of cells the grader killed with the grader's own reason. */
function withKillReason(run: RunResult, reason: string): RunResult {
  const text = `Kernel died: ${reason}`;
  for (const c of run.cells) if (c.kernelDied && !c.timedOut) c.error = text;
  if (run.kernelDied === true) run.error = text;
  else if (run.cells.length === 0 && run.error !== undefined) run.error = `${run.error} (${reason})`;
  return run;
}

/** A runner that puts every kernel in a bubblewrap sandbox; throws when the sandbox cannot run here. */
export function sandboxedRunner(opts: KernelRunOptions & { maxProcs?: number; onReport?: (r: SandboxReport) => void }): RunKernel {
  const problem = sandboxProblem();
  if (problem !== null) throw new Error(problem);
  const nodeModules = opts.nodeModulesDir ?? path.dirname(path.dirname(require.resolve("tslab/package.json")));
  const home = path.join(path.dirname(fs.realpathSync(nodeModules)), ".metalab-home");
  const root = process.getuid?.() === 0;
  // As root, bwrap itself runs as an unprivileged user (the kernel user, else nobody): its user namespace then maps
  // to that uid, so process limits apply and nothing in the sandbox is root on the host.
  const user = opts.kernelUser ?? (root ? { uid: 65534, gid: 65534 } : undefined);
  const memoryBytes = opts.memoryMb * 1e6;
  const scratchBytes = Math.max(SANDBOX_DEFAULTS.scratchMinMb, opts.maxFileMb > 0 ? opts.maxFileMb : 100) * 1e6;
  const asBytes = (opts.memoryMb + SANDBOX_DEFAULTS.addressSlackMb) * 1e6;
  const spec = sandboxKernelSpec(opts.kernelName);
  return async (nb): Promise<RunResult> => {
    fs.mkdirSync(opts.workRoot, { recursive: true });
    const etc = etcFiles(opts.workRoot, home);
    let dog: Watchdog | null = null;
    let runtimeDir: string | null = null;
    const wrap: KernelWrapper = (cmd, ctx) => {
      trackRuntimeDir(ctx);
      runtimeDir = ctx.runtimeDir;
      dog = new Watchdog(ctx, memoryBytes, root ? { uid: 0, gid: 0 } : null);
      const w = dog;
      const limits = [`--nproc=${opts.maxProcs ?? SANDBOX_DEFAULTS.maxProcs}`, `--as=${Math.round(asBytes)}`, "--core=0:0"];
      if (opts.maxFileMb > 0) limits.push(`--fsize=${Math.round(opts.maxFileMb * 1e6)}`);
      const argv = [bwrapPath ?? "bwrap", ...bwrapArgs({ nodeModules, home, scratchBytes, etc, runtimeDir: ctx.runtimeDir }), "--", "/usr/bin/prlimit", ...limits, "--", ...cmd.argv];
      w.start(SANDBOX_DEFAULTS.pollMs);
      return { argv, env: sandboxEnv(cmd, home), interruptPid: () => w.kernelPid() };
    };
    let run: RunResult;
    try {
      run = await runNotebook(nb, {
        kernelName: opts.kernelName,
        kernelSpec: spec,
        cwd: opts.workRoot,
        allowErrors: true,
        cellTimeoutMs: opts.cellTimeoutMs,
        timeoutMs: opts.timeoutMs,
        memoryMb: opts.memoryMb,
        maxOutputBytes: opts.maxOutputBytes,
        uid: user?.uid,
        gid: user?.gid,
        transport: "ipc",
        wrapKernel: wrap,
      });
    } finally {
      const d = dog as Watchdog | null;
      if (d !== null) await d.finish();
      if (runtimeDir !== null) untrackRuntimeDir(runtimeDir);
    }
    signalDeaths(run);
    memoryDeaths(run, opts.memoryMb);
    const d = dog as Watchdog | null;
    if (d !== null) {
      opts.onReport?.(d.report);
      if (d.report.killed !== null) return withKillReason(run, d.report.killed);
    }
    return run;
  };
}
