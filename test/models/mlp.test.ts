import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { Rng } from "../../src/core/random";
import { FINN_SINE_MLP, headNames, initMlp, layerParamNames, mlpParamNames, parseLayerParam } from "../../src/models/mlp";

describe("MLP parameter names (one helper for w0, b0, w1, ...)", () => {
  test("layerParamNames, parseLayerParam and mlpParamNames agree with what initMlp builds", () => {
    expect(layerParamNames(3)).toEqual(["w3", "b3"]);
    expect(parseLayerParam("w12")).toEqual({ kind: "weight", layer: 12 });
    expect(parseLayerParam("b0")).toEqual({ kind: "bias", layer: 0 });
    for (const other of ["loraA0", "headA_w", "gamma0", "w", "wb1", "w1x"]) expect(parseLayerParam(other)).toBeNull();
    const p = initMlp(new Rng(0), FINN_SINE_MLP);
    expect(Object.keys(p)).toEqual(mlpParamNames(FINN_SINE_MLP));
    expect(mlpParamNames(FINN_SINE_MLP)).toEqual(["w0", "b0", "w1", "b1", "w2", "b2"]);
    tf.dispose(Object.values(p));
  });

  test("headNames gives the last layer from a config or from a record, and names the fix when there is none", () => {
    expect(headNames(FINN_SINE_MLP)).toEqual(["w2", "b2"]);
    const p = initMlp(new Rng(1), FINN_SINE_MLP);
    expect(headNames(p)).toEqual(["w2", "b2"]);
    expect(headNames({ w0: p.w0!, b0: p.b0!, w1: p.w1!, gamma0: p.b1! })).toEqual(["w1"]);
    expect(() => headNames({ loraA0: p.w0! })).toThrow(/no layer parameters named w0, b0.*Pass the head's names explicitly/);
    tf.dispose(Object.values(p));
  });
});
