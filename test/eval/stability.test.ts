import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { supportSharpness } from "../../src/eval/sharpness";
import { sgdStability, updateNormsPerTask } from "../../src/eval/stability";
import { SineFamily } from "../../src/tasks/regression";
import { mamlMetaGradient } from "../../src/learners/maml";
import { reptileDelta } from "../../src/learners/reptile";
import { globalNorm, disposeParams } from "../../src/core/params";
import { disposeBatch } from "../../src/tasks/task-family";

describe("sgdStability", () => {
  it("on a linear model (constant Hessian), SGD diverges exactly when α·λmax > 2", () => {
    const model = new Mlp({ sizes: [1, 1], activation: "identity" });
    const params = { w0: tf.tensor2d([[0.5]]), b0: tf.tensor1d([0.2]) };
    const x = tf.tensor3d([[[0.1], [0.3], [0.2]], [[2], [-3], [4]], [[1], [-1], [0.5]]]);
    const y = tf.tidy(() => tf.mul(x, -1));
    const lam = supportSharpness(params, { x, y }, model, new Rng(0), { iterations: 60 });
    const before = tf.memory().numTensors;
    const rows = sgdStability(params, { x, y }, model, lam, { alphas: [0.05, 0.2, 0.6], steps: 30 });
    expect(tf.memory().numTensors).toBe(before);
    expect(rows).toHaveLength(9);
    for (const r of rows) {
      expect(r.alphaSharpness).toBeCloseTo(r.alpha * r.sharpness, 6);
      if (Math.abs(r.alphaSharpness - 2) > 0.1) expect(r.diverged, `α=${r.alpha}, αλ=${r.alphaSharpness}`).toBe(r.alphaSharpness > 2);
    }
    expect(rows.some((r) => r.diverged)).toBe(true);
    expect(rows.some((r) => !r.diverged)).toBe(true);
    expect(() => sgdStability(params, { x, y }, model, [1])).toThrow(/sharpness values/);
    tf.dispose([x, y, params.w0, params.b0]);
  });
});

describe("updateNormsPerTask", () => {
  it("equals the norms of each task's own meta-gradients and Reptile update", () => {
    const model = new Mlp({ sizes: [1, 8, 1], activation: "relu" });
    const params = model.init(new Rng(1));
    const b = new SineFamily().sample(new Rng(2), { tasks: 2, shots: 5, queries: 5 });
    const before = tf.memory().numTensors;
    const n = updateNormsPerTask(params, b, model, { innerSteps: 3, innerLr: 0.05 });
    expect(tf.memory().numTensors).toBe(before);
    const t1 = { supportX: tf.slice(b.supportX, [1, 0, 0], [1, -1, -1]) as tf.Tensor3D, supportY: tf.slice(b.supportY, [1, 0, 0], [1, -1, -1]) as tf.Tensor3D, queryX: tf.slice(b.queryX, [1, 0, 0], [1, -1, -1]) as tf.Tensor3D, queryY: tf.slice(b.queryY, [1, 0, 0], [1, -1, -1]) as tf.Tensor3D };
    const so = mamlMetaGradient(params, t1, model, { innerSteps: 3, innerLr: 0.05 });
    const rep = reptileDelta(params, t1, model, { innerSteps: 3, innerLr: 0.05, useQuery: false });
    expect(n.secondOrder[1]).toBeCloseTo(globalNorm(so.grads), 4);
    expect(n.reptile[1]).toBeCloseTo(globalNorm(rep.delta), 5);
    expect(n.firstOrder[1]).not.toBeCloseTo(n.secondOrder[1]!, 4);
    disposeParams(so.grads); disposeParams(rep.delta); disposeBatch(t1); disposeBatch(b); disposeParams(params);
  });
});
