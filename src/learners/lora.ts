/**
 * Low-rank adaptation (LoRA; Hu et al. 2021) of an MLP's hidden weights: w_l + (alpha / r) A_l B_l with A_l [in, r]
 * Gaussian and B_l [r, out] zero, so adaptation starts exactly at the base model. Only the adapters (and optionally
 * the head) train; the base weights stay frozen.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { headNames, layerParamNames, mlpApply, type MlpConfig } from "../models/mlp";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { checkConfig, checkInteger, checkIntegerList, checkPositive } from "../core/validate";
import { adaptSgd } from "./adapt-sgd";
import { checkAdapterBudget, evaluateAdapted, type AdaptationRow } from "./adaptation";

/** Shape of the adapters. */
export interface LoraConfig {
  /** Rank r of every adapter. */
  readonly rank: number;
  /** Scale numerator: the update is (alpha / r) A B. */
  readonly alpha: number;
  /** Layers to adapt (indices of w0, w1, ...); default every hidden layer, i.e. all but the head. */
  readonly layers?: readonly number[];
}

/** Default adapters: rank 2, alpha = rank (scale 1), as small as is still useful on 40-unit layers. */
export const DEFAULT_LORA: LoraConfig = {
  rank: 2, // a few directions per layer is the LoRA premise
  alpha: 2, // alpha = r gives scale 1, so lr means the same for any rank
};

/** Every key `LoraConfig` may have (`layers` defaults to every hidden layer). */
const LORA_KEYS: Record<keyof LoraConfig, unknown> = { ...DEFAULT_LORA, layers: undefined };

/** Checks adapter shapes field by field (unknown keys are errors); returns it unchanged. */
export function loraConfig(lora: LoraConfig, who = "LoRA"): LoraConfig {
  checkConfig(who, lora, LORA_KEYS, { name: "config", hint: "Pass { rank, alpha }, e.g. DEFAULT_LORA.", keysWho: `${who} config` });
  checkInteger(who, "rank", lora.rank, 1, "Hu et al. use 1 to 8.");
  checkPositive(who, "alpha", lora.alpha, "alpha = rank gives scale 1.");
  if (lora.layers !== undefined) checkIntegerList(who, "layers", lora.layers, 0, 1, "List weight indices (0 for w0), or leave it out for every hidden layer.");
  return lora;
}

/** Every key `LoraAdaptOptions` may have, each with its default (`undefined`: required). */
const LORA_ADAPT_KEYS: Record<keyof LoraAdaptOptions, unknown> = {
  steps: undefined, // required
  lr: undefined, // required
  loss: "mse", // regression is the common case in the labs
  trainHead: false, // adapters alone, as in Hu et al.
  lora: DEFAULT_LORA, // rank 2, scale 1
};

/** Checks `adaptLora`'s options field by field (unknown keys are errors); returns them unchanged. */
export function loraAdaptOptions(o: LoraAdaptOptions): LoraAdaptOptions {
  const WHO = "adaptLora";
  checkConfig(WHO, o, LORA_ADAPT_KEYS, { hint: "Pass { steps, lr }.", keysWho: "adaptLora options" });
  checkAdapterBudget(WHO, o);
  if (o.lora !== undefined) loraConfig(o.lora, "adaptLora lora");
  return o;
}

/** Layer indices that get adapters. */
function loraLayers(config: MlpConfig, lora: LoraConfig): number[] {
  const L = config.sizes.length - 1;
  const layers = lora.layers ? [...lora.layers] : Array.from({ length: L - 1 }, (_, l) => l);
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= L) throw new Error(`LoRA layer ${l} does not exist; the MLP has weights w0..w${L - 1}.`);
  return layers;
}

/** Fresh adapters `loraA{l}` [in, r] ~ N(0, 1/in) and `loraB{l}` [r, out] = 0 for every adapted layer. */
export function initLora(rng: Rng, config: MlpConfig, lora: LoraConfig = DEFAULT_LORA): Params {
  loraConfig(lora);
  const out: Record<string, tf.Tensor> = {};
  for (const l of loraLayers(config, lora)) {
    const fanIn = config.sizes[l]!;
    out[`loraA${l}`] = rng.normalTensor([fanIn, lora.rank], 0, 1 / Math.sqrt(fanIn));
    out[`loraB${l}`] = tf.zeros([lora.rank, config.sizes[l + 1]!]);
  }
  return out;
}

/**
 * Base params with adapted weights w_l + (alpha / r) A_l B_l. Adapters (and any overriding head in `adapter`) may carry
 * a leading task dimension; then the adapted weights and their biases become task-batched too.
 */
export function mergeLora(base: Params, adapter: Params, config: MlpConfig, lora: LoraConfig = DEFAULT_LORA): Params {
  const out: Record<string, tf.Tensor> = { ...base };
  for (const [k, v] of Object.entries(adapter)) if (!k.startsWith("lora")) out[k] = v; // e.g. a trained head
  const scale = lora.alpha / lora.rank;
  for (const l of loraLayers(config, lora)) {
    const A = adapter[`loraA${l}`];
    const B = adapter[`loraB${l}`];
    if (!A || !B) throw new Error(`LoRA adapter for layer ${l} is missing (loraA${l}, loraB${l}); build it with initLora from the same configs.`);
    const delta = tf.mul(tf.matMul(A, B), scale); // [in, out] or [tasks, in, out]
    const [w, b] = layerParamNames(l);
    out[w] = tf.add(base[w]!, delta);
    const bias = out[b]!;
    if (delta.rank === 3 && bias.rank === 1) out[b] = tf.tile(tf.expandDims(bias, 0), [delta.shape[0]!, 1]); // [tasks, out]
  }
  return out;
}

/** Options of `adaptLora`. */
export interface LoraAdaptOptions {
  readonly steps: number;
  readonly lr: number;
  /** Loss; default "mse". */
  readonly loss?: TaskLoss;
  /** Also train the head (last layer); default false. */
  readonly trainHead?: boolean;
  /** Adapter shape; default DEFAULT_LORA. */
  readonly lora?: LoraConfig;
}

/** Result of `adaptLora`: task-batched adapters, merged params ready for mlpApply, trainable count and history. */
export interface LoraResult {
  readonly adapter: Params;
  readonly params: Params;
  /** Scalars trained per task. */
  readonly trainableParams: number;
  readonly history: AdaptationRow[];
}

/** Adapts a frozen base MLP to every task of `batch` by SGD on LoRA adapters (and optionally the head). */
export function adaptLora(base: Params, batch: TaskBatch, config: MlpConfig, options: LoraAdaptOptions, rng: Rng): LoraResult {
  loraAdaptOptions(options);
  const lora = options.lora ?? DEFAULT_LORA;
  const loss = options.loss ?? "mse";
  const init: Record<string, tf.Tensor> = { ...initLora(rng, config, lora) };
  if (options.trainHead) for (const k of headNames(config)) init[k] = base[k]!.clone();
  const model = { apply: (p: Params, x: tf.Tensor) => mlpApply(mergeLora(base, p, config, lora), x, config) };
  const history: AdaptationRow[] = [];
  const adapter = adaptSgd(init, { x: batch.supportX, y: batch.supportY }, model, {
    steps: options.steps,
    lr: options.lr,
    loss,
    onStep: (s, p) => {
      const merged = tf.tidy(() => mergeLora(base, p, config, lora));
      history.push({ phase: "lora", step: s, ...evaluateAdapted(merged, batch, config, loss) });
      for (const [k, v] of Object.entries(merged)) if (v !== base[k] && v !== p[k]) v.dispose();
    },
  });
  for (const t of Object.values(init)) t.dispose();
  const params = tf.tidy(() => {
    const m = mergeLora(base, adapter, config, lora);
    const own: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(m)) own[k] = v.clone(); // new tensors the caller owns
    return own;
  });
  return { adapter, params, trainableParams: loraTrainableCount(config, lora, options.trainHead ?? false), history };
}

/** Number of scalars LoRA trains per task: adapters, plus the head if it trains too. */
export function loraTrainableCount(config: MlpConfig, lora: LoraConfig = DEFAULT_LORA, trainHead = false): number {
  let n = 0;
  for (const l of loraLayers(config, lora)) n += lora.rank * (config.sizes[l]! + config.sizes[l + 1]!);
  const L = config.sizes.length - 1;
  if (trainHead) n += (config.sizes[L - 1]! + 1) * config.sizes[L]!;
  return n;
}
