import { describe, expect, test } from "vitest";
import { checkConfig, withDefaults } from "../../src/core/validate";

describe("checkConfig / withDefaults: the validators' shared opening", () => {
  test("a non-object is an error naming what to pass", () => {
    expect(() => checkConfig("Thing", null, { a: 1 }, { name: "config", hint: "Pass {}." })).toThrow("Thing config must be an object, got null. Pass {}.");
    expect(() => checkConfig("Thing", [1], { a: 1 })).toThrow("Thing options must be an object, got an array.");
  });
  test("an unknown key is an error listing the known ones, under keysWho", () => {
    expect(() => checkConfig("Thing", { b: 1 }, { a: 1 }, { keysWho: "Thing options" })).toThrow('Thing options: unknown option "b"; known: a.');
  });
  test("withDefaults fills in the defaults and checks against `known` when given", () => {
    expect(withDefaults("Thing", { a: 2 }, { a: 1, c: 3 })).toEqual({ a: 2, c: 3 });
    expect(() => withDefaults("Thing", { c: 2 }, { a: 1, c: 3 }, { known: { a: 0 } })).toThrow('unknown option "c"; known: a.');
  });
});
