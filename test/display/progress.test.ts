import { describe, expect, it } from "vitest";
import { captureDisplays } from "../../src/display/sink";
import { formatProgress, progressBar } from "../../src/display/progress";
import { downsampleHistory, liveTraining } from "../../src/display/live";
import { FIGURE_MIME_TYPES } from "../../src/jupyter/mime";

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 0;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe("progress bar", () => {
  it("formats a bar with percentage, counts, times and info", () => {
    expect(formatProgress("train", 5, 10, 2000, { loss: 0.123456 })).toBe(`train ${"█".repeat(15)}${"░".repeat(15)}  50% 5/10 [2.0s<2.0s] loss=0.1235`);
    expect(formatProgress("", 10, 10, 65000)).toBe(`${"█".repeat(30)} 100% 10/10 [1m05s]`);
  });

  it("updates one display in place, at most every minIntervalMs, and always shows the final state", () => {
    const c = clock();
    const cap = captureDisplays();
    try {
      const bar = progressBar(100, { label: "x", now: c.now, minIntervalMs: 250 });
      for (let i = 1; i <= 100; i++) {
        c.advance(10);
        bar.update(i);
      }
      bar.close();
    } finally {
      cap.restore();
    }
    // Initial draw, a redraw every 250 ms over 1 s, and the final one.
    expect(cap.messages.length).toBe(1 + 4 + 1);
    expect(cap.messages[0]!.update).toBe(false);
    expect(cap.messages.slice(1).every((m) => m.update)).toBe(true);
    expect(new Set(cap.messages.map((m) => m.transient.display_id)).size).toBe(1);
    expect(String(cap.messages.at(-1)!.data["text/plain"])).toContain("100% 100/100");
  });

  it("writes \\r-redrawn lines on a TTY and one line per 10% otherwise", () => {
    const c = clock();
    const tty: string[] = [];
    const bar = progressBar(10, { now: c.now, target: "terminal", stream: { isTTY: true, write: (s: string) => tty.push(s) } });
    for (let i = 1; i <= 10; i++) {
      c.advance(300);
      bar.update(i);
    }
    bar.close();
    expect(tty.every((s) => s.startsWith("\r"))).toBe(true);
    expect(tty.at(-1)!.endsWith("\n")).toBe(true);
    const log: string[] = [];
    const bar2 = progressBar(1000, { now: c.now, target: "terminal", stream: { write: (s: string) => log.push(s) } });
    for (let i = 1; i <= 1000; i++) {
      c.advance(300);
      bar2.update(i);
    }
    bar2.close();
    expect(log.every((s) => !s.includes("\r") && s.endsWith("\n"))).toBe(true);
    expect(log.length).toBe(1 + 10 + 1);
  });
});

describe("live training", () => {
  it("averages long histories into buckets per metric", () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ step: i, metric: "loss", value: i }));
    expect(downsampleHistory(rows, 5)).toEqual([1, 3, 5, 7, 9].map((s) => ({ step: s, metric: "loss", value: s - 0.5 })));
  });

  it("shows a bar and a chart, redraws the chart when due, and ends with the full four-MIME chart", async () => {
    const c = clock();
    const cap = captureDisplays();
    try {
      const live = liveTraining(50, { now: c.now, chartIntervalMs: 1000, minIntervalMs: 250 });
      for (let i = 0; i < 50; i++) {
        c.advance(100);
        await live.update(i, { loss: 1 / (i + 1), val: 2 / (i + 1) });
      }
      await live.finish();
      expect(live.history()).toHaveLength(100);
    } finally {
      cap.restore();
    }
    const ids = [...new Set(cap.messages.map((m) => m.transient.display_id))];
    expect(ids).toHaveLength(2);
    const chartMsgs = cap.messages.filter((m) => m.transient.display_id === ids[1]);
    expect(chartMsgs.length).toBeGreaterThanOrEqual(4);
    const last = chartMsgs.at(-1)!;
    expect(Object.keys(last.data).sort()).toEqual([...FIGURE_MIME_TYPES].sort());
    const spec = last.data["application/vnd.vegalite.v5+json"] as { data: { values: unknown[] } };
    expect(spec.data.values).toHaveLength(100);
  });

  it("draws and redraws the chart before a short run ends (quick mode), whatever the interval", async () => {
    const c = clock();
    const cap = captureDisplays();
    let during: number;
    try {
      const live = liveTraining(20, { now: c.now, chartIntervalMs: 60_000 });
      for (let i = 0; i < 20; i++) await live.update(i, { loss: 1 / (i + 1) });
      during = cap.messages.filter((m) => "image/svg+xml" in m.data).length;
      await live.finish();
    } finally {
      cap.restore();
    }
    const charts = cap.messages.filter((m) => "image/svg+xml" in m.data);
    expect(during).toBe(2); // at 25% (display_data) and 50% (update_display_data)
    expect(charts.map((m) => m.update)).toEqual([false, true, true]);
    const points = charts.map((m) => (m.data["application/vnd.vegalite.v5+json"] as { data: { values: unknown[] } }).data.values.length);
    expect(points).toEqual([5, 10, 20]);
  });

  it("draws nothing but the terminal bar outside a kernel", async () => {
    const out: string[] = [];
    const live = liveTraining(3, { stream: { write: (s: string) => out.push(s) } });
    for (let i = 0; i < 3; i++) await live.update(i, { loss: 1 });
    await live.finish();
    expect(out.at(-1)).toContain("100% 3/3");
  });
});
