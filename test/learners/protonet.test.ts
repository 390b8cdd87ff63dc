import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { Mlp } from "../../src/models/mlp";
import { BlobClassification, DEFAULT_BLOBS } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { assertGradientsMatch } from "../../src/autodiff/finite-diff";
import { ProtoNet, protoNetLoss, prototypeLogits, prototypes } from "../../src/learners/protonet";

describe("Prototypical Networks", () => {
  it("prototypes are class means and logits are negative squared distances", () => {
    const emb = tf.tensor3d([[[0, 0], [2, 0], [0, 4], [0, 2]]]); // classes 0, 0, 1, 1
    const y = tf.tensor3d([[[1, 0], [1, 0], [0, 1], [0, 1]]]);
    const p = prototypes(emb, y);
    expect(Array.from(p.dataSync())).toEqual([1, 0, 0, 3]);
    const logits = prototypeLogits(tf.tensor3d([[[1, 1]]]), p);
    expect(Array.from(logits.dataSync())).toEqual([-1, -5]);
  });

  it("the loss gradient matches finite differences through an MLP embedding", () => {
    const rng = new Rng(0);
    const fam = new BlobClassification({ ...DEFAULT_BLOBS, ways: 3, dim: 4 });
    const mlp = new Mlp({ sizes: [4, 6, 5], activation: "tanh" });
    const params = mlp.init(rng);
    const b = fam.sample(rng, { tasks: 2, shots: 2, queries: 2 });
    const r = assertGradientsMatch((p) => protoNetLoss(p, b, mlp), params, rng.fork("fd"), { order: 1 });
    expect(r.pass, r.summary).toBe(true);
    disposeBatch(b);
  });

  it("meta-training on blob tasks lifts held-out accuracy and leaks no tensors", () => {
    const rng = new Rng(1);
    const fam = new BlobClassification({ ...DEFAULT_BLOBS, noiseStd: 1 });
    const mlp = new Mlp({ sizes: [8, 32, 16], activation: "relu" });
    const learner = new ProtoNet(mlp, mlp.init(rng.fork("init")), { lr: 3e-3 });
    const test = fam.sample(rng.fork("test"), { tasks: 50, shots: 1, queries: 5 });
    const before = learner.evaluate(test).accuracy;
    learner.train(fam, rng.fork("train"), { iterations: 5, spec: { tasks: 8, shots: 1, queries: 5 } });
    const live = tf.memory().numTensors;
    learner.train(fam, rng.fork("train2"), { iterations: 150, spec: { tasks: 8, shots: 1, queries: 5 } });
    expect(tf.memory().numTensors).toBe(live);
    const after = learner.evaluate(test).accuracy;
    expect(after).toBeGreaterThan(before + 0.03);
    disposeBatch(test);
    learner.dispose();
  });
});
