import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { describeChart, fitsChart, lineChart, svgFigure, svgOfFigure } from "../../src/plot/chart";
import { compileChart, renderPng, renderSvg, svgSize, uniquifyIds } from "../../src/plot/render";
import { figuresDir, saveFigure } from "../../src/plot/save";

const chart = lineChart(
  Array.from({ length: 50 }, (_, i) => ({ step: i, value: Math.exp(-i / 10), metric: i % 2 ? "train" : "val" })),
  { x: "step", y: { field: "value", scale: "log" }, color: "metric", title: "loss" },
);

describe("rendering", () => {
  it("renders byte-identical SVG for the same spec, with ids unique per figure", async () => {
    const a = await renderSvg(chart);
    const b = await renderSvg(chart);
    expect(a).toBe(b);
    expect(a.startsWith("<svg")).toBe(true);
    const other = await renderSvg(fitsChart({ curves: [{ x: 0, y: 0, series: "t" }, { x: 1, y: 1, series: "t" }], support: [{ x: 0.5, y: 0.5 }] }));
    const ids = (s: string): string[] => [...s.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
    expect(ids(a).length).toBeGreaterThan(0);
    for (const id of ids(other)) expect(ids(a)).not.toContain(id);
    for (const m of a.matchAll(/url\(#([^)]+)\)/g)) expect(ids(a)).toContain(m[1]);
  });

  it("renders an svgFigure as its own SVG and PNG, and compiles its Vega-Lite image spec", async () => {
    const raw = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#cde"/><text x="10" y="25">F = 20</text></svg>';
    const fig = svgFigure(raw, { description: "graph" });
    expect(svgOfFigure(fig)).toBe(raw);
    expect(svgOfFigure(chart)).toBeNull();
    expect(await renderSvg(fig)).toBe(raw);
    const png = await renderPng(fig);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([240, 80]);
    expect(() => compileChart(fig)).not.toThrow();
    expect(describeChart(fig)).toBe("<Figure: graph (diagram)>");
    expect(() => svgFigure("<svg></svg>")).toThrow(/width and height/);
  });

  it("leaves an SVG without ids alone", () => {
    expect(uniquifyIds('<svg width="1" height="2"></svg>')).toBe('<svg width="1" height="2"></svg>');
    expect(svgSize('<svg width="10" height="20.5"></svg>')).toEqual({ width: 10, height: 20.5 });
  });

  it("renders a PNG that decodes at twice the SVG size, deterministically", async () => {
    const svg = await renderSvg(chart);
    const { width, height } = svgSize(svg);
    const png = await renderPng(chart);
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    // IHDR: width and height are big-endian uint32 at bytes 16 and 20.
    expect(png.readUInt32BE(16)).toBe(Math.round(2 * width));
    expect(png.readUInt32BE(20)).toBe(Math.round(2 * height));
    expect((await renderPng(chart)).equals(png)).toBe(true);
  });

  it("saves .svg, .png and .vl.json under the figures directory", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "metalab-fig-"));
    const out = await saveFigure(chart, "nb/loss", dir);
    expect(out.svg).toBe(path.join(dir, "nb", "loss.svg"));
    expect(readFileSync(out.svg, "utf8")).toBe(await renderSvg(chart));
    expect(readFileSync(out.png).subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(JSON.parse(readFileSync(out.spec, "utf8"))).toEqual(chart);
    expect(figuresDir({ METALAB_FIGURES_DIR: dir })).toBe(dir);
    expect(figuresDir({}, path.join(process.cwd(), "src"))).toBe(path.join(process.cwd(), "figures"));
  });
});
