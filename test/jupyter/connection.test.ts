import { describe, expect, test } from "vitest";
import { channelAddress, freeTcpPorts, newConnectionInfo, socketAddress } from "../../src/jupyter/connection";

describe("Jupyter connection info", () => {
  test("addresses follow jupyter_client: tcp://ip:port and ipc://path-port", async () => {
    expect(socketAddress("tcp", "127.0.0.1", 5555)).toBe("tcp://127.0.0.1:5555");
    expect(socketAddress("ipc", "/run/k/kernel", 2)).toBe("ipc:///run/k/kernel-2");
    const ipc = await newConnectionInfo({ transport: "ipc", ipcPrefix: "/run/k/kernel", key: "k", kernelName: "tslab" });
    expect(channelAddress(ipc, "control")).toBe("ipc:///run/k/kernel-4");
    expect(channelAddress(ipc, "iopub")).toBe("ipc:///run/k/kernel-2");
  });

  test("tcp picks distinct free ports; ipc without a prefix is refused", async () => {
    const ports = await freeTcpPorts(5);
    expect(new Set(ports).size).toBe(5);
    const tcp = await newConnectionInfo({ transport: "tcp", key: "", kernelName: "x" });
    expect(channelAddress(tcp, "shell")).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    await expect(newConnectionInfo({ transport: "ipc", key: "", kernelName: "x" })).rejects.toThrow(/needs an ipcPrefix/);
  });
});
