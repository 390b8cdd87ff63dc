import { describe, expect, test } from "vitest";
import { adaptationComparisonConfig, classifierPretrainConfig, DEFAULT_ADAPTATION_COMPARISON, DEFAULT_CLASSIFIER_PRETRAIN } from "../../src/experiments/transfer";

describe("transfer configs: field by field, nested ones too, fix-it errors", () => {
  test("the defaults come back", () => {
    expect(adaptationComparisonConfig()).toEqual(DEFAULT_ADAPTATION_COMPARISON);
    expect(classifierPretrainConfig({ ...DEFAULT_CLASSIFIER_PRETRAIN, fastPath: "off" })).toMatchObject({ fastPath: "off" });
  });
  test.each([
    ["pretrain: wrong key", () => classifierPretrainConfig({ ...DEFAULT_CLASSIFIER_PRETRAIN, step: 10 } as never), /ClassifierPretrainConfig: unknown option "step"; known: family, hidden/],
    ["pretrain: wrong type", () => classifierPretrainConfig({ ...DEFAULT_CLASSIFIER_PRETRAIN, hidden: 32 } as never), /ClassifierPretrainConfig hidden must be a list of positive integers \(hidden widths, e\.g\. \[32, 32\]\)/],
    ["pretrain: out of range", () => classifierPretrainConfig({ ...DEFAULT_CLASSIFIER_PRETRAIN, lr: 0 }), /ClassifierPretrainConfig lr must be a positive number, got 0\. Adam's 3e-3/],
    ["pretrain: fastPath", () => classifierPretrainConfig({ ...DEFAULT_CLASSIFIER_PRETRAIN, fastPath: "require" } as never), /fastPath must be one of "auto", "off", got "require"/],
    ["pretrain: nested family", () => classifierPretrainConfig({ ...DEFAULT_CLASSIFIER_PRETRAIN, family: { ...DEFAULT_CLASSIFIER_PRETRAIN.family, poolSize: 0 } }), /family\.poolSize must be > 0: pretraining learns the pool's classes/],
    ["comparison: wrong key", () => adaptationComparisonConfig({ probeLR: 0.1 } as never), /AdaptationComparisonConfig: unknown option "probeLR"; known: .*probeLr/],
    ["comparison: wrong type", () => adaptationComparisonConfig({ tasks: { tasks: 10, shots: 5, query: 15 } } as never), /AdaptationComparisonConfig\.tasks: unknown option "query"/],
    ["comparison: out of range", () => adaptationComparisonConfig({ steps: 10, lpftProbeSteps: 10 }), /lpftProbeSteps must be an integer between 1 and steps - 1 \(9\), got 10: LP-FT probes/],
    ["comparison: nested pretrain", () => adaptationComparisonConfig({ pretrain: { ...DEFAULT_CLASSIFIER_PRETRAIN, steps: -1 } }), /AdaptationComparisonConfig\.pretrain steps must be an integer >= 1, got -1/],
    ["method: wrong key", () => adaptationComparisonConfig({ methods: [{ name: "p", kind: "probe", headInit: "zero", lR: 0.1 } as never] }), /methods\[0\]: unknown option "lR"/],
    ["method: wrong type", () => adaptationComparisonConfig({ methods: [{ name: "p", kind: "ridge" as never, headInit: "zero" }] }), /methods\[0\] kind must be one of "probe", "finetune", "lpft", "lora", "prompt", got "ridge"/],
    ["method: out of range", () => adaptationComparisonConfig({ methods: [{ name: "p", kind: "lora", headInit: "zero", lora: { rank: 0, alpha: 1 } }] }), /methods\[0\]\.lora rank must be an integer >= 1, got 0/],
    ["method: keep head", () => adaptationComparisonConfig({ methods: [{ name: "p", kind: "probe", headInit: "keep" as never }] }), /headInit must be one of "random", "zero", got "keep"/],
    ["no methods", () => adaptationComparisonConfig({ methods: [] }), /methods must list at least one method/],
  ])("%s", (_what, f, message) => expect(f).toThrow(message));
});
