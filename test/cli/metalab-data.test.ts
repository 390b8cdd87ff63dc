import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/metalab";

describe("metalab data", () => {
  it("an unknown dataset is a usage error (exit 2)", async () => {
    expect(await main(["data", "imagenet"])).toBe(2);
    expect(await main(["data"])).toBe(2);
  });
});
