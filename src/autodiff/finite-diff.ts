/**
 * Finite-difference checks of first and second derivatives along seeded random directions.
 * First order compares <grad f(p), v> with (f(p + h v) - f(p - h v)) / 2h; second order compares
 * hvp(f, p, v) with (grad f(p + h v) - grad f(p - h v)) / 2h, element by element.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { checkConfig, checkNonNegative, checkOneOf } from "../core/validate";
import { grad, hvp, type ParamFn } from "./functional";

/** Precision the checked function computes in; it sets the default step and tolerances. */
export type FdDtype = "float32" | "float64";

/** Step and tolerances for one precision. */
export interface FdTolerance {
  /** Relative step: h = eps * max(1, rms(p)), applied along a direction with unit RMS entries. */
  readonly eps: number;
  /** Relative tolerance, against the larger of the two compared magnitudes (infinity norm for vectors). */
  readonly rtol: number;
  /** Absolute tolerance, added to rtol * magnitude and to the estimated rounding noise of the difference. */
  readonly atol: number;
  /** Unit round-off of the precision, used to estimate the rounding noise of a central difference. */
  readonly unitRoundoff: number;
}

/** Default steps and tolerances per precision. */
export const FD_TOLERANCES: Readonly<Record<FdDtype, FdTolerance>> = {
  // float32: steps near cbrt(6e-8) ~ 4e-3 balance truncation (h^2) against round-off (u/h); 1% covers both with margin.
  float32: { eps: 1e-2, rtol: 1e-2, atol: 1e-4, unitRoundoff: 6e-8 },
  // float64: JS-number functions (e.g. the scalar graph); round-off is negligible, so tight tolerances hold.
  float64: { eps: 1e-4, rtol: 1e-6, atol: 1e-9, unitRoundoff: 1.1e-16 },
};

/** Options of `checkGradients`; everything defaults from `FD_TOLERANCES[dtype]`. */
export interface GradCheckOptions {
  /** Which derivatives to check: 1, 2 or both (default both, since MAML needs second order). */
  readonly order?: 1 | 2 | "both";
  /** Precision of `f` (default float32, the only float type tfjs computes in). */
  readonly dtype?: FdDtype;
  /** Number of random directions tried (default 2: one lucky direction should not hide a bug). */
  readonly directions?: number;
  /** Relative step h = eps * max(1, rms(p)); the check also tries smaller steps (see `steps`). */
  readonly eps?: number;
  /**
   * Number of step sizes tried per direction, eps, eps/4, eps/16, ...; the best is kept (default 5, down to eps/256),
   * so a relu kink crossed at one step is avoided at a smaller one, while round-off at tiny steps is in the tolerance.
   */
  readonly steps?: number;
  /** Relative tolerance (see FdTolerance.rtol). */
  readonly rtol?: number;
  /** Absolute tolerance (see FdTolerance.atol). */
  readonly atol?: number;
}

/** The keys of `GradCheckOptions`; each default's reason is beside its field above (and in `FD_TOLERANCES`). */
export const GRAD_CHECK_OPTION_KEYS: { readonly [K in keyof GradCheckOptions]-?: true } = {
  order: true,
  dtype: true,
  directions: true,
  eps: true,
  steps: true,
  rtol: true,
  atol: true,
};

/**
 * Checks the options of `checkGradients` (or, with `order` false, `checkNumericGradient`): unknown keys, `order`,
 * `dtype`, `directions` and `steps` positive integers, `eps` and `rtol` positive, `atol` >= 0. Returns them unchanged.
 */
export function gradCheckOptions<T extends GradCheckOptions>(who: string, o: T, order = true): T {
  const known = order ? GRAD_CHECK_OPTION_KEYS : Object.fromEntries(Object.entries(GRAD_CHECK_OPTION_KEYS).filter(([k]) => k !== "order"));
  checkConfig(who, o, known, { hint: "Pass e.g. { order: 1, directions: 3 }.", keysWho: `${who} options` });
  if (order && o.order !== undefined) checkOneOf(who, "order", o.order, [1, 2, "both"] as const);
  if (o.dtype !== undefined) checkOneOf(who, "dtype", o.dtype, ["float32", "float64"] as const);
  const dtype = o.dtype ?? (order ? "float32" : "float64");
  for (const k of ["steps", "directions"] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`${who}: ${k} must be a positive integer, got ${v}. Leave it out for the default (${k === "steps" ? 5 : 2}).`);
  }
  if (o.eps !== undefined && !(Number.isFinite(o.eps) && o.eps > 0)) throw new Error(`${who}: eps must be positive, got ${o.eps}. Try ${FD_TOLERANCES[dtype].eps} for ${dtype}.`);
  if (o.rtol !== undefined && !(Number.isFinite(o.rtol) && o.rtol > 0)) throw new Error(`${who}: rtol must be positive, got ${o.rtol}. Try ${FD_TOLERANCES[dtype].rtol} for ${dtype}.`);
  if (o.atol !== undefined) checkNonNegative(who, "atol", o.atol, `Try ${FD_TOLERANCES[dtype].atol} for ${dtype}.`);
  return o;
}

/** Result of one order of derivative check, worst case over all directions. */
export interface OrderCheck {
  readonly order: 1 | 2;
  /** Largest |autodiff - finite difference| over directions (and elements, for second order). */
  readonly maxAbsError: number;
  /** maxAbsError divided by the magnitude it was compared against. */
  readonly maxRelError: number;
  /** The allowed absolute error in the worst direction (atol + noise + rtol * magnitude). */
  readonly allowed: number;
  /** Absolute step h used in the worst direction. */
  readonly step: number;
  /** Autodiff and finite-difference magnitudes in the worst direction (scalar, or infinity norm of the HVP). */
  readonly autodiffMagnitude: number;
  readonly finiteDiffMagnitude: number;
  readonly pass: boolean;
}

/** What `checkGradients` measured. */
export interface GradCheckReport {
  readonly pass: boolean;
  readonly dtype: FdDtype;
  readonly first?: OrderCheck;
  readonly second?: OrderCheck;
  /** One line per order, e.g. `first order (directional derivative): max abs error 2.31e-5, rel 2.11e-5 (allowed ...) ok`. */
  readonly summary: string;
}

/** One step's comparison; a type alias (not an interface) so tf.tidy can return it. */
type Sample = {
  readonly absError: number;
  readonly magnitude: number;
  readonly allowed: number;
  readonly step: number;
  readonly auto: number;
  readonly fd: number;
};

/** Checks autodiff gradients (and Hessian-vector products) of `f` at `params` against central differences. */
export function checkGradients(f: ParamFn, params: Params, rng: Rng, options: GradCheckOptions = {}): GradCheckReport {
  gradCheckOptions("checkGradients", options);
  const dtype = options.dtype ?? "float32";
  const tol = FD_TOLERANCES[dtype];
  const eps = options.eps ?? tol.eps;
  const rtol = options.rtol ?? tol.rtol;
  const atol = options.atol ?? tol.atol;
  const order = options.order ?? "both";
  const directions = options.directions ?? 2;
  const steps = options.steps ?? 5;
  const divisors = Array.from({ length: steps }, (_, i) => 4 ** i);
  const names = Object.keys(params);
  if (names.length === 0) throw new Error("checkGradients: the parameter record is empty; pass the tensors f depends on.");

  const scale = Math.max(1, rms(params));
  const firstSamples: Sample[] = [];
  const secondSamples: Sample[] = [];
  for (let d = 0; d < directions; d++) {
    const v = randomDirection(params, rng);
    try {
      if (order === 1 || order === "both") firstSamples.push(best(divisors.map((k) => firstOrderSample(f, params, v, (eps * scale) / k, tol.unitRoundoff, rtol, atol))));
      if (order === 2 || order === "both") secondSamples.push(best(divisors.map((k) => secondOrderSample(f, params, v, (eps * scale) / k, tol.unitRoundoff, rtol, atol))));
    } finally {
      for (const k of names) v[k]!.dispose();
    }
  }
  const first = firstSamples.length ? summarise(1, firstSamples) : undefined;
  const second = secondSamples.length ? summarise(2, secondSamples) : undefined;
  const checks = [first, second].filter((c): c is OrderCheck => c !== undefined);
  const summary = checks.map(describe).join("\n");
  return { pass: checks.every((c) => c.pass), dtype, ...(first ? { first } : {}), ...(second ? { second } : {}), summary };
}

/** Like `checkGradients`, but throws an error naming the order, the errors and the tolerance when a check fails. */
export function assertGradientsMatch(f: ParamFn, params: Params, rng: Rng, options: GradCheckOptions = {}): GradCheckReport {
  const report = checkGradients(f, params, rng, options);
  if (!report.pass) {
    throw new Error(
      `Autodiff disagrees with finite differences (${report.dtype}):\n${report.summary}\n` +
        "If this is a tanh/sigmoid/exp/softmax taken twice with raw tfjs ops, use metalab's activations (tfjs issue 3252); " +
        "if f has kinks (relu, abs, max), move the point away from them or lower eps.",
    );
  }
  return report;
}

function describe(c: OrderCheck): string {
  const name = c.order === 1 ? "first order (directional derivative)" : "second order (Hessian-vector product)";
  return `${name}: max abs error ${fmt(c.maxAbsError)}, rel ${fmt(c.maxRelError)} (allowed ${fmt(c.allowed)}, autodiff ${fmt(c.autodiffMagnitude)} vs finite diff ${fmt(c.finiteDiffMagnitude)}, step ${fmt(c.step)}) ${c.pass ? "ok" : "FAILED"}`;
}

function fmt(x: number): string {
  return x.toExponential(2);
}

/** The step with the smallest error (not the loosest tolerance, which would favour noisy tiny steps). */
function best(samples: readonly Sample[]): Sample {
  return samples.reduce((a, b) => (b.absError < a.absError ? b : a));
}

function summarise(order: 1 | 2, samples: readonly Sample[]): OrderCheck {
  const worst = samples.reduce((a, b) => (b.absError / b.allowed > a.absError / a.allowed ? b : a));
  return {
    order,
    maxAbsError: Math.max(...samples.map((s) => s.absError)),
    maxRelError: Math.max(...samples.map((s) => s.absError / Math.max(s.magnitude, Number.MIN_VALUE))),
    allowed: worst.allowed,
    step: worst.step,
    autodiffMagnitude: worst.auto,
    finiteDiffMagnitude: worst.fd,
    pass: samples.every((s) => s.absError <= s.allowed),
  };
}

/** Root-mean-square of all entries, the scale the step is taken relative to. */
function rms(p: Params): number {
  return tf.tidy(() => {
    const ts = Object.values(p);
    const sq = tf.addN(ts.map((t) => tf.sum(tf.square(tf.cast(t, "float32")))));
    const n = ts.reduce((a, t) => a + t.size, 0);
    return Math.sqrt(sq.dataSync()[0]! / Math.max(n, 1));
  });
}

/** Standard normal entries, so the direction has unit RMS whatever the number of parameters. */
function randomDirection(p: Params, rng: Rng): Record<string, tf.Tensor> {
  const v: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(p)) v[k] = rng.normalTensor(p[k]!.shape);
  return v;
}

function shifted(p: Params, v: Params, h: number): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(p)) out[k] = tf.add(p[k]!, tf.mul(v[k]!, h));
  return out;
}

function scalarOf(t: tf.Tensor): number {
  if (t.rank !== 0) throw new Error(`checkGradients needs a scalar-valued f, got shape [${t.shape}]. Reduce it with tf.sum or tf.mean.`);
  return t.dataSync()[0]!;
}

function firstOrderSample(f: ParamFn, p: Params, v: Params, h: number, u: number, rtol: number, atol: number): Sample {
  return tf.tidy(() => {
    const g = grad(f)(p);
    const auto = tf.addN(Object.keys(p).map((k) => tf.sum(tf.mul(g[k]!, v[k]!)))).dataSync()[0]!;
    return centralSample(auto, scalarOf(f(shifted(p, v, h))), scalarOf(f(shifted(p, v, -h))), h, u, rtol, atol);
  });
}

/** Compares the directional derivative `auto` with the central difference of fp = f(p + hv) and fm = f(p - hv). */
function centralSample(auto: number, fp: number, fm: number, h: number, u: number, rtol: number, atol: number): Sample {
  const fd = (fp - fm) / (2 * h);
  // Round-off in f(p +- hv) of about u * |f| per evaluation, times a safety factor for accumulated ops.
  const noise = (64 * u * (Math.abs(fp) + Math.abs(fm))) / (2 * h);
  const magnitude = Math.max(Math.abs(auto), Math.abs(fd));
  return { absError: Math.abs(auto - fd), magnitude, allowed: atol + noise + rtol * magnitude, step: h, auto, fd };
}

function secondOrderSample(f: ParamFn, p: Params, v: Params, h: number, u: number, rtol: number, atol: number): Sample {
  return tf.tidy(() => {
    const names = Object.keys(p);
    const flat = (r: Params): tf.Tensor => tf.concat(names.map((k) => tf.reshape(r[k]!, [-1])));
    const auto = flat(hvp(f, p, v));
    const gp = flat(grad(f)(shifted(p, v, h)));
    const gm = flat(grad(f)(shifted(p, v, -h)));
    const fd = tf.div(tf.sub(gp, gm), 2 * h);
    const absError = tf.max(tf.abs(tf.sub(auto, fd))).dataSync()[0]!;
    const autoMag = tf.max(tf.abs(auto)).dataSync()[0]!;
    const fdMag = tf.max(tf.abs(fd)).dataSync()[0]!;
    const gMag = Math.max(tf.max(tf.abs(gp)).dataSync()[0]!, tf.max(tf.abs(gm)).dataSync()[0]!);
    const noise = (64 * u * 2 * gMag) / (2 * h);
    const magnitude = Math.max(autoMag, fdMag);
    return { absError, magnitude, allowed: atol + noise + rtol * magnitude, step: h, auto: autoMag, fd: fdMag };
  });
}

/**
 * Checks the gradient of a plain-number function (e.g. one traced with ScalarGraph, or derived by hand) against
 * central differences along random directions; first order only, float64 tolerances unless `dtype` says otherwise.
 */
export function checkNumericGradient(
  f: (x: readonly number[]) => number,
  gradient: (x: readonly number[]) => readonly number[],
  at: readonly number[],
  rng: Rng,
  options: Omit<GradCheckOptions, "order"> = {},
): GradCheckReport {
  gradCheckOptions("checkNumericGradient", options, false);
  const dtype = options.dtype ?? "float64";
  const tol = FD_TOLERANCES[dtype];
  const eps = options.eps ?? tol.eps;
  const rtol = options.rtol ?? tol.rtol;
  const atol = options.atol ?? tol.atol;
  const directions = options.directions ?? 2;
  const steps = options.steps ?? 5;
  if (at.length === 0) throw new Error("checkNumericGradient: `at` is empty; pass the point as an array of numbers.");
  const g = gradient(at);
  if (g.length !== at.length) throw new Error(`checkNumericGradient: gradient has ${g.length} entries for ${at.length} inputs; return one partial per input.`);
  const scale = Math.max(1, Math.sqrt(at.reduce((a, x) => a + x * x, 0) / at.length));
  const samples: Sample[] = [];
  for (let d = 0; d < directions; d++) {
    const v = at.map(() => rng.normal());
    const auto = g.reduce((a, gi, i) => a + gi * v[i]!, 0);
    const tries = Array.from({ length: steps }, (_, k): Sample => {
      const h = (eps * scale) / 4 ** k;
      return centralSample(auto, f(at.map((x, i) => x + h * v[i]!)), f(at.map((x, i) => x - h * v[i]!)), h, tol.unitRoundoff, rtol, atol);
    });
    samples.push(best(tries));
  }
  const first = summarise(1, samples);
  return { pass: first.pass, dtype, first, summary: describe(first) };
}
