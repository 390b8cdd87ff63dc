/** MIME types of figure outputs: what metalab sends for every figure and what the notebook checks require. */

/** The Vega-Lite MIME type JupyterLab 4 and Notebook 7 render (there is no v6 type). */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** The four MIME types every figure output carries. */
export const FIGURE_MIME_TYPES = [VEGA_LITE_MIME, "image/svg+xml", "image/png", "text/plain"] as const;

/**
 * Key in a display message's `transient` (never saved in the notebook) that marks a progress bar, so a headless
 * runner can show it in the terminal: `{ label, done, total }`, the bar's text being the text/plain data.
 */
export const PROGRESS_TRANSIENT_KEY = "metalab_progress";

/** What a progress bar's display carries under `PROGRESS_TRANSIENT_KEY`. */
export interface ProgressTransient {
  readonly label: string;
  readonly done: number;
  readonly total: number;
  /** True for the bar's last state. */
  readonly final: boolean;
}
