import { describe, expect, it } from "vitest";
import { earlyStop } from "../../src/learners/early-stopping";

describe("earlyStop", () => {
  it("stops after `patience` evaluations without improvement and keeps the best", () => {
    expect(earlyStop([0.2, 0.5, 0.7, 0.69, 0.7, 0.8], { patience: 2 })).toEqual({ stopIndex: 4, bestIndex: 2 });
    expect(earlyStop([0.2, 0.5, 0.7, 0.69, 0.8], { patience: 2 })).toEqual({ stopIndex: 4, bestIndex: 4 });
    expect(earlyStop([3, 2, 2.5, 2.4, 2.6], { patience: 3, mode: "min" })).toEqual({ stopIndex: 4, bestIndex: 1 });
    expect(earlyStop([0.5, 0.51, 0.52], { patience: 1, minDelta: 0.05 })).toEqual({ stopIndex: 1, bestIndex: 0 });
  });

  it("rejects bad input", () => {
    expect(() => earlyStop([])).toThrow(/no scores/);
    expect(() => earlyStop([1], { patience: 0 })).toThrow(/patience/);
  });
});
