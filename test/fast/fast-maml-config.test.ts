import { describe, expect, test } from "vitest";
import { Rng } from "../../src/core/random";
import { fastMamlTrainerConfig } from "../../src/fast/fast-maml-config";
import { FastMamlTrainer, type FastMamlTrainerConfig } from "../../src/fast/fast-maml-trainer";
import { disposeParams } from "../../src/core/params";
import { Mlp } from "../../src/models/mlp";

const model = { sizes: [1, 8, 1], activation: "relu" as const };
const good: FastMamlTrainerConfig = { model, innerSteps: 1, innerLr: 0.01, firstOrder: false };

describe("FastMamlTrainerConfig: field by field, fix-it errors; eligibility stays separate", () => {
  test("a good config passes unchanged", () => {
    expect(fastMamlTrainerConfig(good)).toBe(good);
    expect(fastMamlTrainerConfig({ ...good, loss: "cross-entropy", backend: "js", adam: { lr: 1e-2 } })).toBeTruthy();
  });
  test.each([
    ["an unknown key", { ...good, innerLR: 0.1 }, /FastMamlTrainer config: unknown option "innerLR"; known: model, innerSteps, innerLr, firstOrder, loss, adam, backend, workers\./],
    ["innerSteps", { ...good, innerSteps: -1 }, /FastMamlTrainer innerSteps must be an integer >= 0, got -1\. Finn et al\. use 1/],
    ["innerLr", { ...good, innerLr: Number.NaN }, /FastMamlTrainer innerLr must be a number >= 0, got NaN\. Finn et al\. use 0\.01/],
    ["firstOrder", { ...good, firstOrder: "no" }, /FastMamlTrainer firstOrder must be true or false/],
    ["loss", { ...good, loss: "hinge" }, /FastMamlTrainer loss must be one of "mse", "cross-entropy", got "hinge"/],
    ["backend", { ...good, backend: "gpu" }, /FastMamlTrainer backend must be one of "wasm-simd", "js", got "gpu"/],
    ["the nested model", { ...good, model: { sizes: [1, 8, 1], activation: "relu", bias: true } }, /FastMamlTrainer model config: unknown option "bias"/],
    ["the nested adam", { ...good, adam: { lr: -1 } }, /Adam lr must be/],
  ])("%s: a bad value is an error naming the field and the fix", (_name, config, message) => {
    expect(() => fastMamlTrainerConfig(config as unknown as FastMamlTrainerConfig)).toThrow(message);
  });
  test("the constructor checks the fields first, then says why a valid config cannot take the fast path", () => {
    const init = new Mlp(model).init(new Rng(0));
    expect(() => new FastMamlTrainer(init, { ...good, innerStep: 1 } as unknown as FastMamlTrainerConfig)).toThrow(/unknown option "innerStep"/);
    const wide = new Mlp({ sizes: [1, 16, 1], activation: "relu" }).init(new Rng(0));
    expect(() => new FastMamlTrainer(wide, good)).toThrow(/FastMamlTrainer: w0 has shape \[1,16\], expected \[1, 8\].*Use the Maml learner/);
    disposeParams(init);
    disposeParams(wide);
  });
});
