import { describe, expect, test } from "vitest";
import type { KernelSpec } from "../../src/jupyter/kernelspec";
import { executeOptions, KernelClient, kernelStartOptions, pickLaunchOptions, type ExecuteOptions, type KernelStartOptions } from "../../src/notebook/kernel";
import { checkLaunchFields, LAUNCH_OPTION_KEYS, launchKernel, type KernelLaunchOptions } from "../../src/notebook/kernel-process";

/** A stand-in "kernel" that exits at once. */
const exitingSpec: KernelSpec = { name: "fake", argv: [process.execPath, "-e", "process.exit(0)", "{connection_file}"], displayName: "Fake", language: "js", env: {}, source: "test" };

describe("the kernel client's start and execute options, and launchKernel's: unknown keys and bad values are errors with the fix", () => {
  test("good options pass unchanged; start hands only the launch fields to launchKernel, which accepts them", async () => {
    const o: KernelStartOptions = { kernelName: "tslab", startTimeoutMs: 5000, cwd: "/tmp", env: { A: "1" }, memoryMb: 512, uid: 1000, gid: 1000, maxFileBytes: 1e6, transport: "ipc", wrap: (c) => c };
    expect(kernelStartOptions(o)).toBe(o);
    const picked = pickLaunchOptions({ kernelName: "tslab", startTimeoutMs: 5000, spec: exitingSpec, transport: "ipc", memoryMb: 256 });
    expect(picked).toEqual({ transport: "ipc", memoryMb: 256 });
    expect(Object.keys(picked).every((k) => k in LAUNCH_OPTION_KEYS)).toBe(true);
    const p = await launchKernel({ ...picked, spec: exitingSpec });
    await p.exited;
    expect(p.dead).toBe(true);
    const e: ExecuteOptions = { timeoutMs: 0, interruptGraceMs: 100, maxOutputBytes: 1000, onProgress: () => undefined };
    expect(executeOptions(e)).toBe(e);
  });
  test("a mistyped option is an error listing the known ones, before any process starts", async () => {
    await expect(KernelClient.start({ kernelName: "tslab", startTimeout: 5000 } as unknown as KernelStartOptions)).rejects.toThrow(
      /KernelClient\.start options: unknown option "startTimeout"; known: spec, cwd, env, memoryMb, uid, gid, maxFileBytes, transport, wrap, kernelName, startTimeoutMs\./,
    );
    await expect(launchKernel({ spec: exitingSpec, kernelName: "tslab" } as unknown as KernelLaunchOptions)).rejects.toThrow(/launchKernel options: unknown option "kernelName"; known: spec, cwd, env, memoryMb, uid, gid, maxFileBytes, transport, wrap\./);
    expect(() => executeOptions({ timeout: 5 } as unknown as ExecuteOptions)).toThrow(/KernelClient\.execute options: unknown option "timeout"; known: timeoutMs, interruptGraceMs, maxOutputBytes, onProgress\./);
  });
  test("bad values name the field and the fix", async () => {
    expect(() => kernelStartOptions({ kernelName: "" })).toThrow(/KernelClient\.start kernelName must be a non-empty string, got ""\. A kernelspec folder name/);
    expect(() => kernelStartOptions({ startTimeoutMs: -1 })).toThrow(/KernelClient\.start startTimeoutMs must be a number >= 0, got -1\. Milliseconds/);
    expect(() => kernelStartOptions({ uid: 1.5 })).toThrow(/KernelClient\.start uid must be an integer >= 0, got 1\.5\. A numeric user or group id\./);
    expect(() => kernelStartOptions({ env: { A: 1 as unknown as string } })).toThrow(/KernelClient\.start env\.A must be a string, got 1\. Environment variables are strings/);
    expect(() => checkLaunchFields("launchKernel", { memoryMb: Number.NaN })).toThrow(/launchKernel memoryMb must be a number >= 0, got NaN/);
    expect(() => checkLaunchFields("launchKernel", { wrap: "bwrap" as unknown as KernelLaunchOptions["wrap"] })).toThrow(/launchKernel wrap must be a function, got "bwrap"/);
    await expect(launchKernel({ spec: undefined as unknown as KernelSpec })).rejects.toThrow(/launchKernel spec must be an object, got undefined\. Pass a resolved kernel spec/);
    await expect(launchKernel({ spec: exitingSpec, transport: "udp" as "tcp" })).rejects.toThrow(/launchKernel: transport must be "tcp" or "ipc", got "udp"\. Use "ipc"/);
    expect(() => executeOptions({ timeoutMs: -5 })).toThrow(/KernelClient\.execute timeoutMs must be a number >= 0, got -5\. Milliseconds/);
    expect(() => executeOptions({ onProgress: 3 as unknown as ExecuteOptions["onProgress"] })).toThrow(/KernelClient\.execute onProgress must be a function/);
  });
});
