/**
 * Grids of rectangles as Vega-Lite charts: a heat map of (x, y, value) rows (e.g. a confusion matrix), and a gallery
 * of small grey-level images (e.g. Omniglot drawings), drawn as one rectangle per inked pixel on white.
 */
import { checkChartOptions, type Chart, type DataInput, toRows } from "./chart";

const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

const FONT_CONFIG = {
  font: "DejaVu Sans, sans-serif",
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: "start" as const },
  view: { stroke: "#cccccc" },
};

/** Options of `heatmapChart`. */
export interface HeatmapOptions {
  readonly x: string;
  readonly y: string;
  readonly value: string;
  readonly xTitle?: string;
  readonly yTitle?: string;
  readonly valueTitle?: string;
  readonly title?: string;
  /** Side of a cell in pixels (default 14). */
  readonly cell?: number;
  /** Category order of both axes (default: sorted numerically). */
  readonly domain?: readonly (string | number)[];
}

/** A heat map: one square per row at (x, y), coloured by `value` (missing cells are blank). */
export function heatmapChart(data: DataInput, o: HeatmapOptions): Chart {
  checkChartOptions("heatmapChart", o, { x: true, y: true, value: true, xTitle: true, yTitle: true, valueTitle: true, title: true, cell: true, domain: true } satisfies { readonly [K in keyof HeatmapOptions]-?: true });
  const cell = o.cell ?? 14;
  const rows = toRows(data);
  const domain = o.domain ? [...o.domain] : [...new Set(rows.flatMap((r) => [r[o.x], r[o.y]]))].sort((a, b) => Number(a) - Number(b));
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: "white",
    padding: 8,
    config: FONT_CONFIG,
    ...(o.title ? { title: o.title } : {}),
    data: { values: rows },
    mark: { type: "rect" },
    encoding: {
      x: { field: o.x, type: "ordinal", title: o.xTitle ?? o.x, scale: { domain: domain as (string | number)[] }, axis: { labelAngle: 0 } },
      y: { field: o.y, type: "ordinal", title: o.yTitle ?? o.y, scale: { domain: domain as (string | number)[] } },
      color: { field: o.value, type: "quantitative", title: o.valueTitle ?? o.value, scale: { scheme: "blues" } },
    },
    width: cell * domain.length,
    height: cell * domain.length,
  };
}

/** One image of a gallery: square grey levels in [0, 1] (1 = ink) and a caption. */
export interface GalleryImage {
  readonly pixels: ArrayLike<number>;
  readonly label: string;
}

/** Options of `imageGalleryChart`. */
export interface GalleryOptions {
  /** Side length of every image. */
  readonly size: number;
  /** Images per row (default 10). */
  readonly columns?: number;
  /** Screen pixels per image pixel (default 2). */
  readonly scale?: number;
  readonly title?: string;
  /** Pixels below this ink level are left white (keeps the chart small; default 0.1). */
  readonly threshold?: number;
}

/** A gallery of small images in a grid with their captions below them. */
export function imageGalleryChart(images: readonly GalleryImage[], o: GalleryOptions): Chart {
  checkChartOptions("imageGalleryChart", o, { size: true, columns: true, scale: true, title: true, threshold: true } satisfies { readonly [K in keyof GalleryOptions]-?: true });
  const cols = Math.min(o.columns ?? 10, Math.max(images.length, 1));
  const rowsOfImages = Math.ceil(images.length / cols);
  const scale = o.scale ?? 2;
  const gap = 2;
  const cellH = o.size + gap + 6; // room for the caption
  const pixels: { x: number; y: number; ink: number }[] = [];
  const labels: { x: number; y: number; label: string }[] = [];
  images.forEach((img, i) => {
    const ox = (i % cols) * (o.size + gap);
    const oy = Math.floor(i / cols) * cellH;
    for (let py = 0; py < o.size; py++) {
      for (let px = 0; px < o.size; px++) {
        const v = img.pixels[py * o.size + px] ?? 0;
        if (v >= (o.threshold ?? 0.1)) pixels.push({ x: ox + px, y: oy + py, ink: Math.round(v * 100) / 100 });
      }
    }
    labels.push({ x: ox + o.size / 2, y: oy + o.size + 4, label: img.label });
  });
  const W = cols * (o.size + gap);
  const H = rowsOfImages * cellH;
  const xs = { field: "x", type: "quantitative" as const, scale: { domain: [0, W] }, axis: null };
  const ys = { field: "y", type: "quantitative" as const, scale: { domain: [H, 0] }, axis: null };
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: "white",
    padding: 8,
    config: { ...FONT_CONFIG, view: { stroke: null } },
    ...(o.title ? { title: o.title } : {}),
    width: W * scale,
    height: H * scale,
    layer: [
      {
        data: { values: pixels },
        mark: { type: "rect", width: scale, height: scale },
        encoding: { x: xs, y: ys, color: { field: "ink", type: "quantitative", scale: { domain: [0, 1], range: ["#ffffff", "#000000"] }, legend: null } },
      },
      {
        data: { values: labels },
        mark: { type: "text", fontSize: 9, baseline: "top" },
        encoding: { x: xs, y: ys, text: { field: "label", type: "nominal" } },
      },
    ],
  };
}
