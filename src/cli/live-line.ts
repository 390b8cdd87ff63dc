/**
 * The running cell's progress bar in the terminal while `npm run reproduce` waits for it: a TTY redraws one line
 * in place; a log (CI, a pipe) gets the bar as a plain line every few seconds, so a long cell is never silent.
 */

/** Where the line goes (process.stderr by default). */
export interface LiveLineStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Options of `LiveLine`. */
export interface LiveLineOptions {
  /** Seconds between lines when the stream is not a TTY (default 5). */
  readonly intervalMs?: number;
  /** Clock in ms (tests pass a fake one). */
  readonly now?: () => number;
}

/** One live line under the per-cell log lines. */
export class LiveLine {
  private shown = false;
  private last: number;
  private latest = "";
  private readonly interval: number;
  private readonly now: () => number;

  constructor(private readonly stream: LiveLineStream = process.stderr, options: LiveLineOptions = {}) {
    this.interval = options.intervalMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.last = this.now();
  }

  /** Shows the newest progress text (a TTY redraws at once; a log prints when the interval has passed). */
  show(text: string): void {
    this.latest = text;
    if (this.stream.isTTY === true) {
      const width = Math.max(20, (this.stream.columns ?? 100) - 1);
      this.stream.write(`\r${text.length > width ? `${text.slice(0, width - 1)}…` : text}\x1b[K`);
      this.shown = true;
      return;
    }
    if (this.now() - this.last < this.interval) return;
    this.last = this.now();
    this.stream.write(`${text}\n`);
  }

  /** Removes the live line (before a log line is printed) and restarts the interval (a new cell starts). */
  clear(): void {
    if (this.shown) this.stream.write("\r\x1b[K");
    this.shown = false;
    this.latest = "";
    this.last = this.now();
  }

  /** The newest text shown (for tests). */
  get text(): string {
    return this.latest;
  }
}
