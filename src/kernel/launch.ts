#!/usr/bin/env node
/**
 * Kernel entry point registered as the "tslab" kernelspec: `node dist/src/kernel/launch.js --config-path <file>`.
 * It runs tslab 1.0.22's compiler and executor behind this project's own Jupyter server (./server; see environment.md).
 */
import { readFileSync } from "fs";
import { CellRunner } from "./cell-runner";
import { guardErrorListeners } from "./error-listeners";
import type { ConnectionInfo } from "../jupyter/connection";
import { KernelServer, readConnectionInfo } from "./server";

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
  let conn: ConnectionInfo;
  try {
    conn = readConnectionInfo(JSON.parse(readFileSync(configPath, "utf8")));
  } catch (e) {
    process.stderr.write(`metalab kernel: cannot read the connection file ${configPath}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  // Before any library loads: tfjs-backend-wasm's Emscripten glue adds listeners that rethrow, and would abort Node.
  guardErrorListeners((event, err) => console.error(`A library's ${event} listener threw:`, err));
  const runner = new CellRunner(process.cwd());
  const server = new KernelServer(runner, conn, () => {
    // Timers a notebook left running would keep Node alive after shutdown; Jupyter would then have to kill it.
    setTimeout(() => process.exit(0), 200).unref();
  });
  process.on("SIGINT", () => server.interrupt());
  // As tslab does: errors after a cell has finished go to the last cell's stderr instead of killing the kernel.
  // console.error goes through the cell's stream, which queues and never throws.
  process.on("uncaughtException", (err) => console.error("UncaughtException:", err));
  process.on("unhandledRejection", (reason) => console.error("UnhandledPromiseRejection:", reason));
  server.start().catch((e: unknown) => {
    process.stderr.write(`metalab kernel: could not bind the Jupyter sockets: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

if (require.main === module) main();
