import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { Mlp } from "../../src/models/mlp";
import { checkFastPath, decideFastPath, fastPathMode, mlpConfigOf } from "../../src/fast/eligibility";
import { disposeBatch } from "../../src/tasks/task-family";
import { sineBatch } from "./rel-error";

describe("the fast path's eligibility check", () => {
  const model = new Mlp({ sizes: [1, 4, 1], activation: "relu" });

  it("accepts metalab's Mlp, also as a second copy of the class (no instanceof), and names what it rejects", () => {
    expect(mlpConfigOf(model)).toEqual({ ok: true, config: { sizes: [1, 4, 1], activation: "relu" } });
    // What a second copy of the package looks like: another class that is also called Mlp.
    class Mlp2 {
      constructor(readonly config: unknown) {}
    }
    Object.defineProperty(Mlp2, "name", { value: "Mlp" });
    expect(mlpConfigOf(new Mlp2({ sizes: [2, 3], activation: "tanh" })).ok).toBe(true);
    class BnMlp {
      readonly config = { sizes: [1, 4, 1], activation: "relu" };
    }
    expect(mlpConfigOf(new BnMlp())).toEqual({ ok: false, reason: expect.stringMatching(/a BnMlp, not an Mlp: the fast path is derived by hand for metalab's plain Mlp/) });
    expect(mlpConfigOf({ apply: () => null })).toEqual({ ok: false, reason: expect.stringMatching(/a plain object, not an Mlp/) });
    expect(mlpConfigOf(new Mlp2({ sizes: [2, 3], activation: "gelu" }))).toEqual({ ok: false, reason: expect.stringMatching(/activation "gelu" has no hand-derived second derivative/) });
    expect(mlpConfigOf(new Mlp2({ sizes: [2], activation: "relu" }))).toEqual({ ok: false, reason: expect.stringMatching(/sizes \[2\]/) });
  });

  it("checks parameters, batch and loss, with one reason each", () => {
    const rng = new Rng(1);
    const params = model.init(rng);
    const batch = sineBatch(rng, 2, 3, 3);
    const q: Parameters<typeof checkFastPath>[0] = { algorithm: "maml", model, params, loss: "mse", batch };
    expect(checkFastPath(q).ok).toBe(true);
    const reason = (x: Partial<typeof q> & Record<string, unknown>) => {
      const c = checkFastPath({ ...q, ...x } as typeof q);
      return c.ok ? null : c.reason;
    };
    expect(reason({ loss: "hinge" as never })).toMatch(/loss "hinge" has no fast kernel/);
    const tiled: Params = { ...params, w0: tf.zeros([2, 1, 4]) };
    expect(reason({ params: tiled })).toMatch(/task-batched weights are not supported/);
    expect(reason({ params: { w0: params.w0! } })).toMatch(/expected the 4 MLP parameters/);
    expect(reason({ model: new Mlp({ sizes: [2, 4, 1], activation: "relu" }) })).toMatch(/w0 has shape \[1,4\], expected \[2, 4\]/);
    const wide = sineBatch(rng, 2, 3, 3, 2);
    expect(reason({ batch: wide })).toMatch(/targets have 2 outputs, the model has 1/);
    expect(reason({ adapted: ["w9"] })).toMatch(/adapted parameter "w9"/);
    expect(reason({ algorithm: "ridge", loss: "cross-entropy" })).toMatch(/least-squares fit/);
    const linear = new Mlp({ sizes: [1, 1], activation: "relu" });
    expect(checkFastPath({ algorithm: "ridge", model: linear, params: linear.init(rng), loss: "mse" })).toEqual({ ok: false, reason: expect.stringMatching(/needs an MLP with a hidden layer/) });
    expect(reason({ learnedRates: { params: { "lr/w0/0": tf.zeros([3]) }, expected: [["lr/w0/0", "w0"], ["lr/b0/0", "b0"]] } } as never)).toMatch(/"lr\/w0\/0" has shape \[3\]/);
    tiled.w0!.dispose();
    disposeParams(params);
    disposeBatch(batch);
    disposeBatch(wide);
  });

  it('applies the mode: "off" skips the check, "auto" reports the reason, "require" throws it', () => {
    let ran = 0;
    const bad = () => {
      ran++;
      return { ok: false as const, reason: "the model is a BnMlp" };
    };
    expect(decideFastPath("off", bad, "MAML")).toEqual({ use: null, report: { fast: false, reason: 'fastPath is "off"' } });
    expect(ran).toBe(0);
    expect(decideFastPath("auto", bad, "MAML")).toEqual({ use: null, report: { fast: false, reason: "the model is a BnMlp" } });
    expect(() => decideFastPath("require", bad, "MAML")).toThrow('MAML: fastPath is "require", but the model is a BnMlp. Use fastPath: "auto" to fall back to the general tfjs path.');
    const config = { sizes: [1, 2, 1], activation: "relu" as const };
    expect(decideFastPath("require", () => ({ ok: true, config }), "MAML")).toEqual({ use: config, report: { fast: true, reason: null } });
    expect(fastPathMode(true, "MAML")).toBe("auto");
    expect(fastPathMode(false, "MAML")).toBe("off");
    expect(() => fastPathMode("yes", "Reptile")).toThrow('Reptile: fastPath must be "auto", "off" or "require", got "yes".');
  });
});
