/**
 * Jupyter connection files and socket addresses, shared by the kernel (which binds) and the runner (which connects).
 * https://jupyter-client.readthedocs.io/en/latest/kernels.html#connection-files
 */
import * as net from "node:net";

/** How the sockets are reached: TCP on a host address, or Unix domain sockets (zeromq `ipc`) named by a path prefix. */
export type Transport = "tcp" | "ipc";

/** The five kernel sockets. */
export type Channel = "shell" | "iopub" | "stdin" | "control" | "hb";

/** The contents of a Jupyter connection file. */
export interface ConnectionInfo {
  readonly transport: Transport;
  /** tcp: the host address (127.0.0.1); ipc: the path prefix of the socket files (socket n is `<ip>-<n>`). */
  readonly ip: string;
  readonly shell_port: number;
  readonly iopub_port: number;
  readonly stdin_port: number;
  readonly control_port: number;
  readonly hb_port: number;
  /** HMAC-SHA256 signing key ("" disables signing). */
  readonly key: string;
  readonly signature_scheme: "hmac-sha256";
  readonly kernel_name: string;
}

/**
 * The zeromq address of one socket, following jupyter_client: `tcp://<ip>:<port>`, or `ipc://<ip>-<port>` for ipc
 * (the same convention ipykernel binds with).
 */
export function socketAddress(transport: Transport, ip: string, port: number): string {
  return transport === "tcp" ? `tcp://${ip}:${port}` : `ipc://${ip}-${port}`;
}

/** The zeromq address of `channel` in `info`. */
export function channelAddress(info: ConnectionInfo, channel: Channel): string {
  return socketAddress(info.transport, info.ip, info[`${channel}_port`]);
}

/** Asks the OS for `n` distinct free TCP ports on 127.0.0.1 (they are released before returning, as Jupyter does). */
export async function freeTcpPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === "string") throw new Error("could not pick a free TCP port");
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** Connection info for a new kernel: five free TCP ports on 127.0.0.1, or ipc sockets `<ipcPrefix>-1` … `-5`. */
export async function newConnectionInfo(
  o: { readonly transport: Transport; readonly ipcPrefix?: string; readonly key: string; readonly kernelName: string },
): Promise<ConnectionInfo> {
  let ip: string;
  let ports: number[];
  if (o.transport === "tcp") {
    ip = "127.0.0.1";
    ports = await freeTcpPorts(5);
  } else {
    if (o.ipcPrefix === undefined) throw new Error("newConnectionInfo: the ipc transport needs an ipcPrefix (a path in a private folder).");
    ip = o.ipcPrefix;
    ports = [1, 2, 3, 4, 5];
  }
  const [shell_port, iopub_port, stdin_port, control_port, hb_port] = ports;
  if (shell_port === undefined || iopub_port === undefined || stdin_port === undefined || control_port === undefined || hb_port === undefined) {
    throw new Error("newConnectionInfo: fewer than five ports");
  }
  return {
    transport: o.transport,
    ip,
    shell_port,
    iopub_port,
    stdin_port,
    control_port,
    hb_port,
    key: o.key,
    signature_scheme: "hmac-sha256",
    kernel_name: o.kernelName,
  };
}
