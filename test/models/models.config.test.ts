import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { Rng } from "../../src/core/random";
import { batchNorm, batchNormOptions, BnMlp, bnMlpConfig, DEFAULT_BN_MLP, initBatchNormState, initBnMlp, type BatchNormOptions, type BnMlpConfig } from "../../src/models/batchnorm";
import { ConvNet, convNetConfig, initConvNet, OMNIGLOT_CONV, type ConvNetConfig } from "../../src/models/conv";
import { FINN_SINE_MLP, initMlp, Mlp, mlpConfig, type MlpConfig } from "../../src/models/mlp";

describe("model configs: field by field where the model is built, fix-it errors", () => {
  test("the shipped configs pass unchanged", () => {
    expect(mlpConfig(FINN_SINE_MLP)).toBe(FINN_SINE_MLP);
    expect(bnMlpConfig(DEFAULT_BN_MLP)).toBe(DEFAULT_BN_MLP);
    expect(convNetConfig(OMNIGLOT_CONV)).toBe(OMNIGLOT_CONV);
    expect(batchNormOptions({ mode: "train", momentum: 0.1, eps: 1e-5 })).toBeTruthy();
  });
  test("an unknown key is an error listing the known ones, in the constructor and in init", () => {
    const typo = { ...FINN_SINE_MLP, activaton: "tanh" } as unknown as MlpConfig;
    expect(() => new Mlp(typo)).toThrow('MLP config: unknown option "activaton"; known: sizes, activation.');
    expect(() => initMlp(new Rng(1), typo)).toThrow(/unknown option "activaton"/);
    expect(() => new BnMlp({ ...DEFAULT_BN_MLP, statsets: 2 } as unknown as BnMlpConfig)).toThrow(/BN-MLP config: unknown option "statsets"; known: sizes, activation, eps, momentum, statSets, perStepAffine\./);
    expect(() => initBnMlp(new Rng(1), { ...DEFAULT_BN_MLP, hidden: 3 } as unknown as BnMlpConfig)).toThrow(/unknown option "hidden"/);
    expect(() => new ConvNet({ ...OMNIGLOT_CONV, padding: "same" } as unknown as ConvNetConfig)).toThrow(/ConvNet config: unknown option "padding"; known: imageSize, inChannels, filters, kernel, stride, norm, outputs\./);
    expect(() => initConvNet(new Rng(1), { ...OMNIGLOT_CONV, pool: 2 } as unknown as ConvNetConfig)).toThrow(/unknown option "pool"/);
  });
  test("sizes, activations and ranges name the field and the fix", () => {
    expect(() => new Mlp({ sizes: [1, 0, 1], activation: "relu" })).toThrow(/MLP sizes must be at least two positive integers, got \[1,0,1\]\. Example/);
    expect(() => new Mlp({ sizes: 3, activation: "relu" } as unknown as MlpConfig)).toThrow(/MLP sizes must be at least two positive integers, got 3/);
    expect(() => new Mlp({ sizes: [1, 4, 1], activation: "gelu" } as unknown as MlpConfig)).toThrow(/MLP activation must be one of "relu", "tanh", "sigmoid", "softplus", "exp", "identity", got "gelu"/);
    expect(() => new Mlp(null as unknown as MlpConfig)).toThrow(/MLP config must be an object, got null/);
    expect(() => new BnMlp({ ...DEFAULT_BN_MLP, activation: "swish" } as unknown as BnMlpConfig)).toThrow(/BN-MLP activation must be one of/);
    expect(() => new BnMlp({ ...DEFAULT_BN_MLP, eps: 0 })).toThrow(/BN-MLP eps must be a positive number, got 0\. PyTorch's default is 1e-5/);
    expect(() => new BnMlp({ ...DEFAULT_BN_MLP, perStepAffine: "yes" } as unknown as BnMlpConfig)).toThrow(/BN-MLP perStepAffine must be true or false/);
    expect(() => new BnMlp({ ...DEFAULT_BN_MLP, momentum: 2 })).toThrow(/BN-MLP momentum must be in \(0, 1\]/);
    expect(() => new ConvNet({ ...OMNIGLOT_CONV, filters: 64 } as unknown as ConvNetConfig)).toThrow(/ConvNet filters must be a list of output channels per block/);
    expect(() => new ConvNet({ ...OMNIGLOT_CONV, kernel: 0 })).toThrow(/positive integers/);
    expect(() => new ConvNet({ ...OMNIGLOT_CONV, norm: "group" } as unknown as ConvNetConfig)).toThrow(/norm must be "none", "layer" or "batch"/);
  });
  test("batchNorm's options: unknown keys, mode, momentum and eps", () => {
    expect(() => batchNormOptions({ mode: "train", momentun: 0.1 } as unknown as BatchNormOptions)).toThrow(/batchNorm options: unknown option "momentun"; known: mode, momentum, eps, support\./);
    expect(() => batchNormOptions({ mode: "eval" } as unknown as BatchNormOptions)).toThrow(/batchNorm mode must be one of "train", "transductive", "running", "support", got "eval"/);
    expect(() => batchNormOptions({ mode: "train", momentum: 0 })).toThrow(/batchNorm momentum must be a number in \(0, 1\]/);
    expect(() => batchNormOptions({ mode: "train", eps: -1 })).toThrow(/batchNorm eps must be a positive number/);
    const x = tf.ones([1, 2, 3]);
    expect(() => batchNorm({ gamma: tf.ones([3]), beta: tf.zeros([3]) }, initBatchNormState(3), x, { mode: "running", typo: 1 } as unknown as BatchNormOptions)).toThrow(/unknown option "typo"/);
    x.dispose();
  });
});
