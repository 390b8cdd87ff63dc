/**
 * MAML meta-gradients with a meta-batch's tasks split over threads: the calling thread and `workers − 1` worker
 * threads (maml-worker.js, started lazily) each run their own kernel and claim tasks one at a time until none is
 * left (worker-protocol.ts), so a thread that a loaded machine keeps waiting takes fewer tasks. Each worker writes
 * each task's own contribution into shared memory and the calling thread adds every task in task order with its
 * kernel's own adds, which is the order and rounding of the single-threaded `meta += v_t`: the result has the same
 * bits as one thread's for any number of workers and any split.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { MlpConfig } from "../models/mlp";
import { defaultKernelBackend, metaLossOf, MlpMamlKernel, type FlatTaskBatch, type KernelBackend, type MamlKernelOptions } from "./mlp-maml";
import type { FastLoss } from "./mlp-net";
import {
  bufferLayout, claimTask, CMD_CONFIGURE, openClaims, CMD_QUIT, CMD_STEP, CTRL_CMD, CTRL_DONE, CTRL_GO, CTRL_READY, CTRL_STRIDE, DONE_ERROR,
  S_ALPHA, S_FIRST_ORDER, SPINS, spinWhile, TASK_WRITING, S_LOWEST_LAYER, S_WEIGHTED, type BatchShape, type BufferLayout, type WorkerConfigure, type WorkerFailure, type WorkerInit,
} from "./worker-protocol";

/** The most threads a pool takes. */
export const MAX_WORKERS = 64;

/** How long a worker may take to load its script and build its kernel before the pool gives up. */
const START_TIMEOUT_MS = 60_000;

/** Checks a `workers` option: an integer from 1 to `MAX_WORKERS`. */
export function checkWorkers(who: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_WORKERS) {
    throw new Error(`${who} workers must be an integer from 1 to ${MAX_WORKERS}, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}. Use 1 for one thread, or up to the number of cores (os.availableParallelism()) to split a meta-batch's tasks.`);
  }
}

/** The compiled worker script next to this module (running from dist) or in the build (running from src); null when not built. */
export function workerScript(from: string = __dirname): string | null {
  const candidates = [path.join(from, "maml-worker.js"), path.resolve(from, "..", "..", "dist", "src", "fast", "maml-worker.js")];
  return candidates.find((f) => existsSync(f)) ?? null;
}

/** Settings of a pool. */
export interface WorkerPoolConfig {
  readonly model: MlpConfig;
  /** Task loss; "mse" by default. */
  readonly loss?: FastLoss;
  /** Kernel backend of every thread; `defaultKernelBackend()` by default. */
  readonly backend?: KernelBackend;
  /** Threads that run tasks, the calling one included (1 runs everything on the calling thread). */
  readonly workers: number;
}

/** One worker thread and the port it reads its configuration from. */
interface Thread {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly slot: number;
  failure: string | null;
}

/** The shared buffers of one batch shape and the calling thread's per-step bookkeeping. */
interface Shared {
  readonly key: string;
  readonly shape: BatchShape;
  readonly layout: BufferLayout;
  readonly data: Float32Array | Float64Array;
  readonly scalars: Float64Array;
  /** Per task, the step whose contribution a worker has written (Int32 [tasks]). */
  readonly done: Int32Array;
  /** The claim word (see `claimTask`). */
  readonly claim: BigInt64Array;
  /** Per task, 1 when the calling thread ran it out of order and kept it (this step). */
  readonly kept: Uint8Array;
}

/** A MAML kernel whose meta-gradient splits the tasks over `workers` threads; `dispose()` ends the worker threads. */
export class MamlWorkerPool {
  readonly workers: number;
  readonly backend: KernelBackend;
  private readonly kernel: MlpMamlKernel;
  private readonly ctrl: Int32Array;
  private threads: Thread[] = [];
  private shared: Shared | null = null;
  private seq = 0;
  private disposed = false;
  private readonly counts = { steps: 0, fromWorkers: 0, kept: 0, takenBack: 0 };

  constructor(readonly config: WorkerPoolConfig) {
    checkWorkers("MamlWorkerPool", config.workers);
    this.workers = config.workers;
    this.backend = config.backend ?? defaultKernelBackend();
    this.kernel = new MlpMamlKernel(config.model.sizes, config.model.activation, config.loss ?? "mse", this.backend);
    this.ctrl = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * CTRL_STRIDE * MAX_WORKERS));
  }

  /** Parameters of the MLP. */
  get numParams(): number {
    return this.kernel.numParams;
  }

  /** Whether `dispose()` ran (or a worker failed, which disposes the pool). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Split steps so far, and how many tasks came from workers, were run out of order and kept, or were taken back from a worker. */
  get stats(): { readonly steps: number; readonly fromWorkers: number; readonly kept: number; readonly takenBack: number } {
    return { ...this.counts };
  }

  /** Worker threads running now (started on the first split step). */
  get running(): number {
    return this.threads.length;
  }

  /** `MlpMamlKernel.metaGradient` with the tasks split over the threads: the same bits as one thread's. */
  metaGradient(theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions, gradOut: Float32Array | Float64Array): number {
    if (this.disposed) throw new Error("MamlWorkerPool: used after dispose(). Make a new pool (or a new trainer) to train again.");
    const T = batch.tasks;
    const n = Math.min(this.workers, T);
    if (n <= 1) return this.kernel.metaGradient(theta, batch, options, gradOut);
    const P = this.kernel.numParams;
    if (theta.length !== P || gradOut.length !== P) throw new Error(`metaGradient: theta and gradOut need ${P} entries for MLP [${this.kernel.sizes}], got ${theta.length} and ${gradOut.length}.`);
    const K = options.innerSteps;
    const nL = Math.max(K, 1);
    const KP = K * P;
    const k = this.kernel;
    k.startSplit(theta, batch, options); // checks the batch and options before anything is shared
    const sh = this.prepare(batch, options, n);
    this.writeInputs(sh, theta, batch, options);
    const seq = this.nextSeq();
    openClaims(sh.claim, seq);
    for (let b = 1; b < n; b++) this.command(this.threads[b - 1]!, CMD_STEP, seq);
    const sums = new Float64Array(nL);
    const { layout: L, data, scalars, done, kept } = sh;
    kept.fill(0);
    // Add every finished task in task order; between, claim and run tasks like the workers do.
    for (let next = 0; next < T; ) {
      if (kept[next] === 1) {
        k.addKept(next, sums);
        next++;
        continue;
      }
      if (Atomics.load(done, next) === seq) {
        const rate = sh.shape.learn ? data.subarray(L.rate + next * KP, L.rate + (next + 1) * KP) : null;
        this.counts.fromWorkers++;
        k.addTask(next, data.subarray(L.v + next * P, L.v + (next + 1) * P), rate, scalars.subarray(L.losses + next * nL, L.losses + (next + 1) * nL), sums);
        next++;
        continue;
      }
      const t = claimTask(sh.claim, seq, T);
      if (t === next) {
        k.taskInOrder(t, sums);
        next++;
      } else if (t >= 0) {
        k.taskKept(t);
        kept[t] = 1;
        this.counts.kept++;
      } else {
        // No task left to claim and a worker holds this one: take it back and run it, unless it is being written.
        const cur = Atomics.load(done, next);
        if (cur === TASK_WRITING) this.waitTask(done, next, seq);
        else if (cur !== seq && Atomics.compareExchange(done, next, cur, -seq) === cur) {
          k.taskInOrder(next, sums);
          next++;
          this.counts.takenBack++;
        }
      }
    }
    this.counts.steps++;
    k.readSums(gradOut, options.rateGrad);
    return metaLossOf(sums, options.stepWeights ?? null, K, T);
  }

  /** Ends the worker threads; the pool cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const th of this.threads) {
      Atomics.store(this.ctrl, th.slot * CTRL_STRIDE + CTRL_CMD, CMD_QUIT);
      Atomics.add(this.ctrl, th.slot * CTRL_STRIDE + CTRL_GO, 1);
      Atomics.notify(this.ctrl, th.slot * CTRL_STRIDE + CTRL_GO);
      th.port.close();
      void th.worker.terminate();
    }
    this.threads = [];
    this.shared = null;
  }

  /** The next step number (positive, so it never equals `DONE_ERROR` or the initial 0). */
  private nextSeq(): number {
    this.seq = this.seq >= 0x3fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /** Starts the worker threads this split needs and (re)hands out buffers when the batch shape changed. */
  private prepare(batch: FlatTaskBatch, options: MamlKernelOptions, n: number): Shared {
    const { sizes, numParams: P } = this.kernel;
    const shape: BatchShape = {
      tasks: batch.tasks, shots: batch.shots, queries: batch.queries, innerSteps: options.innerSteps, numParams: P,
      din: sizes[0]!, dout: sizes[sizes.length - 1]!, vector: options.rates.uniform === null, learn: options.rateGrad !== undefined,
      f64: this.kernel.ops.heap() instanceof Float64Array,
    };
    const key = `${JSON.stringify(shape)}:${n}`;
    if (this.shared?.key === key) return this.shared;
    while (this.threads.length < n - 1) this.threads.push(this.start(this.threads.length));
    const layout = bufferLayout(shape);
    const Arr = shape.f64 ? Float64Array : Float32Array;
    const dataBuf = new SharedArrayBuffer(Math.max(layout.dataSize, 1) * Arr.BYTES_PER_ELEMENT);
    const scalarBuf = new SharedArrayBuffer(layout.scalarSize * Float64Array.BYTES_PER_ELEMENT);
    const doneBuf = new SharedArrayBuffer(shape.tasks * Int32Array.BYTES_PER_ELEMENT);
    const claimBuf = new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT);
    const seq = this.nextSeq();
    for (let b = 1; b < n; b++) {
      const th = this.threads[b - 1]!;
      const msg: WorkerConfigure = { shape, data: dataBuf, scalars: scalarBuf, done: doneBuf, claim: claimBuf };
      th.port.postMessage(msg);
      this.command(th, CMD_CONFIGURE, seq);
    }
    for (let b = 1; b < n; b++) this.waitDone(this.threads[b - 1]!, seq);
    this.shared = { key, shape, layout, data: new Arr(dataBuf), scalars: new Float64Array(scalarBuf), done: new Int32Array(doneBuf), claim: new BigInt64Array(claimBuf), kept: new Uint8Array(shape.tasks) };
    return this.shared;
  }

  /** Copies θ, the rates, the batch and the step's scalars into the shared buffers. */
  private writeInputs(sh: Shared, theta: ArrayLike<number>, batch: FlatTaskBatch, options: MamlKernelOptions): void {
    const { layout: L, data, scalars } = sh;
    data.set(theta, L.theta);
    if (sh.shape.vector) data.set(options.rates.perParam!, L.rates);
    data.set(batch.supportX, L.supportX);
    data.set(batch.supportY, L.supportY);
    data.set(batch.queryX, L.queryX);
    data.set(batch.queryY, L.queryY);
    scalars[S_ALPHA] = options.rates.uniform ?? 0;
    scalars[S_FIRST_ORDER] = options.firstOrder ? 1 : 0;
    scalars[S_LOWEST_LAYER] = options.rates.lowestLayer ?? 0;
    const w = options.stepWeights ?? null;
    scalars[S_WEIGHTED] = w ? 1 : 0;
    if (w) {
      if (w.length !== options.innerSteps) throw new Error(`metaGradient: stepWeights needs one weight per inner step (${options.innerSteps}), got ${w.length}.`);
      for (let k = 0; k < w.length; k++) scalars[L.weights + k] = w[k]!;
    }
  }

  /** Starts worker thread `slot` (unref'd: an undisposed pool does not keep the process alive). */
  private start(slot: number): Thread {
    const file = workerScript();
    if (!file) throw new Error("MamlWorkerPool: workers > 1 need the compiled worker script dist/src/fast/maml-worker.js, which is not built. Run `npm run build` first, or use workers: 1.");
    const base = slot * CTRL_STRIDE;
    for (let k = 0; k < CTRL_STRIDE; k++) Atomics.store(this.ctrl, base + k, 0);
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { sizes: [...this.kernel.sizes], activation: this.kernel.activation, loss: this.kernel.loss, backend: this.backend, ctrl: this.ctrl.buffer as SharedArrayBuffer, slot, port: port2 };
    const worker = new Worker(file, { workerData: init, transferList: [port2] });
    const th: Thread = { worker, port: port1, slot, failure: null };
    worker.on("error", (e) => (th.failure = e.message));
    worker.unref();
    port1.unref();
    return th;
  }

  /** Starts a command on a thread. */
  private command(th: Thread, cmd: number, seq: number): void {
    const base = th.slot * CTRL_STRIDE;
    Atomics.store(this.ctrl, base + CTRL_CMD, cmd);
    Atomics.store(this.ctrl, base + CTRL_GO, seq);
    Atomics.notify(this.ctrl, base + CTRL_GO);
  }

  /** Blocks until a worker has marked task t done for step `seq`; throws a worker's error (and disposes the pool). */
  private waitTask(done: Int32Array, t: number, seq: number): void {
    for (;;) {
      const d = Atomics.load(done, t);
      if (d === seq) return;
      if (spinWhile(done, t, d, SPINS)) continue;
      if (Atomics.wait(done, t, d, 100) === "timed-out") this.throwFailure();
    }
  }

  /** Throws the first worker failure, if any (disposing the pool). */
  private throwFailure(): void {
    for (const th of this.threads) {
      if (Atomics.load(this.ctrl, th.slot * CTRL_STRIDE + CTRL_DONE) !== DONE_ERROR && th.failure === null) continue;
      const m = receiveMessageOnPort(th.port)?.message as WorkerFailure | undefined;
      this.dispose();
      throw new Error(`MamlWorkerPool: worker ${th.slot + 1} failed: ${m?.error ?? th.failure ?? "no message"}`);
    }
  }

  /** Blocks until a thread has finished command `seq`; throws its error (and disposes the pool) if it failed. */
  private waitDone(th: Thread, seq: number): void {
    const base = th.slot * CTRL_STRIDE;
    const t0 = Date.now();
    for (;;) {
      const d = Atomics.load(this.ctrl, base + CTRL_DONE);
      if (d === seq) return;
      if (d === DONE_ERROR) {
        const m = receiveMessageOnPort(th.port)?.message as WorkerFailure | undefined;
        this.dispose();
        throw new Error(`MamlWorkerPool: worker ${th.slot + 1} failed: ${m?.error ?? "no message"}`);
      }
      if (spinWhile(this.ctrl, base + CTRL_DONE, d, SPINS)) continue;
      const waited = Atomics.wait(this.ctrl, base + CTRL_DONE, d, 1000);
      if (waited === "timed-out" && Atomics.load(this.ctrl, base + CTRL_READY) !== 1 && Date.now() - t0 > START_TIMEOUT_MS) {
        this.dispose();
        throw new Error(`MamlWorkerPool: worker ${th.slot + 1} did not start within ${START_TIMEOUT_MS / 1000} s${th.failure ? ` (${th.failure})` : ""}. Check that \`npm run build\` is current, or use workers: 1.`);
      }
    }
  }
}

const pools = new Map<string, MamlWorkerPool>();

/** A cached pool per MLP shape, activation, loss, backend and thread count (for the `Maml` learner's fast path). */
export function workerPoolFor(model: MlpConfig, loss: FastLoss, workers: number, backend: KernelBackend = defaultKernelBackend()): MamlWorkerPool {
  const key = `${backend}:${loss}:${model.activation}:${model.sizes.join(",")}:${workers}`;
  let p = pools.get(key);
  if (!p || p.isDisposed) {
    p = new MamlWorkerPool({ model, loss, backend, workers });
    pools.set(key, p);
  }
  return p;
}

/** The cached pools (for benches that report where tasks ran). */
export function cachedWorkerPools(): readonly MamlWorkerPool[] {
  return [...pools.values()];
}

/** Ends every cached pool's worker threads (they are unref'd, so a process exits without this; it frees them sooner). */
export function disposeWorkerPools(): void {
  for (const p of pools.values()) p.dispose();
  pools.clear();
}
