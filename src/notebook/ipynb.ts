/**
 * Jupyter notebook files in nbformat 4.5 (https://nbformat.readthedocs.io/en/latest/format_description.html):
 * types, strict reading with errors that say how to fix the file, writing, and cell ids.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** A string stored either whole or as a list of lines (both are valid nbformat). */
export type MultilineString = string | string[];

/** A MIME bundle: MIME type → data (string, lines, or JSON for `+json` types). */
export type MimeBundle = Record<string, unknown>;

/** Text written to stdout or stderr. */
export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: MultilineString;
}

/** Rich output sent by `display()`. */
export interface DisplayDataOutput {
  output_type: "display_data";
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** The value of the cell's last expression. */
export interface ExecuteResultOutput {
  output_type: "execute_result";
  execution_count: number | null;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** A failed execution. */
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Any code-cell output. */
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

/** nbgrader's cell metadata schema (https://nbgrader.readthedocs.io/en/stable/contributor_guide/metadata.html). */
export interface NbgraderMetadata {
  grade: boolean;
  solution: boolean;
  locked: boolean;
  grade_id?: string;
  points?: number;
  schema_version?: number;
  task?: boolean;
}

/** Cell metadata; only the fields metalab reads are typed. */
export interface CellMetadata {
  nbgrader?: NbgraderMetadata;
  [key: string]: unknown;
}

/** A code cell. */
export interface CodeCell {
  cell_type: "code";
  id: string;
  metadata: CellMetadata;
  source: MultilineString;
  execution_count: number | null;
  outputs: Output[];
}

/** A markdown cell. */
export interface MarkdownCell {
  cell_type: "markdown";
  id: string;
  metadata: CellMetadata;
  source: MultilineString;
  attachments?: Record<string, MimeBundle>;
}

/** A raw cell (passed through untouched). */
export interface RawCell {
  cell_type: "raw";
  id: string;
  metadata: CellMetadata;
  source: MultilineString;
  attachments?: Record<string, MimeBundle>;
}

/** Any cell. */
export type Cell = CodeCell | MarkdownCell | RawCell;

/** Notebook-level metadata; only the fields metalab reads are typed. */
export interface NotebookMetadata {
  kernelspec?: { name: string; display_name?: string; language?: string };
  language_info?: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A notebook in nbformat 4.5. */
export interface Notebook {
  nbformat: 4;
  nbformat_minor: number;
  metadata: NotebookMetadata;
  cells: Cell[];
}

/** Raised for a file that is not a readable nbformat-4 notebook; the message says what to fix. */
export class NotebookFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotebookFormatError";
  }
}

/** Joins a multiline string. */
export function joinSource(source: MultilineString): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** Splits text into Jupyter's on-disk list of lines (each but the last keeps its "\n"). */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n").map((l) => l + "\n");
  // split gives at least one piece, so `lines` is never empty; the last piece had no "\n" of its own.
  const last = lines.pop()!.slice(0, -1);
  if (last !== "") lines.push(last);
  return lines;
}

const CELL_ID = /^[a-zA-Z0-9-_]{1,64}$/;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isMultiline(x: unknown): x is MultilineString {
  return typeof x === "string" || (Array.isArray(x) && x.every((l) => typeof l === "string"));
}

/** Checks one output loosely (kernels vary) and returns it typed, or throws. */
function checkOutput(o: unknown, where: string): Output {
  if (!isRecord(o)) throw new NotebookFormatError(`${where}: an output is not an object.`);
  switch (o.output_type) {
    case "stream":
      if ((o.name !== "stdout" && o.name !== "stderr") || !isMultiline(o.text)) {
        throw new NotebookFormatError(`${where}: stream output needs name stdout|stderr and text.`);
      }
      return { output_type: "stream", name: o.name, text: o.text };
    case "display_data":
    case "execute_result": {
      const data = isRecord(o.data) ? o.data : {};
      const metadata = isRecord(o.metadata) ? o.metadata : {};
      if (o.output_type === "display_data") return { output_type: "display_data", data, metadata };
      const count = typeof o.execution_count === "number" ? o.execution_count : null;
      return { output_type: "execute_result", execution_count: count, data, metadata };
    }
    case "error":
      return {
        output_type: "error",
        ename: String(o.ename ?? "Error"),
        evalue: String(o.evalue ?? ""),
        traceback: Array.isArray(o.traceback) ? o.traceback.map(String) : [],
      };
    default:
      throw new NotebookFormatError(`${where}: unknown output_type ${JSON.stringify(o.output_type)}.`);
  }
}

function checkCell(c: unknown, i: number, label: string): Cell {
  const where = `${label}: cell ${i}`;
  if (!isRecord(c)) throw new NotebookFormatError(`${where} is not an object.`);
  if (!isMultiline(c.source)) {
    throw new NotebookFormatError(`${where} has no "source" string; is the file a notebook saved by Jupyter?`);
  }
  const metadata: CellMetadata = isRecord(c.metadata) ? c.metadata : {};
  const id = typeof c.id === "string" ? c.id : "";
  if (id !== "" && !CELL_ID.test(id)) {
    throw new NotebookFormatError(`${where} has an invalid id ${JSON.stringify(id)}; ids must match [a-zA-Z0-9-_]{1,64}.`);
  }
  switch (c.cell_type) {
    case "code": {
      const outputs = Array.isArray(c.outputs) ? c.outputs.map((o) => checkOutput(o, where)) : [];
      const count = typeof c.execution_count === "number" ? c.execution_count : null;
      return { cell_type: "code", id, metadata, source: c.source, execution_count: count, outputs };
    }
    case "markdown":
    case "raw": {
      const cell: MarkdownCell | RawCell =
        c.cell_type === "markdown"
          ? { cell_type: "markdown", id, metadata, source: c.source }
          : { cell_type: "raw", id, metadata, source: c.source };
      if (isRecord(c.attachments)) {
        const attachments: Record<string, MimeBundle> = {};
        for (const [k, v] of Object.entries(c.attachments)) if (isRecord(v)) attachments[k] = v;
        cell.attachments = attachments;
      }
      return cell;
    }
    default:
      throw new NotebookFormatError(`${where} has unknown cell_type ${JSON.stringify(c.cell_type)}.`);
  }
}

/**
 * Parses notebook JSON text; `label` (usually the path) prefixes error messages.
 * Accepts nbformat 4.x and upgrades it to 4.5 (adds missing cell ids); rejects anything else.
 */
export function parseNotebook(text: string, label = "notebook"): Notebook {
  if (text.trim() === "") {
    throw new NotebookFormatError(`${label} is empty; save the notebook from Jupyter again (File > Save).`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new NotebookFormatError(`${label} is not valid JSON (${why}); re-download or re-save it from Jupyter.`);
  }
  if (!isRecord(raw) || !Array.isArray(raw.cells) || raw.nbformat === undefined) {
    throw new NotebookFormatError(`${label} is JSON but not a Jupyter notebook (needs "nbformat" and "cells").`);
  }
  if (raw.nbformat !== 4) {
    throw new NotebookFormatError(
      `${label} is nbformat ${JSON.stringify(raw.nbformat)}; metalab reads nbformat 4. ` +
        `Convert it with \`jupyter nbconvert --to notebook --nbformat 4\`.`,
    );
  }
  const metadata: NotebookMetadata = isRecord(raw.metadata) ? raw.metadata : {};
  const cells = raw.cells.map((c, i) => checkCell(c, i, label));
  const minor = typeof raw.nbformat_minor === "number" ? raw.nbformat_minor : 0;
  const nb: Notebook = { nbformat: 4, nbformat_minor: Math.max(minor, 5), metadata, cells };
  ensureCellIds(nb);
  return nb;
}

/** Reads and validates a notebook file; throws `NotebookFormatError` with a fix-it message. */
export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new NotebookFormatError(`cannot read notebook ${file}: ${why}`);
  }
  return parseNotebook(text, file);
}

/** Serialises a notebook as Jupyter does (1-space indent, sources as line lists, trailing newline). */
export function serializeNotebook(nb: Notebook): string {
  const lines = (s: MultilineString): string[] => splitLines(joinSource(s));
  const out = {
    cells: nb.cells.map((c) => {
      if (c.cell_type !== "code") return { ...c, source: lines(c.source) };
      return {
        ...c,
        source: lines(c.source),
        outputs: c.outputs.map((o) => (o.output_type === "stream" ? { ...o, text: lines(o.text) } : o)),
      };
    }),
    metadata: nb.metadata,
    nbformat: 4,
    nbformat_minor: Math.max(nb.nbformat_minor, 5),
  };
  return JSON.stringify(out, null, 1) + "\n";
}

/** Writes a notebook atomically (temp file + rename), creating the folder if needed. */
export function writeNotebook(file: string, nb: Notebook): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(tmp, serializeNotebook(nb));
  fs.renameSync(tmp, file);
}

/**
 * Gives every cell a unique valid nbformat-4.5 id, keeping existing unique ones; returns the same notebook.
 * New ids are deterministic (`cell-<index>`), so re-running a notebook does not churn its diff.
 */
export function ensureCellIds(nb: Notebook): Notebook {
  const taken = new Set<string>();
  for (const cell of nb.cells) if (CELL_ID.test(cell.id)) taken.add(cell.id);
  const seen = new Set<string>();
  nb.cells.forEach((cell, i) => {
    if (!CELL_ID.test(cell.id) || seen.has(cell.id)) {
      let id = `cell-${i}`;
      for (let k = 1; taken.has(id); k++) id = `cell-${i}-${k}`;
      cell.id = id;
      taken.add(id);
    }
    seen.add(cell.id);
  });
  if (nb.nbformat_minor < 5) nb.nbformat_minor = 5;
  return nb;
}

/** Deep copy of a notebook (plain JSON data). */
export function cloneNotebook(nb: Notebook): Notebook {
  return structuredClone(nb);
}

/** Creates a code cell. */
export function codeCell(source: string, id: string, metadata: CellMetadata = {}): CodeCell {
  return { cell_type: "code", id, metadata, source, execution_count: null, outputs: [] };
}

/** Creates a markdown cell. */
export function markdownCell(source: string, id: string, metadata: CellMetadata = {}): MarkdownCell {
  return { cell_type: "markdown", id, metadata, source };
}

/** A fresh empty tslab notebook. */
export function emptyNotebook(): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells: [],
  };
}
