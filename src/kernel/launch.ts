#!/usr/bin/env node
/**
 * Kernel entry point registered as the "tslab" kernelspec: `node dist/src/kernel/launch.js --config-path <file>`.
 * It runs this project's tslab 1.0.22 with the protocol fixes in ./server (see environment.md).
 */
import { CellRunner } from "./cell-runner";
import { MetalabServer } from "./server";

/** Reads `--config-path <file>`, `--config-path=<file>` or a lone positional connection file. */
export function parseConfigPath(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--config-path") return argv[i + 1] ?? "";
    if (arg.startsWith("--config-path=")) return arg.slice("--config-path=".length);
  }
  const positional = argv.filter((a) => !a.startsWith("-") && a !== "kernel");
  return positional[0] ?? "";
}

function main(): void {
  const configPath = parseConfigPath(process.argv.slice(2));
  if (configPath === "") {
    process.stderr.write("metalab kernel: missing connection file. Jupyter starts this with `--config-path {connection_file}`; register it with `node dist/src/kernel/install.js`.\n");
    process.exit(2);
  }
  const runner = new CellRunner(process.cwd());
  const server = new MetalabServer(runner, configPath);
  process.on("SIGINT", () => runner.interrupt());
  // As tslab does: errors after a cell has finished go to the last cell's stderr instead of killing the kernel.
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  server.init().catch((e: unknown) => {
    process.stderr.write(`metalab kernel: could not bind the Jupyter sockets: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

if (require.main === module) main();
