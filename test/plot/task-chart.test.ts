import { describe, expect, it } from "vitest";
import { renderSvg } from "../../src/plot/render";
import { taskChart } from "../../src/plot/task-chart";

describe("taskChart", () => {
  it("draws the true function and the support and query points of one task, with legend names", async () => {
    const chart = taskChart({ curve: [{ x: 0, y: 0 }, { x: 1, y: 1 }], support: [{ x: 0.2, y: 0.1 }], query: [{ x: 0.7, y: 0.8 }, { x: 0.9, y: Number.NaN }], title: "one task" });
    const svg = await renderSvg(chart);
    expect(svg).toContain("support set (K = 1)");
    expect(svg).toContain("query set (2)");
    expect(svg).toContain("true function");
    expect(JSON.stringify(chart)).toContain('"y":null'); // non-finite values stay valid JSON
  });
});
