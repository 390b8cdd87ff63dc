/**
 * Reading zip archives into memory with fflate (a maintained, dependency-free zip/deflate library).
 */
import { existsSync, readFileSync, statSync } from "fs";
import { unzipSync } from "fflate";
import { DataError } from "./errors";

/** Options of `readZip`. */
export interface ReadZipOptions {
  /** Keep only the members whose name passes (directories are always dropped). */
  readonly filter?: (name: string) => boolean;
  /** What to tell the user when the archive is missing or unreadable (e.g. "Run `metalab data omniglot`."). */
  readonly fix?: string;
}

/** The files of a zip archive: member name (with its folders, '/'-separated) to bytes. */
export type ZipFiles = ReadonlyMap<string, Uint8Array>;

const ZIP_MAGIC = [0x50, 0x4b]; // "PK"

/** Reads every (filtered) file of the zip archive at `file`; throws a `DataError` naming the file if it is missing or corrupt. */
export function readZip(file: string, options: ReadZipOptions = {}): ZipFiles {
  const fix = options.fix ?? "Download the archive again.";
  if (!existsSync(file)) throw new DataError(`Archive not found: ${file}.`, file, fix);
  if (!statSync(file).isFile()) throw new DataError(`${file} is not a file (a zip archive was expected).`, file, fix);
  const bytes = new Uint8Array(readFileSync(file));
  if (bytes.length < 22 || bytes[0] !== ZIP_MAGIC[0] || bytes[1] !== ZIP_MAGIC[1]) {
    throw new DataError(`${file} is not a zip archive (${bytes.length} bytes, no "PK" signature).`, file, `It is corrupt or incomplete. ${fix}`);
  }
  let raw: Record<string, Uint8Array>;
  try {
    raw = unzipSync(bytes, { filter: (f) => !f.name.endsWith("/") && (options.filter?.(f.name) ?? true) });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DataError(`${file} is a corrupt zip archive (${why}).`, file, `It is damaged or truncated. ${fix}`);
  }
  return new Map(Object.entries(raw));
}
