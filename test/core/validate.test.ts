import { describe, expect, test } from "vitest";
import { DEFAULT_PROTOCOL, evalProtocol } from "../../src/eval/protocol";
import { bnMamlOptions, DEFAULT_BN_MAML } from "../../src/learners/bn-maml";
import { DEFAULT_MAML, mamlOptions } from "../../src/learners/maml";
import { DEFAULT_PRETRAIN, pretrainOptions } from "../../src/learners/pretrain";
import { DEFAULT_REPTILE, reptileOptions } from "../../src/learners/reptile";
import { DEFAULT_RIDGE, ridgeOptions } from "../../src/learners/ridge";

describe("options validators: defaults pass, every bad value and unknown key gets a fix-it error", () => {
  test("the defaults come back unchanged", () => {
    expect(mamlOptions()).toMatchObject({ ...DEFAULT_MAML, fastPath: "auto" });
    expect(reptileOptions()).toEqual(DEFAULT_REPTILE);
    expect(pretrainOptions()).toEqual(DEFAULT_PRETRAIN);
    expect(ridgeOptions()).toEqual(DEFAULT_RIDGE);
    expect(bnMamlOptions()).toEqual(DEFAULT_BN_MAML);
    expect(evalProtocol()).toEqual(DEFAULT_PROTOCOL);
  });

  test("a typo is an error that lists the known options", () => {
    expect(() => mamlOptions({ innerLR: 0.1 } as never)).toThrow(/MAML options: unknown option "innerLR"; known: innerSteps, innerLr/);
    expect(() => reptileOptions({ outerLr: 0.1 } as never)).toThrow(/Reptile options: unknown option "outerLr"/);
    expect(() => evalProtocol({ shot: [5] } as never)).toThrow(/EvalProtocol: unknown option "shot"/);
  });

  test.each([
    [() => mamlOptions({ outerLr: -1 }), /MAML outerLr must be a positive number, got -1\. Finn et al\. use 1e-3/],
    [() => mamlOptions({ loss: "l1" as never }), /MAML loss must be one of "mse", "cross-entropy", got "l1"/],
    [() => mamlOptions({ adapt: 3 as never }), /MAML adapt must be "all", "head" or a list of parameter names/],
    [() => mamlOptions({ cosine: { total: 0 } }), /MAML cosine.total must be an integer >= 1/],
    [() => mamlOptions({ clipNorm: 0 }), /MAML clipNorm must be a positive number.*null for no clipping/],
    [() => reptileOptions({ annealSteps: 2.5 }), /Reptile annealSteps must be an integer >= 1, got 2.5\. Use null/],
    [() => reptileOptions({ useQuery: "yes" as never }), /Reptile useQuery must be true or false/],
    [() => pretrainOptions({ lr: Number.NaN }), /Pretrain lr must be a positive number, got NaN/],
    [() => ridgeOptions({ form: "svd" as never }), /RidgeHead form must be one of "auto", "primal", "dual", got "svd"/],
    [() => ridgeOptions({ lambda: 0 }), /RidgeHead lambda must be a positive number/],
    [() => bnMamlOptions({ innerSteps: 0 }), /BnMaml innerSteps must be an integer >= 1, got 0/],
    [() => evalProtocol({ shots: [] }), /EvalProtocol shots must list at least one support size/],
    [() => evalProtocol({ steps: -1 }), /EvalProtocol steps must be an integer >= 0/],
  ])("%#", (f, message) => {
    expect(f).toThrow(message);
  });
});
