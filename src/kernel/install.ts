#!/usr/bin/env node
/**
 * Registers this project's kernel with Jupyter as kernelspec "tslab":
 * `node dist/src/kernel/install.js [--python=python3] [--user | --sys-prefix | --prefix=DIR] [--name=tslab]`.
 * The kernelspec runs this Node binary on this checkout's dist/src/kernel/launch.js, so rebuild after pulling.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { launcherArgv } from "../jupyter/kernelspec";

/** Where and how to register the kernel. */
export interface InstallOptions {
  readonly python: string;
  readonly name: string;
  readonly displayName: string;
  readonly location: { readonly kind: "user" } | { readonly kind: "sys-prefix" } | { readonly kind: "prefix"; readonly prefix: string } | { readonly kind: "system" };
}

/** Parses the command line; the default location is per-user unless running as root (as `tslab install`). */
export function parseInstallArgs(argv: readonly string[], isRoot: boolean): InstallOptions {
  let python = "python3";
  let name = "tslab";
  let displayName = "TypeScript (metalab)";
  let location: InstallOptions["location"] = isRoot ? { kind: "system" } : { kind: "user" };
  for (const arg of argv) {
    const [key, value] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, ""];
    if (key === "--python" && value) python = value;
    else if (key === "--name" && value) name = value;
    else if (key === "--display-name" && value) displayName = value;
    else if (key === "--user") location = { kind: "user" };
    else if (key === "--sys-prefix") location = { kind: "sys-prefix" };
    else if (key === "--prefix" && value) location = { kind: "prefix", prefix: path.resolve(value) };
    else throw new Error(`Unknown option "${arg}". Use --python=PY, --name=NAME, --display-name=TEXT, --user, --sys-prefix or --prefix=DIR.`);
  }
  return { python, name, displayName, location };
}

/** The kernel.json this project registers. */
export function kernelJson(launcher: string, displayName: string, nodeBinary: string = process.execPath): Record<string, unknown> {
  return {
    argv: launcherArgv(launcher, nodeBinary),
    display_name: displayName,
    language: "typescript",
    // Kernel > Interrupt arrives as interrupt_request on control, served by a thread that stays responsive while a
    // synchronous cell runs (it raises SIGINT itself if the cell is stuck in code no library loop guards).
    interrupt_mode: "message",
    metadata: { launcher: "metalab dist/src/kernel/launch.js (tslab 1.0.22 with protocol fixes)" },
  };
}

const INSTALL_PY = `
import sys
try:
    from jupyter_client.kernelspec import KernelSpecManager
except ImportError:
    sys.exit("jupyter_client is not installed in this Python (" + sys.executable + ").")
src, name, kind, prefix = sys.argv[1:5]
dest = KernelSpecManager().install_kernel_spec(
    src, name, user=(kind == "user"),
    prefix=(sys.prefix if kind == "sys-prefix" else (prefix or None)))
print(dest)
`;

function main(): void {
  const opts = parseInstallArgs(process.argv.slice(2), process.getuid?.() === 0);
  const launcher = path.join(__dirname, "launch.js");
  if (!fs.existsSync(launcher)) throw new Error(`${launcher} is missing: run \`npm run build\` first.`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-kernelspec-"));
  try {
    fs.writeFileSync(path.join(dir, "kernel.json"), JSON.stringify(kernelJson(launcher, opts.displayName), null, 2));
    const prefix = opts.location.kind === "prefix" ? opts.location.prefix : "";
    const res = spawnSync(opts.python, ["-c", INSTALL_PY, dir, opts.name, opts.location.kind, prefix], { encoding: "utf8" });
    if (res.error || res.status !== 0) {
      const why = res.error ? res.error.message : (res.stderr || res.stdout).trim();
      throw new Error(`Registering the kernel with ${opts.python} failed: ${why}. Pass --python=/path/to/python of the Python that runs Jupyter (e.g. --python=/usr/bin/python3, or the one where you ran pip install jupyterlab).`);
    }
    process.stdout.write(`Installed kernelspec "${opts.name}" in ${res.stdout.trim()}\n  runs: ${process.execPath} ${launcher}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
