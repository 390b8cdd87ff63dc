/**
 * Live training display: a progress bar plus a loss chart, both updated in place while a loop runs.
 * The chart redraws at a quarter and half of the run, then at an interval that grows with the measured cost of a
 * redraw (`redrawIntervalMs`), and only when the loop awaits `update`; `finish` always draws the final state, so
 * the saved notebook holds the complete curve whatever the timing was.
 */
import { lineChart, type Chart } from "../plot/chart";
import { displayChart, type FigureHandle } from "./figure";
import { checkConfig, checkInteger, checkOneOf } from "../core/validate";
import { checkProgressFields, PROGRESS_OPTION_KEYS, ProgressBar, type ProgressInfo, type ProgressOptions } from "./progress";

/** Options of `liveTraining`. */
export interface LiveTrainingOptions extends ProgressOptions {
  /** Chart title (default "Training loss"). */
  readonly title?: string;
  /**
   * Shortest time between chart redraws (default 2000 ms). The actual interval grows with the measured render cost,
   * so rendering takes at most `CHART_RENDER_BUDGET` of the wall time, up to `CHART_INTERVAL_CEILING_MS`.
   */
  readonly chartIntervalMs?: number;
  /** Points per metric drawn; longer histories are averaged in equal buckets (default 300). */
  readonly maxPoints?: number;
  /** Y scale of the chart (default "log", since losses fall by decades). */
  readonly yScale?: "linear" | "log";
  /** Y axis title (default "value"). */
  readonly yTitle?: string;
  /** X axis title (default "meta-iteration"). */
  readonly xTitle?: string;
}

/** The keys of `LiveTrainingOptions` (all optional): any other key is a typo and an error. */
export const LIVE_TRAINING_KEYS: { readonly [K in keyof LiveTrainingOptions]-?: true } = {
  ...PROGRESS_OPTION_KEYS,
  title: true,
  chartIntervalMs: true,
  maxPoints: true,
  yScale: true,
  yTitle: true,
  xTitle: true,
};

/** Checks the fields of `LiveTrainingOptions` that `o` sets (not its other keys; see `liveTrainingOptions`). */
export function checkLiveTrainingFields(who: string, o: LiveTrainingOptions): void {
  checkProgressFields(who, o);
  for (const k of ["title", "yTitle", "xTitle"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "string") throw new Error(`${who} ${k} must be a string, got ${String(o[k])}.`);
  }
  if (o.chartIntervalMs !== undefined && !(Number.isFinite(o.chartIntervalMs) && o.chartIntervalMs >= 0)) throw new Error(`${who} chartIntervalMs must be a number of ms >= 0, got ${String(o.chartIntervalMs)}. The default 2000 redraws at most every 2 s.`);
  if (o.maxPoints !== undefined) checkInteger(who, "maxPoints", o.maxPoints, 2, "300 points draw a smooth curve.");
  if (o.yScale !== undefined) checkOneOf(who, "yScale", o.yScale, ["linear", "log"] as const);
}

/** Checks a live display's options field by field (unknown keys are errors); returns them unchanged. */
export function liveTrainingOptions(o: LiveTrainingOptions, who = "liveTraining"): LiveTrainingOptions {
  checkConfig(who, o, LIVE_TRAINING_KEYS, { hint: 'Pass e.g. { title: "Training loss" }.', keysWho: `${who} options` });
  checkLiveTrainingFields(who, o);
  return o;
}

/** Fractions of the run at which the chart is drawn whatever the interval (the final state is drawn by `finish`). */
const EARLY_DRAWS = [0.25, 0.5] as const;

/** Fraction of wall time the live chart may spend redrawing (5%: a render costs ~0.1 s of CPU on a quiet machine). */
export const CHART_RENDER_BUDGET = 0.05;

/** Longest time between redraws however slow rendering gets (the chart still moves in a long cell). */
export const CHART_INTERVAL_CEILING_MS = 15_000;

/**
 * Time to wait after a redraw before the next: `renderMs / budget` (so rendering stays within the budget of wall
 * time, whatever the machine's load), never below `floorMs` and never above `ceilingMs` (or `floorMs` if larger).
 */
export function redrawIntervalMs(renderMs: number, floorMs: number, budget: number = CHART_RENDER_BUDGET, ceilingMs: number = CHART_INTERVAL_CEILING_MS): number {
  const wanted = Number.isFinite(renderMs) && renderMs > 0 ? renderMs / budget : 0;
  return Math.max(floorMs, Math.min(Math.max(ceilingMs, floorMs), wanted));
}

/** One recorded metric value. */
export interface HistoryRow {
  readonly step: number;
  readonly metric: string;
  readonly value: number;
}

/** Averages consecutive points of each metric into at most `maxPoints` buckets (step = bucket's last step). */
export function downsampleHistory(rows: readonly HistoryRow[], maxPoints: number): HistoryRow[] {
  const byMetric = new Map<string, HistoryRow[]>();
  for (const r of rows) {
    const list = byMetric.get(r.metric) ?? [];
    list.push(r);
    byMetric.set(r.metric, list);
  }
  const out: HistoryRow[] = [];
  for (const [metric, list] of byMetric) {
    const size = Math.max(1, Math.ceil(list.length / maxPoints));
    for (let i = 0; i < list.length; i += size) {
      const bucket = list.slice(i, i + size);
      const finite = bucket.filter((r) => Number.isFinite(r.value));
      const value = finite.length ? finite.reduce((s, r) => s + r.value, 0) / finite.length : Number.NaN;
      out.push({ step: bucket[bucket.length - 1]!.step, metric, value });
    }
  }
  return out;
}

/** A progress bar and a loss chart for a training loop of `total` steps. */
export class LiveTraining {
  readonly bar: ProgressBar;
  private readonly rows: HistoryRow[] = [];
  private readonly chartFloor: number;
  /** Current time between redraws: grows with the last render's wall time (see `redrawIntervalMs`). */
  private chartInterval: number;
  private readonly maxPoints: number;
  private readonly now: () => number;
  private readonly charts: boolean;
  private figure: FigureHandle | null = null;
  private lastChart: number;
  private rendering: Promise<void> | null = null;
  private failure: unknown = null;
  private earlyDraws = 0;

  constructor(readonly total: number, private readonly options: LiveTrainingOptions = {}) {
    this.bar = new ProgressBar(total, { ...options, label: options.label ?? "training" });
    this.chartFloor = options.chartIntervalMs ?? 2000;
    this.chartInterval = this.chartFloor;
    this.maxPoints = options.maxPoints ?? 300;
    this.now = options.now ?? Date.now;
    this.lastChart = this.now();
    this.charts = this.bar.target === "display";
  }

  /** Records `metrics` at `step` (0-based), moves the bar to step + 1, and redraws the chart when it is due. */
  async update(step: number, metrics: Readonly<Record<string, number>>): Promise<void> {
    for (const [metric, value] of Object.entries(metrics)) this.rows.push({ step, metric, value });
    const drew = this.bar.update(step + 1, { ...metrics });
    if (drew && this.charts) await yieldToEventLoop(); // Let the kernel flush the message while a loop runs.
    if (!this.charts || this.rendering) return;
    // Redraw when the interval has passed, and at a quarter and half of the run, so a short (quick-mode) run
    // still shows the chart changing before it ends.
    const milestone = this.earlyDraws < EARLY_DRAWS.length && step + 1 >= Math.ceil(this.total * EARLY_DRAWS[this.earlyDraws]!) && step + 1 < this.total;
    if (!milestone && this.now() - this.lastChart < this.chartInterval) return;
    if (milestone) this.earlyDraws += 1;
    const started = this.now();
    this.lastChart = started;
    this.rendering = this.redraw().finally(() => {
      this.lastChart = this.now();
      this.chartInterval = redrawIntervalMs(this.lastChart - started, this.chartFloor);
      this.rendering = null;
    });
    await this.rendering;
  }

  /** The current time between chart redraws in ms (for tests and diagnostics). */
  get redrawInterval(): number {
    return this.chartInterval;
  }

  /** The recorded history, one row per (step, metric). */
  history(): readonly HistoryRow[] {
    return this.rows;
  }

  /** The loss chart of the history so far. */
  chart(): Chart {
    return lineChart(downsampleHistory(this.rows, this.maxPoints), {
      title: this.options.title ?? "Training loss",
      x: { field: "step", title: this.options.xTitle ?? "meta-iteration" },
      y: { field: "value", title: this.options.yTitle ?? "value", scale: this.options.yScale ?? "log" },
      color: { field: "metric", title: "" }, // the series are named after their metrics; "metric" adds nothing
    });
  }

  /**
   * Closes the bar and draws the final chart; rethrows a rendering error from an earlier update.
   * Returns nothing (a cell ending in `await live.finish()` prints nothing); read `history()` for the data.
   */
  async finish(info?: ProgressInfo): Promise<void> {
    const last = this.rows.length ? this.rows[this.rows.length - 1]!.step + 1 : 0;
    this.bar.close(info, Math.min(this.total, last));
    if (this.rendering) await this.rendering;
    if (this.failure) throw this.failure;
    if (this.charts) await this.redraw();
    if (this.failure) throw this.failure;
  }

  private async redraw(): Promise<void> {
    try {
      const chart = this.chart();
      if (this.figure) await this.figure.update(chart);
      else this.figure = await displayChart(chart);
    } catch (e) {
      this.failure = e;
    }
  }
}

/** Waits one macrotask, so queued I/O (the kernel's outgoing messages) gets a turn. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Creates a live progress bar + loss chart for a training loop of `total` steps. */
export function liveTraining(total: number, options: LiveTrainingOptions = {}): LiveTraining {
  return new LiveTraining(total, liveTrainingOptions(options));
}
