/**
 * Keeps the process's `uncaughtException` and `unhandledRejection` listeners from killing the kernel. The Emscripten
 * glue of @tensorflow/tfjs-backend-wasm adds listeners that rethrow whatever they get, so once the wasm backend is
 * loaded, any error a cell leaves behind (a throw in a timer, an unawaited rejected promise, a TypeScript watcher
 * callback) aborts Node. Every such listener added from here on runs inside a try/catch instead.
 */

/** The process events whose listeners must never throw. */
const GUARDED = new Set<string | symbol>(["uncaughtException", "unhandledRejection"]);

type Listener = (...args: unknown[]) => unknown;

/** The part of `process` this guard patches (an EventEmitter). */
export interface ListenerTarget {
  on(event: string | symbol, listener: Listener): unknown;
  addListener(event: string | symbol, listener: Listener): unknown;
  prependListener(event: string | symbol, listener: Listener): unknown;
  once(event: string | symbol, listener: Listener): unknown;
  prependOnceListener(event: string | symbol, listener: Listener): unknown;
  off(event: string | symbol, listener: Listener): unknown;
  removeListener(event: string | symbol, listener: Listener): unknown;
}

const ADDERS = ["on", "addListener", "prependListener", "once", "prependOnceListener"] as const;
const REMOVERS = ["off", "removeListener"] as const;

/**
 * Wraps every `uncaughtException`/`unhandledRejection` listener added to `target` after this call: a listener that
 * rethrows the error it was given is silenced (the kernel's own listener reports that error), one that throws
 * something else is reported with `report`. Removing a listener by its original function still works.
 */
export function guardErrorListeners(report: (event: string, error: unknown) => void, target: ListenerTarget = process as unknown as ListenerTarget): void {
  const wrapped = new WeakMap<Listener, Listener>();
  const wrap = (event: string | symbol, listener: Listener): Listener => {
    if (!GUARDED.has(event) || typeof listener !== "function") return listener;
    let safe = wrapped.get(listener);
    if (safe === undefined) {
      safe = function (this: unknown, ...args: unknown[]): unknown {
        try {
          return listener.apply(this, args);
        } catch (e) {
          if (e !== args[0]) report(String(event), e);
          return undefined;
        }
      };
      wrapped.set(listener, safe);
    }
    return safe;
  };
  for (const name of ADDERS) {
    const original = target[name].bind(target);
    target[name] = (event: string | symbol, listener: Listener) => {
      original(event, wrap(event, listener));
      return target;
    };
  }
  for (const name of REMOVERS) {
    const original = target[name].bind(target);
    target[name] = (event: string | symbol, listener: Listener) => {
      original(event, wrapped.get(listener) ?? listener);
      return target;
    };
  }
}
