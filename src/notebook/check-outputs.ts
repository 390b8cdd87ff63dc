/**
 * Checks executed notebooks: every figure output (any output carrying Vega-Lite, SVG or PNG) must carry all
 * four figure MIME types and no text/html, so it renders in JupyterLab, classic Notebook, nbconvert and GitHub.
 */
import { FIGURE_MIME_TYPES, VEGA_LITE_MIME } from "../jupyter/mime";

/** The parts of an nbformat 4 notebook this check reads. */
export interface NotebookLike {
  readonly cells: readonly {
    readonly cell_type: string;
    readonly id?: string;
    readonly outputs?: readonly { readonly output_type: string; readonly data?: Readonly<Record<string, unknown>> }[];
  }[];
}

/** MIME types that make an output a figure. */
const FIGURE_MARKERS = [VEGA_LITE_MIME, "image/svg+xml", "image/png"];

/** Outputs that are figures, with their cell index. */
export function figureOutputs(nb: NotebookLike): { cell: number; data: Readonly<Record<string, unknown>> }[] {
  const out: { cell: number; data: Readonly<Record<string, unknown>> }[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      if ((o.output_type === "display_data" || o.output_type === "execute_result") && o.data && FIGURE_MARKERS.some((m) => m in o.data!)) {
        out.push({ cell: i, data: o.data });
      }
    }
  });
  return out;
}

/** One line per figure output that lacks a figure MIME type or carries text/html; empty when all is well. */
export function figureOutputProblems(nb: NotebookLike): string[] {
  const problems: string[] = [];
  for (const f of figureOutputs(nb)) {
    const missing = FIGURE_MIME_TYPES.filter((m) => !(m in f.data));
    if (missing.length) problems.push(`cell ${f.cell}: figure output lacks ${missing.join(", ")}; display figures with ml.display/ml.show, not tslab.display.`);
    if ("text/html" in f.data) problems.push(`cell ${f.cell}: figure output carries text/html; figures must send only Vega-Lite, SVG, PNG and text/plain.`);
  }
  return problems;
}
