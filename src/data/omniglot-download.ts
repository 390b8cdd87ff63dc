/**
 * `metalab data omniglot`: downloads the Omniglot archives from the public Omniglot repository of Lake et al. into the
 * data folder, checking that each download is a readable zip archive.
 */
import { existsSync, rmSync } from "fs";
import * as path from "path";
import { checkBoolean, checkConfig, checkPositive, checkString } from "../core/validate";
import { downloadFile, type DownloadOptions } from "./download";
import { OMNIGLOT_ARCHIVES, OMNIGLOT_RUNS_ARCHIVE, omniglotDir } from "./omniglot";
import { readZip } from "./zip";

/** Where the archives are published (the `python/` folder of github.com/brendenlake/omniglot, MIT licence). */
export const OMNIGLOT_BASE_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python";

/** Archive file names and their path under the base URL. */
export function omniglotDownloads(full: boolean): { file: string; url: string }[] {
  const files = [OMNIGLOT_ARCHIVES.background_small1, OMNIGLOT_ARCHIVES.background_small2, ...(full ? [OMNIGLOT_ARCHIVES.background, OMNIGLOT_ARCHIVES.evaluation] : [])];
  return [
    ...files.map((f) => ({ file: f, url: `${OMNIGLOT_BASE_URL}/${f}` })),
    { file: OMNIGLOT_RUNS_ARCHIVE, url: `${OMNIGLOT_BASE_URL}/one-shot-classification/${OMNIGLOT_RUNS_ARCHIVE}` },
  ];
}

/** Options of `downloadOmniglot`. */
export interface DownloadOmniglotOptions extends Omit<DownloadOptions, "fix" | "onProgress"> {
  /** Target folder; default `omniglotDir()`. */
  readonly dir?: string;
  /** Also fetch the full background and evaluation sets (about 15 MB). */
  readonly full?: boolean;
  /** Replace files already present. */
  readonly force?: boolean;
  /** Base URL (tests point it at a local server). */
  readonly baseUrl?: string;
  /** One line per event. */
  readonly log?: (line: string) => void;
}

/** The keys of `DownloadOmniglotOptions` (all optional): any other key is a typo and an error. */
export const DOWNLOAD_OMNIGLOT_KEYS: { readonly [K in keyof DownloadOmniglotOptions]-?: true } = {
  dir: true,
  full: true,
  force: true,
  baseUrl: true,
  log: true,
  connectTimeoutMs: true,
  totalTimeoutMs: true,
  fetch: true,
};

/** Checks `downloadOmniglot`'s options field by field (unknown keys are errors); returns them unchanged. */
export function downloadOmniglotOptions(o: DownloadOmniglotOptions): DownloadOmniglotOptions {
  const WHO = "downloadOmniglot";
  checkConfig(WHO, o, DOWNLOAD_OMNIGLOT_KEYS, { hint: "Pass {} for the defaults, or { full: true } for the full sets.", keysWho: `${WHO} options` });
  for (const k of ["dir", "baseUrl"] as const) if (o[k] !== undefined) checkString(WHO, k, o[k], "Leave it out for the default.");
  for (const k of ["full", "force"] as const) if (o[k] !== undefined) checkBoolean(WHO, k, o[k]);
  for (const k of ["connectTimeoutMs", "totalTimeoutMs"] as const) {
    const ms = o[k];
    if (ms !== undefined) checkPositive(WHO, k, ms, "A time in ms, e.g. 20000.");
  }
  for (const k of ["log", "fetch"] as const) if (o[k] !== undefined && typeof o[k] !== "function") throw new Error(`${WHO} ${k} must be a function, got ${String(o[k])}. Leave it out for the default.`);
  return o;
}

/** Downloads the missing archives; returns the files written. Throws a `DataError` (naming URL and fix) on failure. */
export async function downloadOmniglot(options: DownloadOmniglotOptions = {}): Promise<string[]> {
  downloadOmniglotOptions(options);
  const dir = options.dir ?? omniglotDir();
  const log = options.log ?? (() => {});
  const written: string[] = [];
  for (const { file, url } of omniglotDownloads(options.full ?? false)) {
    const dest = path.join(dir, file);
    const from = options.baseUrl ? url.replace(OMNIGLOT_BASE_URL, options.baseUrl) : url;
    if (existsSync(dest) && !options.force) {
      log(`${file}: already in ${dir}`);
      continue;
    }
    log(`${file}: downloading ${from}`);
    let lastPct = -10;
    const bytes = await downloadFile(from, dest, {
      ...options,
      fix: `Download it by hand from ${from} into ${dir}, or set METALAB_OMNIGLOT_DIR to a folder that has the Omniglot archives.`,
      onProgress: (got, total) => {
        const pct = total ? Math.floor((100 * got) / total) : -1;
        if (pct >= lastPct + 10) {
          lastPct = pct;
          log(`${file}: ${pct}% of ${(total! / 1e6).toFixed(1)} MB`);
        }
      },
    });
    try {
      readZip(dest, { fix: `Run \`metalab data omniglot\` again, or download it by hand from ${from}.` }); // a corrupt download is an error now, not later
    } catch (e) {
      rmSync(dest, { force: true });
      throw e;
    }
    log(`${file}: ${(bytes / 1e6).toFixed(1)} MB written`);
    written.push(dest);
  }
  return written;
}
