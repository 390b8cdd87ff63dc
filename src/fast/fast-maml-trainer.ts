/**
 * MAML meta-training (Finn et al. 2017) for small MLPs with parameters and Adam moments kept in typed arrays, so a
 * meta-step makes no tensor round trip beyond reading the sampled batch. Same contract as `fastMamlMetaGradient`.
 */
import type { Params } from "../core/params";
import type { MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";
import { DEFAULT_ADAM, type AdamConfig } from "../optim/adam";
import { kernelFor, packParams, unpackParams, type FlatTaskBatch, type KernelBackend, type MlpMamlKernel } from "./mlp-maml";

/** Settings of one MAML run on the fast path. */
export interface FastMamlTrainerConfig {
  readonly model: MlpConfig;
  /** Inner SGD steps; Finn et al. use 1 for sines. */
  readonly innerSteps: number;
  /** Inner step size alpha; 0.01 in Finn et al. */
  readonly innerLr: number;
  /** First-order MAML (no Hessian terms). */
  readonly firstOrder: boolean;
  /** Outer Adam settings; defaults are PyTorch's with lr 1e-3, as in the reference run. */
  readonly adam?: Partial<AdamConfig>;
  /** Kernel backend; WebAssembly SIMD when available. */
  readonly backend?: KernelBackend;
}

/** A MAML learner whose state lives in typed arrays; `params()` gives tensors when needed. */
export class FastMamlTrainer {
  readonly config: FastMamlTrainerConfig;
  /** Packed parameters (see `packParams`). */
  readonly theta: Float64Array;
  private readonly kernel: MlpMamlKernel;
  private readonly grad: Float64Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private readonly adam: AdamConfig;
  private steps = 0;

  constructor(params: Params, config: FastMamlTrainerConfig) {
    this.config = config;
    this.kernel = kernelFor(config.model, config.backend);
    this.theta = packParams(params, config.model.sizes);
    const P = this.kernel.numParams;
    this.grad = new Float64Array(P);
    this.m = new Float64Array(P);
    this.v = new Float64Array(P);
    this.adam = { ...DEFAULT_ADAM, ...config.adam };
  }

  /** Number of meta-steps taken. */
  get step(): number {
    return this.steps;
  }

  /** One meta-step on a batch (tensors or flat arrays): meta-gradient, then Adam. Returns the meta-loss before the update. */
  metaStep(batch: TaskBatch | FlatTaskBatch): number {
    const flat = "shots" in batch ? batch : flattenBatch(batch);
    const { innerSteps, innerLr, firstOrder } = this.config;
    const loss = this.kernel.metaGradient(this.theta, flat, innerSteps, innerLr, firstOrder, this.grad);
    this.adamUpdate();
    return loss;
  }

  /** Bias-corrected Adam (Kingma & Ba 2015) on the packed parameters, matching `adamStep` in src/optim/adam.ts. */
  private adamUpdate(): void {
    const { lr, beta1, beta2, eps } = this.adam;
    this.steps++;
    const bc1 = 1 - Math.pow(beta1, this.steps);
    const bc2 = 1 - Math.pow(beta2, this.steps);
    const { theta, grad, m, v } = this;
    for (let j = 0; j < theta.length; j++) {
      const g = grad[j]!;
      const mj = beta1 * m[j]! + (1 - beta1) * g;
      const vj = beta2 * v[j]! + (1 - beta2) * g * g;
      m[j] = mj;
      v[j] = vj;
      theta[j] = theta[j]! - (lr * (mj / bc1)) / (Math.sqrt(vj / bc2) + eps);
    }
  }

  /** Current parameters as new float32 tensors (the caller disposes them). */
  params(): Params {
    return unpackParams(this.theta, this.config.model.sizes);
  }
}

/** Reads a tensor batch into flat arrays. */
export function flattenBatch(batch: TaskBatch): FlatTaskBatch {
  const [tasks, shots] = batch.supportX.shape;
  return {
    supportX: batch.supportX.dataSync(),
    supportY: batch.supportY.dataSync(),
    queryX: batch.queryX.dataSync(),
    queryY: batch.queryY.dataSync(),
    tasks,
    shots,
    queries: batch.queryX.shape[1],
  };
}
