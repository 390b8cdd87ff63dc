/**
 * Where datasets live: `METALAB_<NAME>_DIR`, then `METALAB_DATA_DIR/<name>`, then the user's cache folder
 * (`$XDG_CACHE_HOME/metalab/<name>`, by default `~/.cache/metalab/<name>`).
 */
import * as os from "os";
import * as path from "path";

/** The metalab cache root: `$XDG_CACHE_HOME/metalab` or `~/.cache/metalab` (`METALAB_CACHE_DIR` overrides). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.METALAB_CACHE_DIR) return path.resolve(env.METALAB_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : path.join(os.homedir(), ".cache");
  return path.join(base, "metalab");
}

/** Environment variable that points straight at a dataset's folder, e.g. `METALAB_OMNIGLOT_DIR`. */
export function datasetEnvVar(name: string): string {
  return `METALAB_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_DIR`;
}

/** The folder a dataset is read from, and which rule chose it (for error messages). */
export function datasetDir(name: string, env: NodeJS.ProcessEnv = process.env): { dir: string; source: string } {
  const own = datasetEnvVar(name);
  if (env[own]) return { dir: path.resolve(env[own]!), source: own };
  if (env.METALAB_DATA_DIR) return { dir: path.resolve(env.METALAB_DATA_DIR, name), source: "METALAB_DATA_DIR" };
  return { dir: path.join(cacheRoot(env), name), source: "the default cache folder" };
}
