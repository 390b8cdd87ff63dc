/**
 * Notebook 04's BatchNorm evaluation modes measured again on real images: a BN-MLP meta-trained with second-order
 * MAML on 5-way 1-shot Omniglot episodes (background characters), then scored on episodes from held-out characters
 * under each BN evaluation mode (transductive, per-example, support, support-plus-one, running).
 */
import type { Rng } from "../core/random";
import { DEFAULT_BN_MLP, type BnMlpConfig } from "../models/batchnorm";
import { bnMamlEvaluate, bnMamlOptions, bnMamlStep, disposeBnMaml, initBnMaml, DEFAULT_BN_MAML, type BnEvalMode, type BnMamlOptions, type BnMamlState } from "../learners/bn-maml";
import { trainLoop } from "../learners/train";
import { batchSpec, disposeBatch, type BatchSpec } from "../tasks/task-family";
import { checkInteger, checkIntegerList, checkOneOf, withDefaults } from "../core/validate";
import type { OmniglotImages } from "../data/omniglot";
import { OmniglotTasks, splitCharacters } from "../data/omniglot-tasks";

/** Settings of the Omniglot BN-modes run. */
export interface OmniglotBnConfig {
  readonly ways: number;
  /** Hidden widths of the BN-MLP (input 28² and output `ways` are added). */
  readonly hidden: readonly number[];
  readonly maml: BnMamlOptions;
  readonly steps: number;
  readonly train: BatchSpec;
  readonly test: BatchSpec;
  /** Characters held out of meta-training for the test episodes. */
  readonly heldOut: number;
  readonly modes: readonly BnEvalMode[];
}

/** Defaults: 5-way 1-shot, 784-64-64-5 BN-MLP, 2 inner steps (notebook 04 runs a smaller, shorter version). */
export const DEFAULT_OMNIGLOT_BN: OmniglotBnConfig = {
  ways: 5, // the common few-shot setting, as in notebook 04
  hidden: [64, 64], // small enough for the notebook's budget; BN after each hidden layer
  maml: { ...DEFAULT_BN_MAML, innerSteps: 2 }, // Finn's inner rate 0.4, two steps as in notebook 04
  steps: 300, // a few hundred steps: the BN gaps are visible long before convergence
  train: { tasks: 8, shots: 1, queries: 5 }, // 8 episodes per meta-batch, 5 queries per class
  test: { tasks: 100, shots: 1, queries: 5 }, // 100 held-out episodes: accuracy standard error about 2%
  heldOut: 42, // about a sixth of the 242 small-background characters
  modes: ["transductive", "per-example", "support", "support-plus-one", "running"],
};

const BN_EVAL_MODES: readonly BnEvalMode[] = ["transductive", "per-example", "support", "support-plus-one", "running"];

/** The Omniglot BN-modes config with defaults filled in; throws a fix-it error for a bad or unknown field. */
export function omniglotBnConfig(config: Partial<OmniglotBnConfig> = {}): OmniglotBnConfig {
  const WHO = "OmniglotBnConfig";
  const c = withDefaults(WHO, config, DEFAULT_OMNIGLOT_BN, { name: "config" });
  checkInteger(WHO, "ways", c.ways, 2, "Few-shot episodes need at least 2 classes; 5 is the common setting.");
  checkIntegerList(WHO, "hidden", c.hidden, 1, 1, "Example: [64, 64].");
  bnMamlOptions(c.maml);
  checkInteger(WHO, "steps", c.steps, 1);
  batchSpec(c.train, `${WHO}.train`, true);
  batchSpec(c.test, `${WHO}.test`, true);
  checkInteger(WHO, "heldOut", c.heldOut, 1, "Hold out some characters (the default 42 of 242) for the test episodes.");
  if (!Array.isArray(c.modes) || c.modes.length === 0) throw new Error(`${WHO} modes must list at least one of ${BN_EVAL_MODES.map((m) => `"${m}"`).join(", ")}.`);
  for (const m of c.modes) checkOneOf(WHO, "modes entry", m, BN_EVAL_MODES);
  return c;
}

/** One evaluation row. */
export interface OmniglotBnRow {
  readonly mode: BnEvalMode;
  readonly accuracy: number;
  readonly loss: number;
}

/** Meta-trains the BN-MLP and scores the held-out episodes under every mode (the same episodes for each mode). */
export function runOmniglotBnModes(images: OmniglotImages, config: Partial<OmniglotBnConfig>, rng: Rng, onProgress?: (step: number, total: number, loss: number) => void): { curve: { step: number; loss: number }[]; results: OmniglotBnRow[] } {
  const c = omniglotBnConfig(config);
  const split = splitCharacters(images, c.heldOut, rng.fork("split"));
  const train = new OmniglotTasks(images, { ways: c.ways, rotations: true, characters: split.train });
  const test = new OmniglotTasks(images, { ways: c.ways, rotations: true, characters: split.validation });
  const model: BnMlpConfig = { ...DEFAULT_BN_MLP, sizes: [images.size * images.size, ...c.hidden, c.ways] };
  let state: BnMamlState = initBnMaml(rng.fork("init"), model);
  const losses = trainLoop(train, rng.fork("train"), { iterations: c.steps, spec: c.train, onProgress }, (b) => {
    const r = bnMamlStep(state, b, model, c.maml);
    state = r.state;
    return r.loss;
  });
  const batch = test.sample(rng.fork("test"), c.test);
  const results = c.modes.map((mode) => {
    const r = bnMamlEvaluate(state, batch, model, mode, c.maml);
    return { mode, accuracy: r.accuracy, loss: r.loss };
  });
  disposeBatch(batch);
  disposeBnMaml(state);
  return { curve: Array.from(losses, (loss, i) => ({ step: i + 1, loss })), results };
}
