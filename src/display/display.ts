/**
 * The notebook-facing entry points: `display(x)` for charts, tables and Markdown, `show(chart, name)` to
 * display a figure and save it under figures/ in one call.
 */
import { isFrame, type Chart, type DataInput } from "../plot/chart";
import { writeFigureFiles } from "../plot/save";
import { displayChart, figureBundle } from "./figure";
import { newDisplayId, sendDisplay } from "./sink";
import { displayMarkdown, displayTable, type TableOptions } from "./table";

/** True for a rows array or a DataFrame-like object (anything with toRecords). */
function isData(x: Chart | DataInput): x is DataInput {
  return Array.isArray(x) || isFrame(x);
}

/**
 * Displays a chart (four-MIME figure), a table (rows or a polars DataFrame) or a Markdown string.
 * Outside a tslab kernel it sends nothing (unless a sink is installed) and still renders, so errors surface.
 */
export async function display(x: Chart | DataInput | string, tableOptions: TableOptions = {}): Promise<void> {
  if (typeof x === "string") {
    displayMarkdown(x);
    return;
  }
  if (isData(x)) {
    displayTable(x, tableOptions);
    return;
  }
  await displayChart(x);
}

/**
 * Displays a chart and saves it as `<figures>/<name>.{svg,png,vl.json}` (see `figuresDir`). Returns nothing,
 * so a cell ending in `await show(...)` prints no machine-specific paths; use `saveFigure` to get them.
 */
export async function show(chart: Chart, name: string): Promise<void> {
  const b = await figureBundle(chart);
  sendDisplay({ data: b.data, metadata: b.metadata, transient: { display_id: newDisplayId() }, update: false });
  writeFigureFiles(chart, b.svg, b.png, name);
}
