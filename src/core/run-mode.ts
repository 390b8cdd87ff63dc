/**
 * Run mode: `METALAB_QUICK=1` shrinks iteration counts so every notebook runs in CI in a few minutes.
 */

/** "full" reproduces the paper-scale numbers; "quick" is a smoke run with the same code paths. */
export type RunMode = "full" | "quick";

/** Reads the run mode from `METALAB_QUICK` (1/true/yes = quick; unset, 0, false or no = full). */
export function runMode(env: NodeJS.ProcessEnv = process.env): RunMode {
  const raw = env.METALAB_QUICK;
  if (raw === undefined) return "full";
  const v = raw.trim().toLowerCase();
  if (v === "" || v === "0" || v === "false" || v === "no") return "full";
  if (v === "1" || v === "true" || v === "yes") return "quick";
  throw new Error(`METALAB_QUICK="${raw}" is not understood. Use METALAB_QUICK=1 for quick mode, or unset it for full mode.`);
}

/** Picks the full-mode or quick-mode value, e.g. `iters(20000, 300)`. */
export function iters<T>(full: T, quick: T, env: NodeJS.ProcessEnv = process.env): T {
  return runMode(env) === "quick" ? quick : full;
}
