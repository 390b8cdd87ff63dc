/**
 * Soft-prompt adaptation of a frozen MLP: a learned input vector δ is added to every input of a task, x ↦ x + δ,
 * and only δ (and optionally the head) trains. It is the MLP analogue of prompt tuning (Lester et al. 2021) and of
 * visual prompting (Bahng et al. 2022): the network's weights never change; the task is steered through its input.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { headNames, mlpApply, type MlpConfig } from "../models/mlp";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { adaptSgd } from "./adapt-sgd";
import { checkAdapterBudget, evaluateAdapted, type AdaptationRow } from "./adaptation";
import { checkConfig } from "../core/validate";

/** Name of the prompt tensor in the adapted record: [1, in] shared, [tasks, 1, in] task-batched. */
export const PROMPT = "prompt";

/** Options of `adaptPrompt`. */
export interface PromptAdaptOptions {
  readonly steps: number;
  readonly lr: number;
  /** Loss; default "mse". */
  readonly loss?: TaskLoss;
  /** Also train the head (last layer); needed when the label set is new. Default false. */
  readonly trainHead?: boolean;
}

/** Result: task-batched trained numbers (prompt, head), merged params ready for `promptedApply`, count and history. */
export interface PromptResult {
  readonly trained: Params;
  readonly params: Params;
  /** Scalars trained per task. */
  readonly trainableParams: number;
  readonly history: AdaptationRow[];
}

/** Forward pass of the frozen MLP on prompted inputs x + δ; `params` holds the MLP's weights and `prompt`. */
export function promptedApply(params: Params, x: tf.Tensor, config: MlpConfig): tf.Tensor {
  const delta = params[PROMPT];
  if (!delta) throw new Error(`promptedApply: the parameter record has no "${PROMPT}"; add a [1, ${config.sizes[0]}] prompt (zeros to start).`);
  return mlpApply(params, tf.add(x, delta), config); // δ [1, in] or [tasks, 1, in] broadcasts over points
}

/** The batch with every input moved by its task's prompt (support and query sets). */
function prompted(batch: TaskBatch, delta: tf.Tensor): TaskBatch {
  return { ...batch, supportX: tf.add(batch.supportX, delta) as tf.Tensor3D, queryX: tf.add(batch.queryX, delta) as tf.Tensor3D };
}

/** Every key `PromptAdaptOptions` may have, each with its default (`undefined`: required). */
const PROMPT_ADAPT_KEYS: Record<keyof PromptAdaptOptions, unknown> = {
  steps: undefined, // required
  lr: undefined, // required
  loss: "mse", // regression is the common case in the labs
  trainHead: false, // the prompt alone, as in Lester et al.
};

/** Checks `adaptPrompt`'s options field by field (unknown keys are errors); returns them unchanged. */
export function promptAdaptOptions(o: PromptAdaptOptions): PromptAdaptOptions {
  const WHO = "adaptPrompt";
  checkConfig(WHO, o, PROMPT_ADAPT_KEYS, { hint: "Pass { steps, lr }.", keysWho: "adaptPrompt options" });
  checkAdapterBudget(WHO, o);
  return o;
}

/** Adapts a frozen base MLP to every task of `batch` by SGD on a soft prompt (and optionally the head), from δ = 0. */
export function adaptPrompt(base: Params, batch: TaskBatch, config: MlpConfig, options: PromptAdaptOptions): PromptResult {
  promptAdaptOptions(options);
  const loss = options.loss ?? "mse";
  const inDim = config.sizes[0]!;
  const init: Record<string, tf.Tensor> = { [PROMPT]: tf.zeros([1, inDim]) };
  if (options.trainHead) for (const k of headNames(config)) init[k] = base[k]!.clone();
  const model = { apply: (p: Params, x: tf.Tensor) => promptedApply({ ...base, ...p }, x, config) };
  const history: AdaptationRow[] = [];
  const trained = adaptSgd(init, { x: batch.supportX, y: batch.supportY }, model, {
    steps: options.steps,
    lr: options.lr,
    loss,
    onStep: (s, p) => {
      const moved = prompted(batch, p[PROMPT]!);
      history.push({ phase: "prompt", step: s, ...evaluateAdapted({ ...base, ...p }, moved, config, loss) });
      tf.dispose([moved.supportX, moved.queryX]);
    },
  });
  for (const t of Object.values(init)) t.dispose();
  const params: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries({ ...base, ...trained })) params[k] = v.clone();
  const headCount = options.trainHead ? (config.sizes[config.sizes.length - 2]! + 1) * config.sizes[config.sizes.length - 1]! : 0;
  return { trained, params, trainableParams: inDim + headCount, history };
}
