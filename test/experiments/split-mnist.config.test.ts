import { describe, expect, test } from "vitest";
import { DEFAULT_SPLIT_MNIST, prepareSplitMnistOptions, splitMnistConfig } from "../../src/experiments/split-mnist";

describe("Split-MNIST configs: field by field, fix-it errors", () => {
  test("the defaults come back", () => {
    expect(splitMnistConfig()).toEqual(DEFAULT_SPLIT_MNIST);
    expect(prepareSplitMnistOptions({ trainPerTask: 100 })).toEqual({ trainPerTask: 100 });
  });
  test.each([
    ["wrong key", () => splitMnistConfig({ steps: 10 } as never), /SplitMnistConfig: unknown option "steps"; known: scenario, method, hidden, stepsPerTask/],
    ["wrong type", () => splitMnistConfig({ fisherLabels: "empirical" } as never), /SplitMnistConfig fisherLabels must be one of "predicted", "true", got "empirical"/],
    ["out of range", () => splitMnistConfig({ replayFraction: 0 }), /SplitMnistConfig replayFraction must be a number in \(0, 1\), got 0\. Use 0\.1/],
    ["hidden", () => splitMnistConfig({ hidden: [] }), /SplitMnistConfig hidden must be a list of at least 1 integer >= 1, got \[\]\. Give at least one hidden layer/],
    ["undefined method", () => splitMnistConfig({ scenario: "domain", method: "replay-heads" }), /Use methodsFor\(scenario\)/],
    ["prepare: wrong key", () => prepareSplitMnistOptions({ trainPerClass: 10 } as never), /prepareSplitMnist options: unknown option "trainPerClass"; known: trainPerTask, testPerTask/],
    ["prepare: wrong type", () => prepareSplitMnistOptions({ testPerTask: "all" } as never), /prepareSplitMnist testPerTask must be an integer >= 2, got "all"\. Leave it out/],
    ["prepare: out of range", () => prepareSplitMnistOptions({ trainPerTask: 1 }), /prepareSplitMnist trainPerTask must be an integer >= 2, got 1/],
  ])("%s", (_what, f, message) => expect(f).toThrow(message));
});
