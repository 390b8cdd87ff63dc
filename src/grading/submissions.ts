/**
 * Finding submissions in a folder without being tricked by it: entries are looked at with lstat (symlinks are listed
 * and reported, never followed; FIFOs and devices are listed and refused when read), dot-files are graded like any
 * other, and each student id is a function of the entry's own name only (Unicode kept, everything else escaped).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** One submission found in the submissions folder. */
export interface SubmissionEntry {
  student: string;
  /** The entry's name in the submissions folder (the gradebook's file column). */
  name: string;
  /** Notebook path to grade, or null when a student folder holds no notebook. */
  file: string | null;
  /** Why this entry cannot be graded as it is (e.g. two submissions share an id); null when fine. */
  problem: string | null;
  /** Other notebooks found in a student folder, not graded (reported). */
  ignored: string[];
}

const NOTEBOOK = /\.ipynb$/i;
/** Characters kept as they are in ids: letters and digits of any script, combining marks, and `_ - .`. */
const KEEP = /^[\p{L}\p{M}\p{N}_.-]$/u;
/** Longest id in UTF-8 bytes (file names may be 255). */
const MAX_ID_BYTES = 160;

/**
 * The student id of a submission entry: its name without `.ipynb`, with every character that is not a letter, digit,
 * mark, `_`, `-` or a non-leading `.` written as `~XX` (UTF-8 bytes in hex), so different names always give different
 * ids and `陈.ipynb` stays `陈`. Long names are cut and end with a hash of the whole name.
 */
export function studentId(entryName: string): string {
  const stripped = entryName.replace(NOTEBOOK, "");
  const base = stripped === "" ? entryName : stripped;
  let id = "";
  for (const ch of base) {
    if (KEEP.test(ch) && !(ch === "." && id === "")) id += ch;
    else for (const b of Buffer.from(ch, "utf8")) id += `~${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (Buffer.byteLength(id, "utf8") <= MAX_ID_BYTES) return id;
  const hash = createHash("sha256").update(entryName, "utf8").digest("hex").slice(0, 12);
  let cut = "";
  for (const ch of id) {
    if (Buffer.byteLength(cut + ch, "utf8") > MAX_ID_BYTES - 14) break;
    cut += ch;
  }
  return `${cut}~~${hash}`;
}

/**
 * The notebook graded from a student folder: its first regular `*.ipynb` by name (dot-files only when there is no
 * other), looked at with lstat; the others are returned to be reported. `file` is null when there is none.
 */
export function folderNotebook(dir: string): { file: string | null; ignored: string[] } {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return { file: null, ignored: [] };
  }
  const nbs = entries.filter((e) => NOTEBOOK.test(e.name)).map((e) => e.name);
  const sorted = [...nbs.filter((n) => !n.startsWith(".")).sort(), ...nbs.filter((n) => n.startsWith(".")).sort()];
  const first = sorted[0];
  if (first === undefined) return { file: null, ignored: [] };
  return { file: path.join(dir, first), ignored: sorted.slice(1) };
}

/** The entry for one path given on its own (grade-one): a notebook file, or a student's folder. Not followed if a link. */
export function entryFor(p: string): SubmissionEntry {
  const name = path.basename(path.resolve(p));
  let dir = false;
  try {
    dir = fs.lstatSync(p).isDirectory();
  } catch {
    // Missing: graded as a file, which reports it.
  }
  if (!dir) return { student: studentId(name), name, file: p, problem: null, ignored: [] };
  const nb = folderNotebook(p);
  return { student: studentId(name), name: `${name}/`, file: nb.file, problem: null, ignored: nb.ignored };
}

/**
 * Lists submissions: every `*.ipynb` entry (whatever its type; reading refuses what is not a regular file) and every
 * folder (a student's folder), plus symlinks of any name (reported). Other files are returned in `skipped`.
 */
export function listSubmissions(dir: string): { entries: SubmissionEntry[]; skipped: string[] } {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot read the submissions folder ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: SubmissionEntry[] = [];
  const skipped: string[] = [];
  for (const e of dirents.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      const nb = folderNotebook(full);
      out.push({ student: studentId(e.name), name: `${e.name}/`, file: nb.file, problem: null, ignored: nb.ignored });
    } else if (NOTEBOOK.test(e.name) || e.isSymbolicLink()) {
      out.push({ student: studentId(e.name), name: e.name, file: full, problem: null, ignored: [] });
    } else {
      skipped.push(e.name);
    }
  }
  // Two entries with one id (only `x.ipynb` beside a folder `x`): neither is guessed at; both are reported.
  const byId = new Map<string, SubmissionEntry[]>();
  for (const s of out) byId.set(s.student, [...(byId.get(s.student) ?? []), s]);
  const entries: SubmissionEntry[] = [];
  for (const [student, list] of byId) {
    const only = list[0];
    if (list.length === 1 && only !== undefined) entries.push(only);
    else {
      const names = list.map((s) => s.name).join(" and ");
      entries.push({ student, name: names, file: null, problem: `two submissions for ${student}: ${names}; keep one and grade again`, ignored: [] });
    }
  }
  entries.sort((x, y) => (x.student < y.student ? -1 : x.student > y.student ? 1 : 0));
  return { entries, skipped };
}
