import { afterEach, describe, expect, it, vi } from "vitest";
import { barChart, concatCharts, lineChart } from "../../src/plot/chart";
import { renderSvg } from "../../src/plot/render";

/** Panels coloured by different fields, one with a sorted colour domain (lab 08's comparison figure). */
function panels(): Parameters<typeof concatCharts>[0] {
  const curve = [{ step: 1, accuracy: 0.5, learner: "MAML" }, { step: 1, accuracy: 0.6, learner: "ProtoNet" }];
  const results = [{ learner: "MAML", accuracy: 0.7, family: "optimisation" }, { learner: "ProtoNet", accuracy: 0.8, family: "metric" }];
  return [
    lineChart(curve, { x: "step", y: "accuracy", color: { field: "learner", sort: ["ProtoNet", "MAML"] }, points: true }),
    barChart(results, { x: "learner", y: "accuracy", color: { field: "family" } }),
  ];
}

describe("concatCharts colour scales", () => {
  afterEach(() => vi.restoreAllMocks());

  it("are shared by default and independent on request, which renders without Vega's conflicting-sort warning", async () => {
    expect(concatCharts(panels()).resolve).toBeUndefined();
    const chart = concatCharts(panels(), { independentColors: true });
    expect(chart.resolve).toEqual({ scale: { color: "independent" } });
    const said: string[] = [];
    const keep = (...a: unknown[]): void => void said.push(a.map(String).join(" "));
    vi.spyOn(console, "warn").mockImplementation(keep);
    vi.spyOn(console, "error").mockImplementation(keep);
    vi.spyOn(console, "log").mockImplementation(keep);
    const svg = await renderSvg(chart);
    expect(svg).toContain("<svg");
    expect(said.join("\n")).not.toMatch(/conflicting sort/);
  });
});
