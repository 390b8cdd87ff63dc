/**
 * The defect behind MAML's chance-level 5-way error on Omniglot (issue 14): the test path adapted with 3 inner steps
 * of 2 where meta-training used 1, and on Finn's MLP without batch norm the extra steps overshoot (support loss
 * 0.46 -> 7.4 -> 1068 on real episodes). These tests train MAML on tiny synthetic characters and check the test path
 * against the training path on the same episodes.
 */
import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams } from "../../src/core/params";
import { OmniglotTasks } from "../../src/data/omniglot-tasks";
import { synthetic } from "./synthetic-omniglot";
import { adaptSgd } from "../../src/learners/adapt-sgd";
import { mamlMetaGradient } from "../../src/learners/maml";
import { summedTaskLoss } from "../../src/models/losses";
import { disposeBatch } from "../../src/tasks/task-family";
import { fewShotConfig, fewShotError, fewShotLogits, fewShotNet, trainFewShot, type OmniglotFewShotConfig } from "../../src/experiments/omniglot-few-shot";

/** Only sizes and the budget: every inner-loop setting (train and test) is the library default. */
const sizes: Partial<OmniglotFewShotConfig> = { embedding: "mlp", mlpHidden: [32, 16], net: { imageSize: 8, inChannels: 1, filters: [4], kernel: 3, stride: 2, norm: "layer" }, steps: 150 };

describe("MAML's test path on Omniglot episodes is the loop it was meta-trained for", () => {
  const images = synthetic(0, 8, 6);
  const run = trainFewShot("maml", images, sizes, new Rng(0));
  const c = fewShotConfig(sizes);
  const episodes = new OmniglotTasks(images, { ways: c.metaWays, rotations: true }).sample(new Rng(9), { tasks: 20, shots: 1, queries: 1 });
  const net = fewShotNet(c, c.metaWays);

  it("on training episodes, the query loss through fewShotLogits equals the meta-training loss", () => {
    const train = mamlMetaGradient(run.params, episodes, net, { innerSteps: c.innerSteps, innerLr: c.innerLr, loss: "cross-entropy", fastPath: "off" });
    disposeParams(train.grads);
    const logits = fewShotLogits(run, episodes, sizes);
    const test = tf.tidy(() => summedTaskLoss("cross-entropy", logits, episodes.queryY).dataSync()[0]! / 20);
    logits.dispose();
    expect(train.loss).toBeLessThan(Math.log(c.metaWays) - 0.3); // it learned something
    expect(test).toBeCloseTo(train.loss, 4);
  });

  it("the support loss falls at every test-time inner step, and the query error is far below chance", () => {
    const losses: number[] = [];
    const adapted = adaptSgd(run.params, { x: episodes.supportX, y: episodes.supportY }, net, {
      steps: c.testInnerSteps, lr: c.testInnerLr, loss: "cross-entropy",
      onStep: (_s, p) => losses.push(tf.tidy(() => summedTaskLoss("cross-entropy", net.apply(p, episodes.supportX), episodes.supportY).dataSync()[0]! / 20)),
    });
    disposeParams(adapted);
    for (let i = 1; i < losses.length; i++) expect(losses[i]!).toBeLessThan(losses[i - 1]!);
    expect(fewShotError(run, episodes, sizes)).toBeLessThan(0.5); // chance is 0.8
  });

  it("cleans up", () => {
    disposeParams(run.params);
    disposeBatch(episodes);
  });
});
