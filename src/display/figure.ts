/**
 * Figures in notebooks: one MIME bundle with Vega-Lite v5, SVG, PNG and text/plain (and no text/html), so
 * JupyterLab/Notebook 7 draw the interactive chart while classic Notebook, nbconvert and GitHub show the images.
 */
import { describeChart, type Chart } from "../plot/chart";
import { PNG_SCALE, renderSvg, svgSize, svgToPng } from "../plot/render";
import { VEGA_LITE_MIME } from "../jupyter/mime";
import { newDisplayId, sendDisplay } from "./sink";


/** A rendered figure bundle: the Jupyter `data` and `metadata` dictionaries. */
export interface FigureBundle {
  readonly data: {
    readonly "application/vnd.vegalite.v5+json": Chart;
    readonly "image/svg+xml": string;
    /** Base64 PNG at PNG_SCALE times the SVG size. */
    readonly "image/png": string;
    readonly "text/plain": string;
  };
  readonly metadata: { readonly "image/png": { readonly width: number; readonly height: number } };
  /** The raw renders, for saving to files. */
  readonly svg: string;
  readonly png: Buffer;
}

/** Renders a chart into the four-type bundle (SVG and PNG rendered from the same Vega view). */
export async function figureBundle(chart: Chart): Promise<FigureBundle> {
  const svg = await renderSvg(chart);
  const png = svgToPng(svg, PNG_SCALE);
  const { width, height } = svgSize(svg);
  // Round-trip through JSON so the spec sent is exactly what is saved (no undefined, no shared references).
  const spec = JSON.parse(JSON.stringify(chart)) as Chart;
  return {
    data: {
      [VEGA_LITE_MIME]: spec,
      "image/svg+xml": svg,
      "image/png": png.toString("base64"),
      "text/plain": describeChart(chart),
    },
    // Show the 2x PNG at its 1x size.
    metadata: { "image/png": { width, height } },
    svg,
    png,
  };
}

/** A figure output that can be redrawn in place (live charts). */
export interface FigureHandle {
  readonly displayId: string;
  /** Re-renders and replaces the output with a new chart. */
  update(chart: Chart): Promise<void>;
}

/** Displays a chart as one output with all four MIME types; returns a handle to redraw it in place. */
export async function displayChart(chart: Chart, displayId: string = newDisplayId()): Promise<FigureHandle> {
  let shown = false;
  const send = async (c: Chart): Promise<void> => {
    const b = await figureBundle(c);
    sendDisplay({ data: b.data, metadata: b.metadata, transient: { display_id: displayId }, update: shown });
    shown = true;
  };
  await send(chart);
  return { displayId, update: send };
}
