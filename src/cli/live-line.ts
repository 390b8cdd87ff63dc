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

/**
 * Live lines for several notebooks running at once (`reproduce --jobs N`): on a TTY, one redrawn line per running
 * notebook kept under the log lines; in a log, each notebook's newest progress as a prefixed line every few seconds.
 */
export class LiveBoard {
  private readonly slots = new Map<string, { text: string; last: number }>();
  /** Lines of the live region currently on screen (TTY only); the cursor sits below them. */
  private drawn = 0;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(private readonly stream: LiveLineStream = process.stderr, options: LiveLineOptions = {}) {
    this.interval = options.intervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  /** Starts (or restarts, for a new cell) the slot of `key`: nothing is shown until its first progress. */
  open(key: string): void {
    const had = this.slots.get(key)?.text;
    this.slots.set(key, { text: "", last: this.now() });
    if (had && this.stream.isTTY === true) this.redraw();
  }

  /** Shows `key`'s newest progress text (`key` is prefixed in a log; on a TTY the text should carry it already). */
  show(key: string, text: string): void {
    const slot = this.slots.get(key) ?? { text: "", last: this.now() };
    slot.text = text;
    this.slots.set(key, slot);
    if (this.stream.isTTY === true) {
      this.redraw();
      return;
    }
    if (this.now() - slot.last < this.interval) return;
    slot.last = this.now();
    this.stream.write(`${text}\n`);
  }

  /** Prints a permanent log line above the live lines. */
  log(line: string): void {
    if (this.stream.isTTY !== true) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.erase();
    this.stream.write(`${line}\n`);
    this.paint();
  }

  /** Removes `key`'s live line (its notebook finished). */
  close(key: string): void {
    if (!this.slots.delete(key)) return;
    if (this.stream.isTTY === true) this.redraw();
  }

  /** The texts shown now, by key (for tests). */
  texts(): Record<string, string> {
    return Object.fromEntries([...this.slots].map(([k, v]) => [k, v.text]));
  }

  private redraw(): void {
    this.erase();
    this.paint();
  }

  /** Moves the cursor up over the live region and clears it. */
  private erase(): void {
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }

  private paint(): void {
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    const lines = [...this.slots.values()].map((s) => s.text).filter((t) => t !== "");
    if (lines.length === 0) return;
    this.stream.write(lines.map((t) => `${t.length > width ? `${t.slice(0, width - 1)}…` : t}\n`).join(""));
    this.drawn = lines.length;
  }
}
