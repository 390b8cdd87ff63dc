import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { Mlp } from "../../src/models/mlp";
import { meanTaskLoss } from "../../src/models/losses";
import { headNames } from "../../src/models/mlp";
import { mamlLoss } from "../../src/learners/maml";
import { SineFamily } from "../../src/tasks/regression";
import { disposeBatch } from "../../src/tasks/task-family";
import { ResidualMlp, residualMlpParamNames } from "../../src/models/residual-mlp";

describe("ResidualMlp", () => {
  it("without skips is exactly the plain MLP of the same shape", () => {
    const plain = new ResidualMlp({ input: 2, width: 5, blocks: 2, output: 3, residual: false });
    const mlp = new Mlp({ sizes: [2, 5, 5, 5, 3], activation: "relu" });
    const p = plain.init(new Rng(0));
    const x = new Rng(1).normalTensor([2, 4, 2]) as tf.Tensor3D;
    const a = plain.apply(p, x).dataSync(), b = mlp.apply(p, x).dataSync();
    Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 6));
    expect(residualMlpParamNames(plain.config)).toEqual(Object.keys(p));
    expect(headNames(p)).toEqual(["w3", "b3"]);
    disposeParams(p);
    x.dispose();
  });

  it("adds each block's input to its output", () => {
    const m = new ResidualMlp({ input: 1, width: 2, blocks: 1, output: 1, activation: "identity" });
    const p: Params = { w0: tf.tensor2d([[1, 2]]), b0: tf.tensor1d([0, 0]), w1: tf.tensor2d([[1, 0], [0, 1]]), b1: tf.tensor1d([1, 1]), w2: tf.tensor2d([[1], [1]]), b2: tf.tensor1d([0]) };
    // x = 3: h0 = [3, 6]; block: h0 + (act(h0) I + 1) = [7, 13]; head: act(h) [1, 1] = 20.
    expect(m.apply(p, tf.tensor3d([[[3]]])).dataSync()[0]).toBeCloseTo(20, 5);
    disposeParams(p);
  });

  it("gradients and Hessian-vector products match finite differences (tanh, with skips), also through a MAML inner step", () => {
    const m = new ResidualMlp({ input: 1, width: 6, blocks: 3, output: 1, activation: "tanh" });
    const rng = new Rng(2);
    const p = m.init(rng);
    const b = new SineFamily().sample(rng, { tasks: 2, shots: 5, queries: 5 });
    const loss = (q: Params): tf.Scalar => meanTaskLoss("mse", m.apply(q, b.supportX), b.supportY);
    const r = checkGradients(loss, p, new Rng(3));
    expect(r.pass, r.summary).toBe(true);
    const meta = checkGradients((q) => mamlLoss(q, b, m, { innerSteps: 1, innerLr: 0.05 }), p, new Rng(4), { order: 1 });
    expect(meta.pass, meta.summary).toBe(true);
    disposeParams(p);
    disposeBatch(b);
  });

  it("rejects a malformed config", () => {
    expect(() => new ResidualMlp({ blocks: -1 })).toThrow(/blocks/);
    expect(() => new ResidualMlp({ width: 0 })).toThrow(/width/);
  });
});
