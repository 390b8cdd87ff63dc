/**
 * Small generated Omniglot-shaped archives for the loader tests (never copies of the dataset): 105×105 1-bit-style
 * PNGs with a random bar each, zipped with fflate.
 */
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { zipSync } from "fflate";
import { PNG } from "pngjs";
import { Rng } from "../../src/core/random";

/** A 105×105 PNG: white paper with one black rectangle drawn from `rng`. */
export function drawingPng(rng: Rng, size = 105): Uint8Array {
  const png = new PNG({ width: size, height: size });
  const x0 = rng.int(size - 30);
  const y0 = rng.int(size - 30);
  const w = 5 + rng.int(25);
  const h = 5 + rng.int(25);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const ink = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
      const i = 4 * (y * size + x);
      png.data[i] = png.data[i + 1] = png.data[i + 2] = ink ? 0 : 255;
      png.data[i + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** A fresh temporary folder. */
export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `metalab-${label}-`));
}

/** Writes `<dir>/<zipName>` with folder `<root>/<alphabet>/characterNN/<id>_DD.png` for each alphabet's count. */
export function writeBackgroundZip(dir: string, zipName: string, alphabets: Record<string, number>, drawings: number, seed = 0, edit?: (files: Record<string, Uint8Array>) => void): string {
  const rng = new Rng(seed);
  const root = zipName.replace(/\.zip$/, "");
  const files: Record<string, Uint8Array> = {};
  let id = 1;
  for (const [alphabet, count] of Object.entries(alphabets)) {
    for (let c = 1; c <= count; c++, id++) {
      for (let d = 1; d <= drawings; d++) files[`${root}/${alphabet}/character${String(c).padStart(2, "0")}/${String(id).padStart(4, "0")}_${String(d).padStart(2, "0")}.png`] = drawingPng(rng);
    }
  }
  edit?.(files);
  const file = path.join(dir, zipName);
  writeFileSync(file, zipSync(files));
  return file;
}

/** Writes `<dir>/all_runs.zip` with `runs` runs of `ways`-way one-shot classification (answers: a fixed shuffle). */
export function writeRunsZip(dir: string, runs: number, ways: number, seed = 0, edit?: (files: Record<string, Uint8Array>) => void): string {
  const rng = new Rng(seed);
  const files: Record<string, Uint8Array> = {};
  for (let r = 1; r <= runs; r++) {
    const run = `run${String(r).padStart(2, "0")}`;
    const perm = rng.permutation(ways);
    const lines: string[] = [];
    for (let i = 1; i <= ways; i++) {
      const item = `${run}/test/item${String(i).padStart(2, "0")}.png`;
      const cls = `${run}/training/class${String(perm[i - 1]! + 1).padStart(2, "0")}.png`;
      files[item] = drawingPng(rng);
      lines.push(`${item} ${cls}`);
    }
    for (let c = 1; c <= ways; c++) files[`${run}/training/class${String(c).padStart(2, "0")}.png`] = drawingPng(rng);
    files[`${run}/class_labels.txt`] = new TextEncoder().encode(lines.join("\n") + "\n");
  }
  edit?.(files);
  const file = path.join(dir, "all_runs.zip");
  writeFileSync(file, zipSync(files));
  return file;
}
