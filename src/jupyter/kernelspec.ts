/**
 * Finds Jupyter kernelspecs (kernel.json) in the standard data paths, with a built-in fallback that launches
 * the tslab kernel from node_modules when no kernelspec is installed.
 * https://jupyter-client.readthedocs.io/en/latest/kernels.html#kernel-specs
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** How to launch one kernel. `argv` contains the `{connection_file}` placeholder. */
export interface KernelSpec {
  name: string;
  argv: string[];
  displayName: string;
  language: string;
  env: Record<string, string>;
  /** Where it came from: a kernel.json path, or "builtin:tslab". */
  source: string;
}

/** The command line Jupyter runs to start metalab's kernel launcher: `node <launcher> --config-path {connection_file}`. */
export function launcherArgv(launcher: string, nodeBinary: string = process.execPath): string[] {
  return [nodeBinary, launcher, "--config-path", "{connection_file}"];
}

/** The kernels folders searched, in Jupyter's order of precedence. */
export function kernelSearchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  for (const p of (env.JUPYTER_PATH ?? "").split(path.delimiter)) if (p) dirs.push(path.join(p, "kernels"));
  const dataDir = env.JUPYTER_DATA_DIR ?? path.join(env.XDG_DATA_HOME ?? path.join(os.homedir(), ".local", "share"), "jupyter");
  dirs.push(path.join(dataDir, "kernels"));
  dirs.push("/usr/local/share/jupyter/kernels", "/usr/share/jupyter/kernels");
  return dirs;
}

function readSpec(file: string, name: string): KernelSpec | null {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.argv) || !r.argv.every((a) => typeof a === "string")) return null;
  const env: Record<string, string> = {};
  if (typeof r.env === "object" && r.env !== null) {
    for (const [k, v] of Object.entries(r.env)) if (typeof v === "string") env[k] = v;
  }
  return {
    name,
    argv: r.argv,
    displayName: typeof r.display_name === "string" ? r.display_name : name,
    language: typeof r.language === "string" ? r.language : "",
    env,
    source: file,
  };
}

/** Path of tslab's CLI script in node_modules, or null when tslab is not installed. */
function localTslabBin(): string | null {
  try {
    return path.join(path.dirname(require.resolve("tslab/package.json")), "bin", "tslab");
  } catch {
    return null;
  }
}

/** metalab's built kernel launcher (tslab with conforming replies), or null when dist/ is not built. */
function localLauncher(): string | null {
  const launcher = path.resolve(__dirname, "..", "kernel", "launch.js");
  return fs.existsSync(launcher) ? launcher : null;
}

/**
 * The built-in spec for tslab/jslab: metalab's launcher for tslab when built (what environment.md registers),
 * else `node <tslab bin> kernel --config-path {connection_file}` (what tslab's own kernel.json runs).
 */
export function builtinSpec(name: string): KernelSpec | null {
  if (name !== "tslab" && name !== "jslab") return null;
  const launcher = name === "tslab" ? localLauncher() : null;
  if (launcher !== null) {
    return {
      name,
      argv: launcherArgv(launcher),
      displayName: "TypeScript",
      language: "typescript",
      env: {},
      source: "builtin:metalab-launcher",
    };
  }
  const bin = localTslabBin();
  if (bin === null) return null;
  const argv = [process.execPath, bin, "kernel", "--config-path", "{connection_file}"];
  if (name === "jslab") argv.push("--js");
  return {
    name,
    argv,
    displayName: name === "tslab" ? "TypeScript" : "JavaScript",
    language: name === "tslab" ? "typescript" : "javascript",
    env: {},
    source: `builtin:${name}`,
  };
}

function onPath(cmd: string, env: NodeJS.ProcessEnv): boolean {
  if (path.isAbsolute(cmd)) return fs.existsSync(cmd);
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, cmd))) return true;
  }
  return false;
}

/** Lists installed kernelspec names. */
export function listKernelSpecs(env: NodeJS.ProcessEnv = process.env): string[] {
  const names = new Set<string>();
  for (const dir of kernelSearchDirs(env)) {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries) if (fs.existsSync(path.join(dir, e, "kernel.json"))) names.add(e);
  }
  return [...names];
}

/**
 * Resolves a kernel by name: an installed kernelspec first; for tslab/jslab, the copy in node_modules when no
 * kernelspec is installed or its command is not on PATH. Throws a fix-it error when nothing is found.
 */
export function findKernelSpec(name: string, env: NodeJS.ProcessEnv = process.env): KernelSpec {
  for (const dir of kernelSearchDirs(env)) {
    const file = path.join(dir, name, "kernel.json");
    if (!fs.existsSync(file)) continue;
    const spec = readSpec(file, name);
    if (spec === null) continue;
    if (spec.argv[0] !== undefined && onPath(spec.argv[0], env)) return spec;
    const builtin = builtinSpec(name);
    if (builtin !== null) return builtin;
    return spec;
  }
  const builtin = builtinSpec(name);
  if (builtin !== null) return builtin;
  const known = listKernelSpecs(env);
  throw new Error(
    `No Jupyter kernel named "${name}" (searched ${kernelSearchDirs(env).join(", ")}; found: ${known.join(", ") || "none"}). ` +
      `Install it (for tslab: \`npm install tslab\` or \`npx tslab install\`) or pass another kernel name.`,
  );
}
