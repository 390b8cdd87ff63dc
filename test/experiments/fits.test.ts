import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { fitRows } from "../../src/experiments/fits";
import { linspace } from "../../src/tasks/regression";

describe("fitRows", () => {
  it("gives one row per grid point and requested step, step 0 being the initial model, without leaks", () => {
    const model = new Mlp({ sizes: [1, 8, 1], activation: "relu" });
    const params = model.init(new Rng(0));
    const grid = linspace(-1, 1, 5);
    const before = tf.memory().numTensors;
    const rows = fitRows({ name: "m", params, model }, { supportX: Float32Array.of(0, 0.5), supportY: Float32Array.of(1, 2), grid, steps: [0, 2], lr: 0.1, extra: { panel: "p" } });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows).toHaveLength(10);
    expect(new Set(rows.map((r) => r.series))).toEqual(new Set(["m, pre-update", "m, 2 steps"]));
    const direct = tf.tidy(() => model.apply(params, tf.tensor3d(grid, [1, 5, 1])).dataSync());
    rows.filter((r) => r.series === "m, pre-update").forEach((r, i) => expect(r.y).toBeCloseTo(direct[i]!, 6));
    expect(rows[0]!.panel).toBe("p");
    const bare = fitRows({ name: "", params, model }, { supportX: Float32Array.of(0, 0.5), supportY: Float32Array.of(1, 2), grid, steps: [0, 1], lr: 0.1 });
    expect(new Set(bare.map((r) => r.series))).toEqual(new Set(["pre-update", "1 step"]));
  });
});
