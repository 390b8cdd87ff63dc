/**
 * Tables (rows or a nodejs-polars DataFrame) as text/plain plus text/html. The no-text/html rule is for
 * figures; for tables an HTML <table> is what JupyterLab, classic Notebook, nbconvert and GitHub all render well.
 */
import { checkConfig, checkInteger } from "../core/validate";
import { isFrame, toRows, type DataInput, type Row } from "../plot/chart";
import { newDisplayId, sendDisplay } from "./sink";

/** Checks a table's options: unknown keys are errors listing the known ones, `maxRows` and `digits` integers in range. */
export function tableOptions(o: TableOptions): TableOptions {
  checkConfig("table", o, { maxRows: true, digits: true, caption: true } satisfies { readonly [K in keyof TableOptions]-?: true }, { hint: 'Pass e.g. { maxRows: 20, caption: "..." }.', keysWho: "table options" });
  if (o.maxRows !== undefined) checkInteger("table", "maxRows", o.maxRows, 1, "Rows shown before the rest is summarised.");
  if (o.digits !== undefined) checkInteger("table", "digits", o.digits, 1, "Significant digits per number.");
  if (o.caption !== undefined && typeof o.caption !== "string") throw new Error(`table caption must be a string, got ${String(o.caption)}.`);
  return o;
}

/** Options of `displayTable` and `formatTable`. */
export interface TableOptions {
  /** Rows shown before eliding the middle (default 20). */
  readonly maxRows?: number;
  /** Significant digits of non-integer numbers (default 4). */
  readonly digits?: number;
  /** A caption printed above the table. */
  readonly caption?: string;
}

/** The text/plain and text/html forms of a table. */
export interface FormattedTable {
  readonly text: string;
  readonly html: string;
}

function columnsOf(data: DataInput, rows: readonly Row[]): string[] {
  const declared: unknown = isFrame(data) ? Reflect.get(data, "columns") : undefined;
  if (Array.isArray(declared) && declared.every((c): c is string => typeof c === "string")) return declared;
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** Formats one cell: integers as is, other numbers to `digits` significant digits, null as empty. */
function formatCell(v: Row[string] | undefined, digits: number): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(digits - 1) : String(Number(v.toPrecision(digits)));
  }
  return String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Formats rows as an aligned text table and an HTML table (rows beyond maxRows are elided in the middle). */
export function formatTable(data: DataInput, options: TableOptions = {}): FormattedTable {
  tableOptions(options);
  const rows = toRows(data);
  const cols = columnsOf(data, rows);
  const digits = options.digits ?? 4;
  const maxRows = options.maxRows ?? 20;
  const elide = rows.length > maxRows;
  const head = elide ? rows.slice(0, Math.ceil(maxRows / 2)) : rows;
  const tail = elide ? rows.slice(rows.length - Math.floor(maxRows / 2)) : [];
  const cells = (rs: readonly Row[]): string[][] => rs.map((r) => cols.map((c) => formatCell(r[c], digits)));
  const headCells = cells(head);
  const tailCells = cells(tail);
  const numeric = cols.map((c) => rows.every((r) => r[c] === null || typeof r[c] === "number"));
  const widths = cols.map((c, j) => Math.max(c.length, ...[...headCells, ...tailCells].map((r) => r[j]!.length)));
  const pad = (s: string, j: number): string => (numeric[j] ? s.padStart(widths[j]!) : s.padEnd(widths[j]!));
  const line = (r: readonly string[]): string => r.map(pad).join("  ").trimEnd();
  const textLines = [
    ...(options.caption ? [options.caption] : []),
    line(cols),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...headCells.map(line),
    ...(elide ? [`… ${rows.length - head.length - tail.length} more rows …`] : []),
    ...tailCells.map(line),
    `(${rows.length} rows × ${cols.length} columns)`,
  ];
  const tr = (r: readonly string[], tag: "td" | "th"): string =>
    `<tr>${r.map((c, j) => `<${tag}${numeric[j] ? ' style="text-align:right"' : ""}>${escapeHtml(c)}</${tag}>`).join("")}</tr>`;
  const html = [
    "<table>",
    ...(options.caption ? [`<caption>${escapeHtml(options.caption)}</caption>`] : []),
    `<thead>${tr(cols, "th")}</thead>`,
    "<tbody>",
    ...headCells.map((r) => tr(r, "td")),
    ...(elide ? [`<tr><td colspan="${cols.length}">… ${rows.length - head.length - tail.length} more rows …</td></tr>`] : []),
    ...tailCells.map((r) => tr(r, "td")),
    "</tbody>",
    "</table>",
    `<p><small>${rows.length} rows × ${cols.length} columns</small></p>`,
  ].join("\n");
  return { text: textLines.join("\n"), html };
}

/** Displays a table (rows or a polars DataFrame) as text/plain + text/html; outside a kernel nothing is shown. */
export function displayTable(data: DataInput, options: TableOptions = {}): void {
  const t = formatTable(data, options);
  sendDisplay({ data: { "text/plain": t.text, "text/html": t.html }, metadata: {}, transient: { display_id: newDisplayId() }, update: false });
}

/** Displays Markdown text (text/markdown with the same text as text/plain). */
export function displayMarkdown(markdown: string): void {
  sendDisplay({ data: { "text/markdown": markdown, "text/plain": markdown }, metadata: {}, transient: { display_id: newDisplayId() }, update: false });
}
