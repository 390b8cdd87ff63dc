/**
 * A grid of MNIST digits as a small SVG (one grey square per inked pixel), for `svgFigure`.
 */
import { checkConfig, checkInteger, checkPositive } from "../core/validate";
import { MNIST_PIXELS, MNIST_SIDE } from "./mnist";

/** One digit to draw: its 784 pixels in [0, 1] and a caption under it. */
export interface DigitTile {
  readonly pixels: ArrayLike<number>;
  readonly caption: string;
}

/** Options of `digitGridSvg`. */
export interface DigitGridOptions {
  /** Tiles per row (default 10). */
  readonly columns?: number;
  /** Screen pixels per image pixel (default 2). */
  readonly scale?: number;
  readonly title?: string;
}

/** Checks `digitGridSvg`'s options field by field (unknown keys are errors); returns them unchanged. */
export function digitGridOptions(o: DigitGridOptions): DigitGridOptions {
  const WHO = "digitGridSvg";
  checkConfig(WHO, o, { columns: true, scale: true, title: true }, { hint: 'Pass e.g. { columns: 10, title: "Digits" }.', keysWho: `${WHO} options` });
  if (o.columns !== undefined) checkInteger(WHO, "columns", o.columns, 1, "10 tiles per row is the default.");
  if (o.scale !== undefined) checkPositive(WHO, "scale", o.scale, "Screen pixels per image pixel; 2 is the default.");
  if (o.title !== undefined && typeof o.title !== "string") throw new Error(`${WHO} title must be a string, got ${String(o.title)}.`);
  return o;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Black ink on white, the digit's captions below it; pixels below 0.05 are left out to keep the SVG small. */
export function digitGridSvg(tiles: readonly DigitTile[], options: DigitGridOptions = {}): string {
  digitGridOptions(options);
  const columns = options.columns ?? 10;
  const scale = options.scale ?? 2;
  if (tiles.length === 0) throw new Error("digitGridSvg needs at least one digit.");
  const cell = MNIST_SIDE * scale;
  const pad = 6;
  const captionH = 14;
  const titleH = options.title ? 20 : 0;
  const rows = Math.ceil(tiles.length / columns);
  const width = Math.min(columns, tiles.length) * (cell + pad) + pad;
  const height = titleH + rows * (cell + captionH + pad) + pad;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`, `<rect width="${width}" height="${height}" fill="white"/>`];
  if (options.title) parts.push(`<text x="${pad}" y="14" font-size="13" font-weight="bold">${esc(options.title)}</text>`);
  tiles.forEach((t, i) => {
    if (t.pixels.length !== MNIST_PIXELS) throw new Error(`digitGridSvg: tile ${i} has ${t.pixels.length} pixels, expected ${MNIST_PIXELS} (28×28).`);
    const x0 = pad + (i % columns) * (cell + pad);
    const y0 = titleH + pad + Math.floor(i / columns) * (cell + captionH + pad);
    parts.push(`<rect x="${x0}" y="${y0}" width="${cell}" height="${cell}" fill="none" stroke="#ccc"/>`);
    for (let p = 0; p < MNIST_PIXELS; p++) {
      const v = t.pixels[p]!;
      if (v < 0.05) continue;
      const g = Math.round(255 * (1 - v));
      parts.push(`<rect x="${x0 + (p % MNIST_SIDE) * scale}" y="${y0 + Math.floor(p / MNIST_SIDE) * scale}" width="${scale}" height="${scale}" fill="rgb(${g},${g},${g})"/>`);
    }
    parts.push(`<text x="${x0 + cell / 2}" y="${y0 + cell + 11}" font-size="10" text-anchor="middle">${esc(t.caption)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}

/** The first `perClass` images of each digit in `set` (in the set's seeded order), captioned with their digit. */
export function digitTiles(set: { readonly images: Float32Array; readonly labels: Uint8Array; readonly size: number }, perClass: number): DigitTile[] {
  if (!Number.isInteger(perClass) || perClass < 1) throw new Error(`digitTiles: perClass must be a positive integer, got ${perClass}.`);
  const tiles: DigitTile[] = [];
  for (let d = 0; d < 10; d++) {
    let n = 0;
    for (let i = 0; i < set.size && n < perClass; i++) {
      if (set.labels[i] !== d) continue;
      tiles.push({ pixels: set.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), caption: `${d}` });
      n++;
    }
  }
  return tiles;
}
