/**
 * What the main thread and a MAML worker thread (maml-worker.ts) share: the control words each side waits on with
 * `Atomics.wait`, the message that hands a worker its buffers, and the layout of those shared buffers.
 *
 * Per meta-step the main thread writes θ, the rates and the batch into the shared data buffer and the step's scalars
 * into the shared float64 buffer, opens the step's claims, bumps each worker's GO word and notifies. Then every thread,
 * the main one included, claims tasks one at a time (`claimTask`) until none is left; a worker writes each task's own
 * contribution (v_t, the rate terms, the losses) into that task's rows of the shared buffers and marks it done, and
 * the main thread adds every task in task order. A worker that wakes late finds fewer tasks (or none) to claim; when
 * the main thread runs out of tasks while a worker still holds one, it takes the task back (marks it −step) and runs
 * it itself, so a worker that a loaded core has descheduled never holds a step up (its late result is dropped). A command's end is stored in the worker's DONE word (or
 * DONE_ERROR after posting the error on its port).
 */
import type { MessagePort } from "node:worker_threads";
import type { ActivationName } from "../autodiff/activations";
import type { KernelBackend } from "./mlp-maml";
import type { FastLoss } from "./mlp-net";

/** Int32 words per worker in the control buffer. */
export const CTRL_STRIDE = 4;
/** Word the main thread bumps to start a command (the step number). */
export const CTRL_GO = 0;
/** Word a worker sets to the step number when done, or to `DONE_ERROR`. */
export const CTRL_DONE = 1;
/** Word holding the command the next GO starts. */
export const CTRL_CMD = 2;
/** Word a worker sets to 1 once its kernel is built. */
export const CTRL_READY = 3;

/** Commands. */
export const CMD_STEP = 1;
export const CMD_CONFIGURE = 2;
export const CMD_QUIT = 3;
/** DONE value of a failed command; the error is on the worker's port. */
export const DONE_ERROR = -1;

/** What a worker is started with (`workerData`). */
export interface WorkerInit {
  readonly sizes: readonly number[];
  readonly activation: ActivationName;
  readonly loss: FastLoss;
  readonly backend: KernelBackend;
  /** The control buffer, `CTRL_STRIDE` words per worker. */
  readonly ctrl: SharedArrayBuffer;
  /** This worker's slot in the control buffer. */
  readonly slot: number;
  /** The port a worker reads `WorkerConfigure` from (synchronously) and posts errors on. */
  readonly port: MessagePort;
}

/** The shapes that fix the shared buffers' layout; a change reallocates them. */
export interface BatchShape {
  readonly tasks: number;
  readonly shots: number;
  readonly queries: number;
  readonly innerSteps: number;
  readonly numParams: number;
  readonly din: number;
  readonly dout: number;
  /** Per-parameter rates (`rates.uniform === null`). */
  readonly vector: boolean;
  /** Learned rates (a rate gradient is wanted). */
  readonly learn: boolean;
  /** Float64 data (the JavaScript kernels) rather than float32 (WebAssembly SIMD): the kernels' heap precision. */
  readonly f64: boolean;
}

/** Element offsets into the shared buffers for one `BatchShape`. */
export interface BufferLayout {
  /** Elements of the data buffer (float32 or float64 by `f64`). */
  readonly dataSize: number;
  readonly theta: number;
  readonly rates: number;
  readonly supportX: number;
  readonly supportY: number;
  readonly queryX: number;
  readonly queryY: number;
  /** v_t of each task, [tasks, P]. */
  readonly v: number;
  /** −g_i ⊙ v_{i+1} of each task, [tasks, innerSteps, P] (learned rates only). */
  readonly rate: number;
  /** Elements of the float64 buffer. */
  readonly scalarSize: number;
  /** Step weights (MAML++ multi-step loss), [innerSteps], in the float64 buffer. */
  readonly weights: number;
  /** Per-task query-loss terms, [tasks, max(innerSteps, 1)], in the float64 buffer. */
  readonly losses: number;
}

/** Float64 slots of a step's scalars. */
export const S_ALPHA = 0;
export const S_FIRST_ORDER = 1;
export const S_LOWEST_LAYER = 2;
export const S_WEIGHTED = 3;
const S_COUNT = 4;

/** The layout of the shared buffers for a shape (both sides compute it the same way). */
export function bufferLayout(s: BatchShape): BufferLayout {
  const { tasks: T, shots: nS, queries: nQ, innerSteps: K, numParams: P, din, dout } = s;
  let top = 0;
  const take = (n: number): number => {
    const off = top;
    top += n;
    return off;
  };
  const theta = take(P);
  const rates = take(s.vector ? K * P : 0);
  const supportX = take(T * nS * din);
  const supportY = take(T * nS * dout);
  const queryX = take(T * nQ * din);
  const queryY = take(T * nQ * dout);
  const v = take(T * P);
  const rate = take(s.learn ? T * K * P : 0);
  const dataSize = top;
  const weights = S_COUNT;
  const losses = weights + K;
  return { dataSize, theta, rates, supportX, supportY, queryX, queryY, v, rate, scalarSize: losses + T * Math.max(K, 1), weights, losses };
}

/** A `done` word while a worker copies its task's contribution out (the calling thread cannot take the task back then). */
export const TASK_WRITING = -0x7fffffff;

/** Hands a worker its buffers. */
export interface WorkerConfigure {
  readonly shape: BatchShape;
  readonly data: SharedArrayBuffer;
  readonly scalars: SharedArrayBuffer;
  /**
   * Int32 [tasks]: the step whose contribution of task t is in the buffers (set after writing it), −step when the
   * calling thread took the task back in that step (it ran it itself), or `TASK_WRITING`.
   */
  readonly done: SharedArrayBuffer;
  /** BigInt64 [1]: the claim word, step << 32 | next task (see `claimTask`). */
  readonly claim: SharedArrayBuffer;
}

/** The claim word that opens step `seq` (no task claimed yet). */
export function openClaims(claim: BigInt64Array, seq: number): void {
  Atomics.store(claim, 0, BigInt(seq) << 32n);
}

/**
 * Claims the next task of step `seq`: its index, or −1 when every task is taken or the step is no longer `seq`.
 * A successful claim keeps the step open until that task is done, so inputs read before it were that step's.
 */
export function claimTask(claim: BigInt64Array, seq: number, tasks: number): number {
  const tag = BigInt(seq);
  for (;;) {
    const w = Atomics.load(claim, 0);
    if (w >> 32n !== tag) return -1;
    const t = Number(w & 0xffffffffn);
    if (t >= tasks) return -1;
    if (Atomics.compareExchange(claim, 0, w, w + 1n) === w) return t;
  }
}

/** What a worker posts when a command fails. */
export interface WorkerFailure {
  readonly error: string;
}

/**
 * Loads `spinWhile` makes before a thread sleeps: 0 (sleep at once) unless `METALAB_WORKER_SPIN` is a non-negative
 * integer. Spinning shortens the wake-up on a free core but, on a loaded one, takes time other threads need.
 */
export const SPINS = spinsOf(process.env.METALAB_WORKER_SPIN);

/** The spin count an environment value asks for: a non-negative integer, else 0. */
export function spinsOf(env: string | undefined): number {
  const n = Number(env);
  return env !== undefined && env !== "" && Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Spins up to `spins` loads while `ctrl[index] === value`, then returns whether it changed (the caller then sleeps with `Atomics.wait`). */
export function spinWhile(ctrl: Int32Array, index: number, value: number, spins: number): boolean {
  for (let i = 0; i < spins; i++) if (Atomics.load(ctrl, index) !== value) return true;
  return false;
}
