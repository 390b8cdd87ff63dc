import { describe, expect, it } from "vitest";
import { executeReplyContent, kernelInfo, parseRaw, plainText, readConnectionInfo, readExecuteRequest, signedFrames } from "../../src/kernel/server";
import { parseConfigPath } from "../../src/kernel/launch";
import { kernelJson, parseInstallArgs } from "../../src/kernel/install";

describe("kernel protocol pieces", () => {
  it("applies the protocol's defaults to execute_request", () => {
    expect(readExecuteRequest({ code: "1" })).toEqual({ code: "1", silent: false, storeHistory: true, stopOnError: true });
    expect(readExecuteRequest({ code: "1", silent: true, store_history: true, stop_on_error: false })).toEqual({
      code: "1",
      silent: true,
      storeHistory: false,
      stopOnError: false,
    });
  });

  it("builds error replies with ename, evalue and traceback", () => {
    const reply = executeReplyContent({ status: "error", executionCount: 3, error: { ename: "E", evalue: "v", traceback: ["t"] } });
    expect(reply).toEqual({ status: "error", execution_count: 3, ename: "E", evalue: "v", traceback: ["t"] });
    expect(executeReplyContent({ status: "ok", executionCount: 4 })).toMatchObject({ status: "ok", execution_count: 4 });
    // The protocol's spelling, and no execution count: the cell never ran.
    expect(executeReplyContent({ status: "aborted" })).toEqual({ status: "aborted", execution_count: null });
  });

  it("answers kernel_info with status ok and TypeScript language info", () => {
    const info = kernelInfo();
    expect(info.status).toBe("ok");
    expect(info.language_info).toMatchObject({ name: "typescript", file_extension: ".ts" });
  });

  it("shows last expressions as Node's REPL does", () => {
    expect(plainText("ab")).toBe("'ab'");
    expect(plainText([2, 4])).toBe("[ 2, 4 ]");
  });

  it("validates the connection file", () => {
    const ports = { shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5 };
    expect(readConnectionInfo({ ...ports, key: "k" })).toMatchObject({ transport: "tcp", ip: "127.0.0.1", key: "k", hb_port: 5 });
    expect(() => readConnectionInfo({ ...ports, hb_port: "5" })).toThrow(/hb_port/);
    expect(() => readConnectionInfo({ ...ports, signature_scheme: "hmac-md5" })).toThrow(/hmac-sha256/);
  });

  it("reads the connection file argument in the forms Jupyter and tslab use", () => {
    expect(parseConfigPath(["--config-path", "/c.json"])).toBe("/c.json");
    expect(parseConfigPath(["kernel", "--config-path=/c.json"])).toBe("/c.json");
    expect(parseConfigPath(["/c.json"])).toBe("/c.json");
    expect(parseConfigPath([])).toBe("");
  });

  it("parses install options and writes a kernel.json that runs the launcher with this Node", () => {
    expect(parseInstallArgs([], true).location).toEqual({ kind: "system" });
    expect(parseInstallArgs([], false).location).toEqual({ kind: "user" });
    const opts = parseInstallArgs(["--python=/usr/bin/python3", "--prefix=/tmp/x", "--name=tslab"], false);
    expect(opts).toMatchObject({ python: "/usr/bin/python3", name: "tslab", location: { kind: "prefix", prefix: "/tmp/x" } });
    expect(() => parseInstallArgs(["--bogus"], false)).toThrow(/Unknown option/);
    const spec = kernelJson("/p/dist/src/kernel/launch.js", "TypeScript (metalab)", "/usr/bin/node");
    expect(spec.argv).toEqual(["/usr/bin/node", "/p/dist/src/kernel/launch.js", "--config-path", "{connection_file}"]);
  });
});

describe("raw wire messages", () => {
  it("signs frames so that parseRaw accepts them, and rejects a forged signature", async () => {
    const parent = { msg_id: "p1", username: "u", session: "s", msg_type: "history_request", version: "5.3", date: "" };
    const frames = signedFrames("secret", [Buffer.from("id1")], parent, "history_reply", { status: "ok", history: [] });
    const buffers = frames.map((f: string | Buffer) => (typeof f === "string" ? Buffer.from(f) : f));
    const raw = parseRaw(buffers, "secret");
    expect(raw?.identities.map(String)).toEqual(["id1"]);
    expect(raw?.header.msg_type).toBe("history_reply");
    expect(parseRaw(buffers, "other key")).toBeNull();
    expect(parseRaw([Buffer.from("no delimiter")], "secret")).toBeNull();
  });
});
