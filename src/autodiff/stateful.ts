/**
 * A PyTorch-style stateful layer over metalab's functional core, for teaching: parameters live in tf.Variables,
 * `backward` accumulates into `.grad` like `loss.backward()`, and `SGD` / `Adam` update in place with `step()`.
 * Library code should prefer the functional API (`grad`, `valueAndGrad`); this mirrors `torch.nn.Module` + `torch.optim`.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import type { Rng } from "../core/random";
import { adamStep, DEFAULT_ADAM, disposeAdam, initAdam, type AdamState } from "../optim/adam";
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

/** Options of the stateful `SGD` optimizer (torch.optim.SGD semantics). */
export interface SgdOptions {
  /** Step size; no default, as in PyTorch, because it is the one setting that always matters. */
  readonly lr: number;
  /** Heavy-ball momentum; 0 (plain SGD) by default, like PyTorch. */
  readonly momentum?: number;
  /** L2 penalty added to the gradient; 0 by default, like PyTorch. */
  readonly weightDecay?: number;
}

/** Options of the stateful `Adam` optimizer (torch.optim.Adam semantics, Kingma & Ba 2015). */
export interface AdamOptions {
  /** Step size; 1e-3 is the paper's and PyTorch's default (and Finn et al.'s meta learning rate). */
  readonly lr?: number;
  /** First-moment decay; 0.9 is the paper's default. */
  readonly beta1?: number;
  /** Second-moment decay; 0.999 is the paper's default. */
  readonly beta2?: number;
  /** Denominator guard; 1e-8 as in the paper and PyTorch. */
  readonly eps?: number;
  /** L2 penalty added to the gradient (not AdamW); 0 by default, like PyTorch. */
  readonly weightDecay?: number;
}

/** Names of the parameters that have a gradient; throws if none has, since `step()` before `backward()` is a bug. */
function withGrads(module: StatefulModule<never, unknown>, who: string): string[] {
  const names = Object.keys(module.parameters).filter((k) => module.grad[k] != null);
  if (names.length === 0) throw new Error(`${who}.step(): no parameter has a gradient. Call module.backward(loss) before step().`);
  return names;
}

/** Stochastic gradient descent with optional momentum, updating a StatefulModule in place. */
export class SGD {
  private readonly lr: number;
  private readonly momentum: number;
  private readonly weightDecay: number;
  private readonly buffers: Record<string, tf.Tensor> = {};

  constructor(readonly module: StatefulModule<never, unknown>, options: SgdOptions) {
    if (!(options.lr > 0)) throw new Error(`SGD needs a positive lr, got ${options.lr}. Example: new SGD(module, { lr: 0.01 }).`);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
  }

  /** p <- p - lr * (momentum buffer or gradient), for every parameter with a gradient. */
  step(): void {
    for (const k of withGrads(this.module, "SGD")) {
      const p = this.module.parameters[k]!;
      const g0 = this.module.grad[k]!;
      const update = tf.tidy(() => {
        let g = this.weightDecay ? tf.add(g0, tf.mul(p, this.weightDecay)) : g0;
        if (this.momentum) {
          const prev = this.buffers[k];
          g = prev ? tf.add(tf.mul(prev, this.momentum), g) : tf.clone(g); // PyTorch: the first buffer is the gradient
        }
        return g;
      });
      if (this.momentum) {
        this.buffers[k]?.dispose();
        this.buffers[k] = update;
      }
      tf.tidy(() => p.assign(tf.sub(p, tf.mul(update, this.lr))));
      if (!this.momentum && update !== g0) update.dispose();
    }
  }

  /** Clears the module's gradients. */
  zeroGrad(): void {
    this.module.zeroGrad();
  }

  /** Frees the momentum buffers. */
  dispose(): void {
    for (const t of Object.values(this.buffers)) t.dispose();
  }
}

/** Adam with bias correction (Kingma & Ba 2015), updating a StatefulModule in place; one step count per parameter. */
export class Adam {
  private readonly c: Required<AdamOptions>;
  /** Per-parameter state of the functional `adamStep`, created at a parameter's first step. */
  private readonly states: Record<string, AdamState> = {};

  constructor(readonly module: StatefulModule<never, unknown>, options: AdamOptions = {}) {
    this.c = { ...DEFAULT_ADAM, weightDecay: 0, ...options };
    if (!(this.c.lr > 0)) throw new Error(`Adam needs a positive lr, got ${this.c.lr}. The usual value is 1e-3.`);
  }

  /** One bias-corrected Adam update (`adamStep`) of every parameter with a gradient. */
  step(): void {
    const { weightDecay, ...config } = this.c;
    for (const k of withGrads(this.module, "Adam")) {
      const p = this.module.parameters[k]!;
      const g0 = this.module.grad[k]!;
      const prev = this.states[k];
      const [m, v] = tf.tidy(() => {
        const g = weightDecay ? tf.add(g0, tf.mul(p, weightDecay)) : g0;
        const r = adamStep({ [k]: p }, { [k]: g }, prev ?? initAdam({ [k]: p }), config);
        p.assign(r.params[k]!);
        return [r.state.m[k]!, r.state.v[k]!];
      });
      if (prev) disposeAdam(prev);
      this.states[k] = { step: (prev?.step ?? 0) + 1, m: { [k]: m! }, v: { [k]: v! } };
    }
  }

  /** Clears the module's gradients. */
  zeroGrad(): void {
    this.module.zeroGrad();
  }

  /** Frees the moment estimates. */
  dispose(): void {
    for (const s of Object.values(this.states)) disposeAdam(s);
  }
}
