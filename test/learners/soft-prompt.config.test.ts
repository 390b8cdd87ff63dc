import { describe, expect, test } from "vitest";
import { promptAdaptOptions } from "../../src/learners/soft-prompt";

describe("promptAdaptOptions: field by field, fix-it errors", () => {
  test("good options pass unchanged", () => expect(promptAdaptOptions({ steps: 5, lr: 0.1, trainHead: true })).toMatchObject({ steps: 5 }));
  test.each([
    ["wrong key", { steps: 5, lr: 0.1, head: true }, /adaptPrompt options: unknown option "head"; known: steps, lr, loss, trainHead/],
    ["wrong type", { steps: 5, lr: 0.1, loss: "l2" }, /adaptPrompt loss must be one of "mse", "cross-entropy", got "l2"/],
    ["out of range", { steps: 2.5, lr: 0.1 }, /adaptPrompt steps must be an integer >= 0, got 2\.5\. Use 0 for no adaptation/],
  ])("%s", (_what, options, message) => expect(() => promptAdaptOptions(options as never)).toThrow(message));
});
