import { describe, expect, it } from "vitest";
import { setDisplaySink, type DisplayMessage } from "../../src/display/sink";
import { CHART_INTERVAL_CEILING_MS, CHART_RENDER_BUDGET, liveTraining, redrawIntervalMs } from "../../src/display/live";

describe("the live chart's redraw schedule", () => {
  it("waits render time / budget, between the floor and the ceiling", () => {
    expect(CHART_RENDER_BUDGET).toBe(0.05);
    expect(redrawIntervalMs(0, 2000)).toBe(2000); // a free render: the floor
    expect(redrawIntervalMs(50, 2000)).toBe(2000); // 50 ms / 5% = 1 s < floor
    expect(redrawIntervalMs(100, 2000)).toBe(2000); // a quiet machine's render: exactly the floor
    expect(redrawIntervalMs(400, 2000)).toBe(8000); // four times slower under load: four times rarer
    expect(redrawIntervalMs(400, 2000, 0.1)).toBe(4000);
    expect(redrawIntervalMs(5000, 2000)).toBe(CHART_INTERVAL_CEILING_MS); // however slow, the chart still moves
    expect(redrawIntervalMs(5000, 30_000)).toBe(30_000); // a floor above the ceiling wins
    expect(redrawIntervalMs(Number.NaN, 2000)).toBe(2000);
  });

  /** Runs `steps` loop steps of `stepMs` each where every chart render takes `renderMs` of (fake) wall time. */
  async function run(steps: number, stepMs: number, renderMs: number) {
    let t = 0;
    const charts: DisplayMessage[] = [];
    const previous = setDisplaySink((m) => {
      if ("image/svg+xml" in m.data) {
        charts.push(m);
        t += renderMs; // the clock moves while the chart renders
      }
    });
    let interval = 0;
    try {
      const live = liveTraining(steps, { now: () => t, minIntervalMs: 250 });
      for (let i = 0; i < steps; i++) {
        t += stepMs;
        await live.update(i, { loss: 1 / (i + 1) });
      }
      interval = live.redrawInterval;
      await live.finish();
    } finally {
      setDisplaySink(previous);
    }
    return { charts, interval, totalMs: t, renderFraction: (charts.length * renderMs) / t };
  }

  it("keeps a slow render (a loaded machine) within the budget of wall time, and still redraws while running", async () => {
    const slow = await run(1000, 100, 500); // 100 s of training, 0.5 s per render
    expect(slow.interval).toBe(10_000);
    expect(slow.renderFraction).toBeLessThan(0.07); // 5% plus the two early draws and the final one
    const running = slow.charts.filter((m) => m.update).length - 1; // minus the final draw
    expect(running).toBeGreaterThanOrEqual(2); // the JupyterLab check wants two running chart states
    // With the fixed 2 s interval the same run would draw about 40 charts (20% of wall time).
    expect(slow.charts.length).toBeLessThan(15);
  });

  it("redraws every 2 s when rendering is cheap (a quiet machine)", async () => {
    const quick = await run(300, 100, 10); // 30 s of training
    expect(quick.interval).toBe(2000);
    expect(quick.charts.length).toBeGreaterThanOrEqual(14); // 15 s-apart redraws would be 4
  });
});
