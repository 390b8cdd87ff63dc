import { describe, expect, test } from "vitest";
import { Rng } from "../../src/core/random";
import { measureStep, measureStepOptions, type MeasureStepOptions } from "../../src/eval/measure";
import { SineFamily } from "../../src/tasks/regression";

const learner = { step: (): number => 0 };
const spec = { tasks: 2, shots: 4, queries: 4 };

describe("measureStep's options: unknown keys and bad values are errors with the fix, before any step", () => {
  test("good options pass unchanged and the measurement still runs", async () => {
    const o: MeasureStepOptions = { spec, warmup: 0, repeats: 2, now: () => 0 };
    expect(measureStepOptions(o)).toBe(o);
    expect((await measureStep(learner, new SineFamily(), new Rng(0), o)).msPerStep).toBe(0);
  });
  test("a mistyped option is an error listing the known ones", async () => {
    await expect(measureStep(learner, new SineFamily(), new Rng(0), { spec, repeat: 5 } as unknown as MeasureStepOptions)).rejects.toThrow(/measureStep options: unknown option "repeat"; known: spec, warmup, repeats, now\./);
    expect(() => measureStepOptions({ spec: { ...spec, way: 5 } as MeasureStepOptions["spec"] })).toThrow(/measureStep\.spec: unknown option "way"; known: tasks, shots, queries\./);
  });
  test("bad values name the field and the fix; repeats keeps its 'positive integer' message", () => {
    expect(() => measureStepOptions({ spec, repeats: 0 })).toThrow(/measureStep: repeats must be a positive integer, got 0\. Timed steps, e\.g\. 20\./);
    expect(() => measureStepOptions({ spec, warmup: -1 })).toThrow(/measureStep warmup must be an integer >= 0, got -1\. Untimed steps first/);
    expect(() => measureStepOptions({ spec: { ...spec, shots: 0 } })).toThrow(/measureStep\.spec shots must be an integer >= 1, got 0/);
    expect(() => measureStepOptions({ spec, now: 5 as unknown as () => number })).toThrow(/measureStep now must be a function, got 5\. Pass a clock in ms/);
  });
});
