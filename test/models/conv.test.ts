import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { assertGradientsMatch } from "../../src/autodiff/finite-diff";
import { convApply, convFeatures, initConvNet, type ConvNetConfig } from "../../src/models/conv";
import { mamlLoss } from "../../src/learners/maml";
import type { Params } from "../../src/core/params";
import type { TaskBatch } from "../../src/tasks/task-family";

const small = (norm: ConvNetConfig["norm"]): ConvNetConfig => ({ imageSize: 7, inChannels: 1, filters: [3, 2], kernel: 3, stride: 2, norm, outputs: 3 });

function batch(rng: Rng, c: ConvNetConfig, tasks: number, shots: number, queries: number): TaskBatch {
  const d = c.imageSize * c.imageSize * c.inChannels;
  const oneHot = (n: number): tf.Tensor3D => tf.oneHot(tf.tensor1d(Array.from({ length: tasks * n }, (_, i) => i % c.outputs), "int32"), c.outputs).reshape([tasks, n, c.outputs]) as tf.Tensor3D;
  return {
    supportX: rng.uniformTensor([tasks, shots, d]) as tf.Tensor3D,
    supportY: oneHot(shots),
    queryX: rng.uniformTensor([tasks, queries, d]) as tf.Tensor3D,
    queryY: oneHot(queries),
  };
}

describe("conv net", () => {
  it("task-batched filters give each task its own network", () => {
    const c = small("layer");
    const rng = new Rng(1);
    const a = initConvNet(rng, c);
    const b = initConvNet(rng, c);
    const x = rng.uniformTensor([2, 3, 49]);
    const stacked: Params = Object.fromEntries(Object.keys(a).map((k) => [k, tf.stack([a[k]!, b[k]!])]));
    const both = convApply(stacked, x, c);
    const first = convApply(a, tf.slice(x, [0, 0, 0], [1, 3, 49]), c);
    const second = convApply(b, tf.slice(x, [1, 0, 0], [1, 3, 49]), c);
    expect(tf.max(tf.abs(tf.sub(both, tf.concat([first, second], 0)))).dataSync()[0]).toBeLessThan(1e-5);
  });

  for (const norm of ["none", "layer", "batch"] as const) {
    it(`second order through the convolutions (${norm} norm): Hessian-vector products match finite differences`, () => {
      const c = small(norm);
      const rng = new Rng(2);
      const p = initConvNet(rng, c);
      const b = batch(rng, c, 2, 3, 3);
      const f = (q: Params): tf.Scalar => tf.tidy(() => {
        const logits = convApply(q, b.supportX, c);
        return tf.mean(tf.sum(tf.square(tf.sub(logits, b.supportY)), -1)) as tf.Scalar;
      });
      const r = assertGradientsMatch(f, p, rng.fork("fd"), { order: "both", directions: 2 });
      expect(r.pass, r.summary).toBe(true);
    });

    it(`second-order MAML meta-gradient through the conv net (${norm} norm, cross-entropy) matches finite differences`, () => {
      const c = small(norm);
      const rng = new Rng(3);
      const p = initConvNet(rng, c);
      const b = batch(rng, c, 2, 3, 3);
      const model = { apply: (q: Params, x: tf.Tensor) => convApply(q, x, c) };
      const f = (q: Params): tf.Scalar => mamlLoss(q, b, model, { innerSteps: 2, innerLr: 0.5, loss: "cross-entropy", fastPath: false });
      const r = assertGradientsMatch(f, p, rng.fork("fd"), { order: 1, directions: 2 });
      expect(r.pass, r.summary).toBe(true);
    });
  }

  it("the embedding is [tasks, points, last filters] and layer norm makes each image independent of the others", () => {
    const c = { ...small("layer"), outputs: 0 };
    const rng = new Rng(4);
    const p = initConvNet(rng, c);
    const x = rng.uniformTensor([1, 4, 49]);
    const f = convFeatures(p, x, c);
    expect(f.shape).toEqual([1, 4, 2]);
    const alone = convFeatures(p, tf.slice(x, [0, 0, 0], [1, 1, 49]), c);
    expect(tf.max(tf.abs(tf.sub(alone, tf.slice(f, [0, 0, 0], [1, 1, 2])))).dataSync()[0]).toBeLessThan(1e-6);
  });
});
