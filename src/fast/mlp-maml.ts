/**
 * Fast path for MAML on small MLPs: hand-derived forward, backward and Hessian-vector products on typed arrays.
 *
 * Contract (shared with src/learners/maml.ts, which calls this first and falls back to the general tfjs path on null):
 * - inner loss of task t: L_t(θ_t) = mean over shots and outputs of (f(θ_t, x) - y)^2 on the support set;
 * - inner update, `innerSteps` times from θ: θ_t ← θ_t − innerLr · ∇L_t(θ_t);
 * - meta loss: mean over tasks of the query MSE at the adapted θ_t;
 * - grads: d(meta loss)/dθ, through the inner loop (second order) unless `firstOrder`, which treats dθ_t/dθ as identity.
 */
import type { Params } from "../core/params";
import type { MlpConfig } from "../models/mlp";
import type { TaskBatch } from "../tasks/task-family";

/** Everything the fast path needs for one meta-gradient. */
export interface FastMamlRequest {
  readonly params: Params;
  readonly batch: TaskBatch;
  readonly model: MlpConfig;
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly firstOrder: boolean;
}

/** Meta-loss and meta-gradient, or null when this request is outside what the fast path supports. */
export function fastMamlMetaGradient(req: FastMamlRequest): { loss: number; grads: Params } | null {
  void req;
  return null; // Not implemented yet: always use the general path.
}
