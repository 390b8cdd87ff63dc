/**
 * Gradient checkpointing for an unrolled loop ("forward twice, backward once"; Griewank & Walther 2000, Chen et al.
 * 2016): the forward pass keeps only the loop's iterates, not the tape of each step; the backward pass recomputes one
 * step at a time on the tape and backpropagates through it, so memory holds one step's intermediates instead of all.
 *
 * (tfjs's customGrad cannot do this for MAML: it turns the tape off inside a custom op, so an inner gradient there
 * would be zero. The reverse sweep is written out instead.)
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { stopGradient } from "./activations";
import { valueAndGrad } from "./functional";

/** A loop x_{s+1} = step(x_s, m, s), x_0 = init(m), whose loss is Σ_s loss(x_s, m, s) for s = 1..steps. */
export interface UnrolledLoop {
  readonly steps: number;
  /** First iterate from the meta-parameters m; differentiable in m. */
  readonly init: (m: Params) => Params;
  /** One step; differentiable in x and m. */
  readonly step: (x: Params, m: Params, s: number) => Params;
  /** Whether iterate s (1-based) contributes a loss. */
  readonly hasLoss: (s: number) => boolean;
  /** Loss at iterate s; differentiable in x and m. */
  readonly loss: (x: Params, m: Params, s: number) => tf.Scalar;
}

/** Vector-Jacobian product: Σ_k ⟨f(p)_k, ct_k⟩ differentiated at p (ct is treated as a constant). */
export function vjp(f: (p: Params) => Params, p: Params, cotangent: Params): Params {
  return valueAndGrad((q) => {
    const out = f(q);
    return tf.addN(Object.keys(cotangent).map((k) => tf.sum(tf.mul(out[k]!, stopGradient(cotangent[k]!))))) as tf.Scalar;
  })(p).grads;
}

function addInto(acc: Params | null, g: Params): Params {
  if (!acc) return g;
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(acc)) out[k] = g[k] ? tf.add(acc[k]!, g[k]!) : acc[k]!;
  return out;
}

/**
 * Value and gradient with respect to `m` of the loop's total loss, by checkpointing: the same numbers as
 * differentiating the unrolled loop directly (`valueAndGrad`), with peak memory of one step instead of `steps`.
 * Not differentiable again. Returns new tensors; nothing passed in is disposed.
 */
export function checkpointedLoopGrad(m: Params, loop: UnrolledLoop): { value: number; grads: Params } {
  if (!Number.isInteger(loop.steps) || loop.steps < 1) throw new Error(`checkpointedLoopGrad: steps must be a positive integer, got ${loop.steps}.`);
  // Forward: iterates only. No gradient is being recorded here, so each step's intermediates are freed by tidy.
  const xs: Params[] = [tf.tidy(() => ({ ...loop.init(m) }))];
  for (let s = 0; s < loop.steps; s++) xs.push(tf.tidy(() => ({ ...loop.step(xs[s]!, m, s) })));
  let value = 0;
  let gx: Params | null = null; // d loss / d x_s
  let gm: Params | null = null; // d loss / d m, accumulated
  const names = Object.keys(m);
  const split = (g: Params, x: Params): { dx: Params; dm: Params } => {
    const dx: Record<string, tf.Tensor> = {};
    const dm: Record<string, tf.Tensor> = {};
    for (const k of Object.keys(g)) (k in x ? dx : dm)[k.slice(2)] = g[k]!;
    return { dx, dm };
  };
  // Keys are prefixed so iterate and meta names cannot clash: "x/w0" and "m/w0".
  const joint = (x: Params): Params => ({ ...prefixed("x/", x), ...prefixed("m/", m) });
  const parts = (p: Params): { x: Params; mm: Params } => ({ x: unprefixed("x/", p), mm: unprefixed("m/", p) });
  for (let s = loop.steps; s >= 1; s--) {
    const next = tidyPair(() => {
      let gxs = gx;
      let gms = gm;
      // The loss at iterate s, if any.
      if (loop.hasLoss(s)) {
        const { value: v, grads } = valueAndGrad((p) => {
          const { x, mm } = parts(p);
          return loop.loss(x, mm, s);
        })(joint(xs[s]!));
        value += v.dataSync()[0]!;
        const { dx, dm } = split(grads, prefixed("x/", xs[s]!));
        gxs = addInto(gxs, dx);
        gms = addInto(gms, dm);
      }
      if (!gxs) return { gx: null, gm: gms };
      // Second forward of step s-1 on the tape, then its backward with the incoming gradient.
      const ct = gxs;
      const g = vjp((p) => {
        const { x, mm } = parts(p);
        return loop.step(x, mm, s - 1);
      }, joint(xs[s - 1]!), ct);
      const { dx, dm } = split(g, prefixed("x/", xs[s - 1]!));
      return { gx: dx, gm: addInto(gms, dm) };
    });
    disposeAll(gx);
    disposeAll(gm);
    gx = next.gx;
    gm = next.gm;
  }
  const grads = tf.tidy(() => {
    let out = gm;
    if (gx) {
      const ct = gx;
      out = addInto(out, vjp((p) => loop.init(p), m, ct));
    }
    const filled: Record<string, tf.Tensor> = {};
    for (const k of names) filled[k] = out?.[k] ? tf.clone(out[k]!) : tf.zerosLike(m[k]!);
    return filled;
  });
  disposeAll(gx);
  disposeAll(gm);
  for (const x of xs) disposeAll(x);
  return { value, grads };
}

/** tf.tidy for a pair of optional records (tidy's typing does not take nulls). */
function tidyPair(f: () => { gx: Params | null; gm: Params | null }): { gx: Params | null; gm: Params | null } {
  const r = tf.tidy(() => {
    const v = f();
    return { gx: v.gx ?? {}, gm: v.gm ?? {} } as unknown as tf.TensorContainer;
  }) as unknown as { gx: Params; gm: Params };
  const orNull = (p: Params): Params | null => (Object.keys(p).length ? p : null);
  return { gx: orNull(r.gx), gm: orNull(r.gm) };
}

function prefixed(prefix: string, p: Params): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(p)) out[prefix + k] = p[k]!;
  return out;
}

function unprefixed(prefix: string, p: Params): Params {
  const out: Record<string, tf.Tensor> = {};
  for (const k of Object.keys(p)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = p[k]!;
  return out;
}

function disposeAll(p: Params | null): void {
  if (p) for (const t of Object.values(p)) t.dispose();
}
