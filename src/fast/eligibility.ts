/**
 * The one check that decides whether a learner's step can run on the fast path (src/fast), and says why not.
 * Learners call `decideFastPath` with their `fastPath` option: "auto" uses the fast path when the check passes and
 * reports the reason when it does not, "off" never uses it, "require" throws the reason instead of falling back.
 * The model is recognised by its shape (a constructor named `Mlp` with an MLP config), not by `instanceof`, so two
 * copies of metalab in one process still agree.
 */
import type { Params } from "../core/params";
import { layerParamNames, type MlpConfig } from "../models/mlp";
import type { BnMlpConfig } from "../models/batchnorm";
import type { TaskBatch, TaskLoss } from "../tasks/task-family";
import { FAST_ACTIVATIONS } from "./mlp-net";
import { bnParamLayout, bnStateLayout } from "./bn-mlp-net";
import type { Layout } from "./pack";

/** The `fastPath` option of the learners that have one. */
export type FastPathMode = "auto" | "off" | "require";

/** The accepted values of `fastPath`. */
export const FAST_PATH_MODES: readonly FastPathMode[] = ["auto", "off", "require"];

/** Which path a step took and, when it was not the fast one, why. */
export interface FastPathReport {
  readonly fast: boolean;
  /** One line, for logs and notebooks; null when the fast path ran. */
  readonly reason: string | null;
}

/** What the check reads of a parameter: tensors qualify, and so do the shapes of packed parameters. */
export type ShapeRecord = Readonly<Record<string, { readonly shape: readonly number[]; readonly rank: number; readonly dtype: string }>>;

/** The learner's request, as far as the fast path cares. */
export interface FastPathQuery {
  /** Which fast kernel: MAML and its variants, Reptile, joint pretraining, or the ridge head. */
  readonly algorithm: "maml" | "reptile" | "pretrain" | "ridge";
  readonly model: unknown;
  readonly params: Params | ShapeRecord;
  readonly loss: TaskLoss;
  readonly batch?: TaskBatch;
  /** Parameters the inner loop adapts (MAML), all by default. */
  readonly adapted?: readonly string[];
  /** Learned inner rates (MAML++ LSLR, Meta-SGD): the record and the [key, parameter] pairs it must hold. */
  readonly learnedRates?: { readonly params: Params | ShapeRecord; readonly expected: readonly (readonly [string, string])[] };
}

/** Verdict of the check: the MLP config the kernels need, or the reason the fast path cannot run. */
export type FastPathCheck = { readonly ok: true; readonly config: MlpConfig } | { readonly ok: false; readonly reason: string };

/** Checks a `fastPath` option value; throws with the accepted values otherwise. */
export function fastPathMode(value: unknown, who: string): FastPathMode {
  if (value === true) return "auto";
  if (value === false) return "off";
  if (typeof value === "string" && (FAST_PATH_MODES as readonly string[]).includes(value)) return value as FastPathMode;
  throw new Error(`${who}: fastPath must be "auto", "off" or "require", got ${JSON.stringify(value)}.`);
}

/** The MLP config of `model` when it is metalab's plain `Mlp`, else the reason it is not. */
export function mlpConfigOf(model: unknown): FastPathCheck {
  if (typeof model !== "object" || model === null) return { ok: false, reason: "the model is not an object with apply(params, x)" };
  const name = (model as { constructor?: { name?: unknown } }).constructor?.name;
  const config = (model as { config?: unknown }).config;
  if (name !== "Mlp") {
    const what = typeof name !== "string" || name === "" || name === "Object" ? "a plain object" : `a ${name}`;
    return { ok: false, reason: `the model is ${what}, not an Mlp: the fast path is derived by hand for metalab's plain Mlp only` };
  }
  if (typeof config !== "object" || config === null) return { ok: false, reason: "the Mlp has no config" };
  const { sizes, activation } = config as Partial<MlpConfig>;
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) return { ok: false, reason: `the Mlp's sizes ${JSON.stringify(sizes)} are not at least two positive integers` };
  if (typeof activation !== "string" || !(FAST_ACTIVATIONS as readonly string[]).includes(activation)) return { ok: false, reason: `activation "${String(activation)}" has no hand-derived second derivative (fast: ${FAST_ACTIVATIONS.join(", ")})` };
  return { ok: true, config: { sizes: [...sizes], activation } };
}

/** Whether the request can run on the fast path, with the reason when it cannot. */
export function checkFastPath(q: FastPathQuery): FastPathCheck {
  const m = mlpConfigOf(q.model);
  if (!m.ok) return m;
  const { sizes } = m.config;
  const L = sizes.length - 1;
  if (q.loss !== "mse" && q.loss !== "cross-entropy") return { ok: false, reason: `loss "${String(q.loss)}" has no fast kernel (fast: mse, cross-entropy)` };
  if (q.algorithm === "ridge" && q.loss !== "mse") return { ok: false, reason: "the ridge head is a least-squares fit: its fast path is for the mse loss" };
  if (q.algorithm === "ridge" && L < 2) return { ok: false, reason: "the ridge head needs an MLP with a hidden layer" };
  const names = Object.keys(q.params);
  if (names.length !== 2 * L) return { ok: false, reason: `expected the ${2 * L} MLP parameters w0, b0, ..., got [${names.join(", ")}]` };
  for (let l = 0; l < L; l++) {
    const [wName, bName] = layerParamNames(l);
    const w = q.params[wName];
    const b = q.params[bName];
    if (!w || !b) return { ok: false, reason: `parameter ${wName} or ${bName} is missing from [${names.join(", ")}]` };
    if (w.dtype !== "float32" || b.dtype !== "float32") return { ok: false, reason: "parameters must be float32" };
    if (w.rank !== 2 || w.shape[0] !== sizes[l] || w.shape[1] !== sizes[l + 1]) return { ok: false, reason: `${wName} has shape [${w.shape}], expected [${sizes[l]}, ${sizes[l + 1]}] (task-batched weights are not supported)` };
    if (b.rank !== 1 || b.shape[0] !== sizes[l + 1]) return { ok: false, reason: `${bName} has shape [${b.shape}], expected [${sizes[l + 1]}]` };
  }
  for (const k of q.adapted ?? []) if (!q.params[k]) return { ok: false, reason: `adapted parameter "${k}" is not one of [${names.join(", ")}]` };
  if (q.learnedRates) {
    for (const [key, param] of q.learnedRates.expected) {
      const r = q.learnedRates.params[key];
      if (!r) return { ok: false, reason: `learned inner rate "${key}" is missing` };
      const p = q.params[param]!;
      if (r.dtype !== "float32") return { ok: false, reason: `learned inner rate "${key}" must be float32` };
      if (r.rank !== 0 && (r.rank !== p.rank || r.shape.some((d, i) => d !== p.shape[i]))) return { ok: false, reason: `learned inner rate "${key}" has shape [${r.shape}]; the fast path takes a scalar or the shape of ${param}, [${p.shape}]` };
    }
  }
  if (q.batch) {
    const b = checkBatch(q.batch, sizes[0]!, sizes[L]!);
    if (b) return b;
  }
  return m;
}

/** The batch checks shared by every fast path: float32 [tasks, points, features] with matching widths. */
function checkBatch(batch: TaskBatch, din: number, dout: number): FastPathCheck | null {
  const { supportX, supportY, queryX, queryY } = batch;
  const all = [supportX, supportY, queryX, queryY];
  if (all.some((t) => t.rank !== 3 || t.dtype !== "float32")) return { ok: false, reason: "batch tensors must be float32 [tasks, points, features]" };
  const tasks = supportX.shape[0];
  if (tasks < 1 || all.some((t) => t.shape[0] !== tasks)) return { ok: false, reason: "batch tensors disagree on the number of tasks" };
  if (supportX.shape[2] !== din || queryX.shape[2] !== din) return { ok: false, reason: `inputs have ${supportX.shape[2]} features, the model expects ${din}` };
  if (supportY.shape[2] !== dout || queryY.shape[2] !== dout) return { ok: false, reason: `targets have ${supportY.shape[2]} outputs, the model has ${dout}` };
  if (supportY.shape[1] !== supportX.shape[1] || queryY.shape[1] !== queryX.shape[1]) return { ok: false, reason: "inputs and targets disagree on the number of points" };
  if (supportX.shape[1] < 1 || queryX.shape[1] < 1) return { ok: false, reason: "support and query sets must be non-empty" };
  return null;
}

/** Whether a record has exactly a layout's float32 entries and shapes; the reason when not. */
function checkRecord(what: string, rec: Params | ShapeRecord, layout: Layout): string | null {
  const names = Object.keys(rec);
  if (names.length !== layout.names.length || layout.names.some((k) => !rec[k])) return `expected the ${what} [${layout.names.join(", ")}], got [${names.join(", ")}]`;
  for (let i = 0; i < layout.names.length; i++) {
    const t = rec[layout.names[i]!]!;
    const shape = layout.shapes[i]!;
    if (t.dtype !== "float32") return `${what} must be float32`;
    if (t.rank !== shape.length || t.shape.some((d, j) => d !== shape[j])) return `${layout.names[i]} has shape [${t.shape}], expected [${shape}] (task-batched ${what} are not supported)`;
  }
  return null;
}

/** A BN-MAML request (learners/bn-maml.ts) as far as its fast path cares. */
export interface BnFastPathQuery {
  readonly config: BnMlpConfig;
  readonly params: Params | ShapeRecord;
  readonly state: Params | ShapeRecord;
  readonly loss: TaskLoss;
  readonly batch?: TaskBatch;
}

/** Whether a BN-MAML step or evaluation can run on the fast path (src/fast/bn-maml.ts), with the reason when not. */
export function checkBnFastPath(q: BnFastPathQuery): FastPathCheck {
  const { sizes, activation } = q.config;
  if (!Array.isArray(sizes) || sizes.length < 3 || sizes.some((s) => !Number.isInteger(s) || s < 1)) return { ok: false, reason: `the BN-MLP's sizes ${JSON.stringify(sizes)} are not at least three positive integers` };
  if (!(FAST_ACTIVATIONS as readonly string[]).includes(activation)) return { ok: false, reason: `activation "${String(activation)}" has no hand-derived second derivative (fast: ${FAST_ACTIVATIONS.join(", ")})` };
  if (q.loss !== "mse" && q.loss !== "cross-entropy") return { ok: false, reason: `loss "${String(q.loss)}" has no fast kernel (fast: mse, cross-entropy)` };
  const p = checkRecord("BN-MLP parameters", q.params, bnParamLayout(q.config));
  if (p) return { ok: false, reason: p };
  const s = checkRecord("running statistics", q.state, bnStateLayout(q.config));
  if (s) return { ok: false, reason: s };
  if (q.batch) {
    const b = checkBatch(q.batch, sizes[0]!, sizes[sizes.length - 1]!);
    if (b) return b;
  }
  return { ok: true, config: { sizes: [...sizes], activation } };
}

/**
 * Applies the `fastPath` mode to the check: whether to take the fast path, and the report to give.
 * `check` runs only when the mode is not "off"; "require" turns a failed check into an error that says how to fix it.
 */
export function decideFastPath(mode: FastPathMode, check: () => FastPathCheck, who: string): { readonly use: MlpConfig | null; readonly report: FastPathReport } {
  if (mode === "off") return { use: null, report: { fast: false, reason: 'fastPath is "off"' } };
  const c = check();
  if (c.ok) return { use: c.config, report: { fast: true, reason: null } };
  if (mode === "require") throw new Error(`${who}: fastPath is "require", but ${c.reason}. Use fastPath: "auto" to fall back to the general tfjs path.`);
  return { use: null, report: { fast: false, reason: c.reason } };
}
