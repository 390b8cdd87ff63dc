/**
 * The client's zeromq sockets to one kernel: shell and control (DEALER) and iopub (SUB), connected over the
 * connection's transport (tcp or ipc), with signed messages in and out. The only module that loads zeromq.
 */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import type * as Zmq from "zeromq";
import { channelAddress, type ConnectionInfo } from "../jupyter/connection";
import { decodeMessage, encodeMessage, type JupyterMessage } from "../jupyter/wire";

/** The channels a notebook client uses. */
export type ClientChannel = "shell" | "control" | "iopub";

/** Loads zeromq through tslab's own resolution so it works whether or not npm hoisted it. */
function loadZmq(): typeof Zmq {
  let req: NodeRequire = require;
  try {
    req = createRequire(require.resolve("tslab/package.json"));
  } catch {
    // tslab absent: fall back to a top-level zeromq.
  }
  return req("zeromq");
}

/** Open sockets to a kernel; every verified message is handed to `onMessage`, unsigned or malformed ones are dropped. */
export class KernelChannels {
  private readonly shell: Zmq.Dealer;
  private readonly control: Zmq.Dealer;
  private readonly iopub: Zmq.Subscriber;
  private sendChain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly connection: ConnectionInfo,
    onMessage: (channel: ClientChannel, msg: JupyterMessage) => void,
  ) {
    const zmq = loadZmq();
    this.shell = new zmq.Dealer({ linger: 0, routingId: `metalab-${randomBytes(6).toString("hex")}` });
    this.control = new zmq.Dealer({ linger: 0 });
    this.iopub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 }); // 0 = unbounded: never drop on our side.
    this.shell.connect(channelAddress(connection, "shell"));
    this.control.connect(channelAddress(connection, "control"));
    this.iopub.connect(channelAddress(connection, "iopub"));
    this.iopub.subscribe();
    void this.readLoop(this.shell, (m) => onMessage("shell", m));
    void this.readLoop(this.control, (m) => onMessage("control", m));
    void this.readLoop(this.iopub, (m) => onMessage("iopub", m));
  }

  /**
   * Signs and sends `msg` on shell or control. Sends are serialised over both sockets: zeromq.js rejects a second
   * send in flight on one socket with EBUSY.
   */
  send(channel: "shell" | "control", msg: JupyterMessage): Promise<void> {
    const sock = channel === "shell" ? this.shell : this.control;
    const frames = encodeMessage(msg, this.connection.key);
    const next = this.sendChain.then(() => sock.send(frames));
    this.sendChain = next.catch(() => undefined);
    return next;
  }

  /** Closes the three sockets (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub]) {
      try {
        s.close();
      } catch {
        // Already closed.
      }
    }
  }

  private async readLoop(sock: Zmq.Dealer | Zmq.Subscriber, handle: (m: JupyterMessage) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(frames, this.connection.key);
        } catch {
          continue; // Unsigned or malformed frames are not from our kernel; drop them.
        }
        handle(msg);
      }
    } catch {
      // Socket closed.
    }
  }
}
