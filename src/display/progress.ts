/**
 * Progress bars: updated in place in a notebook (text/plain display, throttled), or drawn on stderr in a
 * terminal (a \r bar on a TTY, a line per 10% otherwise). The final state is always shown.
 */
import { PROGRESS_TRANSIENT_KEY, type ProgressTransient } from "../jupyter/mime";
import { checkConfig, checkNonNegative, checkOneOf } from "../core/validate";
import { hasDisplayTarget, newDisplayId, sendDisplay } from "./sink";

/** Something to write terminal progress to (process.stderr by default). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Options of `progressBar`. */
export interface ProgressOptions {
  /** Text before the bar, e.g. "meta-training". */
  readonly label?: string;
  /** Minimum time between two redraws (default 250 ms: at most 4 updates per second). */
  readonly minIntervalMs?: number;
  /** "auto" (default): notebook display if in a kernel or a sink is installed, else terminal; "silent" draws nothing. */
  readonly target?: "auto" | "display" | "terminal" | "silent";
  /** Terminal stream (default process.stderr). */
  readonly stream?: ProgressStream;
  /** Clock in ms (default Date.now); tests pass a fake one. */
  readonly now?: () => number;
}

/** The keys of `ProgressOptions` (all optional): any other key is a typo and an error. */
export const PROGRESS_OPTION_KEYS: { readonly [K in keyof ProgressOptions]-?: true } = { label: true, minIntervalMs: true, target: true, stream: true, now: true };

/** Checks the fields of `ProgressOptions` that `o` sets (not its other keys; see `progressOptions`). */
export function checkProgressFields(who: string, o: ProgressOptions): void {
  if (o.label !== undefined && typeof o.label !== "string") throw new Error(`${who} label must be a string (the text before the bar), got ${String(o.label)}.`);
  if (o.minIntervalMs !== undefined) checkNonNegative(who, "minIntervalMs", o.minIntervalMs, "250 ms redraws at most 4 times a second.");
  if (o.target !== undefined) checkOneOf(who, "target", o.target, ["auto", "display", "terminal", "silent"] as const);
  if (o.stream !== undefined && typeof (o.stream as Partial<ProgressStream> | null)?.write !== "function") throw new Error(`${who} stream must have a write(text) method (e.g. process.stderr), got ${String(o.stream)}.`);
  if (o.now !== undefined && typeof o.now !== "function") throw new Error(`${who} now must be a clock function returning ms (e.g. Date.now), got ${String(o.now)}.`);
}

/** Checks a progress bar's options field by field (unknown keys are errors); returns them unchanged. */
export function progressOptions(o: ProgressOptions, who = "progressBar"): ProgressOptions {
  checkConfig(who, o, PROGRESS_OPTION_KEYS, { hint: 'Pass e.g. { label: "training" }.', keysWho: `${who} options` });
  checkProgressFields(who, o);
  return o;
}

/** Extra values shown after the bar, e.g. { loss: 0.31 }. */
export type ProgressInfo = Readonly<Record<string, number | string>>;

/** Width of the bar in characters. */
const BAR_WIDTH = 30;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
}

function formatInfo(info: ProgressInfo | undefined): string {
  if (!info) return "";
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v}`)
    .join(" ");
}

/** One line of progress: `label [█████░░░░░] 50% 500/1000 [5.0s<5.0s] loss=0.3100`. */
export function formatProgress(label: string, done: number, total: number, elapsedMs: number, info?: ProgressInfo): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(frac * BAR_WIDTH);
  const bar = "█".repeat(filled) + "░".repeat(BAR_WIDTH - filled);
  const elapsed = elapsedMs / 1000;
  const remaining = done > 0 ? (elapsed * (total - done)) / done : Number.NaN;
  const time = done >= total ? `[${formatSeconds(elapsed)}]` : `[${formatSeconds(elapsed)}<${formatSeconds(remaining)}]`;
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return [label, `${bar} ${pct} ${done}/${total} ${time}`, formatInfo(info)].filter((s) => s !== "").join(" ");
}

/** A progress bar over `total` units of work. */
export class ProgressBar {
  private readonly label: string;
  private readonly minInterval: number;
  /** Where the bar draws, with "auto" resolved. */
  readonly target: "display" | "terminal" | "silent";
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly start: number;
  private readonly displayId = newDisplayId();
  private done = 0;
  private info: ProgressInfo | undefined;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastDecile = -1;
  private shown = false;
  private closed = false;

  constructor(readonly total: number, options: ProgressOptions = {}) {
    if (!(total >= 0) || !Number.isFinite(total)) throw new Error(`progressBar needs a finite total >= 0, got ${total}.`);
    this.label = options.label ?? "";
    this.minInterval = options.minIntervalMs ?? 250;
    const t = options.target ?? "auto";
    this.target = t === "auto" ? (hasDisplayTarget() ? "display" : "terminal") : t;
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.start = this.now();
    this.draw(false);
  }

  /**
   * Sets the amount of work done (and the values shown after the bar); redraws at most every minIntervalMs.
   * Returns true when it redrew.
   */
  update(done: number, info?: ProgressInfo): boolean {
    if (this.closed) return false;
    this.done = Math.min(this.total, Math.max(0, done));
    if (info) this.info = info;
    if (this.now() - this.lastDraw < this.minInterval) return false;
    this.draw(false);
    return true;
  }

  /** Adds `n` units of work done. */
  tick(n = 1, info?: ProgressInfo): boolean {
    return this.update(this.done + n, info);
  }

  /** Marks the work finished (unless `done` says otherwise) and draws the final state. */
  close(info?: ProgressInfo, done: number = this.total): void {
    if (this.closed) return;
    this.done = Math.min(this.total, Math.max(0, done));
    if (info) this.info = info;
    this.draw(true);
    this.closed = true;
  }

  /** The current line of text. */
  text(): string {
    return formatProgress(this.label, this.done, this.total, this.now() - this.start, this.info);
  }

  private draw(final: boolean): void {
    this.lastDraw = this.now();
    const line = this.text();
    if (this.target === "silent") return;
    if (this.target === "display") {
      const progress: ProgressTransient = { label: this.label, done: this.done, total: this.total, final };
      sendDisplay({ data: { "text/plain": line }, metadata: {}, transient: { display_id: this.displayId, [PROGRESS_TRANSIENT_KEY]: progress }, update: this.shown });
      this.shown = true;
      return;
    }
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K${final ? "\n" : ""}`);
      return;
    }
    // Not a TTY (CI logs): one line per 10% and the final line, no carriage returns.
    const decile = this.total > 0 ? Math.floor((10 * this.done) / this.total) : 10;
    if (final || decile > this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }
}

/** Creates a progress bar over `total` units of work (see `ProgressBar`). */
export function progressBar(total: number, options: ProgressOptions = {}): ProgressBar {
  return new ProgressBar(total, progressOptions(options));
}
