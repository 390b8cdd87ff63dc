import { describe, expect, test } from "vitest";
import { adaptSgdOptions } from "../../src/learners/adapt-sgd";

describe("adaptSgdOptions: field by field, fix-it errors", () => {
  test("good options pass unchanged", () => expect(adaptSgdOptions({ steps: 5, lr: 0.01, trainable: ["w2"], onStep: () => undefined })).toMatchObject({ steps: 5 }));
  test.each([
    ["wrong key", { steps: 5, lr: 0.01, step: 1 }, /adaptSgd options: unknown option "step"; known: steps, lr, loss/],
    ["wrong type", { steps: 5, lr: 0.01, trainable: "w2" }, /adaptSgd trainable must be a list of parameter names \(e\.g\. headNames\(config\)\)/],
    ["wrong type (callback)", { steps: 5, lr: 0.01, onStep: 3 }, /adaptSgd onStep must be a function, got 3\. Leave it out/],
    ["out of range", { steps: 5, lr: -0.01 }, /adaptSgd lr must be a number >= 0, got -0\.01\. Finn et al\. use 0\.01/],
  ])("%s", (_what, options, message) => expect(() => adaptSgdOptions(options as never)).toThrow(message));
});
