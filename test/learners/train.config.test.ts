import { describe, expect, test } from "vitest";
import { Rng } from "../../src/core/random";
import { loopOptions, runSteps, trainLoop, trainOptions, type TrainOptions } from "../../src/learners/train";
import { SineFamily } from "../../src/tasks/regression";

const spec = { tasks: 2, shots: 3, queries: 3 };

describe("LoopOptions / TrainOptions: field by field, fix-it errors", () => {
  test("good options pass unchanged", () => {
    const o = { iterations: 3, spec, label: "t", progressEvery: 2, onProgress: () => undefined };
    expect(trainOptions(o)).toBe(o);
    expect(loopOptions({})).toEqual({});
  });
  test("an unknown key is an error listing the known ones (a typo is not silently ignored)", () => {
    expect(() => trainOptions({ iterations: 3, spec, progresEvery: 2 } as unknown as TrainOptions)).toThrow(/train options: unknown option "progresEvery"; known: label, onProgress, progressEvery, iterations, spec\./);
    expect(() => runSteps(2, () => 0, { title: "x" } as never)).toThrow(/training options: unknown option "title"; known: label, onProgress, progressEvery\./);
    expect(() => trainLoop(new SineFamily(), new Rng(1), { iterations: 1, spec, lr: 0.1 } as unknown as TrainOptions, () => 0)).toThrow(/unknown option "lr"/);
  });
  test("wrong types and ranges name the field and the fix", () => {
    expect(() => trainOptions({ iterations: 1.5, spec })).toThrow(/train: iterations must be a non-negative integer, got 1.5\. Example/);
    expect(() => trainOptions({ iterations: 2 } as unknown as TrainOptions)).toThrow(/train spec must be a meta-batch shape \{ tasks, shots, queries \}.*FINN_SINE_BATCH/);
    expect(() => loopOptions({ progressEvery: 0 })).toThrow(/progressEvery must be an integer >= 1, got 0/);
    expect(() => loopOptions({ onProgress: 3 } as never)).toThrow(/onProgress must be a function/);
    expect(() => loopOptions({ label: 7 } as never)).toThrow(/label must be a non-empty string/);
    expect(() => loopOptions(null as never)).toThrow(/training loop options must be an object, got null/);
  });
  test("the loop still runs and reports as before", () => {
    const seen: number[] = [];
    const losses = runSteps(4, (i) => i, { label: "count", progressEvery: 2, onProgress: (s) => seen.push(s) });
    expect(Array.from(losses)).toEqual([0, 1, 2, 3]);
    expect(seen).toEqual([2, 4]);
  });
});
