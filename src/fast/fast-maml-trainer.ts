/**
 * MAML meta-training (Finn et al. 2017) for small MLPs with parameters and Adam moments kept in typed arrays, for
 * scripts that feed flat batches. It runs the same kernel and the same Adam (`adamUpdate`) as the `Maml` learner's
 * fast path, so both give the same numbers; `Maml` is the public learner, this is its typed-array core.
 */
import type { Params } from "../core/params";
import { Mlp, type MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";
import { adamConfig, adamUpdate, type AdamConfig } from "../optim/adam";
import { checkFastPath } from "./eligibility";
import { fastMamlTrainerConfig } from "./fast-maml-config";
import { flattenBatch, kernelFor, type FlatTaskBatch, type KernelBackend, type MlpMamlKernel } from "./mlp-maml";
import type { FastLoss } from "./mlp-net";
import { packParams, unpackParams } from "./pack";
import { MamlWorkerPool } from "./worker-pool";

/** Settings of one MAML run on the fast path. */
export interface FastMamlTrainerConfig {
  readonly model: MlpConfig;
  /** Inner SGD steps; Finn et al. use 1 for sines. */
  readonly innerSteps: number;
  /** Inner step size alpha; 0.01 in Finn et al. */
  readonly innerLr: number;
  /** First-order MAML (no Hessian terms). */
  readonly firstOrder: boolean;
  /** Task loss; "mse" (regression) by default. */
  readonly loss?: FastLoss;
  /** Outer Adam settings; defaults are PyTorch's with lr 1e-3, as in the reference run. */
  readonly adam?: Partial<AdamConfig>;
  /** Kernel backend; WebAssembly SIMD when available. */
  readonly backend?: KernelBackend;
  /** Threads that split each meta-batch's tasks (the calling one included); 1 by default: splitting pays only when a step's per-task work outweighs the synchronisation (see bench/README.md). */
  readonly workers?: number;
}

/** A MAML learner whose state lives in typed arrays; `params()` gives tensors when needed. */
export class FastMamlTrainer {
  readonly config: FastMamlTrainerConfig;
  /** Packed parameters (see `packParams`). */
  readonly theta: Float32Array;
  private readonly kernel: MlpMamlKernel | MamlWorkerPool;
  private readonly grad: Float32Array;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private readonly adam: AdamConfig;
  private steps = 0;

  constructor(params: Params, config: FastMamlTrainerConfig) {
    fastMamlTrainerConfig(config);
    const check = checkFastPath({ algorithm: "maml", model: new Mlp(config.model), params, loss: config.loss ?? "mse" });
    if (!check.ok) throw new Error(`FastMamlTrainer: ${check.reason}. Use the Maml learner, which falls back to the general tfjs path.`);
    this.config = config;
    const workers = config.workers ?? 1;
    this.kernel = workers > 1 ? new MamlWorkerPool({ model: config.model, loss: config.loss ?? "mse", backend: config.backend, workers }) : kernelFor(config.model, config.loss ?? "mse", config.backend);
    this.theta = packParams(params, config.model.sizes);
    const P = this.kernel.numParams;
    this.grad = new Float32Array(P);
    this.m = new Float32Array(P);
    this.v = new Float32Array(P);
    this.adam = adamConfig(config.adam);
  }

  /** Number of meta-steps taken. */
  get step(): number {
    return this.steps;
  }

  /** One meta-step on a batch (tensors or flat arrays): meta-gradient, then Adam. Returns the meta-loss before the update. */
  metaStep(batch: TaskBatch | FlatTaskBatch): number {
    const flat = "shots" in batch ? batch : flattenBatch(batch);
    const { innerSteps, innerLr, firstOrder } = this.config;
    const loss = this.kernel.metaGradient(this.theta, flat, { innerSteps, rates: { uniform: innerLr }, firstOrder }, this.grad);
    this.steps++;
    adamUpdate(this.theta, this.grad, this.m, this.v, this.steps, this.adam);
    return loss;
  }

  /** Ends the worker threads (when `workers` > 1); the trainer cannot step afterwards. */
  dispose(): void {
    if (this.kernel instanceof MamlWorkerPool) this.kernel.dispose();
  }

  /** Current parameters as new float32 tensors (the caller disposes them). */
  params(): Params {
    return unpackParams(this.theta, this.config.model.sizes);
  }
}
