import { describe, expect, it } from "vitest";
import { DEFAULT_CPU_S, UNKNOWN_CPU_S, estimateCostsMs, longestFirst, makespanMs, runPool } from "../../src/cli/schedule";

describe("reproduce --jobs: order and concurrency", () => {
  it("estimates each notebook from the previous run (kernel CPU, else wall time), else the table by number", () => {
    const files = ["/n/01-a.ipynb", "/n/02-maml-sines.ipynb", "/n/03-c.ipynb", "/n/42-new.ipynb"];
    expect(estimateCostsMs(files)).toEqual([1000 * DEFAULT_CPU_S["01"]!, 1000 * DEFAULT_CPU_S["02"]!, 1000 * DEFAULT_CPU_S["03"]!, 1000 * UNKNOWN_CPU_S]);
    const previous = [{ name: "01-a", cpuMs: 500_000, durationMs: 9 }, { name: "03-c", durationMs: 7000 }];
    expect(estimateCostsMs(files, previous)).toEqual([500_000, 1000 * DEFAULT_CPU_S["02"]!, 7000, 1000 * UNKNOWN_CPU_S]);
  });

  it("starts the longest first, ties in notebook order", () => {
    expect(longestFirst([10, 150, 36, 36, 70])).toEqual([1, 4, 2, 3, 0]);
  });

  it("runs at most `jobs` at once, starts them in the given order, and returns results in the items' order", async () => {
    let running = 0;
    let peak = 0;
    const started: string[] = [];
    const items = ["a", "b", "c", "d", "e"];
    const delays = [30, 5, 20, 10, 1];
    const results = await runPool(items, 2, [2, 0, 3, 1, 4], async (x, i) => {
      started.push(x);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, delays[i]));
      running -= 1;
      return x.toUpperCase();
    });
    expect(results).toEqual(["A", "B", "C", "D", "E"]);
    expect(peak).toBe(2);
    expect(started.slice(0, 2)).toEqual(["c", "a"]);
    expect(started).toHaveLength(5);
    await expect(runPool(items, 0, [], async () => 1)).rejects.toThrow(/positive integer/);
  });

  it("computes the wall time longest-first implies on N cores", () => {
    expect(makespanMs([150, 70, 50, 45, 45, 40, 36, 17, 15], 1)).toBe(468);
    // Each task takes the core that frees first: 150+45+36 = 231 | 70+50+45+40+17+15 = 237.
    expect(makespanMs([150, 70, 50, 45, 45, 40, 36, 17, 15], 2)).toBe(237); // the ideal split would be 234
    expect(makespanMs([100, 10, 10], 2)).toBe(100);
  });
});
