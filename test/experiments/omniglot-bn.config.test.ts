import { describe, expect, test } from "vitest";
import { DEFAULT_OMNIGLOT_BN, omniglotBnConfig } from "../../src/experiments/omniglot-bn";

describe("omniglotBnConfig: field by field, fix-it errors", () => {
  test("the defaults come back, and lab 04's override passes", () => {
    expect(omniglotBnConfig()).toEqual(DEFAULT_OMNIGLOT_BN);
    expect(omniglotBnConfig({ steps: 40, hidden: [32, 32], test: { tasks: 10, shots: 1, queries: 5 } }).hidden).toEqual([32, 32]);
  });
  test.each([
    ["wrong key", { step: 10 }, /OmniglotBnConfig: unknown option "step"; known: ways, hidden, maml/],
    ["wrong type", { modes: ["train"] }, /OmniglotBnConfig modes entry must be one of "transductive", "per-example", "support", "support-plus-one", "running", got "train"/],
    ["no modes", { modes: [] }, /OmniglotBnConfig modes must list at least one of/],
    ["out of range", { ways: 1 }, /OmniglotBnConfig ways must be an integer >= 2, got 1\. Few-shot episodes need at least 2 classes/],
    ["hidden", { hidden: [64, 0.5] }, /OmniglotBnConfig hidden must be a list of at least 1 integer >= 1/],
    ["nested maml", { maml: { ...DEFAULT_OMNIGLOT_BN.maml, innerLr: -1 } }, /BnMaml innerLr must be/],
    ["nested maml key", { maml: { innerSteps: 2, lr: 0.4 } }, /BnMaml options: unknown option "lr"/],
    ["train spec", { train: { tasks: 0, shots: 1, queries: 5 } }, /OmniglotBnConfig\.train tasks must be an integer >= 1, got 0/],
    ["held out", { heldOut: 0 }, /OmniglotBnConfig heldOut must be an integer >= 1, got 0/],
  ])("%s", (_what, config, message) => expect(() => omniglotBnConfig(config as never)).toThrow(message));
});
