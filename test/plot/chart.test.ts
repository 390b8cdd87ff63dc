import { describe, expect, it } from "vitest";
import { barChart, concatCharts, describeChart, fitsChart, isMeasured, lineChart, scatterChart, toRows } from "../../src/plot/chart";
import { compileChart } from "../../src/plot/render";

const rows = [
  { x: 0, y: 1, s: "a" },
  { x: 1, y: Number.NaN, s: "a" },
  { x: 2, y: Number.POSITIVE_INFINITY, s: "b" },
];

describe("chart builders", () => {
  it("turns non-finite numbers into null so specs are valid JSON", () => {
    expect(toRows(rows)).toEqual([
      { x: 0, y: 1, s: "a" },
      { x: 1, y: null, s: "a" },
      { x: 2, y: null, s: "b" },
    ]);
    expect(toRows({ toRecords: () => [{ a: 1n }] })).toEqual([{ a: 1 }]);
    expect(toRows([{ a: 0.123456789, b: 1234567 }])).toEqual([{ a: 0.123457, b: 1234567 }]);
  });

  it("builds specs that Vega-Lite compiles", () => {
    const charts = [
      lineChart(rows, { x: "x", y: { field: "y", scale: "log" }, color: "s", title: "lines" }),
      scatterChart(rows, { x: "x", y: "y" }),
      barChart(rows, { x: "s", y: "y", color: "s" }),
      fitsChart({ curves: [{ x: 0, y: 0, series: "true" }], support: [{ x: 0, y: 0 }], title: "fits" }),
      fitsChart({ curves: [{ x: 0, y: 0, series: "true", task: 1 }], support: [{ x: 0, y: 0, task: 1 }], panel: "task" }),
    ];
    charts.push(concatCharts(charts.slice(0, 2), { columns: 2, title: "grid" }));
    for (const c of charts) {
      expect(c.$schema).toBe("https://vega.github.io/schema/vega-lite/v5.json");
      expect(() => compileChart(c)).not.toThrow();
      expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    }
    expect(describeChart(charts[0]!)).toBe("<Figure: lines (line chart)>");
  });

  it("marks measured charts, also inside compositions", () => {
    const timed = barChart(rows, { x: "s", y: "y", measured: true });
    const plain = barChart(rows, { x: "s", y: "y" });
    expect(isMeasured(timed)).toBe(true);
    expect(isMeasured(plain)).toBe(false);
    expect(isMeasured(concatCharts([plain, timed]))).toBe(true);
    expect(isMeasured(concatCharts([plain]))).toBe(false);
  });

  it("explains an empty concat", () => {
    expect(() => concatCharts([])).toThrow(/at least one chart/);
  });
});
