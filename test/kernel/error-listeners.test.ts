import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { guardErrorListeners, type ListenerTarget } from "../../src/kernel/error-listeners";

describe("guardErrorListeners", () => {
  const setup = () => {
    const target = new EventEmitter();
    const reports: [string, unknown][] = [];
    guardErrorListeners((event, error) => reports.push([event, error]), target as unknown as ListenerTarget);
    return { target, reports };
  };

  it("silences a listener that rethrows what it got (Emscripten's), reports one that throws something else", () => {
    const { target, reports } = setup();
    const seen: unknown[] = [];
    target.on("uncaughtException", (e: unknown) => seen.push(e));
    target.on("uncaughtException", (e: unknown) => {
      throw e;
    });
    target.prependListener("unhandledRejection", () => {
      throw new Error("listener bug");
    });
    const boom = new Error("boom");
    expect(() => target.emit("uncaughtException", boom)).not.toThrow();
    expect(() => target.emit("unhandledRejection", "why", Promise.resolve())).not.toThrow();
    expect(seen).toEqual([boom]);
    expect(reports.map(([ev, e]) => [ev, (e as Error).message])).toEqual([["unhandledRejection", "listener bug"]]);
  });

  it("leaves other events alone, and removing or once-listening by the original function still works", () => {
    const { target } = setup();
    const thrower = (): void => {
      throw new Error("not guarded");
    };
    target.on("data", thrower);
    expect(() => target.emit("data")).toThrow("not guarded");
    let calls = 0;
    const counter = (): void => void (calls += 1);
    target.on("uncaughtException", counter);
    target.once("uncaughtException", counter);
    target.emit("uncaughtException", new Error("a"));
    target.emit("uncaughtException", new Error("b"));
    expect(calls).toBe(3);
    target.off("uncaughtException", counter);
    target.emit("uncaughtException", new Error("c"));
    expect(calls).toBe(3);
    expect(target.listenerCount("uncaughtException")).toBe(0);
  });
});
