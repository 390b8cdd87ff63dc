import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import { checkGradients } from "../../src/autodiff/finite-diff";
import { BlobClassification } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { Hypernetwork, classMeans, hyperLoss, hyperPredict, initHypernetwork } from "../../src/learners/hypernetwork";

const small = { body: [8, 10, 6], generatorHidden: 7 };

describe("Hypernetwork (support set → head weights)", () => {
  it("summarises each class by the mean embedding of its support points", () => {
    const phi = tf.tensor3d([[[1, 0], [3, 2], [5, 5]]]);
    const y = tf.tensor3d([[[1, 0], [1, 0], [0, 1]]]);
    expect(classMeans(phi, y).arraySync()).toEqual([[[2, 1], [5, 5]]]);
    tf.dispose([phi, y]);
  });

  it("relabelling the support set permutes the logits the same way (the generator is shared across classes)", () => {
    const rng = new Rng(0);
    const p = initHypernetwork(rng, small);
    const b = new BlobClassification().sample(rng, { tasks: 2, shots: 2, queries: 3 });
    const perm = [2, 0, 1, 4, 3]; // new label of old class j is perm[j]
    const permute = (y: tf.Tensor): tf.Tensor => tf.tidy(() => tf.gather(y, tf.tensor1d(perm.map((_, j) => perm.indexOf(j)), "int32"), 2));
    const a = hyperPredict(p, { x: b.supportX, y: b.supportY }, b.queryX, small).arraySync() as number[][][];
    const c = hyperPredict(p, { x: b.supportX, y: permute(b.supportY) }, b.queryX, small).arraySync() as number[][][];
    a.forEach((task, t) => task.forEach((row, i) => row.forEach((v, j) => expect(c[t]![i]![perm[j]!]!).toBeCloseTo(v, 5))));
    disposeParams(p);
    disposeBatch(b);
  });

  it("meta-gradients into the body and the generator match finite differences", () => {
    const rng = new Rng(1);
    const p = initHypernetwork(rng, small);
    const b = new BlobClassification().sample(rng, { tasks: 2, shots: 2, queries: 2 });
    const r = checkGradients((q) => hyperLoss(q, b, small), p, new Rng(2), { order: 1, directions: 3 });
    expect(r.pass, r.summary).toBe(true);
    disposeParams(p);
    disposeBatch(b);
  });

  it("meta-training raises query accuracy and leaks nothing", () => {
    const rng = new Rng(3);
    const family = new BlobClassification();
    const init = initHypernetwork(rng, small);
    const h = new Hypernetwork(init, { ...small, outerLr: 3e-3 });
    disposeParams(init);
    const test = family.sample(rng.fork("test"), { tasks: 20, shots: 1, queries: 5 });
    const before = h.accuracy(test);
    h.train(family, rng.fork("train"), { iterations: 80, spec: { tasks: 8, shots: 1, queries: 5 } });
    const n0 = tf.memory().numTensors;
    h.train(family, rng.fork("more"), { iterations: 3, spec: { tasks: 8, shots: 1, queries: 5 } });
    expect(tf.memory().numTensors).toBe(n0);
    expect(h.accuracy(test)).toBeGreaterThan(before + 0.1);
    h.dispose();
    disposeBatch(test);
  });

  it("rejects a malformed config", () => {
    expect(() => initHypernetwork(new Rng(0), { body: [8] })).toThrow(/body/);
    expect(() => initHypernetwork(new Rng(0), { generatorHidden: 0 })).toThrow(/generatorHidden/);
  });
});
