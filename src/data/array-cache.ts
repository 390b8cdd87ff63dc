/**
 * A small on-disk cache of decoded typed arrays, so a dataset is decoded once per machine, not once per notebook run.
 * Entries are `<cache>/arrays/<key>.bin` (raw bytes) beside `<key>.json` (metadata); a key names its inputs.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "fs";
import * as path from "path";
import { cacheRoot } from "./data-dir";

/** A cached entry: bytes and JSON metadata. */
export interface CachedArrays<M> {
  readonly bytes: Uint8Array;
  readonly meta: M;
}

/**
 * Returns the entry for `key`, building and storing it on a miss. A cache that cannot be written (read-only home)
 * is skipped silently: the data is still returned, only not kept. `key` must be a file-name-safe string.
 */
export function cachedArrays<M>(key: string, build: () => CachedArrays<M>, dir: string = path.join(cacheRoot(), "arrays")): CachedArrays<M> {
  if (!/^[A-Za-z0-9._-]+$/.test(key)) throw new Error(`cachedArrays: key "${key}" must use only letters, digits, . _ -.`);
  const bin = path.join(dir, `${key}.bin`);
  const json = path.join(dir, `${key}.json`);
  if (existsSync(bin) && existsSync(json)) {
    try {
      const meta = JSON.parse(readFileSync(json, "utf8")) as M & { byteLength?: number };
      const bytes = new Uint8Array(readFileSync(bin));
      if (meta.byteLength === bytes.length) return { bytes, meta };
    } catch {
      // A damaged entry is rebuilt below.
    }
  }
  const built = build();
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    writeFileSync(tmp, built.bytes);
    renameSync(tmp, bin);
    writeFileSync(json, JSON.stringify({ ...built.meta, byteLength: built.bytes.length }));
  } catch {
    // Not writable: the cache is an optimisation, the data is returned anyway.
  }
  return built;
}
