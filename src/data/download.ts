/**
 * Downloading a dataset file over HTTP(S) with a time limit, so a machine without internet gets a clear error at once
 * instead of a hang. The file appears only when complete (written to a temporary name, then renamed).
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "fs";
import * as path from "path";
import { DataError } from "./errors";

/** Options of `downloadFile`. */
export interface DownloadOptions {
  /** Give up if the server has not answered (headers) within this time; default 20 s. */
  readonly connectTimeoutMs?: number;
  /** Give up if the whole body has not arrived within this time; default 10 min. */
  readonly totalTimeoutMs?: number;
  /** Called with bytes received and the total (or null if the server did not say). */
  readonly onProgress?: (received: number, total: number | null) => void;
  /** What to tell the user on failure. */
  readonly fix?: string;
  /** The fetch to use (tests pass their own). */
  readonly fetch?: typeof fetch;
}

/** Downloads `url` to `dest`; throws a `DataError` naming the URL, the reason and the fix. Returns the byte count. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<number> {
  const fix = options.fix ?? `Download ${url} by hand and save it as ${dest}.`;
  const doFetch = options.fetch ?? fetch;
  const abort = new AbortController();
  let why: "connect" | "total" | null = null;
  const totalTimer = setTimeout(() => ((why = "total"), abort.abort()), options.totalTimeoutMs ?? 600_000);
  const connectTimer = setTimeout(() => ((why = "connect"), abort.abort()), options.connectTimeoutMs ?? 20_000);
  const signal = abort.signal;
  try {
    let res: Response;
    try {
      res = await doFetch(url, { signal, redirect: "follow" });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : "";
      const reason = why === "connect" ? `no answer within ${(options.connectTimeoutMs ?? 20_000) / 1000} s` : `${e instanceof Error ? e.message : String(e)}${cause}`;
      throw new DataError(`Could not download ${url} (${reason}). This machine may have no internet access.`, url, fix);
    }
    clearTimeout(connectTimer);
    if (!res.ok || !res.body) throw new DataError(`Could not download ${url}: the server answered ${res.status} ${res.statusText}.`, url, fix);
    const size = Number(res.headers.get("content-length")) || null;
    const chunks: Uint8Array[] = [];
    let received = 0;
    try {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        options.onProgress?.(received, size);
      }
    } catch (e) {
      throw new DataError(`Download of ${url} broke off after ${received} bytes (${why === "total" ? "time limit" : e instanceof Error ? e.message : String(e)}).`, url, fix);
    }
    if (size !== null && received !== size) throw new DataError(`Download of ${url} is incomplete: ${received} of ${size} bytes.`, url, fix);
    mkdirSync(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.part`;
    try {
      writeFileSync(tmp, Buffer.concat(chunks));
      renameSync(tmp, dest);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new DataError(`Could not write ${dest} (${e instanceof Error ? e.message : String(e)}).`, dest, "Choose a writable folder (--dir, or METALAB_OMNIGLOT_DIR).");
    }
    return received;
  } finally {
    clearTimeout(totalTimer);
    clearTimeout(connectTimer);
  }
}
