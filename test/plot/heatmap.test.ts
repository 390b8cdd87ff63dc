import { describe, expect, it } from "vitest";
import { writeFileSync } from "fs";
import { heatmapChart, imageGalleryChart } from "../../src/plot/heatmap";
import { renderSvg, svgToPng } from "../../src/plot/render";

describe("heat maps and image galleries", () => {
  it("render to SVG: a 3×3 confusion and a gallery of two 4×4 images with captions", async () => {
    const conf = heatmapChart([{ t: 0, p: 0, n: 2 }, { t: 1, p: 2, n: 1 }, { t: 2, p: 2, n: 1 }], { x: "p", y: "t", value: "n", domain: [0, 1, 2], title: "confusion" });
    const svg = await renderSvg(conf);
    expect(svg).toContain("confusion");
    const img = (v: number) => Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? v : 0));
    const gal = imageGalleryChart([{ pixels: img(1), label: "a" }, { pixels: img(0.5), label: "b" }], { size: 4, scale: 10, title: "gallery" });
    const g = await renderSvg(gal);
    expect(g).toContain(">a<");
    expect((g.match(/<path/g) ?? []).length).toBeGreaterThan(4);
    if (process.env.METALAB_WRITE_PNG) writeFileSync(process.env.METALAB_WRITE_PNG, svgToPng(g, 1));
  });
});
