/**
 * A PyTorch-style stateful layer over metalab's functional core, for teaching: parameters live in tf.Variables,
 * `backward` accumulates into `.grad` like `loss.backward()`; `SGD` and `Adam` in src/optim/stateful.ts update it in place.
 * Library code should prefer the functional API (`grad`, `valueAndGrad`); this mirrors `torch.nn.Module` + `torch.optim`.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { valueAndGrad } from "./functional";

/** Something with `init(rng)` and `apply(params, x)`, such as `new Mlp(config)`. */
export interface FunctionalModel<X, Y> {
  init(rng: Rng): Params;
  apply(params: Params, x: X): Y;
}

/** Named trainable variables with PyTorch-like `.grad` accumulation. */
export class StatefulModule<X = tf.Tensor, Y = tf.Tensor> {
  /** The trainable variables by name (like `dict(model.named_parameters())`). */
  readonly parameters: Readonly<Record<string, tf.Variable>>;
  /** Accumulated gradient per parameter; null until the first `backward` or after `zeroGrad` (PyTorch's None). */
  readonly grad: Record<string, tf.Tensor | null>;
  private readonly applyFn: ((params: Params, x: X) => Y) | null;
  private disposed = false;

  /** Copies `params` into new variables (the record is not taken over); `apply` enables `forward`. */
  constructor(params: Params, apply?: (params: Params, x: X) => Y) {
    const names = Object.keys(params);
    if (names.length === 0) throw new Error("StatefulModule needs at least one parameter; build them with e.g. initMlp(rng, config).");
    const vars: Record<string, tf.Variable> = {};
    const grads: Record<string, tf.Tensor | null> = {};
    for (const k of names) {
      vars[k] = tf.variable(params[k]!, true);
      grads[k] = null;
    }
    this.parameters = vars;
    this.grad = grads;
    this.applyFn = apply ?? null;
  }

  /** Builds a module from a functional model and a seeded generator: `StatefulModule.fromModel(new Mlp(cfg), rng)`. */
  static fromModel<X, Y>(model: FunctionalModel<X, Y>, rng: Rng): StatefulModule<X, Y> {
    const init = model.init(rng);
    try {
      return new StatefulModule<X, Y>(init, (p, x) => model.apply(p, x));
    } finally {
      for (const t of Object.values(init)) t.dispose();
    }
  }

  /** The current variables as a plain parameter record, for the functional API. */
  get params(): Params {
    this.assertAlive();
    return this.parameters;
  }

  /** Runs the model's apply with the current parameters (needs `apply` or `fromModel`). */
  forward(x: X): Y {
    this.assertAlive();
    if (!this.applyFn) throw new Error("This StatefulModule has no apply function: build it with StatefulModule.fromModel(model, rng) or pass apply to the constructor.");
    return this.applyFn(this.params, x);
  }

  /**
   * Evaluates `loss(params)` and ADDS its gradient to `.grad` (like PyTorch's `loss.backward()`); returns the loss.
   * Call `zeroGrad()` between steps unless you mean to accumulate.
   */
  backward(loss: (params: Params) => tf.Scalar): number {
    this.assertAlive();
    const names = Object.keys(this.parameters);
    const old = names.map((k) => this.grad[k] ?? null);
    const { value, next } = tf.tidy(() => {
      const { value: v, grads } = valueAndGrad(loss)(this.params);
      const sums = names.map((k, i) => {
        const prev = old[i];
        return prev ? tf.add(prev, grads[k]!) : grads[k]!;
      });
      return { value: v.dataSync()[0]!, next: sums };
    });
    names.forEach((k, i) => {
      old[i]?.dispose();
      this.grad[k] = next[i]!;
    });
    return value;
  }

  /** Clears every `.grad` back to null (PyTorch's `zero_grad(set_to_none=True)`). */
  zeroGrad(): void {
    for (const k of Object.keys(this.grad)) {
      this.grad[k]?.dispose();
      this.grad[k] = null;
    }
  }

  /** Copies the current values into a new record the caller owns (like `state_dict()` with cloned tensors). */
  snapshot(): Params {
    this.assertAlive();
    const out: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(this.parameters)) out[k] = tf.clone(v);
    return out;
  }

  /** Frees the variables and gradients; the module cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.zeroGrad();
    for (const v of Object.values(this.parameters)) v.dispose();
    this.disposed = true;
  }

  private assertAlive(): void {
    if (this.disposed) throw new Error("This StatefulModule was disposed; build a new one.");
  }
}
