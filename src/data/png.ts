/**
 * Decoding PNG images to grey levels with pngjs (a maintained pure-JavaScript PNG codec).
 */
import { PNG } from "pngjs";
import { DataError } from "./errors";

/** A decoded grey-level image: `pixels[y * width + x]` in [0, 255] (0 = black). */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
}

/** Decodes PNG bytes to grey levels (the mean of R, G, B; alpha ignored); `name` and `fix` go into the error of a broken file. */
export function decodeGrayPng(bytes: Uint8Array, name: string, fix = "Download the archive again."): GrayImage {
  let png: { width: number; height: number; data: Buffer };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DataError(`${name} is not a readable PNG image (${why}; ${bytes.length} bytes).`, name, `The file is truncated or corrupt. ${fix}`);
  }
  const { width, height, data } = png;
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round((data[4 * i]! + data[4 * i + 1]! + data[4 * i + 2]!) / 3);
  return { width, height, pixels };
}
