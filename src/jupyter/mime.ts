/** MIME types of figure outputs: what metalab sends for every figure and what the notebook checks require. */

/** The Vega-Lite MIME type JupyterLab 4 and Notebook 7 render (there is no v6 type). */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** The four MIME types every figure output carries. */
export const FIGURE_MIME_TYPES = [VEGA_LITE_MIME, "image/svg+xml", "image/png", "text/plain"] as const;
