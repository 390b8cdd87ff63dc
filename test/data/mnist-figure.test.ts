import { describe, expect, it } from "vitest";
import { digitGridSvg, digitTiles } from "../../src/data/mnist-figure";
import { loadMnist } from "../../src/data/mnist";

describe("digit grid figure", () => {
  it("draws one captioned tile per digit, inked pixels only, sized by columns and scale", () => {
    const tiles = digitTiles(loadMnist(), 1);
    expect(tiles.map((t) => t.caption)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    const svg = digitGridSvg(tiles.slice(0, 3), { columns: 2, scale: 1 });
    expect(svg).toMatch(/^<svg [^>]*width="74" height="102"/); // 2·(28+6)+6 wide; 2 rows of 28+14+6, +6
    expect((svg.match(/<text /g) ?? []).length).toBe(3);
    const inked = Array.from(tiles[0]!.pixels).filter((v) => v >= 0.05).length;
    expect((digitGridSvg([tiles[0]!]).match(/fill="rgb/g) ?? []).length).toBe(inked);
    expect(() => digitGridSvg([{ pixels: [0, 1], caption: "x" }])).toThrow(/784/);
    expect(() => digitGridSvg([])).toThrow(/at least one/);
  });
});
