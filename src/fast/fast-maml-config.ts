/**
 * Field-by-field checks of `FastMamlTrainerConfig`: types, ranges and unknown keys. Whether a valid config can take
 * the fast path at all (activation, loss, model) is the eligibility check's job (`checkFastPath`), which says why not.
 */
import { checkBoolean, checkConfig, checkInteger, checkNonNegative, checkOneOf } from "../core/validate";
import { mlpConfig } from "../models/mlp";
import { adamConfig } from "../optim/adam";
import type { FastMamlTrainerConfig } from "./fast-maml-trainer";
import { checkWorkers } from "./worker-pool";

/** The keys of `FastMamlTrainerConfig`: any other key is a typo and an error. */
export const FAST_MAML_TRAINER_KEYS: { readonly [K in keyof FastMamlTrainerConfig]-?: true } = {
  model: true,
  innerSteps: true,
  innerLr: true,
  firstOrder: true,
  loss: true,
  adam: true,
  backend: true,
  workers: true,
};

/** Checks a `FastMamlTrainer` config field by field (unknown keys are errors); returns it unchanged. */
export function fastMamlTrainerConfig(c: FastMamlTrainerConfig): FastMamlTrainerConfig {
  const WHO = "FastMamlTrainer";
  checkConfig(WHO, c, FAST_MAML_TRAINER_KEYS, { name: "config", hint: "Pass { model, innerSteps, innerLr, firstOrder }, e.g. { model: FINN_SINE_MLP, innerSteps: 1, innerLr: 0.01, firstOrder: false }.", keysWho: `${WHO} config` });
  mlpConfig(c.model, `${WHO} model`);
  checkInteger(WHO, "innerSteps", c.innerSteps, 0, "Finn et al. use 1 for sines; 0 trains the initialisation alone.");
  checkNonNegative(WHO, "innerLr", c.innerLr, "Finn et al. use 0.01.");
  checkBoolean(WHO, "firstOrder", c.firstOrder);
  if (c.loss !== undefined) checkOneOf(WHO, "loss", c.loss, ["mse", "cross-entropy"] as const);
  if (c.backend !== undefined) checkOneOf(WHO, "backend", c.backend, ["wasm-simd", "js"] as const);
  if (c.adam !== undefined) adamConfig(c.adam);
  if (c.workers !== undefined) checkWorkers(WHO, c.workers);
  return c;
}
