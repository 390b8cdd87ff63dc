/**
 * Early stopping (Prechelt 1998): stop training once a validation score has not improved for `patience`
 * evaluations, and keep the best point seen. In continual learning it doubles as a brake on forgetting: every step
 * past the point where the new task stops improving only overwrites the old one.
 */

import { checkOneOf, withDefaults } from "../core/validate";

/** Options of `earlyStop`. */
export interface EarlyStopOptions {
  /** Evaluations without improvement before stopping. */
  readonly patience: number;
  /** An improvement must exceed this much (in the score's units). */
  readonly minDelta: number;
  /** "max" for accuracies, "min" for losses. */
  readonly mode: "max" | "min";
}

/** Defaults for an accuracy evaluated every few steps. */
export const DEFAULT_EARLY_STOP: EarlyStopOptions = {
  patience: 2, // two evaluations in a row without gain: enough to step over noise of ±1 test point
  minDelta: 0, // any gain counts
  mode: "max", // accuracies
};

/** Where training stops: the index it stops at (patience ran out, or the last) and the best index up to there. */
export function earlyStop(scores: readonly number[], options: Partial<EarlyStopOptions> = {}): { stopIndex: number; bestIndex: number } {
  const o = withDefaults("earlyStop", options, DEFAULT_EARLY_STOP, { keysWho: "earlyStop options" });
  checkOneOf("earlyStop", "mode", o.mode, ["max", "min"] as const);
  if (!Number.isInteger(o.patience) || o.patience < 1) throw new Error(`earlyStop: patience must be a positive integer, got ${o.patience}.`);
  if (!(o.minDelta >= 0)) throw new Error(`earlyStop: minDelta must be >= 0, got ${o.minDelta}.`);
  if (scores.length === 0) throw new Error("earlyStop: no scores; evaluate at least once.");
  const better = (a: number, b: number): boolean => (o.mode === "max" ? a > b + o.minDelta : a < b - o.minDelta);
  let best = 0;
  let waited = 0;
  for (let i = 1; i < scores.length; i++) {
    if (better(scores[i]!, scores[best]!)) {
      best = i;
      waited = 0;
    } else if (++waited >= o.patience) {
      return { stopIndex: i, bestIndex: best };
    }
  }
  return { stopIndex: scores.length - 1, bestIndex: best };
}
