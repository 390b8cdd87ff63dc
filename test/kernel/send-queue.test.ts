import { describe, expect, test } from "vitest";
import { loadZmq } from "../../src/kernel/server";
import { SendQueue, type Frames, type Outgoing } from "../../src/kernel/send-queue";

/**
 * A socket that behaves like zeromq.js 6: `limit` sends in a row are taken at once; the next is deferred to a later
 * tick, and a send while one is deferred throws EBUSY synchronously.
 */
class FakeSocket {
  readonly delivered: string[] = [];
  private syncLeft: number;
  private busy = false;
  failNextDeferred: unknown = null;
  constructor(private readonly limit = 3) {
    this.syncLeft = limit;
  }
  send(frames: Frames): Promise<void> {
    if (this.busy) throw Object.assign(new Error("Socket is busy writing"), { code: "EBUSY" });
    const text = frames.map(String).join("|");
    if (this.syncLeft > 0) {
      this.syncLeft -= 1;
      this.delivered.push(text);
      setImmediate(() => (this.syncLeft = this.limit));
      return Promise.resolve();
    }
    this.busy = true;
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        this.busy = false;
        this.syncLeft = this.limit;
        if (this.failNextDeferred !== null) {
          const e = this.failNextDeferred;
          this.failNextDeferred = null;
          reject(e);
          return;
        }
        this.delivered.push(text);
        resolve();
      }, 2),
    );
  }
}

const msg = (text: string): Outgoing => ({ frames: () => [text], bytes: text.length });

/** Stream-like messages that merge consecutive text (as the server's stream messages do). */
function mergeable(text: string): Outgoing & { parts: string[] } {
  const parts = [text];
  const m: Outgoing & { parts: string[] } = {
    parts,
    bytes: text.length,
    frames: () => [parts.join("")],
    absorb: (next) => {
      if (!("parts" in next)) return false;
      parts.push(...(next as { parts: string[] }).parts);
      return true;
    },
  };
  return m;
}

describe("SendQueue", () => {
  test("sends everything in order through a socket that throws EBUSY while a send is deferred", async () => {
    const sock = new FakeSocket(3);
    const reports: string[] = [];
    const q = new SendQueue(sock, { name: "test", report: (l) => reports.push(l) });
    const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
    for (const s of sent) q.push(msg(s));
    expect(sock.delivered.length).toBeGreaterThan(0); // the first ones go out synchronously
    await q.flushed();
    expect(sock.delivered).toEqual(sent);
    expect(reports).toEqual([]);
    expect(q.stats()).toMatchObject({ failed: 0, pending: 0 });
  });

  test("retries a deferred send that failed transiently, before anything queued after it", async () => {
    const sock = new FakeSocket(1);
    sock.failNextDeferred = Object.assign(new Error("try again"), { code: "EAGAIN" });
    const q = new SendQueue(sock, { name: "test", report: () => undefined });
    for (const s of ["a", "b", "c", "d"]) q.push(msg(s));
    await q.flushed();
    expect(sock.delivered).toEqual(["a", "b", "c", "d"]);
    expect(q.stats().retried).toBeGreaterThan(0);
  });

  test("reports a permanent failure on stderr's stand-in and carries on; never rejects", async () => {
    const reports: string[] = [];
    let calls = 0;
    const sock = {
      send(frames: Frames): Promise<void> {
        calls += 1;
        if (String(frames[0]) === "bad") return Promise.reject(Object.assign(new Error("no route"), { code: "EHOSTUNREACH" }));
        return Promise.resolve();
      },
    };
    const q = new SendQueue(sock, { name: "shell", report: (l) => reports.push(l) });
    q.push(msg("ok1"));
    q.push(msg("bad"));
    q.push({ frames: () => { throw new Error("cannot encode"); }, bytes: 1 });
    q.push(msg("ok2"));
    await q.flushed();
    expect(calls).toBe(3);
    expect(reports).toHaveLength(2);
    expect(reports.join("\n")).toMatch(/shell.*no route/);
    expect(reports.join("\n")).toMatch(/cannot encode/);
  });

  test("merges consecutive mergeable messages only while they wait, and keeps their order with others", async () => {
    const sock = new FakeSocket(1);
    const q = new SendQueue(sock, { name: "iopub" });
    q.push(mergeable("a")); // goes out at once
    q.push(msg("X")); // deferred
    q.push(mergeable("b"));
    q.push(mergeable("c"));
    q.push(msg("Y"));
    q.push(mergeable("d"));
    await q.flushed();
    expect(sock.delivered).toEqual(["a", "X", "bc", "Y", "d"]);
  });

  test("drops droppable messages past the backlog limit and says so once it drains", async () => {
    const sock = new FakeSocket(0);
    const reports: string[] = [];
    const dropped: number[] = [];
    const q = new SendQueue(sock, { name: "iopub", maxBacklogBytes: 10, report: (l) => reports.push(l), onDropped: (n) => dropped.push(n) });
    for (let i = 0; i < 20; i++) q.push({ ...msg(`${i % 10}`), droppable: true });
    q.push(msg("kept-even-over-the-limit"));
    await q.flushed();
    expect(sock.delivered).toContain("kept-even-over-the-limit");
    expect(sock.delivered.length + dropped.reduce((a, b) => a + b, 0)).toBe(21);
    expect(reports[0]).toMatch(/dropped \d+ output message/);
  });

  test("against real zeromq: 20,000 sends in one tick to a subscriber that reads slowly arrive complete and in order", async () => {
    const zmq = loadZmq();
    const pub = new zmq.Publisher({ sendHighWaterMark: 0 }); // as the kernel's iopub
    const sub = new zmq.Subscriber(); // default high-water mark, as Jupyter's
    await pub.bind("tcp://127.0.0.1:*");
    sub.connect(pub.lastEndpoint!);
    sub.subscribe();
    await new Promise((r) => setTimeout(r, 200)); // let the subscription reach the publisher
    const reports: string[] = [];
    const q = new SendQueue(pub, { name: "iopub", report: (l) => reports.push(l) });
    const n = 20_000;
    for (let i = 0; i < n; i++) q.push(msg(String(i)));
    const got: number[] = [];
    for await (const [frame] of sub) {
      got.push(Number(frame!.toString()));
      if (got.length % 1000 === 0) await new Promise((r) => setTimeout(r, 1)); // a slow reader
      if (got.length === n) break;
    }
    await q.flushed();
    expect(got.findIndex((v, i) => v !== i)).toBe(-1);
    expect(reports).toEqual([]);
    pub.close();
    sub.close();
  });
});
