/**
 * Renders Vega-Lite specs to SVG (vega's headless renderer) and PNG (resvg), without a browser.
 * Output is deterministic: the same spec gives byte-identical SVG and PNG in any process on the same machine.
 */
import { createHash } from "crypto";
import { existsSync } from "fs";
import type { Spec as VegaSpec } from "vega";
import { svgOfFigure, type Chart } from "./chart";

/** A compiled Vega spec, re-exported so notebooks can name it without reaching vega (see `Chart`). */
export type { VegaSpec };

type VegaModule = typeof import("vega");
type VegaLiteModule = typeof import("vega-lite");
type ResvgModule = typeof import("@resvg/resvg-js");

// Loaded on first use so `import "metalab"` stays fast for code that never plots.
let vegaMod: VegaModule | null = null;
let vlMod: VegaLiteModule | null = null;
let resvgMod: ResvgModule | null = null;

function vega(): VegaModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (vegaMod ??= require("vega") as VegaModule);
}
function vegaLite(): VegaLiteModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (vlMod ??= require("vega-lite") as VegaLiteModule);
}
function resvg(): ResvgModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (resvgMod ??= require("@resvg/resvg-js") as ResvgModule);
}

/** Fonts tried first for PNG text (Debian/Ubuntu fonts-dejavu-core); system fonts are the fallback. */
const DEJAVU_FILES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
];

/** Pixel ratio of PNGs: 2 keeps text crisp on high-DPI screens; `display` tells Jupyter the 1x size. */
export const PNG_SCALE = 2;

/** Compiles a Vega-Lite spec to a Vega spec; throws with the Vega-Lite message when the spec is invalid. */
export function compileChart(chart: Chart): VegaSpec {
  try {
    // Compile a JSON copy: vega tags data rows with symbols in place, and the caller's chart must stay clean.
    return vegaLite().compile(JSON.parse(JSON.stringify(chart)) as Chart).spec;
  } catch (e) {
    throw new Error(`Invalid Vega-Lite spec: ${e instanceof Error ? e.message : String(e)}. Check field names and mark options of the chart.`);
  }
}

/** Renders a chart to an SVG string with element ids made unique per figure and stable across runs. */
export async function renderSvg(chart: Chart): Promise<string> {
  const raw = svgOfFigure(chart);
  if (raw !== null) return uniquifyIds(raw); // A wrapped SVG (svgFigure) is its own best rendering.
  const v = vega();
  const view = new v.View(v.parse(compileChart(chart)), { renderer: "none" });
  try {
    resetDefIds(v); // vega numbers clip paths with a process-wide counter; restart it for every figure.
    const svg = await view.toSVG();
    return uniquifyIds(svg);
  } finally {
    view.finalize();
  }
}

/** Calls vega's `resetSVGDefIds` (exported at run time by vega 5.2x but missing from its typings). */
function resetDefIds(v: VegaModule): void {
  const reset: unknown = Reflect.get(v, "resetSVGDefIds");
  if (typeof reset !== "function") throw new Error("vega.resetSVGDefIds is missing; metalab needs vega >= 5.20 (npm install vega@5).");
  reset();
}

/**
 * Prefixes every `id` (and its `url(#…)` / `href="#…"` references) with a hash of the SVG, so two figures
 * inlined in one page (classic Notebook) cannot steal each other's clip paths, while reruns stay byte-identical.
 */
export function uniquifyIds(svg: string): string {
  const prefix = "m" + createHash("sha256").update(svg).digest("hex").slice(0, 8);
  const ids = new Set([...svg.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!));
  if (ids.size === 0) return svg;
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (m, id: string) => (ids.has(id) ? `url(#${prefix}-${id})` : m))
    .replace(/href="#([^"]+)"/g, (m, id: string) => (ids.has(id) ? `href="#${prefix}-${id}"` : m));
}

/** Width and height in pixels declared on an SVG's root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const w = /\bwidth="([\d.]+)/.exec(root)?.[1];
  const h = /\bheight="([\d.]+)/.exec(root)?.[1];
  if (w === undefined || h === undefined) throw new Error("SVG root has no width/height attributes; render it with renderSvg or set them.");
  return { width: Number(w), height: Number(h) };
}

/** Rasterises an SVG string to PNG bytes at `scale` times its size, on white, with DejaVu Sans as sans-serif. */
export function svgToPng(svg: string, scale: number = PNG_SCALE): Buffer {
  const fontFiles = DEJAVU_FILES.filter((f) => existsSync(f));
  const r = new (resvg().Resvg)(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: {
      fontFiles,
      loadSystemFonts: fontFiles.length === 0, // Scanning system fonts is slow; only needed without DejaVu.
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  return r.render().asPng();
}

/** Renders a chart to PNG bytes (see `svgToPng`). */
export async function renderPng(chart: Chart, scale: number = PNG_SCALE): Promise<Buffer> {
  return svgToPng(await renderSvg(chart), scale);
}
