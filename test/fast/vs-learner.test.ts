import { describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/core/random";
import { disposeParams, type Params } from "../../src/core/params";
import { Mlp, type MlpConfig } from "../../src/models/mlp";
import { SineFamily } from "../../src/tasks/regression";
import { BlobClassification } from "../../src/tasks/classification";
import { disposeBatch } from "../../src/tasks/task-family";
import { adamStep, disposeAdam, initAdam, type AdamState } from "../../src/optim/adam";
import { clipByGlobalNorm } from "../../src/optim/clip";
import { disposeMamlState, initInnerLrs, initMamlState, Maml, mamlMetaGradient, mamlStep, type MamlOptions } from "../../src/learners/maml";
import { Reptile } from "../../src/learners/reptile";
import { Pretrain } from "../../src/learners/pretrain";
import { RidgeHead } from "../../src/learners/ridge";
import { relError } from "./rel-error";

describe("fast path inside the MAML learner", () => {
  it.each([
    { activation: "relu", steps: 1, firstOrder: false },
    { activation: "relu", steps: 5, firstOrder: false },
    { activation: "relu", steps: 2, firstOrder: true },
    { activation: "tanh", steps: 2, firstOrder: false },
  ] as const)("is selected automatically and matches fastPath: \"off\" ($activation, $steps steps, firstOrder=$firstOrder)", ({ activation, steps, firstOrder }) => {
    const config: MlpConfig = { sizes: [1, 40, 40, 1], activation };
    const model = new Mlp(config);
    const rng = new Rng(4);
    const params = model.init(rng);
    const batch = new SineFamily().sample(rng, { tasks: 8, shots: 10, queries: 10 });
    const before = tf.memory().numTensors;
    const fast = mamlMetaGradient(params, batch, model, { innerSteps: steps, firstOrder });
    const general = mamlMetaGradient(params, batch, model, { innerSteps: steps, firstOrder, fastPath: "off" });
    expect(fast.fastPath).toBe(true);
    expect(fast.fastPathReason).toBeNull();
    expect(general.fastPath).toBe(false);
    expect(Math.abs(fast.loss - general.loss) / general.loss).toBeLessThan(1e-5);
    expect(relError(fast.grads, general.grads)).toBeLessThan(1e-4);
    disposeParams(fast.grads);
    disposeParams(general.grads);
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
    disposeBatch(batch);
  });

  it.each([
    { name: "Finn MAML", options: {} },
    { name: "LSLR + multi-step + clipping + cosine + FO annealing", options: { innerSteps: 2, learnInnerLr: true, multiStepLoss: true, clipNorm: 1, cosine: { total: 10 }, firstOrderUntil: 2 } },
    { name: "ANIL", options: { adapt: "head" } },
  ] as const)("mamlStep on packed arrays gives the same bits as fast gradients + tensor Adam ($name)", ({ options }) => {
    const model = new Mlp({ sizes: [1, 20, 20, 1], activation: "relu" });
    const rng = new Rng(8);
    const start = tf.memory().numTensors;
    const init = model.init(rng);
    const o: Partial<MamlOptions> = { ...options, outerLr: 3e-3 };
    const family = new SineFamily();
    let state = initMamlState(init, o);
    // Reference: the tensor form of the same step (fast meta-gradient, tfjs clipping and Adam), written out.
    let params: Params = init;
    let lrs: Params | null = o.learnInnerLr ? initInnerLrs(init, o) : null;
    let adam: AdamState = initAdam(lrs ? { ...init, ...lrs } : init);
    for (let s = 0; s < 6; s++) {
      const batch = family.sample(rng, { tasks: 5, shots: 10, queries: 10 });
      const r = mamlStep(state, batch, model, o);
      expect(r.fastPath.fast).toBe(true);
      disposeMamlState(state);
      state = r.state;
      const mg = mamlMetaGradient(params, batch, model, { ...o, fastPath: "require" }, { step: s, innerLrs: lrs });
      if (o.clipNorm) expect(Math.abs(mg.loss - r.loss) / r.loss).toBeLessThan(1e-5);
      else expect(mg.loss).toBe(r.loss);
      let grads: Params = mg.innerLrGrads ? { ...mg.grads, ...mg.innerLrGrads } : mg.grads;
      if (o.clipNorm) {
        // The typed-array clip sums squares in float64, tfjs in float32: compare the clipped step loosely below.
        const c = clipByGlobalNorm(grads, o.clipNorm).grads;
        disposeParams(grads);
        grads = c;
      }
      const cos = o.cosine ? 0.5 * 3e-3 * (1 + Math.cos((Math.PI * s) / o.cosine.total)) : 3e-3;
      const next = adamStep(lrs ? { ...params, ...lrs } : params, grads, adam, { lr: cos });
      disposeParams(grads);
      if (params !== init) disposeParams(params);
      if (lrs) disposeParams(lrs);
      disposeAdam(adam);
      params = Object.fromEntries(Object.keys(init).map((k) => [k, next.params[k]!]));
      lrs = lrs ? Object.fromEntries(Object.keys(next.params).filter((k) => !(k in init)).map((k) => [k, next.params[k]!])) : null;
      adam = next.state;
      disposeBatch(batch);
    }
    for (const k of Object.keys(init)) {
      const a = state.params[k]!.dataSync();
      const b = params[k]!.dataSync();
      if (o.clipNorm) expect(relError({ k: state.params[k]! }, { k: params[k]! })).toBeLessThan(1e-5);
      else expect(Array.from(a)).toEqual(Array.from(b));
    }
    if (lrs) for (const k of Object.keys(lrs)) expect(state.innerLrs![k]!.dataSync()[0]).toBeCloseTo(lrs[k]!.dataSync()[0]!, 6);
    disposeMamlState(state);
    disposeParams(params);
    if (lrs) disposeParams(lrs);
    disposeAdam(adam);
    disposeParams(init);
    expect(tf.memory().numTensors).toBe(start);
  });

  it("learners on the fast path start packed, so training leaves the number of live tensors unchanged (notebooks' noLeak)", () => {
    const model = new Mlp({ sizes: [1, 20, 20, 1], activation: "relu" });
    const rng = new Rng(6);
    const init = model.init(rng);
    const family = new SineFamily();
    for (const make of [() => new Maml(model, init), () => new Maml(model, init, { adapt: "head", learnInnerLr: true }), () => new Reptile(model, init), () => new Pretrain(model, init), () => new RidgeHead(model, init)]) {
      const learner = make();
      const before = tf.memory().numTensors;
      learner.train(family, rng.fork("t"), { iterations: 3, spec: { tasks: 4, shots: 5, queries: 5 } });
      expect(tf.memory().numTensors).toBe(before);
      expect(learner.lastPath).toEqual({ fast: true, reason: null });
      expect(Object.keys(learner.params).length).toBe(6); // tensors are made on demand
      learner.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    disposeParams(init);
  });

  it("the Maml learner says which path ran and why; \"require\" throws the reason", () => {
    const rng = new Rng(1);
    const model = new Mlp({ sizes: [8, 16, 5], activation: "relu" });
    const init = model.init(rng);
    const family = new BlobClassification();
    const batch = family.sample(rng, { tasks: 2, shots: 1, queries: 2 });
    const fast = new Maml(model, init, { loss: "cross-entropy" });
    expect(fast.lastPath).toBeNull();
    fast.step(batch);
    expect(fast.lastPath).toEqual({ fast: true, reason: null });
    const off = new Maml(model, init, { loss: "cross-entropy", fastPath: "off" });
    off.step(batch);
    expect(off.lastPath).toEqual({ fast: false, reason: 'fastPath is "off"' });
    const notMlp = { apply: (p: Params, x: tf.Tensor) => model.apply(p, x) };
    const other = new Maml(notMlp, init, { loss: "cross-entropy" });
    other.step(batch);
    expect(other.lastPath?.fast).toBe(false);
    expect(other.lastPath?.reason).toMatch(/a plain object, not an Mlp/);
    const strict = new Maml(notMlp, init, { loss: "cross-entropy", fastPath: "require" });
    expect(() => strict.step(batch)).toThrow(/fastPath is "require", but .*fall back/);
    expect(() => new Maml(model, init, { fastPath: "fast" as never })).toThrow(/"auto", "off" or "require"/);
    [fast, off, other, strict].forEach((m) => m.dispose());
    disposeParams(init);
    disposeBatch(batch);
  });
});
