/**
 * The kernel's control and heartbeat sockets, served from a worker thread so they answer while the main thread runs
 * a long synchronous cell. An interrupt_request raises the shared interrupt counter at once (library loops, even
 * synchronous ones, stop at their next step) and tells the main thread (which then rejects a pending await); if the
 * main thread has not answered within `graceMs`, it is stuck in synchronous user code, and the worker sends the
 * process SIGINT, which breaks that code. Other control requests go to the main thread; their replies leave here.
 */
import { parentPort, workerData, type MessagePort } from "worker_threads";
import { decodeMessage } from "../jupyter/wire";
import { signedFrames } from "./frames";
import { SendQueue, writeRealStderr, type Frames } from "./send-queue";
import { loadZmq } from "./zmq";

/** What the main thread passes to the worker. */
export interface ControlWorkerData {
  readonly control: string;
  readonly hb: string;
  readonly key: string;
  /** The shared interrupt counter's buffer (core/interrupt.ts): counter[0] counts interrupt requests. */
  readonly counter: SharedArrayBuffer;
  /** How long the main thread has to acknowledge an interrupt before the process gets SIGINT. */
  readonly graceMs: number;
}

/** Worker to main thread. */
export type ToMain =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "interrupt" }
  | { readonly type: "request"; readonly frames: Uint8Array[] };

/** Main thread to worker. */
export type ToWorker =
  | { readonly type: "ack" }
  | { readonly type: "send"; readonly frames: (Uint8Array | string)[] }
  | { readonly type: "close" };

const toBuffers = (frames: readonly (Uint8Array | string)[]): Frames => frames.map((f) => (typeof f === "string" ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength)));

async function serve(port: MessagePort, data: ControlWorkerData): Promise<void> {
  const zmq = loadZmq();
  const control = new zmq.Router({ sendTimeout: 0, linger: 1000 });
  const hb = new zmq.Reply({ linger: 0 });
  await Promise.all([control.bind(data.control), hb.bind(data.hb)]);
  const controlQueue = new SendQueue(control, { name: "control" });
  const hbQueue = new SendQueue(hb, { name: "heartbeat" });
  const counter = new Int32Array(data.counter);
  let escalation: NodeJS.Timeout | null = null;
  const send = (m: ToMain): void => port.postMessage(m);

  port.on("message", (m: ToWorker) => {
    if (m.type === "ack") {
      if (escalation !== null) clearTimeout(escalation);
      escalation = null;
    } else if (m.type === "send") {
      controlQueue.push({ frames: () => toBuffers(m.frames), bytes: 256 });
    } else {
      void controlQueue.flushed().then(() => {
        control.close();
        hb.close();
        port.close();
      });
    }
  });

  void (async () => {
    try {
      for await (const frames of hb) {
        hbQueue.push({ frames: () => frames, bytes: 16 });
        await hbQueue.flushed(); // A REP socket must reply before it can receive again.
      }
    } catch {
      // Closed.
    }
  })();

  send({ type: "ready" });
  try {
    for await (const frames of control) {
      let type: string;
      let header: Record<string, unknown>;
      try {
        const msg = decodeMessage(frames, data.key);
        type = msg.header.msg_type;
        header = msg.header as unknown as Record<string, unknown>;
      } catch (e) {
        writeRealStderr(`metalab kernel: ignored a control message: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      if (type !== "interrupt_request") {
        send({ type: "request", frames });
        continue;
      }
      Atomics.add(counter, 0, 1);
      const delimiter = frames.findIndex((f) => f.toString() === "<IDS|MSG>");
      controlQueue.push({ frames: () => signedFrames(data.key, frames.slice(0, Math.max(0, delimiter)), header, "interrupt_reply", { status: "ok" }), bytes: 256 });
      send({ type: "interrupt" });
      if (escalation === null) {
        escalation = setTimeout(() => {
          escalation = null;
          // The main thread did not get to our message: it is inside synchronous code that no library loop guards.
          process.kill(process.pid, "SIGINT");
        }, data.graceMs);
      }
    }
  } catch {
    // Closed.
  }
}

if (parentPort !== null) {
  const port = parentPort;
  serve(port, workerData as ControlWorkerData).catch((e: unknown) => {
    port.postMessage({ type: "failed", message: e instanceof Error ? e.message : String(e) } satisfies ToMain);
  });
}
