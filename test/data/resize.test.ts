import { describe, expect, it } from "vitest";
import { resizeLanczos } from "../../src/data/resize";

describe("Lanczos downsampling", () => {
  it("keeps a constant image constant and the mean of a pattern", () => {
    const flat = resizeLanczos(new Float32Array(105 * 105).fill(0.3), 105, 105, 28, 28);
    for (const v of flat) expect(v).toBeCloseTo(0.3, 5);
    const src = new Float32Array(105 * 105);
    for (let y = 0; y < 105; y++) for (let x = 40; x < 60; x++) src[y * 105 + x] = 1; // a vertical bar
    const out = resizeLanczos(src, 105, 105, 28, 28);
    const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(src), 2);
    expect(out[14 * 28 + 13]).toBeGreaterThan(0.9); // inside the bar
    expect(Math.abs(out[14 * 28 + 2]!)).toBeLessThan(1e-6); // far from it
  });

  it("rejects a pixel count that does not match the size", () => {
    expect(() => resizeLanczos(new Float32Array(10), 4, 4, 2, 2)).toThrow(/do not make a 4×4 image/);
  });
});
