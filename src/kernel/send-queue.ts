/**
 * One ordered send queue per ZeroMQ socket. zeromq.js 6 allows one send in progress per socket and throws `EBUSY`
 * at a second one (tslab 1.0.22 never waits, which killed kernels under load); this queue hands a message to the
 * socket only when every earlier one was accepted, never reorders, retries a busy socket and reports other failures
 * on the process's real stderr. It never throws and never leaves a promise rejection unhandled.
 */
import { writeSync } from "fs";
import { checkConfig, checkFunction, checkInteger, checkNonNegative, checkString } from "../core/validate";

/** Frames of one multipart message. */
export type Frames = (Buffer | string)[];

/** The part of a zeromq.js socket the queue uses. */
export interface SendSocket {
  send(frames: Frames): Promise<void>;
}

/**
 * A message waiting in the queue. `frames` is called when its turn comes (so until then it can absorb others), and
 * again if the socket was busy and the message can absorb, so it must build the same message each time.
 */
export interface Outgoing {
  readonly frames: () => Frames;
  /** Approximate size in bytes (for the backlog limit). */
  readonly bytes: number;
  /** May be dropped when the backlog is over its limit (stream text); displays and replies never are. */
  readonly droppable?: boolean;
  /**
   * Called with a newer message while this one is still unsent and last in the queue: returns true when it took
   * the newer message's content into itself (consecutive stream text of one cell), so one message carries both.
   */
  readonly absorb?: (next: Outgoing) => boolean;
}

/** Options of a `SendQueue`. */
export interface SendQueueOptions {
  /** Socket name used in reports ("iopub", "shell", ...). */
  readonly name: string;
  /** Where failures are reported (default: the process's file descriptor 2, bypassing any redirected process.stderr). */
  readonly report?: (line: string) => void;
  /** Bytes of unsent droppable messages above which new droppable ones are dropped (default 512 MiB). */
  readonly maxBacklogBytes?: number;
  /** Called once when the backlog has drained after drops, with the number of messages and bytes dropped. */
  readonly onDropped?: (messages: number, bytes: number) => void;
  /** Retries of a message the socket could not take (EAGAIN, EBUSY) before it is reported and dropped (default 200). */
  readonly maxRetries?: number;
}

/** The keys of `SendQueueOptions`: any other key is a typo and an error. */
export const SEND_QUEUE_OPTION_KEYS: { readonly [K in keyof SendQueueOptions]-?: true } = {
  name: true,
  report: true,
  maxBacklogBytes: true,
  onDropped: true,
  maxRetries: true,
};

/** Checks a `SendQueue`'s options: unknown keys, `name` a non-empty string, the callbacks functions, the limits in range. Returns them unchanged. */
export function sendQueueOptions(o: SendQueueOptions): SendQueueOptions {
  const WHO = "SendQueue";
  checkConfig(WHO, o, SEND_QUEUE_OPTION_KEYS, { hint: "Pass e.g. { name: \"iopub\" }.", keysWho: `${WHO} options` });
  checkString(WHO, "name", o.name, "The socket's name for reports, e.g. \"iopub\".");
  if (o.report !== undefined) checkFunction(WHO, "report", o.report, "Pass (line) => void, or leave it out for the real stderr.");
  if (o.onDropped !== undefined) checkFunction(WHO, "onDropped", o.onDropped, "Pass (messages, bytes) => void, or leave it out.");
  if (o.maxBacklogBytes !== undefined) checkNonNegative(WHO, "maxBacklogBytes", o.maxBacklogBytes, "Bytes, e.g. 536870912; 0 drops every droppable message that cannot go out at once.");
  if (o.maxRetries !== undefined) checkInteger(WHO, "maxRetries", o.maxRetries, 0, "Retries of a busy socket, e.g. 200; 0 reports and drops at the first.");
  return o;
}

/** Counters for tests and reports. */
export interface SendQueueStats {
  readonly sent: number;
  readonly retried: number;
  readonly failed: number;
  readonly dropped: number;
  readonly pending: number;
}

/** Errors after which the same message may be sent again: the socket was momentarily unable to take it. */
function isTransient(e: unknown): boolean {
  const code = typeof e === "object" && e !== null && "code" in e ? (e as { code: unknown }).code : undefined;
  return code === "EBUSY" || code === "EAGAIN";
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${"code" in e ? `${String((e as { code: unknown }).code)}: ` : ""}${e.message}`;
  return String(e);
}

/** Writes a line to fd 2 directly: process.stderr.write is redirected to the running cell inside the kernel. */
export function writeRealStderr(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // Nowhere left to report to.
  }
}

interface Entry {
  readonly item: Outgoing;
  bytes: number;
  frames?: Frames;
}

/** An ordered, awaited send queue over one socket. */
export class SendQueue {
  /** Unsent messages in order; `frames` is set once a message was built (it then absorbs nothing more). */
  private readonly pending: Entry[] = [];
  /** The last send the socket accepted whose promise has not settled yet. */
  private inflight: Promise<void> | null = null;
  private inflightCount = 0;
  private waiting = false;
  private retries = 0;
  private backlogBytes = 0;
  private droppedMessages = 0;
  private droppedBytes = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private counts = { sent: 0, retried: 0, failed: 0, dropped: 0 };
  private readonly report: (line: string) => void;
  private readonly maxBacklog: number;
  private readonly maxRetries: number;

  constructor(private readonly socket: SendSocket, private readonly options: SendQueueOptions) {
    sendQueueOptions(options);
    this.report = options.report ?? writeRealStderr;
    this.maxBacklog = options.maxBacklogBytes ?? 512 * 1024 * 1024;
    this.maxRetries = options.maxRetries ?? 200;
  }

  /** Queues a message; sends it at once when the socket is free and nothing is ahead of it. Never throws. */
  push(item: Outgoing): void {
    if (this.closed) {
      this.counts.dropped += 1;
      return;
    }
    if (item.droppable === true && this.backlogBytes + item.bytes > this.maxBacklog) {
      this.droppedMessages += 1;
      this.droppedBytes += item.bytes;
      this.counts.dropped += 1;
      return;
    }
    const last = this.pending[this.pending.length - 1];
    if (last !== undefined && last.frames === undefined && last.item.absorb?.(item) === true) {
      last.bytes += item.bytes;
      this.backlogBytes += item.bytes;
      return;
    }
    this.pending.push({ item, bytes: item.bytes });
    this.backlogBytes += item.bytes;
    if (!this.waiting) this.pump();
  }

  /** Resolves once every message queued so far was handed to the socket (or failed and was reported). */
  flushed(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Messages not yet accepted by the socket. */
  get size(): number {
    return this.pending.length;
  }

  stats(): SendQueueStats {
    return { ...this.counts, pending: this.pending.length };
  }

  /** Stops sending: later pushes are dropped, waiting ones are discarded. */
  close(): void {
    this.closed = true;
    this.counts.dropped += this.pending.length;
    this.pending.length = 0;
    this.notifyIdle();
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.inflightCount === 0;
  }

  /** Hands queued messages to the socket, synchronously, until it is busy (so a synchronous loop's output flows). */
  private pump(): void {
    while (this.pending.length > 0 && !this.closed) {
      const head = this.pending[0]!;
      let frames: Frames;
      try {
        head.frames ??= head.item.frames();
        frames = head.frames;
      } catch (e) {
        this.fail(`could not encode a message: ${describe(e)}`);
        continue;
      }
      let accepted: Promise<void>;
      try {
        accepted = this.socket.send(frames);
      } catch (e) {
        if (isTransient(e)) {
          // Not sent: a mergeable message may still take in text that arrives while it waits.
          if (head.item.absorb !== undefined) delete head.frames;
          this.waitThenPump(e);
          return;
        }
        this.fail(`send failed: ${describe(e)}`);
        continue;
      }
      this.take();
      this.track(head, accepted);
    }
    this.notifyIdle();
  }

  /** Removes the head message after the socket accepted it. */
  private take(): void {
    const head = this.pending.shift();
    this.retries = 0;
    if (head) this.backlogBytes = Math.max(0, this.backlogBytes - head.bytes);
    if (this.droppedMessages > 0 && this.backlogBytes < this.maxBacklog / 2) {
      const [n, bytes] = [this.droppedMessages, this.droppedBytes];
      this.droppedMessages = 0;
      this.droppedBytes = 0;
      this.report(`metalab kernel: ${this.options.name}: dropped ${n} output message(s) (${bytes} bytes): the frontend was not reading.`);
      this.options.onDropped?.(n, bytes);
    }
  }

  /** Watches an accepted send; a deferred one that later fails goes back to the head of the queue and is retried. */
  private track(head: Entry, accepted: Promise<void>): void {
    this.inflightCount += 1;
    const p = accepted.then(
      () => {
        this.counts.sent += 1;
      },
      (e: unknown) => {
        if (!this.closed && isTransient(e) && this.retries < this.maxRetries) {
          // Nothing can have been accepted after a deferred send, so putting it back first keeps the order.
          this.pending.unshift(head);
          this.backlogBytes += head.bytes;
          this.retries += 1;
          this.counts.retried += 1;
        } else if (!this.closed) {
          this.counts.failed += 1;
          this.report(`metalab kernel: ${this.options.name}: a message could not be sent and was dropped: ${describe(e)}`);
        }
      },
    );
    this.inflight = p;
    void p.then(() => {
      this.inflightCount -= 1;
      if (this.inflight === p) this.inflight = null;
      if (this.pending.length > 0 && !this.waiting) this.waitThenPump(null);
      else this.notifyIdle();
    });
  }

  /** The socket is busy: waits for the send in progress (or a short pause), then continues in order. */
  private waitThenPump(cause: unknown): void {
    if (this.waiting) return;
    this.waiting = true;
    const resume = (): void => {
      this.waiting = false;
      this.pump();
    };
    if (this.inflight !== null) {
      void this.inflight.then(resume);
      return;
    }
    // Busy without a send of ours in progress (e.g. during bind): retry shortly, then give up loudly.
    this.retries += 1;
    this.counts.retried += 1;
    if (this.retries > this.maxRetries) {
      this.waiting = false;
      this.fail(`socket stayed busy: ${describe(cause)}`);
      this.pump();
      return;
    }
    setTimeout(resume, Math.min(100, this.retries)).unref();
  }

  /** Drops the head message and reports why. */
  private fail(why: string): void {
    this.counts.failed += 1;
    this.take();
    this.report(`metalab kernel: ${this.options.name}: a message was dropped: ${why}`);
  }

  private notifyIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
