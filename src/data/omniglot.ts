/**
 * The Omniglot handwritten characters (Lake, Salakhutdinov & Tenenbaum 2015): background archives read from a data
 * folder, decoded, downsampled to 28×28 as the few-shot literature does, and cached as typed arrays.
 */
import { existsSync, readFileSync, statSync } from "fs";
import * as path from "path";
import { checkBoolean, checkConfig, checkString } from "../core/validate";
import { cachedArrays } from "./array-cache";
import { datasetDir, datasetEnvVar } from "./data-dir";
import { DataError } from "./errors";
import { decodeGrayPng } from "./png";
import { resizeLanczos } from "./resize";
import { readZip } from "./zip";

/** Archives of the public Omniglot repository (its `python/` folder), by set name. */
export const OMNIGLOT_ARCHIVES = {
  background_small1: "images_background_small1.zip",
  background_small2: "images_background_small2.zip",
  background: "images_background.zip",
  evaluation: "images_evaluation.zip",
} as const;

/** A set of Omniglot alphabets. */
export type OmniglotSetName = keyof typeof OMNIGLOT_ARCHIVES;

/** The archive of the 20 official one-shot runs. */
export const OMNIGLOT_RUNS_ARCHIVE = "all_runs.zip";

/** Size of the original drawings. */
export const OMNIGLOT_ORIGINAL_SIZE = 105;

/** What to tell a user whose Omniglot files are missing or broken. */
export function omniglotFix(dir: string): string {
  return `Put the Omniglot archives in ${dir} (run \`metalab data omniglot\` to download them, or set ${datasetEnvVar("omniglot")} to a folder that has them).`;
}

/** The nearest folder at or above `from` whose package.json is named metalab (the checkout), or null. */
function metalabRoot(from: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    try {
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "metalab") return dir;
    } catch {
      // An unreadable package.json is not ours; keep looking upwards.
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** True if `dir` holds any Omniglot archive. */
function hasOmniglot(dir: string): boolean {
  return [...Object.values(OMNIGLOT_ARCHIVES), OMNIGLOT_RUNS_ARCHIVE].some((f) => existsSync(path.join(dir, f)));
}

/**
 * The folder the Omniglot archives are read from: `METALAB_OMNIGLOT_DIR`, else `METALAB_DATA_DIR/omniglot`, else
 * the cache folder (`~/.cache/metalab/omniglot`, where `metalab data omniglot` puts them) if it holds them, else a
 * course's shared data folder `../shared/data/omniglot` beside the metalab checkout if it exists (how tests and CI
 * find it), else the cache folder (so the error names where to put the files).
 */
export function omniglotDir(env: NodeJS.ProcessEnv = process.env, from: string = __dirname): string {
  const chosen = datasetDir("omniglot", env);
  if (chosen.source !== "the default cache folder" || hasOmniglot(chosen.dir)) return chosen.dir;
  const root = metalabRoot(from);
  const shared = root ? path.resolve(root, "..", "shared", "data", "omniglot") : null;
  return shared && hasOmniglot(shared) ? shared : chosen.dir;
}

/** One character class: its alphabet, its folder name and the archive it came from. */
export interface OmniglotCharacter {
  readonly alphabet: string;
  readonly name: string;
  readonly set: OmniglotSetName;
}

/** Decoded characters: `pixels` holds [characters][drawings][size * size] grey levels, 0 = paper, 255 = ink. */
export interface OmniglotImages {
  readonly size: number;
  readonly drawings: number;
  readonly characters: readonly OmniglotCharacter[];
  readonly alphabets: readonly string[];
  readonly pixels: Uint8Array;
}

/** Options of `loadOmniglot`. */
export interface LoadOmniglotOptions {
  /** Folder with the archives; default `omniglotDir()`. */
  readonly dir?: string;
  /** Sets to read; default both small background sets, or the full background set if only it is present. */
  readonly sets?: readonly OmniglotSetName[];
  /** Output side length; 28 as in Vinyals et al. (2016) and Finn et al. (2017); 105 keeps the originals. */
  readonly size?: number;
  /** Keep only these alphabets (names as in the archives, e.g. "Greek"); an unknown name is an error. */
  readonly alphabets?: readonly string[];
  /** Read and write the decoded-array cache (default true). */
  readonly cache?: boolean;
  /** Cache folder; default `<cache root>/arrays`. */
  readonly cacheDir?: string;
}

/** The keys of `LoadOmniglotOptions` (all optional): any other key is a typo and an error. */
export const LOAD_OMNIGLOT_KEYS: { readonly [K in keyof LoadOmniglotOptions]-?: true } = { dir: true, sets: true, size: true, alphabets: true, cache: true, cacheDir: true };

/** Checks the folder fields every Omniglot loader shares: `dir`, `cache` and `cacheDir`. */
export function checkDataFolderFields(who: string, o: { readonly dir?: unknown; readonly cache?: unknown; readonly cacheDir?: unknown }): void {
  if (o.dir !== undefined) checkString(who, "dir", o.dir, "A folder holding the Omniglot archives; leave it out for omniglotDir() ($METALAB_OMNIGLOT_DIR, then the data folder).");
  if (o.cache !== undefined) checkBoolean(who, "cache", o.cache);
  if (o.cacheDir !== undefined) checkString(who, "cacheDir", o.cacheDir, "A folder for the decoded-array cache; leave it out for the default.");
}

/** Checks a `size` option: an integer side length in [1, 105]. */
export function checkOmniglotSize(who: string, size: unknown): void {
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > OMNIGLOT_ORIGINAL_SIZE) throw new Error(`${who}: size must be an integer in [1, 105], got ${String(size)}. Use 28 (the usual) or 105 (the originals).`);
}

/** Checks `loadOmniglot`'s options field by field (unknown keys are errors); returns them unchanged. */
export function loadOmniglotOptions(o: LoadOmniglotOptions, who = "loadOmniglot"): LoadOmniglotOptions {
  checkConfig(who, o, LOAD_OMNIGLOT_KEYS, { hint: 'Pass {} for the defaults, or e.g. { size: 28, alphabets: ["Greek"] }.', keysWho: `${who} options` });
  checkDataFolderFields(who, o);
  if (o.size !== undefined) checkOmniglotSize(who, o.size);
  const sets = Object.keys(OMNIGLOT_ARCHIVES);
  if (o.sets !== undefined && (!Array.isArray(o.sets) || o.sets.length === 0 || o.sets.some((s) => !sets.includes(s)))) {
    throw new Error(`${who} sets must be a non-empty list of ${sets.map((s) => JSON.stringify(s)).join(", ")}, got ${JSON.stringify(o.sets)}. Leave it out for the default sets.`);
  }
  if (o.alphabets !== undefined && (!Array.isArray(o.alphabets) || o.alphabets.some((a) => typeof a !== "string"))) {
    throw new Error(`${who} alphabets must be a list of alphabet names (e.g. ["Greek", "Latin"]), got ${JSON.stringify(o.alphabets)}. Leave it out for every alphabet.`);
  }
  return o;
}

/** The sets read when none are named: the two small background sets if either is there, else the full background set. */
export function defaultOmniglotSets(dir: string): OmniglotSetName[] {
  const small: OmniglotSetName[] = ["background_small1", "background_small2"];
  if (small.some((s) => existsSync(path.join(dir, OMNIGLOT_ARCHIVES[s])))) return small;
  if (existsSync(path.join(dir, OMNIGLOT_ARCHIVES.background))) return ["background"];
  return small; // neither: reading them reports the missing file
}

/** Ink intensity of a 105×105 drawing downsampled to `size` (0 = paper, 255 = ink), as bytes. */
function inkBytes(png: { width: number; height: number; pixels: Uint8Array }, size: number): Uint8Array {
  const ink = new Float32Array(png.pixels.length);
  for (let i = 0; i < ink.length; i++) ink[i] = 1 - png.pixels[i]! / 255; // Omniglot draws black strokes on white
  const small = resizeLanczos(ink, png.width, png.height, size, size);
  const out = new Uint8Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(255 * Math.min(1, Math.max(0, small[i]!)));
  return out;
}

/** Decodes one archive: characters in (alphabet, character) order, drawings in file-name order. */
function decodeArchive(dir: string, set: OmniglotSetName, size: number): { characters: OmniglotCharacter[]; drawings: number; pixels: Uint8Array[] } {
  const file = path.join(dir, OMNIGLOT_ARCHIVES[set]);
  const fix = omniglotFix(dir);
  const files = readZip(file, { filter: (n) => n.toLowerCase().endsWith(".png"), fix });
  const groups = new Map<string, string[]>();
  for (const name of files.keys()) {
    const parts = name.split("/").filter((p) => p !== "");
    if (parts.length < 3) throw new DataError(`${file}: member "${name}" is not <alphabet>/<character>/<drawing>.png.`, `${file}:${name}`, `This is not an Omniglot archive. ${fix}`);
    const key = parts.slice(-3, -1).join("/");
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(name);
  }
  if (groups.size === 0) throw new DataError(`${file} holds no PNG drawings.`, file, `It is not an Omniglot archive or it is damaged. ${fix}`);
  const keys = [...groups.keys()].sort();
  const counts = keys.map((k) => groups.get(k)!.length);
  const drawings = Math.max(...counts);
  const characters: OmniglotCharacter[] = [];
  const pixels: Uint8Array[] = [];
  for (const key of keys) {
    const names = groups.get(key)!.sort();
    if (names.length !== drawings) {
      throw new DataError(`${file}: character folder ${key} has ${names.length} drawings where the others have ${drawings}.`, `${file}:${key}`, `The archive is incomplete. ${fix}`);
    }
    const [alphabet, name] = key.split("/") as [string, string];
    characters.push({ alphabet, name, set });
    const block = new Uint8Array(drawings * size * size);
    names.forEach((n, d) => {
      const png = decodeGrayPng(files.get(n)!, `${file}:${n}`, fix);
      if (png.width !== OMNIGLOT_ORIGINAL_SIZE || png.height !== OMNIGLOT_ORIGINAL_SIZE) {
        throw new DataError(`${file}:${n} is ${png.width}×${png.height}, not ${OMNIGLOT_ORIGINAL_SIZE}×${OMNIGLOT_ORIGINAL_SIZE}.`, `${file}:${n}`, `This is not an Omniglot drawing. ${fix}`);
      }
      block.set(inkBytes(png, size), d * size * size);
    });
    pixels.push(block);
  }
  return { characters, drawings, pixels };
}

/** Decodes one archive through the typed-array cache (keyed by the archive's name, size and mtime). */
function loadArchive(dir: string, set: OmniglotSetName, size: number, useCache: boolean, cacheDir?: string): { characters: OmniglotCharacter[]; drawings: number; pixels: Uint8Array } {
  const file = path.join(dir, OMNIGLOT_ARCHIVES[set]);
  const build = () => {
    const d = decodeArchive(dir, set, size);
    const all = new Uint8Array(d.pixels.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of d.pixels) {
      all.set(p, o);
      o += p.length;
    }
    return { bytes: all, meta: { characters: d.characters, drawings: d.drawings } };
  };
  if (!useCache || !existsSync(file)) {
    const b = build();
    return { ...b.meta, pixels: b.bytes };
  }
  const st = statSync(file);
  const key = `omniglot-${set}-${size}-${st.size}-${Math.floor(st.mtimeMs)}`;
  const c = cachedArrays(key, build, cacheDir);
  return { ...c.meta, pixels: c.bytes };
}

/**
 * Loads Omniglot characters from the background archives (both small sets by default). Characters present in several
 * archives (Greek and Latin are in both small sets) are kept once. Throws a `DataError` naming the file for a
 * missing or corrupt archive or drawing, and for an unknown alphabet.
 */
export function loadOmniglot(options: LoadOmniglotOptions = {}): OmniglotImages {
  loadOmniglotOptions(options);
  const dir = options.dir ?? omniglotDir();
  const size = options.size ?? 28;
  const sets = options.sets ?? defaultOmniglotSets(dir);
  if (sets.length === 0) throw new Error(`loadOmniglot: sets is empty. Name at least one of ${Object.keys(OMNIGLOT_ARCHIVES).join(", ")}.`);
  for (const s of sets) if (!(s in OMNIGLOT_ARCHIVES)) throw new Error(`loadOmniglot: unknown set "${s}". Use one of ${Object.keys(OMNIGLOT_ARCHIVES).join(", ")}.`);
  const characters: OmniglotCharacter[] = [];
  const blocks: Uint8Array[] = [];
  const seen = new Set<string>();
  let drawings = -1;
  for (const set of sets) {
    const a = loadArchive(dir, set, size, options.cache ?? true, options.cacheDir);
    if (drawings >= 0 && a.drawings !== drawings) {
      throw new DataError(`${OMNIGLOT_ARCHIVES[set]} has ${a.drawings} drawings per character, the other sets ${drawings}.`, path.join(dir, OMNIGLOT_ARCHIVES[set]), omniglotFix(dir));
    }
    drawings = a.drawings;
    const per = a.drawings * size * size;
    a.characters.forEach((c, i) => {
      const key = `${c.alphabet}/${c.name}`;
      if (seen.has(key)) return;
      seen.add(key);
      characters.push(c);
      blocks.push(a.pixels.subarray(i * per, (i + 1) * per));
    });
  }
  let picked = characters.map((_, i) => i);
  const known = [...new Set(characters.map((c) => c.alphabet))];
  if (options.alphabets) {
    const unknown = options.alphabets.filter((a) => !known.includes(a));
    if (unknown.length) {
      throw new DataError(
        `Unknown Omniglot alphabet${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")} in ${sets.map((s) => OMNIGLOT_ARCHIVES[s]).join(" + ")}.`,
        path.join(dir, OMNIGLOT_ARCHIVES[sets[0]!]),
        `Use names as spelled in the archives: ${known.join(", ")}.`,
      );
    }
    picked = picked.filter((i) => options.alphabets!.includes(characters[i]!.alphabet));
  }
  const per = drawings * size * size;
  const pixels = new Uint8Array(picked.length * per);
  picked.forEach((ci, j) => pixels.set(blocks[ci]!, j * per));
  const chars = picked.map((i) => characters[i]!);
  return { size, drawings, characters: chars, alphabets: [...new Set(chars.map((c) => c.alphabet))], pixels };
}

/** One drawing as floats in [0, 1] (ink = 1), [size * size] row-major. */
export function omniglotImage(images: OmniglotImages, character: number, drawing: number): Float32Array {
  const n = images.size * images.size;
  if (!(character >= 0 && character < images.characters.length)) throw new Error(`omniglotImage: character ${character} is out of range [0, ${images.characters.length}).`);
  if (!(drawing >= 0 && drawing < images.drawings)) throw new Error(`omniglotImage: drawing ${drawing} is out of range [0, ${images.drawings}).`);
  const off = (character * images.drawings + drawing) * n;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = images.pixels[off + i]! / 255;
  return out;
}

/** Characters per alphabet, in alphabet order. */
export function omniglotCounts(images: OmniglotImages): { alphabet: string; characters: number }[] {
  return images.alphabets.map((a) => ({ alphabet: a, characters: images.characters.filter((c) => c.alphabet === a).length }));
}
