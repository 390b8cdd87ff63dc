/**
 * The runtime folders (connection file with its HMAC key, ipc sockets) of the grading kernels running now, so an
 * interrupted grader (Ctrl-C, SIGTERM) can remove them before its exit hook kills the kernels.
 */
import * as fs from "node:fs";
import type { LaunchContext } from "../notebook/kernel-process";

const liveRuntimeDirs = new Set<string>();

/** Remembers a kernel's runtime folder, so an interrupted grader can remove it. */
export function trackRuntimeDir(ctx: LaunchContext): void {
  liveRuntimeDirs.add(ctx.runtimeDir);
}

/** Forgets a runtime folder once its kernel is gone (the runner removed it). */
export function untrackRuntimeDir(dir: string): void {
  liveRuntimeDirs.delete(dir);
}

/** Removes every live kernel's runtime folder (keys and sockets); for Ctrl-C and SIGTERM, before the kernels are killed. */
export function removeKernelFiles(): void {
  for (const d of liveRuntimeDirs) fs.rmSync(d, { recursive: true, force: true });
  liveRuntimeDirs.clear();
}

