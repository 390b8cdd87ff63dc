import { describe, expect, test } from "vitest";
import { blobClassificationConfig, BlobClassification, DEFAULT_BLOBS } from "../../src/tasks/classification";

describe("blobClassificationConfig: field by field, fix-it errors", () => {
  test("the defaults pass unchanged", () => expect(blobClassificationConfig(DEFAULT_BLOBS)).toBe(DEFAULT_BLOBS));
  test.each([
    ["wrong key", { ...DEFAULT_BLOBS, way: 5 }, /BlobClassification config: unknown option "way"; known: ways, dim/],
    ["wrong type", { ...DEFAULT_BLOBS, dim: "8" }, /BlobClassification dim must be an integer >= 1, got "8"/],
    ["out of range", { ...DEFAULT_BLOBS, ways: 1 }, /BlobClassification ways must be an integer >= 2, got 1\. A task needs at least two classes/],
    ["pool smaller than ways", { ...DEFAULT_BLOBS, poolSize: 3 }, /poolSize must be an integer >= 5, got 3\. Use 0 for fresh prototypes/],
    ["negative noise", { ...DEFAULT_BLOBS, noiseStd: -1 }, /noiseStd must be a number >= 0, got -1\. Use 0 for points exactly/],
    ["non-finite seed", { ...DEFAULT_BLOBS, poolSeed: Number.NaN }, /poolSeed must be a finite number, got NaN/],
  ])("%s", (_what, config, message) => {
    expect(() => blobClassificationConfig(config as never)).toThrow(message);
    expect(() => new BlobClassification(config as never)).toThrow(message);
  });
});
