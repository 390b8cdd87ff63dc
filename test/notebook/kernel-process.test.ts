import * as fs from "node:fs";
import { describe, expect, test } from "vitest";
import type { KernelSpec } from "../../src/jupyter/kernelspec";
import { kernelCommand, launchKernel, type KernelProcess } from "../../src/notebook/kernel-process";

/** A stand-in "kernel": prints its connection file and one env variable, then behaves as `then` says. */
function fakeSpec(then: string): KernelSpec {
  const script = `
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log("CONN " + JSON.stringify(c));
    console.log("WRAPPED " + (process.env.METALAB_TEST_WRAPPED ?? "no"));
    ${then}`;
  return { name: "fake", argv: [process.execPath, "-e", script, "{connection_file}"], displayName: "Fake", language: "js", env: {}, source: "test" };
}

async function exitOf(p: KernelProcess): Promise<string> {
  await p.exited;
  return p.deathReport();
}

describe("kernelCommand (pure)", () => {
  const spec: KernelSpec = { name: "k", argv: ["node", "k.js", "-f", "{connection_file}"], displayName: "K", language: "ts", env: { A: "spec", B: "spec" }, source: "test" };

  test("substitutes the connection file and merges the environment: process, then spec, then options", () => {
    const c = kernelCommand(spec, "/run/c.json", { env: { B: "opts" } }, { A: "base", PATH: "/bin", GONE: undefined });
    expect(c.argv).toEqual(["node", "k.js", "-f", "/run/c.json"]);
    expect(c.env).toEqual({ A: "spec", B: "opts", PATH: "/bin" });
  });

  test("puts the heap limit in NODE_OPTIONS and prlimit in front for a file-size limit", () => {
    const c = kernelCommand(spec, "/c.json", { memoryMb: 512.4, maxFileBytes: 1e6 }, { NODE_OPTIONS: "--enable-source-maps" });
    expect(c.env.NODE_OPTIONS).toBe("--enable-source-maps --max-old-space-size=512");
    expect(c.argv).toEqual(["prlimit", "--fsize=1000000:1000000", "--core=0:0", "--", "node", "k.js", "-f", "/c.json"]);
    expect(kernelCommand(spec, "/c.json", { memoryMb: 64 }, {}).env.NODE_OPTIONS).toBe("--max-old-space-size=64");
  });
});

describe("launchKernel (a stand-in process, no Jupyter kernel)", () => {
  test("tcp: writes a private connection file with five distinct ports; the wrapper sees it and rewrites the command", async () => {
    let seen: { dir: string; file: string } | undefined;
    const p = await launchKernel({
      spec: fakeSpec("process.exit(0);"),
      wrap: (cmd, ctx) => {
        seen = { dir: ctx.runtimeDir, file: ctx.connectionFile };
        expect(ctx.connection.transport).toBe("tcp");
        return { argv: cmd.argv, env: { ...cmd.env, METALAB_TEST_WRAPPED: "yes" } };
      },
    });
    const report = await exitOf(p);
    expect(report).toMatch(/exited with code 0/);
    expect(report).toMatch(/WRAPPED yes/);
    expect(seen?.file.startsWith(`${seen.dir}/`)).toBe(true);
    expect(fs.statSync(p.runtimeDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(p.connectionFile).mode & 0o777).toBe(0o600);
    const written = JSON.parse(fs.readFileSync(p.connectionFile, "utf8")) as Record<string, unknown>;
    expect(written).toEqual({ ...p.connection });
    const ports = [p.connection.shell_port, p.connection.iopub_port, p.connection.stdin_port, p.connection.control_port, p.connection.hb_port];
    expect(new Set(ports).size).toBe(5);
    expect(p.connection).toMatchObject({ ip: "127.0.0.1", signature_scheme: "hmac-sha256", kernel_name: "fake" });
    expect(p.connection.key).toMatch(/^[0-9a-f]{64}$/);
    p.release();
    expect(fs.existsSync(p.runtimeDir)).toBe(false);
  });

  test("ipc: the sockets are paths in the runtime folder, numbered 1 to 5", async () => {
    const p = await launchKernel({ spec: fakeSpec("process.exit(0);"), transport: "ipc" });
    await p.exited;
    expect(p.connection).toMatchObject({ transport: "ipc", ip: `${p.runtimeDir}/kernel`, shell_port: 1, hb_port: 5 });
    p.release();
  });

  test("reports how the process died, with the end of its output; interrupt reaches it; kill ends it", async () => {
    const died = await launchKernel({ spec: fakeSpec('console.error("FATAL ERROR: Reached heap limit Allocation failed"); process.exit(3);') });
    expect(await exitOf(died)).toMatch(/exited with code 3 \(out of memory\); its stderr ended: FATAL ERROR/);
    died.release();

    const hang = await launchKernel({
      spec: fakeSpec('process.on("SIGINT", () => console.log("got SIGINT")); console.log("ready"); setInterval(() => {}, 1000);'),
    });
    while (!/ready/.test(hang.deathReport())) await new Promise((r) => setTimeout(r, 20));
    expect(hang.dead).toBe(false);
    expect(hang.deathReport()).toMatch(/^kernel process is still running/);
    hang.interrupt();
    while (!/got SIGINT/.test(hang.deathReport())) await new Promise((r) => setTimeout(r, 20));
    await hang.kill();
    expect(hang.dead).toBe(true);
    expect(hang.deathReport()).toMatch(/was killed by SIGKILL/);
    hang.release();
  });

  test("a command that cannot start surfaces as spawnError; an empty argv is refused before anything is created", async () => {
    const p = await launchKernel({ spec: { ...fakeSpec(""), argv: ["/no/such/kernel-binary", "{connection_file}"] } });
    expect((await p.spawnError).message).toMatch(/ENOENT/);
    p.release();
    await expect(launchKernel({ spec: { ...fakeSpec(""), argv: [] } })).rejects.toThrow(/has an empty argv; fix its kernel.json/);
    await expect(launchKernel({ spec: fakeSpec(""), transport: "udp" as "tcp" })).rejects.toThrow(/transport must be "tcp" or "ipc"/);
  });
});
