import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { keep, noLeak, releaseKept } from "../../src/display/notebook-state";

describe("notebook state", () => {
  it("keep disposes the previous value stored under a name", () => {
    const disposed: string[] = [];
    const a = { dispose: () => disposed.push("a") };
    const b = { dispose: () => disposed.push("b") };
    expect(keep("x", a)).toBe(a);
    keep("x", a);
    expect(disposed).toEqual([]);
    keep("x", b);
    expect(disposed).toEqual(["a"]);
    releaseKept();
    expect(disposed).toEqual(["a", "b"]);
  });

  it("noLeak passes clean code and names the leak otherwise", async () => {
    expect(await noLeak("clean", () => tf.tidy(() => tf.add(1, 2).dataSync()[0]))).toBe(3);
    let leaked: tf.Tensor | undefined;
    await expect(noLeak("leaky cell", () => { leaked = tf.scalar(1); })).rejects.toThrow(/leaky cell changed the number of live tensors/);
    leaked?.dispose();
  });
});
