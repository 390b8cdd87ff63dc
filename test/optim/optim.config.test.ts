import { describe, expect, test } from "vitest";
import { adamConfig, DEFAULT_ADAM } from "../../src/optim/adam";
import { cosineSchedule } from "../../src/optim/schedule";
import { Adam, SGD, type OptimizableModule } from "../../src/optim/stateful";

const module = { parameters: {}, grad: {}, zeroGrad: () => undefined } as unknown as OptimizableModule;

describe("optimizer configs: field by field, fix-it errors", () => {
  test("the defaults come back; lr 0 is allowed for the end of an annealed schedule", () => {
    expect(adamConfig()).toEqual(DEFAULT_ADAM);
    expect(adamConfig({ lr: 0 }).lr).toBe(0);
  });
  test.each([
    ["Adam, wrong key", () => adamConfig({ learningRate: 1e-3 } as never), /Adam config: unknown option "learningRate"; known: lr, beta1, beta2, eps/],
    ["Adam, wrong type", () => adamConfig({ lr: "0.001" as never }), /Adam lr must be/],
    ["Adam, out of range", () => adamConfig({ beta2: 1 }), /Adam beta2 must be a number in \[0, 1\), got 1\. The paper's value is 0\.999/],
    ["Adam, eps", () => adamConfig({ eps: 0 }), /Adam eps must be/],
    ["stateful Adam, wrong key", () => new Adam(module, { lr: 1e-3, momentum: 0.9 } as never), /Adam config: unknown option "momentum"/],
    ["stateful Adam, weight decay", () => new Adam(module, { weightDecay: -1 }), /Adam weightDecay must be/],
    ["SGD, wrong key", () => new SGD(module, { lr: 0.1, nesterov: true } as never), /SGD options: unknown option "nesterov"; known: lr, momentum, weightDecay/],
    ["SGD, out of range", () => new SGD(module, { lr: 0.1, momentum: 1.5 }), /SGD momentum must be a number in \[0, 1\), got 1\.5/],
    ["SGD, no lr", () => new SGD(module, {} as never), /SGD needs a positive lr, got undefined\. Example: new SGD\(module, \{ lr: 0\.01 \}\)/],
    ["schedule, wrong key", () => cosineSchedule({ base: 1e-3, total: 10, warmUp: 2 } as never), /cosineSchedule config: unknown option "warmUp"; known: base, total, min, warmup/],
    ["schedule, min above base", () => cosineSchedule({ base: 1e-3, total: 10, min: 1 }), /cosineSchedule min must be a number in \[0, 0\.001\], got 1\. The final rate lies between 0 and base/],
    ["schedule, warm-up", () => cosineSchedule({ base: 1e-3, total: 10, warmup: 10 }), /cosineSchedule needs total > warmup >= 0, got total=10, warmup=10/],
  ])("%s", (_what, make, message) => expect(make).toThrow(message));
});
