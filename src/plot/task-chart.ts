/**
 * One regression task drawn as its true function with the support points (what the learner sees) and the query
 * points (what it is scored on) on top: the picture of a task's split.
 */
import { checkChartOptions, FRAME_KEYS, type Chart, type FrameOptions } from "./chart";

const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
const SIZE = { width: 360, height: 220 } as const; // the other builders' default size

/** Options of `taskChart`. */
export interface TaskChartOptions extends FrameOptions {
  /** The true function on a grid. */
  readonly curve: readonly { readonly x: number; readonly y: number }[];
  readonly support: readonly { readonly x: number; readonly y: number }[];
  readonly query: readonly { readonly x: number; readonly y: number }[];
  /** Legend names (defaults "true function", "support set (K = n)", "query set (n)"). */
  readonly names?: { readonly curve?: string; readonly support?: string; readonly query?: string };
}

const num = (v: number): number | null => (Number.isFinite(v) ? Number(v.toPrecision(6)) : null);

/** A line for the true function and two marker sets (filled black support points, open orange query points). */
export function taskChart(o: TaskChartOptions): Chart {
  checkChartOptions("taskChart", o, { ...FRAME_KEYS, curve: true, support: true, query: true, names: true } satisfies { readonly [K in keyof TaskChartOptions]-?: true });
  const curveName = o.names?.curve ?? "true function";
  const supportName = o.names?.support ?? `support set (K = ${o.support.length})`;
  const queryName = o.names?.query ?? `query set (${o.query.length})`;
  const rows = [
    ...o.curve.map((p) => ({ x: num(p.x), y: num(p.y), part: curveName })),
    ...o.support.map((p) => ({ x: num(p.x), y: num(p.y), part: supportName })),
    ...o.query.map((p) => ({ x: num(p.x), y: num(p.y), part: queryName })),
  ];
  const color = { field: "part", type: "nominal", title: "", scale: { domain: [curveName, supportName, queryName], range: ["#4c78a8", "black", "#f58518"] } } as const;
  const x = { field: "x", type: "quantitative", title: "x" } as const;
  const y = { field: "y", type: "quantitative", title: "y" } as const;
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: "white",
    padding: 8,
    config: { font: "DejaVu Sans, sans-serif", axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" }, legend: { labelFontSize: 11, labelLimit: 0 }, title: { fontSize: 14, anchor: "start" }, view: { stroke: "#cccccc" } },
    ...(o.title ? { title: o.title } : {}),
    data: { values: rows },
    width: o.width ?? SIZE.width,
    height: o.height ?? SIZE.height,
    layer: [
      { transform: [{ filter: { field: "part", equal: curveName } }], mark: { type: "line", strokeWidth: 2 }, encoding: { x, y, color } },
      { transform: [{ filter: { field: "part", equal: supportName } }], mark: { type: "point", filled: true, size: 70 }, encoding: { x, y, color } },
      { transform: [{ filter: { field: "part", equal: queryName } }], mark: { type: "point", filled: false, size: 70, strokeWidth: 2 }, encoding: { x, y, color } },
    ],
  };
}
