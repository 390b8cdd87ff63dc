import { describe, expect, test } from "vitest";
import { DEFAULT_OMNIGLOT_FEW_SHOT, fewShotConfig } from "../../src/experiments/omniglot-few-shot";

describe("fewShotConfig: field by field, fix-it errors", () => {
  test("the defaults come back", () => expect(fewShotConfig()).toEqual(DEFAULT_OMNIGLOT_FEW_SHOT));
  test.each([
    ["wrong key", { innerStep: 1 }, /Omniglot few-shot config: unknown option "innerStep"; known: embedding, net/],
    ["wrong type", { embedding: "resnet" }, /embedding must be one of "conv", "mlp", got "resnet"/],
    ["out of range", { innerLr: 0 }, /innerLr must be/],
    ["hidden", { mlpHidden: [256, 0] }, /mlpHidden must be a list of at least 1 integer >= 1, got \[256, 0\]/],
    ["nested net, unknown key", { net: { ...DEFAULT_OMNIGLOT_FEW_SHOT.net, filter: [8] } }, /Omniglot few-shot config\.net: unknown option "filter"/],
    ["nested net, partial", { net: { filters: [8, 8] } }, /Omniglot few-shot config\.net imageSize must be an integer >= 1, got undefined\. Spread DEFAULT_OMNIGLOT_FEW_SHOT\.net/],
    ["nested net, norm", { net: { ...DEFAULT_OMNIGLOT_FEW_SHOT.net, norm: "group" } }, /net norm must be one of "none", "layer", "batch", got "group"/],
    ["nested net, filters", { net: { ...DEFAULT_OMNIGLOT_FEW_SHOT.net, filters: [] } }, /net filters must be a list of at least 1 integer/],
    ["episode", { episode: { tasks: 2, shots: 0, queries: 1 } }, /Omniglot few-shot config\.episode shots must be an integer >= 1, got 0/],
    ["meta-episode key", { metaEpisode: { tasks: 2, shots: 1, query: 1 } }, /metaEpisode: unknown option "query"/],
    ["characters", { characters: [0, -1] }, /characters must be a list of at least 1 integer >= 0, got \[0, -1\]\. Pass background character indices, or null/],
  ])("%s", (_what, config, message) => expect(() => fewShotConfig(config as never)).toThrow(message));
  test("a character subset and null are both accepted", () => {
    expect(fewShotConfig({ characters: [0, 5, 9] }).characters).toEqual([0, 5, 9]);
    expect(fewShotConfig({ characters: null }).characters).toBeNull();
  });
});
