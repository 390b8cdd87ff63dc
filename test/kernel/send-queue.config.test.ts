import { describe, expect, test } from "vitest";
import { SendQueue, sendQueueOptions, type Frames, type SendQueueOptions } from "../../src/kernel/send-queue";

const socket = { delivered: [] as Frames[], send(frames: Frames): Promise<void> { this.delivered.push(frames); return Promise.resolve(); } };

describe("SendQueue's options: unknown keys and bad values are errors with the fix, at construction", () => {
  test("good options pass unchanged and the queue still sends", async () => {
    const o: SendQueueOptions = { name: "iopub", report: () => undefined, maxBacklogBytes: 0, onDropped: () => undefined, maxRetries: 0 };
    expect(sendQueueOptions(o)).toBe(o);
    const q = new SendQueue(socket, { name: "shell", maxRetries: 5 });
    q.push({ frames: () => ["a"], bytes: 1 });
    await q.flushed();
    expect(socket.delivered).toEqual([["a"]]);
  });
  test("a mistyped option is an error listing the known ones", () => {
    expect(() => new SendQueue(socket, { name: "iopub", maxBacklog: 10 } as unknown as SendQueueOptions)).toThrow(/SendQueue options: unknown option "maxBacklog"; known: name, report, maxBacklogBytes, onDropped, maxRetries\./);
  });
  test("bad values name the field and the fix", () => {
    expect(() => new SendQueue(socket, {} as SendQueueOptions)).toThrow(/SendQueue name must be a non-empty string, got undefined\. The socket's name for reports/);
    expect(() => sendQueueOptions({ name: "x", maxRetries: -1 })).toThrow(/SendQueue maxRetries must be an integer >= 0, got -1\. Retries of a busy socket/);
    expect(() => sendQueueOptions({ name: "x", maxBacklogBytes: Number.NaN })).toThrow(/SendQueue maxBacklogBytes must be a number >= 0, got NaN\. Bytes/);
    expect(() => sendQueueOptions({ name: "x", report: "stderr" as unknown as SendQueueOptions["report"] })).toThrow(/SendQueue report must be a function, got "stderr"\. Pass \(line\) => void/);
  });
});
