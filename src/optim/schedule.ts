/**
 * Learning-rate schedules as plain functions of the step number.
 */
import { checkKnownKeys, checkNonNegative, checkRange } from "../core/validate";

/** A learning rate for each outer step (0-based). */
export type Schedule = (step: number) => number;

/** Options of `cosineSchedule`. */
export interface CosineScheduleConfig {
  /** Peak learning rate. */
  readonly base: number;
  /** Steps over which the rate decays; after that it stays at `min`. */
  readonly total: number;
  /** Final learning rate; 0 is Loshchilov & Hutter's (2017) SGDR without restarts. */
  readonly min?: number;
  /** Linear warm-up steps from 0 to `base`; none by default. */
  readonly warmup?: number;
}

/** Cosine decay from `base` to `min` over `total` steps, after an optional linear warm-up (Loshchilov & Hutter 2017). */
export function cosineSchedule(config: CosineScheduleConfig): Schedule {
  checkKnownKeys("cosineSchedule config", config, { base: 0, total: 0, min: 0, warmup: 0 });
  checkNonNegative("cosineSchedule", "base", config.base, "The peak rate, e.g. 1e-3.");
  if (config.min !== undefined) checkRange("cosineSchedule", "min", config.min, 0, config.base, {}, "The final rate lies between 0 and base.");
  const { base, total } = config;
  const min = config.min ?? 0;
  const warmup = config.warmup ?? 0;
  if (!(total > 0) || !(warmup >= 0) || warmup >= total) {
    throw new Error(`cosineSchedule needs total > warmup >= 0, got total=${total}, warmup=${warmup}.`);
  }
  return (step) => {
    if (step < warmup) return (base * (step + 1)) / warmup;
    const t = Math.min(1, (step - warmup) / (total - warmup));
    return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * t));
  };
}
