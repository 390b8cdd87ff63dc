/**
 * PyTorch-style stateful optimizers (torch.optim.SGD, torch.optim.Adam) that update a module's variables in place
 * from its accumulated `.grad`, as in `opt.step(); opt.zeroGrad()`. Adam steps through the functional `adamStep`.
 */
import * as tf from "@tensorflow/tfjs";
import { adamConfig, adamStep, disposeAdam, initAdam, type AdamConfig, type AdamState } from "./adam";
import { checkKnownKeys, checkNonNegative, checkRange } from "../core/validate";

/** What an optimizer updates: named variables with PyTorch-like accumulated gradients (e.g. a `StatefulModule`). */
export interface OptimizableModule {
  readonly parameters: Readonly<Record<string, tf.Variable>>;
  readonly grad: Readonly<Record<string, tf.Tensor | null>>;
  zeroGrad(): void;
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

/** Options of the stateful `Adam` optimizer (torch.optim.Adam semantics): `AdamConfig`'s fields, each optional, and weight decay. */
export interface AdamOptions extends Partial<AdamConfig> {
  /** L2 penalty added to the gradient (not AdamW); 0 by default, like PyTorch. */
  readonly weightDecay?: number;
}

/** Names of the parameters that have a gradient; throws if none has, since `step()` before `backward()` is a bug. */
function withGrads(module: OptimizableModule, who: string): string[] {
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

  constructor(readonly module: OptimizableModule, options: SgdOptions) {
    checkKnownKeys("SGD options", options, { lr: 0, momentum: 0, weightDecay: 0 });
    if (!(options.lr > 0)) throw new Error(`SGD needs a positive lr, got ${options.lr}. Example: new SGD(module, { lr: 0.01 }).`);
    if (options.momentum !== undefined) checkRange("SGD", "momentum", options.momentum, 0, 1, { hi: true }, "0.9 is the usual heavy-ball value.");
    if (options.weightDecay !== undefined) checkNonNegative("SGD", "weightDecay", options.weightDecay, "An L2 penalty such as 1e-4.");
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

  constructor(readonly module: OptimizableModule, options: AdamOptions = {}) {
    const { weightDecay = 0, ...adam } = options;
    this.c = { ...adamConfig(adam), weightDecay };
    if (!(this.c.lr > 0)) throw new Error(`Adam needs a positive lr, got ${this.c.lr}. The usual value is 1e-3.`);
    checkNonNegative("Adam", "weightDecay", weightDecay, "An L2 penalty such as 1e-4.");
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
