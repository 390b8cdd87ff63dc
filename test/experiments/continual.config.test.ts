import { describe, expect, test } from "vitest";
import { DEFAULT_FORGETTING, forgettingConfig } from "../../src/experiments/continual";

describe("forgettingConfig: field by field, fix-it errors", () => {
  test("the defaults come back", () => expect(forgettingConfig()).toEqual(DEFAULT_FORGETTING));
  test.each([
    ["wrong key", { stepA: 10 }, /ForgettingConfig: unknown option "stepA"; known: family, hidden, trainPerClass, testPerClass, stepsA/],
    ["wrong type", { heads: "multi" }, /ForgettingConfig heads must be one of "shared", "multi-frozen", "multi-train", "lwf", got "multi"/],
    ["out of range", { replay: 1 }, /ForgettingConfig replay must be a number in \[0, 1\), got 1\. Use e\.g\. 0\.1/],
    ["batch", { batchSize: 1 }, /ForgettingConfig batchSize must be an integer >= 2, got 1/],
    ["weight decay", { weightDecay: 100 }, /weightDecay must be >= 0 with lr \* weightDecay < 1, got 100\. Try 0\.1/],
    ["nested family", { family: { ...DEFAULT_FORGETTING.family, ways: 1 } }, /ForgettingConfig\.family ways must be an integer >= 2/],
    ["hidden", { hidden: [32, 0] }, /ForgettingConfig hidden must be a list of positive integers/],
  ])("%s", (_what, config, message) => expect(() => forgettingConfig(config as never)).toThrow(message));
});
