import { describe, expect, test } from "vitest";
import { barChart, concatCharts, fitsChart, lineChart, scatterChart } from "../../src/plot/chart";
import { heatmapChart, imageGalleryChart } from "../../src/plot/heatmap";
import { taskChart } from "../../src/plot/task-chart";
import { formatTable } from "../../src/display/table";
import { graphToSvg } from "../../src/graph/graph-svg";
import { ScalarGraph } from "../../src/graph/scalar-graph";

const rows = [{ step: 1, loss: 0.5 }];

describe("chart, table and graph options: a mistyped option is an error listing the known ones; sizes in range", () => {
  test("good options still build", () => {
    expect(lineChart(rows, { x: "step", y: "loss", title: "t", width: 100, points: true })).toBeTruthy();
    expect(formatTable(rows, { digits: 3, maxRows: 4, caption: "c" })).toBeTruthy();
  });
  test.each([
    ["lineChart", () => lineChart(rows, { x: "step", y: "loss", titel: "t" } as never), /lineChart options: unknown option "titel"; known: title, width, height, measured, x, y, color, points\./],
    ["scatterChart", () => scatterChart(rows, { x: "step", y: "loss", colour: "a" } as never), /scatterChart options: unknown option "colour"/],
    ["barChart", () => barChart(rows, { x: "step", y: "loss", sort: [] } as never), /barChart options: unknown option "sort"/],
    ["fitsChart", () => fitsChart({ curves: [], support: [], panels: "task" } as never), /fitsChart options: unknown option "panels"; known: .*panel, columns/],
    ["concatCharts", () => concatCharts([lineChart(rows, { x: "step", y: "loss" })], { cols: 2 } as never), /concatCharts options: unknown option "cols"; known: title, columns, independentColors\./],
    ["heatmapChart", () => heatmapChart(rows, { x: "step", y: "loss", value: "loss", size: 3 } as never), /heatmapChart options: unknown option "size"/],
    ["imageGalleryChart", () => imageGalleryChart([], { size: 8, column: 2 } as never), /imageGalleryChart options: unknown option "column"/],
    ["taskChart", () => taskChart({ curve: [], support: [], query: [], name: {} } as never), /taskChart options: unknown option "name"/],
    ["formatTable", () => formatTable(rows, { rows: 3 } as never), /table options: unknown option "rows"; known: maxRows, digits, caption\./],
    ["graphToSvg", () => graphToSvg(new ScalarGraph(), { grads: true } as never), /graphToSvg options: unknown option "grads"; known: title, showGrads, edgeLabels, fontSize, layerGap, rowGap\./],
  ])("%s rejects an unknown key", (_name, build, message) => {
    expect(build).toThrow(message);
  });
  test("numeric ranges name the field and the fix", () => {
    expect(() => lineChart(rows, { x: "step", y: "loss", width: -1 })).toThrow(/lineChart width must be a positive number, got -1/);
    expect(() => scatterChart(rows, { x: "step", y: "loss", size: 0 })).toThrow(/scatterChart size must be a positive number/);
    expect(() => fitsChart({ curves: [], support: [], columns: 0 })).toThrow(/fitsChart columns must be an integer >= 1, got 0/);
    expect(() => lineChart(rows, { x: "step", y: "loss", title: 3 } as never)).toThrow(/lineChart title must be a string/);
    expect(() => formatTable(rows, { digits: 0 })).toThrow(/table digits must be an integer >= 1, got 0/);
    expect(() => graphToSvg(new ScalarGraph(), { fontSize: 0 })).toThrow(/graphToSvg fontSize must be a positive number/);
  });
});
