/**
 * How the grader runs one notebook: in a fresh kernel, in a fresh empty scratch folder, with the grading limits.
 * With the sandbox (the default) the kernel runs inside bubblewrap (see ./sandbox); without it (`--no-sandbox`)
 * it runs as a plain child process and every result records `sandbox: "none"`.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Notebook } from "../notebook/ipynb";
import type { KernelWrapper } from "../notebook/kernel-process";
import { runNotebook, type RunResult } from "../notebook/runner";
import type { RunKernel } from "./reference";
import { trackRuntimeDir, untrackRuntimeDir } from "./runtime-dirs";
import { sandboxedRunner, type SandboxReport } from "./sandbox";

/** How kernels are isolated: bubblewrap (the default, fails closed) or nothing (`--no-sandbox`). */
export type SandboxKind = "bubblewrap" | "none";

/** The limits every grading kernel runs under. */
export interface KernelLimits {
  /** Per-cell wall-clock limit. */
  cellTimeoutMs: number;
  /** Whole-notebook wall-clock limit, kernel start included. */
  timeoutMs: number;
  /** Memory limit in MB (V8 heap; with the sandbox, all memory of all the submission's processes). */
  memoryMb: number;
  /** Output kept per cell, in bytes. */
  maxOutputBytes: number;
  /** Largest file (and, with the sandbox, the scratch folder's total) in MB; 0 = no file-size limit. */
  maxFileMb: number;
}

/** Where and how grading kernels run. */
export interface KernelRunOptions extends KernelLimits {
  /** Kernel name (the assignment's). */
  kernelName: string;
  /** Folder for scratch folders (never inside a submission folder). */
  workRoot: string;
  /** node_modules the kernel resolves imports from. Default: the one holding tslab. */
  nodeModulesDir?: string;
  /** Run kernels as this user (uid/gid; the grader must be root). */
  kernelUser?: { uid: number; gid: number };
}

/** The node_modules folder that holds tslab (and, after link-self, metalab). */
export function defaultNodeModules(): string {
  return path.dirname(path.dirname(require.resolve("tslab/package.json")));
}

/** Links `<workRoot>/node_modules` to the modules the kernel imports from (done once per work root). */
function linkModules(opts: KernelRunOptions): void {
  fs.mkdirSync(opts.workRoot, { recursive: true });
  if (opts.kernelUser !== undefined) fs.chmodSync(opts.workRoot, 0o755); // The kernel user must reach its folder.
  const link = path.join(opts.workRoot, "node_modules");
  if (fs.existsSync(link)) return;
  try {
    fs.symlinkSync(path.resolve(opts.nodeModulesDir ?? defaultNodeModules()), link, "dir");
  } catch (e) {
    if (!fs.existsSync(link)) throw e; // Another worker linked it first otherwise.
  }
}

/** A runner without the sandbox: a plain kernel process in an empty scratch folder under `workRoot`. */
export function unsandboxedRunner(opts: KernelRunOptions): RunKernel {
  return async (nb: Notebook): Promise<RunResult> => {
    linkModules(opts);
    const cwd = path.join(opts.workRoot, `k-${randomBytes(6).toString("hex")}`);
    fs.mkdirSync(cwd);
    if (opts.kernelUser !== undefined) fs.chownSync(cwd, opts.kernelUser.uid, opts.kernelUser.gid);
    let runtimeDir: string | null = null;
    const wrapKernel: KernelWrapper = (cmd, ctx) => {
      trackRuntimeDir(ctx);
      runtimeDir = ctx.runtimeDir;
      return cmd;
    };
    try {
      return await runNotebook(nb, {
        kernelName: opts.kernelName,
        wrapKernel,
        cwd,
        allowErrors: true,
        cellTimeoutMs: opts.cellTimeoutMs,
        timeoutMs: opts.timeoutMs,
        memoryMb: opts.memoryMb,
        maxOutputBytes: opts.maxOutputBytes,
        uid: opts.kernelUser?.uid,
        gid: opts.kernelUser?.gid,
        maxFileBytes: opts.maxFileMb > 0 ? opts.maxFileMb * 1e6 : undefined,
      });
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
      if (runtimeDir !== null) untrackRuntimeDir(runtimeDir);
    }
  };
}

/** The runner for `sandbox`: bubblewrap (throws, saying how to install it, when it cannot run) or none. */
export function gradingRunner(opts: KernelRunOptions & { sandbox: SandboxKind; maxProcs?: number; onReport?: (r: SandboxReport) => void }): RunKernel {
  return opts.sandbox === "bubblewrap" ? sandboxedRunner(opts) : unsandboxedRunner(opts);
}
