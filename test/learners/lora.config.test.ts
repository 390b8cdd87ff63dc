import { describe, expect, test } from "vitest";
import { DEFAULT_LORA, loraAdaptOptions, loraConfig } from "../../src/learners/lora";

describe("LoRA configs: field by field, fix-it errors", () => {
  test("the defaults pass unchanged", () => {
    expect(loraConfig(DEFAULT_LORA)).toBe(DEFAULT_LORA);
    expect(loraAdaptOptions({ steps: 10, lr: 0.1, lora: { rank: 4, alpha: 4, layers: [0, 1] } })).toMatchObject({ steps: 10 });
  });
  test.each([
    ["wrong key", () => loraConfig({ ...DEFAULT_LORA, ranks: 2 } as never), /LoRA config: unknown option "ranks"; known: rank, alpha, layers/],
    ["wrong type", () => loraConfig({ rank: "2", alpha: 2 } as never), /LoRA rank must be an integer >= 1, got "2"\. Hu et al\. use 1 to 8/],
    ["out of range", () => loraConfig({ rank: 2, alpha: 0 }), /LoRA alpha must be a positive number, got 0\. alpha = rank gives scale 1/],
    ["bad layers", () => loraConfig({ rank: 2, alpha: 2, layers: [-1] }), /LoRA layers must be a list of at least 1 integer >= 0, got \[-1\]\. List weight indices/],
    ["adapt: wrong key", () => loraAdaptOptions({ steps: 1, lr: 0.1, trainhead: true } as never), /adaptLora options: unknown option "trainhead"; known: .*trainHead/],
    ["adapt: wrong type", () => loraAdaptOptions({ steps: 1, lr: 0.1, trainHead: "yes" } as never), /adaptLora trainHead must be true or false, got "yes"/],
    ["adapt: out of range", () => loraAdaptOptions({ steps: -1, lr: 0.1 }), /adaptLora steps must be an integer >= 0, got -1\. Use 0 for no adaptation/],
    ["adapt: nested lora", () => loraAdaptOptions({ steps: 1, lr: 0.1, lora: { rank: 0, alpha: 1 } }), /adaptLora lora rank must be an integer >= 1, got 0/],
  ])("%s", (_what, f, message) => expect(f).toThrow(message));
});
