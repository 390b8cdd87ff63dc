/**
 * The entry of a MAML worker thread (started by worker-pool.ts from dist): builds its own kernel, then loops on its
 * GO word, claiming tasks of each step and writing each one's contribution into the shared buffers.
 */
import { receiveMessageOnPort, workerData } from "node:worker_threads";
import { MlpMamlKernel, type FlatTaskBatch, type MamlKernelOptions } from "./mlp-maml";
import {
  bufferLayout, claimTask, CMD_CONFIGURE, CMD_QUIT, CTRL_CMD, CTRL_DONE, CTRL_GO, CTRL_READY, CTRL_STRIDE, DONE_ERROR,
  S_ALPHA, S_FIRST_ORDER, SPINS, spinWhile, TASK_WRITING, S_LOWEST_LAYER, S_WEIGHTED, type WorkerConfigure, type WorkerInit,
} from "./worker-protocol";

/** The views one configuration gives a worker. */
interface Views {
  readonly config: WorkerConfigure;
  readonly theta: Float32Array | Float64Array;
  readonly rates: Float32Array | Float64Array | null;
  readonly batch: FlatTaskBatch;
  readonly v: Float32Array | Float64Array;
  readonly rate: Float32Array | Float64Array | null;
  readonly scalars: Float64Array;
  readonly losses: Float64Array;
  readonly weights: Float64Array;
  readonly done: Int32Array;
  readonly claim: BigInt64Array;
  /** A rate-gradient buffer of the right length: the kernel checks it, the rate terms go to `rate` per task. */
  readonly rateGrad: Float32Array | null;
}

/** Views over the shared buffers for a configuration. */
function viewsOf(c: WorkerConfigure): Views {
  const s = c.shape;
  const L = bufferLayout(s);
  const Arr = s.f64 ? Float64Array : Float32Array;
  const at = (off: number, n: number) => new Arr(c.data, off * Arr.BYTES_PER_ELEMENT, n);
  const { tasks: T, shots: nS, queries: nQ, innerSteps: K, numParams: P, din, dout } = s;
  const scalars = new Float64Array(c.scalars);
  return {
    config: c,
    theta: at(L.theta, P),
    rates: s.vector ? at(L.rates, K * P) : null,
    batch: { supportX: at(L.supportX, T * nS * din), supportY: at(L.supportY, T * nS * dout), queryX: at(L.queryX, T * nQ * din), queryY: at(L.queryY, T * nQ * dout), tasks: T, shots: nS, queries: nQ },
    v: at(L.v, T * P),
    rate: s.learn ? at(L.rate, T * K * P) : null,
    scalars,
    losses: scalars.subarray(L.losses, L.losses + T * Math.max(K, 1)),
    weights: scalars.subarray(L.weights, L.weights + K),
    done: new Int32Array(c.done),
    claim: new BigInt64Array(c.claim),
    rateGrad: s.learn ? new Float32Array(K * P) : null,
  };
}

/** Step `seq`: claims tasks until none is left, writing each one's contribution and marking it done. */
function step(kernel: MlpMamlKernel, w: Views, seq: number): void {
  const s = w.config.shape;
  const { tasks: T, innerSteps: K, numParams: P } = s;
  let t = claimTask(w.claim, seq, T);
  if (t < 0) return; // the other threads took every task before this one woke
  // The claim holds the step open until task t is done, so these inputs are step seq's.
  const sc = w.scalars;
  const options: MamlKernelOptions = {
    innerSteps: K,
    rates: s.vector ? { uniform: null, perParam: w.rates!, lowestLayer: sc[S_LOWEST_LAYER]! } : { uniform: sc[S_ALPHA]! },
    firstOrder: sc[S_FIRST_ORDER] === 1,
    stepWeights: sc[S_WEIGHTED] === 1 ? Array.from(w.weights) : null,
    ...(w.rateGrad ? { rateGrad: w.rateGrad } : {}),
  };
  kernel.startSplit(w.theta, w.batch, options);
  const nL = Math.max(K, 1);
  for (; t >= 0; t = claimTask(w.claim, seq, T)) {
    const before = Atomics.load(w.done, t);
    if (before === -seq) continue; // the calling thread took it back already
    kernel.taskKept(t);
    // Publish unless it was taken back meanwhile: only the winner of this exchange writes the task's rows.
    if (Atomics.compareExchange(w.done, t, before, TASK_WRITING) !== before) continue;
    kernel.readKept(t, w.v.subarray(t * P, (t + 1) * P), w.rate ? w.rate.subarray(t * K * P, (t + 1) * K * P) : null, w.losses.subarray(t * nL, (t + 1) * nL));
    Atomics.store(w.done, t, seq);
    Atomics.notify(w.done, t);
  }
}

/** The worker's loop: wait for GO, run the command, report DONE. */
function main(init: WorkerInit): void {
  const kernel = new MlpMamlKernel(init.sizes, init.activation, init.loss, init.backend);
  const ctrl = new Int32Array(init.ctrl);
  const base = init.slot * CTRL_STRIDE;
  Atomics.store(ctrl, base + CTRL_READY, 1);
  Atomics.notify(ctrl, base + CTRL_READY);
  let seen = 0;
  let views: Views | null = null;
  for (;;) {
    if (!spinWhile(ctrl, base + CTRL_GO, seen, SPINS)) Atomics.wait(ctrl, base + CTRL_GO, seen);
    seen = Atomics.load(ctrl, base + CTRL_GO);
    const cmd = Atomics.load(ctrl, base + CTRL_CMD);
    if (cmd === CMD_QUIT) break;
    let done = seen;
    try {
      if (cmd === CMD_CONFIGURE) {
        const m = receiveMessageOnPort(init.port);
        if (!m) throw new Error("CONFIGURE without a configuration message on the port.");
        views = viewsOf(m.message as WorkerConfigure);
      } else {
        if (!views) throw new Error("STEP before CONFIGURE.");
        step(kernel, views, seen);
      }
    } catch (e) {
      init.port.postMessage({ error: e instanceof Error ? e.stack ?? e.message : String(e) });
      done = DONE_ERROR;
    }
    Atomics.store(ctrl, base + CTRL_DONE, done);
    Atomics.notify(ctrl, base + CTRL_DONE);
  }
  init.port.close();
}

main(workerData as WorkerInit);
