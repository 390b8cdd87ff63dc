import { describe, expect, test } from "vitest";
import { DEFAULT_PROTONET, protoNetOptions } from "../../src/learners/protonet";

describe("protoNetOptions: field by field, fix-it errors", () => {
  test("the defaults come back", () => expect(protoNetOptions()).toEqual(DEFAULT_PROTONET));
  test.each([
    ["wrong key", { learningRate: 1e-3 }, /ProtoNet options: unknown option "learningRate"; known: lr, distance, scale, clipNorm/],
    ["wrong type", { distance: "euclidean" }, /ProtoNet distance must be one of "squared-euclidean", "cosine", got "euclidean"/],
    ["out of range", { lr: -1 }, /ProtoNet lr must be a positive number, got -1\. Snell et al\. use 1e-3/],
    ["clipNorm", { clipNorm: 0 }, /ProtoNet clipNorm must be a positive number, got 0\. Use null for no clipping/],
  ])("%s", (_what, options, message) => expect(() => protoNetOptions(options as never)).toThrow(message));
});
