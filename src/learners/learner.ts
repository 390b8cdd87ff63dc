/**
 * The thin stateful shell every learner class puts over its pure step function: it holds the state, swaps in the
 * new state after each step (disposing the old one), and runs the shared training loop.
 */
import type { Params } from "../core/params";
import type { FastPathReport } from "../fast/eligibility";
import type { Rng } from "../core/random";
import type { TaskBatch, TaskFamily } from "../tasks/task-family";
import { trainLoop, type TrainOptions } from "./train";

/** Anything with a `step(batch) => loss` method: Maml, Reptile, Pretrain, RidgeHead, ... */
export interface SteppingLearner {
  step(batch: TaskBatch): number;
}

/** What a learner's state must expose: the current parameters and the outer steps taken. */
export interface LearnerState {
  readonly params: Params;
  readonly step: number;
}

/** A pure learner step: returns a new state and that step's loss (and, for learners with one, which path ran), leaving `state` and `batch` intact. */
export type PureStep<S> = (state: S, batch: TaskBatch) => { readonly state: S; readonly loss: number; readonly fastPath?: FastPathReport };

/**
 * Holds a learner's state over a pure step function. Learners extend it only to get this shell (Maml, Pretrain,
 * Reptile, RidgeHead); their variants are options, not subclasses.
 */
export class StepLearner<S extends LearnerState> {
  private current: S;
  private report: FastPathReport | null = null;

  /** Takes ownership of `initial`; `dispose` frees one state's tensors. */
  constructor(initial: S, private readonly pureStep: PureStep<S>, private readonly disposeState: (state: S) => void) {
    this.current = initial;
  }

  /** The current state (owned by this object; it is disposed at the next step). */
  protected get state(): S {
    return this.current;
  }

  /** Current parameters (owned by this object; clone to keep them past the next step). */
  get params(): Params {
    return this.current.params;
  }

  /** Outer steps taken. */
  get steps(): number {
    return this.current.step;
  }

  /** Whether the last step ran on the fast path (src/fast) and, if not, why; null before the first step or for learners without one. */
  get lastPath(): FastPathReport | null {
    return this.report;
  }

  /** One outer step on a meta-batch; returns its loss. The batch is not disposed. */
  step(batch: TaskBatch): number {
    const r = this.pureStep(this.current, batch);
    this.disposeState(this.current);
    this.current = r.state;
    this.report = r.fastPath ?? null;
    return r.loss;
  }

  /** Trains for `options.iterations` outer steps on meta-batches from `family`; returns the per-step losses. */
  train(family: TaskFamily, rng: Rng, options: TrainOptions): Float32Array {
    return trainLoop(family, rng, options, (b) => this.step(b));
  }

  /** Releases the tensors. */
  dispose(): void {
    this.disposeState(this.current);
  }
}
