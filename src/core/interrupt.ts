/**
 * A process-global interrupt signal for long library loops (training, sweeps, evaluation). The kernel calls
 * `requestInterrupt()` on Kernel > Interrupt; every loop running under a `loopGuard` then stops at its next step
 * boundary with an `InterruptedError` that says how far it got. The state lives on `globalThis` under
 * `Symbol.for`, so every copy of metalab in one process shares it: a course repository's notebooks may load
 * another copy than the kernel launcher does. The counter sits in a SharedArrayBuffer, so another thread (the
 * kernel's control channel) can raise it while this thread is inside a synchronous loop.
 */

import { checkConfig, checkString } from "./validate";

/** One running loop, as an interrupt reports it. */
export interface LoopProgress {
  /** What the loop does, e.g. "MAML training". */
  readonly label: string;
  /** Units finished so far. */
  done: number;
  readonly total: number;
  /** Unit name in the plural, e.g. "steps". */
  readonly unit: string;
}

/** The shared state; its shape is fixed by the key's version suffix. */
interface SharedInterrupts {
  /** counter[0]: interrupt requests so far. */
  readonly counter: Int32Array;
  /** Loops running now, outermost first. */
  readonly loops: LoopProgress[];
}

const KEY = Symbol.for("metalab.interrupt.v1");

function shared(): SharedInterrupts {
  const g = globalThis as { [KEY]?: SharedInterrupts };
  let s = g[KEY];
  if (s === undefined) {
    s = { counter: new Int32Array(new SharedArrayBuffer(4)), loops: [] };
    Object.defineProperty(globalThis, KEY, { value: s, enumerable: false, configurable: false, writable: false });
  }
  return s;
}

/** The shared counter (counter[0] = interrupts requested so far); the kernel hands its buffer to other threads. */
export function interruptCounter(): Int32Array {
  return shared().counter;
}

/** Asks every running guarded loop to stop at its next step. Safe to call from a signal handler or another thread. */
export function requestInterrupt(): void {
  Atomics.add(shared().counter, 0, 1);
}

/** How many interrupts were requested in this process so far. */
export function interruptRequests(): number {
  return Atomics.load(shared().counter, 0);
}

/** The loops running now, outermost first (copies). */
export function runningLoops(): LoopProgress[] {
  return shared().loops.map((l) => ({ ...l }));
}

/** Removes and returns the loops still registered (the kernel calls this after each cell; see `LoopGuard.end`). */
export function takeRunningLoops(): LoopProgress[] {
  return shared().loops.splice(0).map((l) => ({ ...l }));
}

const count = (n: number): string => n.toLocaleString("en-US");

/** "MAML training: 5,536 of 20,000 steps done" for each loop, outermost first. */
export function describeProgress(loops: readonly LoopProgress[]): string {
  return loops.map((l) => `${l.label}: ${count(l.done)} of ${count(l.total)} ${l.unit} done`).join("; ");
}

/** Thrown by a guarded loop that stopped because of an interrupt; `progress` lists where each running loop was. */
export class InterruptedError extends Error {
  constructor(readonly progress: readonly LoopProgress[], readonly note: string) {
    super(`Interrupted. ${describeProgress(progress)}.${note ? ` ${note}` : ""}`);
    this.name = "InterruptedError";
  }
}

/** True when `e` is an interrupt from any copy of metalab (checked by name, not instanceof). */
export function isInterrupt(e: unknown): e is InterruptedError {
  return e instanceof Error && e.name === "InterruptedError";
}

/** Options of `loopGuard`. */
export interface LoopGuardOptions {
  /** Unit name in the plural (default "steps"). */
  readonly unit?: string;
  /** What the interrupted state means for the user, e.g. "The learner keeps the weights of its last completed step." */
  readonly note?: string;
}

/** The keys of `LoopGuardOptions`: any other key is a typo and an error. */
export const LOOP_GUARD_OPTION_KEYS: { readonly [K in keyof LoopGuardOptions]-?: true } = {
  unit: true,
  note: true,
};

/** Checks `loopGuard`'s options: unknown keys, `unit` a non-empty string, `note` a string. Returns them unchanged. */
export function loopGuardOptions(o: LoopGuardOptions): LoopGuardOptions {
  const WHO = "loopGuard";
  checkConfig(WHO, o, LOOP_GUARD_OPTION_KEYS, { hint: "Pass e.g. { unit: \"runs\" }.", keysWho: `${WHO} options` });
  if (o.unit !== undefined) checkString(WHO, "unit", o.unit, "A plural unit name, e.g. \"runs\"; leave it out for \"steps\".");
  if (o.note !== undefined && typeof o.note !== "string") throw new Error(`${WHO} note must be a string, got ${String(o.note)}. Say what the interrupted state means, or leave it out.`);
  return o;
}

/** Watches for interrupts in one loop: `check(done)` at each step boundary, `end()` in a finally block. */
export class LoopGuard {
  private readonly start = interruptRequests();
  private readonly record: LoopProgress;
  private ended = false;

  constructor(label: string, total: number, private readonly options: LoopGuardOptions = {}) {
    loopGuardOptions(options);
    this.record = { label, done: 0, total, unit: options.unit ?? "steps" };
    shared().loops.push(this.record);
  }

  /** True when an interrupt was requested since this loop began. */
  get interrupted(): boolean {
    return interruptRequests() !== this.start;
  }

  /** Records `done` units finished; throws `InterruptedError` if an interrupt arrived since the loop began. */
  check(done: number): void {
    this.record.done = done;
    if (this.interrupted) throw new InterruptedError(runningLoops(), this.options.note ?? "");
  }

  /** Unregisters the loop (call in `finally`). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const loops = shared().loops;
    const at = loops.lastIndexOf(this.record);
    if (at >= 0) loops.splice(at, 1);
  }
}

/** Starts watching a loop of `total` units for interrupts (see `LoopGuard`). */
export function loopGuard(label: string, total: number, options: LoopGuardOptions = {}): LoopGuard {
  return new LoopGuard(label, total, options);
}
