/**
 * Writes figures to disk as .svg, .png and .vl.json (the Vega-Lite spec), under the figures directory.
 */
import { existsSync, mkdirSync, writeFileSync } from "fs";
import * as path from "path";
import type { Chart } from "./chart";
import { PNG_SCALE, renderSvg, svgToPng } from "./render";

/** Paths written by `saveFigure`. */
export interface SavedFigure {
  readonly svg: string;
  readonly png: string;
  readonly spec: string;
}

/**
 * The figures directory: `METALAB_FIGURES_DIR` if set, else `figures/` in the nearest ancestor of the
 * working directory that has a package.json (the project root when a notebook runs from notebooks/).
 */
export function figuresDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const fromEnv = env.METALAB_FIGURES_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return path.resolve(cwd, fromEnv);
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return path.join(dir, "figures");
    if (path.dirname(dir) === dir) return path.join(path.resolve(cwd), "figures");
  }
}

/** Saves `chart` as `<name>.svg`, `<name>.png` and `<name>.vl.json`; a relative name is under `figuresDir()`. */
export async function saveFigure(chart: Chart, name: string, dir: string = figuresDir()): Promise<SavedFigure> {
  const svg = await renderSvg(chart);
  return writeFigureFiles(chart, svg, svgToPng(svg, PNG_SCALE), name, dir);
}

/** Writes already rendered SVG and PNG plus the spec under `name` (see `saveFigure`). */
export function writeFigureFiles(chart: Chart, svg: string, png: Uint8Array, name: string, dir: string = figuresDir()): SavedFigure {
  if (name.trim() === "") throw new Error('A figure needs a file name, e.g. "02-maml-sines/fits".');
  const base = path.resolve(dir, name.replace(/\.(svg|png|vl\.json)$/, ""));
  mkdirSync(path.dirname(base), { recursive: true });
  const out: SavedFigure = { svg: `${base}.svg`, png: `${base}.png`, spec: `${base}.vl.json` };
  writeFileSync(out.svg, svg);
  writeFileSync(out.png, png);
  writeFileSync(out.spec, JSON.stringify(chart, null, 2) + "\n");
  return out;
}
