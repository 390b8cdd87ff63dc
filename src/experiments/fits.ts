/**
 * Data for few-shot fit figures (Finn et al. 2017, Figure 2): a model's predictions on a grid after 0, 1, ... SGD
 * steps on a task's K support points, as rows for `fitsChart`.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { adaptSgd } from "../learners/adapt-sgd";
import type { TaskModel } from "../learners/model";
import { checkConfig, checkIntegerList, checkNonNegative, checkObject } from "../core/validate";

/** One model to draw: its initialisation and how it is called. */
export interface FitModel {
  /** Prefix of the series names ("MAML, 1 step"); "" gives bare names ("1 step"). */
  readonly name: string;
  readonly params: Params;
  readonly model: TaskModel;
}

/** Options of `fitRows`. */
export interface FitRowsOptions {
  /** Support inputs and targets of ONE task. */
  readonly supportX: Float32Array;
  readonly supportY: Float32Array;
  /** Grid the predictions are drawn on. */
  readonly grid: Float32Array;
  /** Adaptation steps to draw (e.g. [0, 1, 10]); 0 is the initialisation ("pre-update"). */
  readonly steps: readonly number[];
  /** SGD step size (Finn et al. use 0.01 at test time, as in training). */
  readonly lr: number;
  /** Extra fields copied onto every row (e.g. { panel: "MAML, K=5" }). */
  readonly extra?: Readonly<Record<string, string | number>>;
}

/** A row of fit data: x, y, the series name and any extra fields. */
export type FitRow = Readonly<Record<string, string | number>>;

/** Every key `FitRowsOptions` may have (`extra` is optional: no extra fields). */
const FIT_ROWS_KEYS: Record<keyof FitRowsOptions, unknown> = { supportX: undefined, supportY: undefined, grid: undefined, steps: undefined, lr: undefined, extra: undefined };

/** Checks `fitRows`'s options field by field (unknown keys are errors); returns them unchanged. */
export function fitRowsOptions(o: FitRowsOptions): FitRowsOptions {
  const WHO = "fitRows";
  checkConfig(WHO, o, FIT_ROWS_KEYS, { hint: "Pass { supportX, supportY, grid, steps, lr }.", keysWho: "fitRows options" });
  for (const k of ["supportX", "supportY", "grid"] as const) {
    if (!ArrayBuffer.isView(o[k])) throw new Error(`fitRows ${k} must be a Float32Array (one task's points, e.g. rng.uniformArray(10, -5, 5)), got ${String(o[k])}.`);
  }
  if (o.supportY.length !== o.supportX.length) throw new Error(`fitRows: ${o.supportX.length} support inputs but ${o.supportY.length} targets; pass one task's K points.`);
  checkIntegerList(WHO, "steps", o.steps, 0, 1, "List the step counts to draw, e.g. [0, 1, 10].");
  checkNonNegative(WHO, "lr", o.lr, "Finn et al. use 0.01.");
  if (o.extra !== undefined) {
    checkObject(WHO, "extra", o.extra, 'e.g. { panel: "MAML, K=5" }.');
    for (const [k, v] of Object.entries(o.extra)) if (typeof v !== "string" && typeof v !== "number") throw new Error(`fitRows extra.${k} must be a string or a number, got ${String(v)}.`);
  }
  return o;
}

/** Predictions of `m` on the grid after each requested number of SGD steps, one row per grid point and step. */
export function fitRows(m: FitModel, o: FitRowsOptions): FitRow[] {
  fitRowsOptions(o);
  const k = o.supportX.length;
  const maxStep = Math.max(0, ...o.steps);
  const wanted = new Set(o.steps);
  const rows: FitRow[] = [];
  const sx = tf.tensor3d(o.supportX, [1, k, 1]);
  const sy = tf.tensor3d(o.supportY, [1, k, 1]);
  const gx = tf.tensor3d(o.grid, [1, o.grid.length, 1]);
  try {
    const adapted = adaptSgd(m.params, { x: sx, y: sy }, m.model, {
      steps: maxStep,
      lr: o.lr,
      onStep: (s, p) => {
        if (!wanted.has(s)) return;
        const pred = tf.tidy(() => m.model.apply(p, gx).dataSync() as Float32Array); // [1, grid, 1] flattened
        const label = s === 0 ? "pre-update" : `${s} step${s === 1 ? "" : "s"}`;
        const series = m.name === "" ? label : `${m.name}, ${label}`;
        o.grid.forEach((x, i) => rows.push({ x, y: pred[i]!, series, ...(o.extra ?? {}) }));
      },
    });
    for (const t of Object.values(adapted)) t.dispose();
  } finally {
    tf.dispose([sx, sy, gx]);
  }
  return rows;
}
