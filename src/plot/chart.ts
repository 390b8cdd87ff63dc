/**
 * Typed chart builders that return plain Vega-Lite v5 specs; `display`, `renderSvg` and `saveFigure` consume them.
 */
import type { Config, TopLevelSpec as Chart } from "vega-lite";
import type { LayerSpec, NonNormalizedSpec } from "vega-lite/build/src/spec";
import type { Field } from "vega-lite/build/src/channeldef";
import { checkConfig, checkInteger, checkPositive } from "../core/validate";

/**
 * A figure: a Vega-Lite v5 top-level spec (plain JSON, so it can be saved, diffed and sent to Jupyter as is).
 * Re-exported rather than aliased (`type Chart = TopLevelSpec`), so TypeScript names it `ml.Chart`: a notebook whose
 * metalab is linked (vega-lite in metalab/node_modules, out of the notebook's reach) can then declare charts (TS2742).
 */
export type { Chart };

/** One data row; non-finite numbers become null so the spec stays valid JSON. */
export type Row = Readonly<Record<string, number | string | boolean | null>>;

/** Rows, or anything with `toRecords()` (a nodejs-polars DataFrame). */
export type DataInput = readonly object[] | { toRecords(): readonly object[] };

/** The Vega-Lite schema every builder stamps on its spec. */
const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Default plot size in pixels (small enough for two side by side in a notebook). */
const DEFAULT_SIZE = { width: 360, height: 220 } as const;

/** A positional axis: a field name, or a field with a title, scale type and domain. */
export interface AxisSpec {
  readonly field: string;
  readonly title?: string;
  /** "log" and "symlog" for losses that span decades (default linear). */
  readonly scale?: "linear" | "log" | "symlog";
  /** Fixed [min, max]; values outside are clipped. */
  readonly domain?: readonly [number, number];
  /** Include zero in a linear scale (default: Vega-Lite's choice). */
  readonly zero?: boolean;
  /** "quantitative" (default) or "ordinal"/"nominal" for categories. */
  readonly type?: "quantitative" | "ordinal" | "nominal";
}

/** A colour (series) channel: a field name, or a field with a title and a fixed order. */
export interface SeriesSpec {
  readonly field: string;
  readonly title?: string;
  /** Order of categories in the legend and palette. */
  readonly sort?: readonly string[];
}

/** Options shared by every builder. */
export interface FrameOptions {
  readonly title?: string;
  readonly width?: number;
  readonly height?: number;
  /**
   * The chart shows measurements that vary between runs (wall time): it is marked in `usermeta.measured`,
   * and reproducibility checks skip it.
   */
  readonly measured?: boolean;
}

/** Options of `lineChart`. */
export interface LineOptions extends FrameOptions {
  readonly x: string | AxisSpec;
  readonly y: string | AxisSpec;
  readonly color?: string | SeriesSpec;
  /** Draw a point on every datum as well (default false). */
  readonly points?: boolean;
}

/** Options of `scatterChart`. */
export interface ScatterOptions extends FrameOptions {
  readonly x: string | AxisSpec;
  readonly y: string | AxisSpec;
  readonly color?: string | SeriesSpec;
  /** Marker size in square pixels (default 40). */
  readonly size?: number;
}

/** Options of `barChart`. */
export interface BarOptions extends FrameOptions {
  /** The category axis (nominal). */
  readonly x: string | AxisSpec;
  readonly y: string | AxisSpec;
  /** Series drawn as grouped bars within each category. */
  readonly color?: string | SeriesSpec;
}

/** Options of `fitsChart`: curves per series and the support points, optionally one panel per task. */
export interface FitsOptions extends FrameOptions {
  /** Rows with x, y, series (and panel when `panel` is set): the true function and each model's prediction. */
  readonly curves: DataInput;
  /** Rows with x, y (and panel): the K support points the models adapted on. */
  readonly support: DataInput;
  readonly x?: string;
  readonly y?: string;
  readonly series?: string | SeriesSpec;
  /** Field that splits the plot into panels (e.g. a task index); omit for one panel. */
  readonly panel?: string;
  /** Panels per row (default 3). */
  readonly columns?: number;
  /** Order of the panels (default: sorted by name). */
  readonly panelSort?: readonly string[];
  readonly yDomain?: readonly [number, number];
  readonly xTitle?: string;
  readonly yTitle?: string;
}

/** Options of `concatCharts`. */
export interface ConcatOptions {
  readonly title?: string;
  /** Charts per row (default: all in one row). */
  readonly columns?: number;
  /** Each chart keeps its own colour scale and legend (for panels coloured by different fields); shared by default. */
  readonly independentColors?: boolean;
}

/** The keys every chart builder takes (`FrameOptions`). */
export const FRAME_KEYS: { readonly [K in keyof FrameOptions]-?: true } = { title: true, width: true, height: true, measured: true };

/**
 * Checks a chart builder's options: unknown keys are errors listing `known`, a title is a string, sizes are positive,
 * `columns` (where taken) a positive integer. A mistyped option would otherwise be silently ignored.
 */
export function checkChartOptions(who: string, o: object, known: object): void {
  checkConfig(who, o, known, { hint: 'Pass e.g. { x: "step", y: "loss", title: "Training loss" }.', keysWho: `${who} options` });
  const r = o as { title?: unknown; width?: unknown; height?: unknown; size?: unknown; cell?: unknown; scale?: unknown; columns?: unknown };
  if (r.title !== undefined && typeof r.title !== "string") throw new Error(`${who} title must be a string, got ${String(r.title)}.`);
  for (const k of ["width", "height", "size", "cell", "scale"] as const) {
    const v = r[k];
    if (v !== undefined) checkPositive(who, k, v as number, "A size in pixels; leave it out for the default.");
  }
  if (r.columns !== undefined) checkInteger(who, "columns", r.columns as number, 1, "Charts or panels per row.");
}

const AXES = { x: true, y: true, color: true } as const;

/** Converts any data input into JSON-safe rows (NaN and ±Infinity become null, bigint becomes number, 6 significant digits). */
export function toRows(data: DataInput): Row[] {
  const records: readonly object[] = isFrame(data) ? data.toRecords() : data;
  return records.map((r) => {
    const out: Record<string, number | string | boolean | null> = {};
    for (const [k, v] of Object.entries(r)) out[k] = jsonSafe(v);
    return out;
  });
}

/**
 * True for DataFrame-likes. Uses property access, not `in`: polars DataFrames are proxies whose `has` trap
 * only knows column names.
 */
export function isFrame(data: unknown): data is { toRecords(): readonly object[] } {
  return typeof data === "object" && data !== null && !Array.isArray(data) && typeof Reflect.get(data, "toRecords") === "function";
}

function jsonSafe(v: unknown): number | string | boolean | null {
  // Six significant digits are far below what a plot can show, and halve the size of specs saved in notebooks.
  if (typeof v === "number") return Number.isFinite(v) ? (Number.isInteger(v) ? v : Number(v.toPrecision(6))) : null;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (v === null || v === undefined) return null;
  return String(v);
}

function axis(a: string | AxisSpec): AxisSpec {
  return typeof a === "string" ? { field: a } : a;
}

/** Vega-Lite positional encoding for an axis spec. */
function positional(a: string | AxisSpec): Record<string, unknown> {
  const s = axis(a);
  const type = s.type ?? "quantitative";
  const scale: Record<string, unknown> = {};
  if (s.scale && s.scale !== "linear") scale.type = s.scale;
  if (s.domain) scale.domain = [...s.domain];
  if (s.zero !== undefined) scale.zero = s.zero;
  return {
    field: s.field,
    type,
    title: s.title ?? s.field,
    ...(Object.keys(scale).length ? { scale } : {}),
    // Log axes label decades compactly (0.3, 100, 1e+10) instead of 10000000000.
    ...(type === "quantitative" ? { axis: { tickCount: 6, ...(s.scale === "log" || s.scale === "symlog" ? { format: ".3~g" } : {}) } } : {}),
  };
}

function colorEncoding(c: string | SeriesSpec | undefined): Record<string, unknown> {
  if (c === undefined) return {};
  const s = typeof c === "string" ? { field: c } : c;
  return { color: { field: s.field, type: "nominal", title: s.title ?? s.field, ...(s.sort ? { sort: [...s.sort] } : {}) } };
}

/** Top-level properties every figure gets: schema, white background, readable fonts, fixed padding. */
function topLevel(o: FrameOptions): { $schema: string; background: string; padding: number; config: Config; title?: string; usermeta?: { measured: true } } {
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: "white",
    padding: 8,
    config: {
      font: "DejaVu Sans, sans-serif",
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
      legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 }, // No truncation: series names are the explanation.
      title: { fontSize: 14, anchor: "start" },
      view: { stroke: "#cccccc" },
    },
    ...(o.title ? { title: o.title } : {}),
    ...(o.measured ? { usermeta: { measured: true } } : {}),
  };
}

/** True when a chart (or any chart inside a composition) was built with `measured: true`. */
export function isMeasured(chart: Chart): boolean {
  return chart.usermeta?.measured === true;
}

/** A line chart, one line per `color` series; invalid (null) values break the line. */
export function lineChart(data: DataInput, o: LineOptions): Chart {
  checkChartOptions("lineChart", o, { ...FRAME_KEYS, ...AXES, points: true });
  return {
    ...topLevel(o),
    data: { values: toRows(data) },
    mark: { type: "line", point: o.points ?? false, clip: true, strokeWidth: 2 },
    encoding: { x: positional(o.x), y: positional(o.y), ...colorEncoding(o.color) },
    width: o.width ?? DEFAULT_SIZE.width,
    height: o.height ?? DEFAULT_SIZE.height,
  };
}

/** A scatter plot of filled circles. */
export function scatterChart(data: DataInput, o: ScatterOptions): Chart {
  checkChartOptions("scatterChart", o, { ...FRAME_KEYS, ...AXES, size: true });
  return {
    ...topLevel(o),
    data: { values: toRows(data) },
    mark: { type: "circle", size: o.size ?? 40, opacity: 0.85, clip: true },
    encoding: { x: positional(o.x), y: positional(o.y), ...colorEncoding(o.color) },
    width: o.width ?? DEFAULT_SIZE.width,
    height: o.height ?? DEFAULT_SIZE.height,
  };
}

/** A bar chart; with `color`, bars of each series sit side by side within a category. */
export function barChart(data: DataInput, o: BarOptions): Chart {
  checkChartOptions("barChart", o, { ...FRAME_KEYS, ...AXES });
  const x = axis(o.x);
  const color = o.color === undefined ? undefined : typeof o.color === "string" ? { field: o.color } : o.color;
  return {
    ...topLevel(o),
    data: { values: toRows(data) },
    mark: { type: "bar" },
    encoding: {
      x: { ...positional({ ...x, type: x.type ?? "nominal" }), sort: null, axis: { labelAngle: 0 } },
      y: positional(o.y),
      ...colorEncoding(o.color),
      ...(color ? { xOffset: { field: color.field, type: "nominal", ...(color.sort ? { sort: [...color.sort] } : {}) } } : {}),
    },
    width: o.width ?? DEFAULT_SIZE.width,
    height: o.height ?? DEFAULT_SIZE.height,
  };
}

/** Few-shot regression fits: one line per series (true function, models) plus the support points in black. */
export function fitsChart(o: FitsOptions): Chart {
  checkChartOptions("fitsChart", o, FITS_KEYS);
  const xField = o.x ?? "x";
  const yField = o.y ?? "y";
  const series = typeof o.series === "string" || o.series === undefined ? { field: o.series ?? "series" } : o.series;
  const yScale = o.yDomain ? { scale: { domain: [...o.yDomain] } } : {};
  const xEnc = { field: xField, type: "quantitative" as const, title: o.xTitle ?? xField };
  const yEnc = { field: yField, type: "quantitative" as const, title: o.yTitle ?? yField, ...yScale };
  // One dataset (so facets split curves and points alike); FIT_KIND tells the two layers apart.
  const values = [
    ...toRows(o.curves).map((r) => ({ ...r, [FIT_KIND]: "curve" })),
    ...toRows(o.support).map((r) => ({ ...r, [FIT_KIND]: "support", [series.field]: "support points" })),
  ];
  const layer: LayerSpec<Field> = {
    layer: [
      {
        transform: [{ filter: `datum.${FIT_KIND} === 'curve'` }],
        mark: { type: "line", clip: true, strokeWidth: 2 },
        encoding: { x: xEnc, y: yEnc, ...colorEncoding(series) },
      },
      {
        transform: [{ filter: `datum.${FIT_KIND} === 'support'` }],
        mark: { type: "point", filled: true, size: 70, color: "black", opacity: 1, clip: true },
        encoding: { x: xEnc, y: yEnc, shape: { field: series.field, type: "nominal", title: null } },
      },
    ],
    width: o.width ?? (o.panel ? 240 : DEFAULT_SIZE.width),
    height: o.height ?? (o.panel ? 170 : DEFAULT_SIZE.height),
  };
  if (!o.panel) return { ...topLevel(o), data: { values }, ...layer };
  return {
    ...topLevel(o),
    data: { values },
    facet: { field: o.panel, type: "nominal", title: null, ...(o.panelSort ? { sort: [...o.panelSort] } : {}) },
    columns: o.columns ?? 3,
    spec: layer,
  };
}

/** The keys of `FitsOptions`. */
const FITS_KEYS: { readonly [K in keyof FitsOptions]-?: true } = {
  ...FRAME_KEYS,
  curves: true,
  support: true,
  x: true,
  y: true,
  series: true,
  panel: true,
  columns: true,
  panelSort: true,
  yDomain: true,
  xTitle: true,
  yTitle: true,
};

/** Field that marks a fits-chart row as a curve point or a support point. */
const FIT_KIND = "_kind";

/** Places charts side by side (or in a grid with `columns`), each keeping its own data and scales. */
export function concatCharts(charts: readonly Chart[], o: ConcatOptions = {}): Chart {
  checkChartOptions("concatCharts", o, { title: true, columns: true, independentColors: true });
  if (charts.length === 0) throw new Error("concatCharts needs at least one chart; pass e.g. [lineChart(...), lineChart(...)].");
  const inner: NonNormalizedSpec[] = charts.map(stripTopLevel);
  return {
    ...topLevel({ ...(o.title ? { title: o.title } : {}), measured: charts.some(isMeasured) }),
    concat: inner,
    ...(o.columns ? { columns: o.columns } : {}),
    ...(o.independentColors ? { resolve: { scale: { color: "independent" as const } } } : {}),
    spacing: 24,
  };
}

/** Removes the properties only a top-level spec may carry, so a chart can be nested in a composition. */
function stripTopLevel(chart: Chart): NonNormalizedSpec {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { $schema, config, background, padding, autosize, datasets, usermeta, ...inner } = chart;
  return inner as NonNormalizedSpec; // Every top-level spec minus its top-level-only keys is a nestable spec.
}

/** Marks a chart made by `svgFigure`, whose SVG is rendered as is instead of through Vega. */
const SVG_FIGURE = "svg-figure";

/**
 * Wraps a ready-made SVG (e.g. a computational graph from `graphToSvg`) as a chart: a Vega-Lite image mark
 * showing the SVG as a data URL, so it displays and saves like any other figure (with all four MIME types).
 * `description` is the text/plain form; the SVG draws its own title, so none is added.
 */
export function svgFigure(svg: string, o: { readonly description?: string } = {}): Chart {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0];
  const w = root ? /\bwidth="([\d.]+)/.exec(root)?.[1] : undefined;
  const h = root ? /\bheight="([\d.]+)/.exec(root)?.[1] : undefined;
  if (w === undefined || h === undefined) throw new Error("svgFigure needs an SVG whose root element has numeric width and height attributes.");
  const width = Number(w);
  const height = Number(h);
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: "white",
    padding: 0,
    ...(o.description ? { description: o.description } : {}),
    usermeta: { metalab: SVG_FIGURE },
    width,
    height,
    data: { values: [{}] },
    mark: { type: "image", url: `data:image/svg+xml;base64,${Buffer.from(svg, "utf8").toString("base64")}`, width, height, align: "left", baseline: "top" },
    encoding: { x: { value: 0 }, y: { value: 0 } },
    config: { view: { stroke: null } },
  };
}

/** The SVG inside a chart made by `svgFigure`, or null for ordinary charts. */
export function svgOfFigure(chart: Chart): string | null {
  if (chart.usermeta?.metalab !== SVG_FIGURE || !("mark" in chart)) return null;
  const mark = chart.mark;
  const url = typeof mark === "object" && "url" in mark ? mark.url : undefined;
  const prefix = "data:image/svg+xml;base64,";
  if (typeof url !== "string" || !url.startsWith(prefix)) return null;
  return Buffer.from(url.slice(prefix.length), "base64").toString("utf8");
}

/** Short human-readable description used as the text/plain form of a figure. */
export function describeChart(chart: Chart): string {
  const title = chart.title === undefined && chart.description ? chart.description : typeof chart.title === "string" ? chart.title : Array.isArray(chart.title) ? chart.title.join(" ") : chart.title && typeof chart.title === "object" && "text" in chart.title ? String(chart.title.text) : "untitled";
  const kind = svgOfFigure(chart) !== null ? "diagram" : "layer" in chart ? "layered chart" : "concat" in chart ? "chart grid" : "facet" in chart ? "faceted chart" : "mark" in chart ? `${typeof chart.mark === "string" ? chart.mark : chart.mark.type} chart` : "chart";
  return `<Figure: ${title} (${kind})>`;
}
