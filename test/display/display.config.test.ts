import { describe, expect, test } from "vitest";
import { Rng } from "../../src/core/random";
import { liveTraining, liveTrainingOptions } from "../../src/display/live";
import { progressBar, progressOptions } from "../../src/display/progress";
import { trainLive, trainLiveOptions, type TrainLiveOptions } from "../../src/display/train-live";
import { SineFamily } from "../../src/tasks/regression";

const spec = { tasks: 2, shots: 3, queries: 3 };

describe("progress, live-chart and trainLive options: unknown keys and bad values are errors with the fix", () => {
  test("good options pass unchanged", () => {
    const o = { label: "x", target: "silent" as const, minIntervalMs: 0 };
    expect(progressOptions(o)).toBe(o);
    expect(liveTrainingOptions({ ...o, title: "t", yScale: "linear", maxPoints: 50 })).toBeTruthy();
    expect(trainLiveOptions({ iterations: 0, spec, metric: "loss", title: "t", yTitle: "y", target: "silent" })).toBeTruthy();
  });
  test("a mistyped option is an error listing the known ones", () => {
    expect(() => progressBar(3, { lable: "x" } as never)).toThrow(/progressBar options: unknown option "lable"; known: label, minIntervalMs, target, stream, now\./);
    expect(() => liveTraining(3, { tittle: "x" } as never)).toThrow(/liveTraining options: unknown option "tittle"; known: label, .*title, chartIntervalMs, maxPoints, yScale, yTitle, xTitle\./);
    expect(() => trainLiveOptions({ iterations: 1, spec, progressEvery: 2 } as unknown as TrainLiveOptions)).toThrow(/trainLive options: unknown option "progressEvery"; known: .*iterations, spec, metric\./);
  });
  test("numeric ranges and enumerations name the field and the fix", () => {
    expect(() => progressOptions({ minIntervalMs: -1 })).toThrow(/progressBar minIntervalMs must be a number >= 0, got -1/);
    expect(() => progressOptions({ target: "screen" } as never)).toThrow(/progressBar target must be one of "auto", "display", "terminal", "silent", got "screen"/);
    expect(() => progressOptions({ stream: {} } as never)).toThrow(/stream must have a write\(text\) method/);
    expect(() => liveTrainingOptions({ maxPoints: 1 })).toThrow(/liveTraining maxPoints must be an integer >= 2, got 1/);
    expect(() => liveTrainingOptions({ chartIntervalMs: Number.NaN })).toThrow(/chartIntervalMs must be a number of ms >= 0/);
    expect(() => liveTrainingOptions({ yScale: "sqrt" } as never)).toThrow(/yScale must be one of "linear", "log"/);
    expect(() => trainLiveOptions({ iterations: -1, spec })).toThrow(/trainLive: iterations must be a non-negative integer, got -1/);
    expect(() => trainLiveOptions({ iterations: 1, spec, metric: "" })).toThrow(/trainLive metric must be a non-empty string/);
  });
  test("trainLive rejects a typo before training and passes only the loop's fields on", async () => {
    const learner = { step: (): number => 1 };
    await expect(trainLive(learner, new SineFamily(), new Rng(1), { iterations: 2, spec, titel: "x" } as unknown as TrainLiveOptions)).rejects.toThrow(/unknown option "titel"/);
    const losses = await trainLive(learner, new SineFamily(), new Rng(1), { iterations: 2, spec, title: "t", metric: "m", target: "silent", chartIntervalMs: 0 });
    expect(Array.from(losses)).toEqual([1, 1]);
  });
});
