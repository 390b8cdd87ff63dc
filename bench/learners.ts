/**
 * `npm run bench`: ms per outer step of every learner and setting the labs use, through the public learners
 * (fast path selected automatically) and, for reference, the general tfjs path, each beside the fastest of
 * PyTorch's forms (bench/torch_bench.py) measured in the same run, row by row, with each side's peak RSS.
 *
 *   npm run bench                                 # all rows; PyTorch from $METALAB_PYTHON (else /usr/bin/python3)
 *   node dist/bench/learners.js --scaling         # how the MAML fast path and PyTorch grow with tasks, shots, steps, width
 *   node dist/bench/learners.js --memory          # 10,000 steps per row: RSS and tensor count must not grow
 *   node dist/bench/learners.js --workers=1,2     # the MAML rows with their tasks split over 1 and 2 threads (--rounds=3)
 *   options: --quick, --rows=so1,anil (ids), --no-torch, --no-general, --threads=1,2 (PyTorch), --forms=batched,func,compile
 *   A second PyTorch column (e.g. Debian's 1.13) is added when /usr/bin/python3 has torch and differs from
 *   $METALAB_PYTHON; --second-python=PATH names another, --no-second skips it.
 * Every row runs in its own child process, so the peak RSS is that row's alone.
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ready, describeBackend } from "../src/core/backend";
import { Rng } from "../src/core/random";
import { disposeParams } from "../src/core/params";
import { Mlp, type MlpConfig } from "../src/models/mlp";
import { SineFamily } from "../src/tasks/regression";
import { BlobClassification } from "../src/tasks/classification";
import { disposeBatch, type BatchSpec, type TaskFamily } from "../src/tasks/task-family";
import { Maml, type MamlOptions } from "../src/learners/maml";
import { Reptile } from "../src/learners/reptile";
import { Pretrain } from "../src/learners/pretrain";
import { RidgeHead } from "../src/learners/ridge";
import { bnMamlStep, disposeBnMaml, initBnMaml, DEFAULT_BN_MAML } from "../src/learners/bn-maml";
import { DEFAULT_BN_MLP } from "../src/models/batchnorm";
import { defaultKernelBackend, flattenBatch } from "../src/fast/mlp-maml";
import { FastMamlTrainer } from "../src/fast/fast-maml-trainer";
import { cachedWorkerPools, MamlWorkerPool } from "../src/fast/worker-pool";
import { mlpLayout, pack } from "../src/fast/pack";

/** One row: a learner and setting a lab uses, and the same work as a PyTorch row spec. */
interface Row {
  readonly id: string;
  readonly label: string;
  readonly labs: string;
  readonly family: "sine" | "blobs";
  readonly spec: BatchSpec;
  readonly sizes: readonly number[];
  /** Builds the public learner; `fastPath` is "auto" (the default) or "off" (the general tfjs path); `workers` is MAML's thread count (MAML rows only). */
  readonly make: (model: Mlp, init: ReturnType<Mlp["init"]>, fastPath: "auto" | "off", workers?: number) => Handle;
  /** PyTorch's equivalent (bench/torch_bench.py), or null when no PyTorch form is written. */
  readonly torch: Record<string, unknown> | null;
}

const SINE: BatchSpec = { tasks: 25, shots: 10, queries: 10 };
const FINN = [1, 40, 40, 1];
const BLOBS: BatchSpec = { tasks: 8, shots: 1, queries: 5 };

/** A learner as a row runs it; `bits` hashes its parameters (MAML rows), to check that thread counts agree. */
interface Handle {
  step: (b: ReturnType<TaskFamily["sample"]>) => number;
  dispose: () => void;
  lastPath: () => unknown;
  bits?: () => string;
}

const maml = (o: Partial<MamlOptions>) => (model: Mlp, init: ReturnType<Mlp["init"]>, fastPath: "auto" | "off", workers = 1): Handle => {
  const m = new Maml(model, init, { ...o, fastPath, workers });
  const bits = () => {
    const h = createHash("sha256");
    for (const k of Object.keys(m.params).sort()) h.update(m.params[k]!.dataSync() as Float32Array);
    return h.digest("hex").slice(0, 16);
  };
  return { step: (b) => m.step(b), dispose: () => m.dispose(), lastPath: () => m.lastPath, bits };
};
const torchMaml = (extra: Record<string, unknown>) => ({ algo: "maml", loss: "mse", sizes: FINN, ...SINE, steps: 1, firstOrder: false, innerLr: 0.01, ...extra });

const ROWS: Row[] = [
  { id: "so1", label: "MAML, second order, 1 step", labs: "02, 03", family: "sine", spec: SINE, sizes: FINN, make: maml({}), torch: torchMaml({}) },
  { id: "fo1", label: "FO-MAML, 1 step", labs: "03", family: "sine", spec: SINE, sizes: FINN, make: maml({ firstOrder: true }), torch: torchMaml({ firstOrder: true }) },
  { id: "so5", label: "MAML, second order, 5 steps", labs: "03 (gradient norms)", family: "sine", spec: SINE, sizes: FINN, make: maml({ innerSteps: 5 }), torch: torchMaml({ steps: 5 }) },
  { id: "anil", label: "ANIL (head-only inner loop), 1 step", labs: "03", family: "sine", spec: SINE, sizes: FINN, make: maml({ adapt: "head" }), torch: torchMaml({ adapt: "head" }) },
  { id: "lslr", label: "MAML++ LSLR + multi-step loss, 5 steps", labs: "06", family: "sine", spec: SINE, sizes: FINN, make: maml({ innerSteps: 5, learnInnerLr: true, multiStepLoss: true }), torch: torchMaml({ steps: 5, learnLr: "tensor", multiStep: true }) },
  { id: "metasgd", label: "Meta-SGD (per-parameter rates), 1 step", labs: "06", family: "sine", spec: SINE, sizes: FINN, make: maml({ learnInnerLr: true, innerLrPer: "parameter" }), torch: torchMaml({ learnLr: "parameter" }) },
  {
    id: "ce2", label: "MAML 5-way 1-shot cross-entropy, 2 steps", labs: "04, 05, 09 (MLP)", family: "blobs", spec: BLOBS, sizes: [8, 32, 32, 5],
    make: maml({ loss: "cross-entropy", innerSteps: 2, innerLr: 0.4 }),
    torch: { algo: "maml", loss: "cross-entropy", sizes: [8, 32, 32, 5], ways: 5, ...BLOBS, steps: 2, firstOrder: false, innerLr: 0.4 },
  },
  {
    id: "reptile", label: "Reptile, 5 steps", labs: "03", family: "sine", spec: SINE, sizes: FINN,
    make: (model, init, fastPath) => {
      const r = new Reptile(model, init, { innerSteps: 5, innerLr: 0.02, outerStepSize: 0.1, fastPath });
      return { step: (b) => r.step(b), dispose: () => r.dispose(), lastPath: () => r.lastPath };
    },
    torch: { algo: "reptile", loss: "mse", sizes: FINN, ...SINE, steps: 5, innerLr: 0.02, outerStepSize: 0.1 },
  },
  {
    id: "ridge", label: "ridge head (R2-D2)", labs: "03, 07", family: "sine", spec: SINE, sizes: FINN,
    make: (model, init, fastPath) => {
      const r = new RidgeHead(model, init, { fastPath });
      return { step: (b) => r.step(b), dispose: () => r.dispose(), lastPath: () => r.lastPath };
    },
    torch: { algo: "ridge", loss: "mse", sizes: FINN, ...SINE, lambda: 0.1 },
  },
  {
    id: "pretrain", label: "joint pretraining", labs: "02", family: "sine", spec: SINE, sizes: FINN,
    make: (model, init, fastPath) => {
      const r = new Pretrain(model, init, { fastPath });
      return { step: (b) => r.step(b), dispose: () => r.dispose(), lastPath: () => r.lastPath };
    },
    torch: { algo: "pretrain", loss: "mse", sizes: FINN, ...SINE },
  },
  {
    id: "bnmaml", label: "BN-MAML, 2 steps (general path only)", labs: "04", family: "blobs", spec: BLOBS, sizes: DEFAULT_BN_MLP.sizes,
    make: () => {
      let state = initBnMaml(new Rng(0), DEFAULT_BN_MLP);
      const o = { ...DEFAULT_BN_MAML, innerSteps: 2 };
      return {
        step: (b) => {
          const r = bnMamlStep(state, b, DEFAULT_BN_MLP, o);
          state = r.state;
          return r.loss;
        },
        dispose: () => disposeBnMaml(state),
        lastPath: () => ({ fast: false, reason: "BatchNorm MLPs have no fast kernel" }),
      };
    },
    torch: null,
  },
];

const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f);
const opt = (f: string) => args.find((a) => a.startsWith(`${f}=`))?.slice(f.length + 1);
const QUICK = flag("--quick");

/** What one timed run measured (in a child process). */
interface Timing {
  readonly ms: number;
  readonly msMin: number;
  readonly iters: number;
  readonly peakRssMb: number;
  readonly tensorsLeaked: number;
  readonly path: unknown;
  readonly rssGrowthMb?: number;
  readonly rssAt1kMb?: number;
  readonly rssAtEndMb?: number;
  /** CPU time (user + system, all threads) per timed step. */
  readonly cpuMs?: number;
  /** Hash of the parameters after the warm-up steps (MAML rows), the same for every thread count. */
  readonly warmBits?: string;
  /** With workers: the share of tasks a worker thread computed, and of tasks taken back from a worker. */
  readonly workerShare?: number;
  readonly takenBackShare?: number;
}

function familyOf(row: { family: "sine" | "blobs" }): TaskFamily {
  return row.family === "sine" ? new SineFamily() : new BlobClassification();
}

/** Child process: times one row on one path and prints a JSON line. */
async function child(rowId: string, pathName: string): Promise<void> {
  await ready();
  const row = ROWS.find((r) => r.id === rowId);
  if (!row) throw new Error(`unknown row ${rowId}`);
  const model = new Mlp({ sizes: row.sizes, activation: "relu" } as MlpConfig);
  const rng = new Rng(0);
  const init = model.init(rng.fork("init"));
  const family = familyOf(row);
  const memory = pathName === "memory";
  const fast = pathName !== "general";
  const isTrainer = pathName === "trainer";
  const workers = pathName.startsWith("workers") ? Number(pathName.slice("workers".length)) : 1;
  let h: Handle;
  if (isTrainer) {
    const t = new FastMamlTrainer(init, { model: model.config, innerSteps: 1, innerLr: 0.01, firstOrder: false });
    h = { step: (b) => t.metaStep(b), dispose: () => undefined, lastPath: () => ({ fast: true, reason: null }) };
  } else h = row.make(model, init, fast ? "auto" : "off", workers);
  disposeParams(init);
  const one = () => {
    const b = family.sample(rng, row.spec);
    h.step(b);
    disposeBatch(b);
  };
  const general = !fast;
  const warm = general ? 3 : QUICK ? 10 : 50;
  const iters = memory ? (QUICK ? 2000 : 10_000) : general ? (QUICK ? 10 : 40) : QUICK ? 100 : 400;
  const maxS = memory ? 1e9 : QUICK ? 1 : 3;
  for (let i = 0; i < warm; i++) one();
  // Counted before the hash: reading `params` of a fast-path learner makes tensors that its next step disposes.
  const tensors = tf.memory().numTensors;
  const warmBits = h.bits?.();
  const ts: number[] = [];
  let rss1k = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  while (ts.length < iters && (performance.now() - start < maxS * 1000 || ts.length < 3)) {
    const t0 = performance.now();
    one();
    ts.push(performance.now() - t0);
    if (memory && ts.length === Math.floor(iters / 10)) {
      global.gc?.();
      rss1k = process.memoryUsage().rss;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  if (memory) global.gc?.();
  const rssEnd = process.memoryUsage().rss;
  const leaked = tf.memory().numTensors - tensors;
  const lastPath = h.lastPath();
  h.dispose();
  const st = cachedWorkerPools().map((p) => p.stats).find((x) => x.steps > 0);
  const tasksRun = st ? st.steps * row.spec.tasks : 0;
  ts.sort((a, b) => a - b);
  const out: Timing = {
    ms: ts[Math.floor(ts.length / 2)]!, msMin: ts[0]!, iters: ts.length, peakRssMb: process.resourceUsage().maxRSS / 1024, tensorsLeaked: leaked, path: lastPath,
    cpuMs: (cpu.user + cpu.system) / 1000 / ts.length, ...(warmBits ? { warmBits } : {}),
    ...(st ? { workerShare: st.fromWorkers / tasksRun, takenBackShare: st.takenBack / tasksRun } : {}),
    ...(memory ? { rssAt1kMb: rss1k / 2 ** 20, rssAtEndMb: rssEnd / 2 ** 20, rssGrowthMb: (rssEnd - rss1k) / 2 ** 20 } : {}),
  };
  console.log(JSON.stringify(out));
}

function runChild(rowId: string, pathName: string, extraNode: string[] = []): Timing | { error: string } {
  const r = spawnSync(process.execPath, [...extraNode, __filename, `--child=${rowId}:${pathName}`, ...(QUICK ? ["--quick"] : [])], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || "failed").trim().split("\n").pop() ?? "failed" };
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Timing;
}

interface TorchResult {
  readonly row: string;
  readonly form: string;
  readonly threads: number;
  readonly ms?: number;
  readonly msMin?: number;
  readonly error?: string;
}

interface TorchRun {
  readonly version: string | null;
  readonly note: string;
  readonly results: TorchResult[];
  readonly peakRssMb?: number;
}

function torchScript(): string | null {
  return [path.join(__dirname, "torch_bench.py"), path.join(__dirname, "..", "..", "bench", "torch_bench.py")].find(existsSync) ?? null;
}

/** Runs one row in PyTorch in its own process (so its peak RSS is the row's). */
function runTorch(py: string, rows: Record<string, unknown>[], threads: readonly number[], forms: readonly string[], maxSeconds: number): TorchRun {
  const script = torchScript();
  if (!script) return { version: null, note: "bench/torch_bench.py not found", results: [] };
  const spec = { threads, forms, warmup: QUICK ? 3 : 10, iters: QUICK ? 15 : 60, maxSeconds, rows };
  const r = spawnSync(py, [script, JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || "").trim().split("\n").pop() ?? "";
    const missing = r.error !== undefined || /No module named .?torch/.test(r.stderr ?? "");
    return { version: null, note: missing ? `PyTorch not found for ${py} (${why}); see bench/README.md for the virtualenv` : `PyTorch failed: ${why}`, results: [] };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { torch: string; results: TorchResult[]; peakRssMb: number };
  return { version: out.torch, note: `PyTorch ${out.torch} (${py})`, results: out.results, peakRssMb: out.peakRssMb };
}

function fmt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "–";
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

/** The fastest PyTorch form and thread count of a row, by median. */
function best(run: TorchRun | null, rowId: string): TorchResult | undefined {
  const ok = (run?.results ?? []).filter((r) => r.row === rowId && r.ms !== undefined);
  return ok.sort((a, b) => a.ms! - b.ms!)[0];
}

function header(): void {
  const cpus = os.cpus();
  console.log(`date: ${new Date().toISOString()}`);
  console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? "unknown cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}

async function main(): Promise<void> {
  const childArg = opt("--child");
  if (childArg) {
    const [rowId, pathName] = childArg.split(":");
    return child(rowId!, pathName!);
  }
  const info = await ready();
  header();
  console.log(`node ${process.version}; tfjs ${tf.version.tfjs}; default backend: ${describeBackend(info)}; fast-path kernels: ${defaultKernelBackend()}`);
  if (flag("--scaling")) return scaling();
  const only = opt("--rows")?.split(",");
  const rows = ROWS.filter((r) => !only || only.includes(r.id));
  if (flag("--memory")) return memory(rows);
  const workerCounts = opt("--workers");
  if (workerCounts) return workersBench(rows, workerCounts.split(",").map(Number));
  const threads = (opt("--threads") ?? "1,2").split(",").map(Number);
  const forms = (opt("--forms") ?? "batched,func,compile").split(",");
  const primary = process.env.METALAB_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
  const secondPy = opt("--second-python") ?? (primary !== "/usr/bin/python3" && existsSync("/usr/bin/python3") ? "/usr/bin/python3" : null);
  const useSecond = secondPy !== null && !flag("--no-second") && !flag("--no-torch");
  const maxS = QUICK ? 1 : 3;
  const table: { row: Row; learner: Timing | { error: string }; general: Timing | { error: string } | null; trainer: Timing | { error: string } | null; t1: TorchRun | null; t2: TorchRun | null; load: number }[] = [];
  for (const row of rows) {
    const load = os.loadavg()[0]!;
    const learner = runChild(row.id, "learner");
    const trainer = row.id === "so1" ? runChild(row.id, "trainer") : null;
    const general = flag("--no-general") || row.id === "bnmaml" ? null : runChild(row.id, "general");
    const t1 = row.torch && !flag("--no-torch") ? runTorch(primary, [{ name: row.id, ...row.torch }], threads, forms, maxS) : null;
    const t2 = row.torch && useSecond ? runTorch(secondPy!, [{ name: row.id, ...row.torch }], threads, ["batched"], maxS) : null;
    table.push({ row, learner, general, trainer, t1, t2, load });
    const b = best(t1, row.id);
    console.error(`  ${row.id}: learner ${"ms" in learner ? fmt(learner.ms) : learner.error} ms; PyTorch ${fmt(b?.ms)} ms (${b?.form ?? "–"}, ${b?.threads ?? "–"} thr); load ${load.toFixed(1)}`);
  }
  const v1 = table.find((t) => t.t1?.version)?.t1;
  const v2 = table.find((t) => t.t2?.version)?.t2;
  console.log(`PyTorch: ${v1?.note ?? (flag("--no-torch") ? "skipped (--no-torch)" : table.find((t) => t.t1)?.t1?.note ?? "not run")}${v2 ? `; second column: ${v2.note}` : ""}`);
  console.log("");
  const second = v2 ? ` PyTorch ${v2.version} batched (median) |` : "";
  console.log(`| row (labs) | Maml/Reptile/... learner ms (median / min) | path | general tfjs path ms | PyTorch ${v1?.version ?? "–"} best form ms (median / min) | best form, threads |${second} ratio (medians) | ratio (mins) | peak RSS MB, metalab / PyTorch | load |`);
  console.log(`|---|---:|---|---:|---:|---|${v2 ? "---:|" : ""}---:|---:|---:|---:|`);
  for (const t of table) {
    const l = "ms" in t.learner ? t.learner : null;
    const g = t.general && "ms" in t.general ? t.general : null;
    const b = best(t.t1, t.row.id);
    const b2 = best(t.t2, t.row.id);
    const p = l?.path as { fast?: boolean; reason?: string | null } | null;
    const pathText = l ? (p?.fast ? "fast" : `general (${p?.reason ?? "?"})`) : `error: ${(t.learner as { error: string }).error}`;
    const ratio = (a?: number, c?: number) => (a !== undefined && c !== undefined ? (a / c).toFixed(2) : "–");
    console.log(`| ${t.row.label} (${t.row.labs}) | ${fmt(l?.ms)} / ${fmt(l?.msMin)} | ${pathText} | ${fmt(g?.ms)} | ${fmt(b?.ms)} / ${fmt(b?.msMin)} | ${b ? `${b.form}, ${b.threads}` : "–"} |${v2 ? ` ${fmt(b2?.ms)} |` : ""} ${ratio(l?.ms, b?.ms)} | ${ratio(l?.msMin, b?.msMin)} | ${l ? l.peakRssMb.toFixed(0) : "–"} / ${t.t1?.peakRssMb?.toFixed(0) ?? "–"} | ${t.load.toFixed(1)} |`);
  }
  const trainerRow = table.find((t) => t.trainer && "ms" in t.trainer);
  if (trainerRow) console.log(`\nFastMamlTrainer (typed-array core, same kernel and Adam) on the first row: ${fmt((trainerRow.trainer as Timing).ms)} ms median.`);
  console.log("\nPyTorch forms per row (median ms, threads; errors as reported):");
  for (const t of table) {
    const rs = t.t1?.results ?? [];
    if (rs.length) console.log(`  ${t.row.id}: ${rs.map((r) => (r.ms !== undefined ? `${r.form}/${r.threads}t ${fmt(r.ms)}` : `${r.form} failed (${r.error})`)).join("; ")}`);
  }
  const head = table.find((t) => t.row.id === "so1");
  if (head && "ms" in head.learner) {
    const b = best(head.t1, "so1");
    if (b?.ms !== undefined) {
      const r = head.learner.ms / b.ms;
      const rm = head.learner.msMin / b.msMin!;
      console.log(`\nHeadline: second-order MAML, 1 inner step, Maml learner on ${tf.getBackend()}: ${r.toFixed(2)}× PyTorch ${v1?.version} (${b.form}, ${b.threads} thread${b.threads > 1 ? "s" : ""}) on medians (goal ≤ 0.25 ${r <= 0.25 ? "met" : "NOT met"}), ${rm.toFixed(2)}× on minimum times; load average ${head.load.toFixed(1)} when measured.`);
    }
  }
  const misses = table.filter((t) => "ms" in t.learner && best(t.t1, t.row.id)?.ms !== undefined && (t.learner as Timing).ms / best(t.t1, t.row.id)!.ms! > 0.5);
  console.log(`Rows above 0.5× PyTorch on medians: ${misses.length ? misses.map((t) => t.row.id).join(", ") : "none"}.`);
  const leaks = table.filter((t) => "ms" in t.learner && (t.learner as Timing).tensorsLeaked !== 0);
  if (leaks.length) throw new Error(`Tensor leak in: ${leaks.map((t) => t.row.id).join(", ")}.`);
}

/**
 * --workers=1,2: each MAML row with its tasks split over each thread count, in its own child process, `--rounds`
 * times with the order alternating (the load drifts); per count the median of the rounds' medians and the least
 * minimum, the ratios to the first count, and whether the parameters after the warm-up steps have the same bits.
 */
async function workersBench(rows: readonly Row[], counts: readonly number[]): Promise<void> {
  const calibrate = async (when: string) => {
    const cal = await secondCore();
    console.log(`second core ${when}: a fixed loop takes ${cal.alone.toFixed(0)} ms alone and ${cal.together.toFixed(0)} ms wall on 2 threads at once, i.e. 2 threads get ${((2 * cal.alone) / cal.together).toFixed(2)}× one thread's throughput (2.00 on a free second core); load ${os.loadavg()[0]!.toFixed(1)}`);
  };
  await calibrate("before");
  const mamlRows = rows.filter((r) => ["so1", "fo1", "so5", "anil", "lslr", "metasgd", "ce2"].includes(r.id));
  const rounds = Number(opt("--rounds") ?? (QUICK ? 1 : 3));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cols = counts.map((n) => `${n} thread${n > 1 ? "s" : ""} ms (median / min)`);
  const ratios = counts.slice(1).map((n) => `${n} vs ${counts[0]} (medians / mins / paired)`);
  console.log(`\n| row (tasks) | ${cols.join(" | ")} | ${ratios.join(" | ")} | CPU ms per step | tasks on workers / taken back | same bits | load |`);
  console.log(`|---|${counts.map(() => "---:|").join("")}${ratios.map(() => "---:|").join("")}---:|---:|---|---:|`);
  for (const row of mamlRows) {
    const loads: number[] = [];
    const runs = new Map<number, Timing[]>(counts.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? counts : [...counts].reverse();
      for (const n of order) {
        loads.push(os.loadavg()[0]!);
        const t = runChild(row.id, `workers${n}`);
        if (!("ms" in t)) throw new Error(`${row.id} with ${n} threads: ${t.error}`);
        runs.get(n)!.push(t);
      }
    }
    const med = (n: number) => median(runs.get(n)!.map((t) => t.ms));
    const min = (n: number) => Math.min(...runs.get(n)!.map((t) => t.msMin));
    const paired = (n: number) => median(runs.get(n)!.map((t, i) => t.ms / runs.get(counts[0]!)![i]!.ms));
    const bits = new Set(counts.flatMap((n) => runs.get(n)!.map((t) => t.warmBits)));
    const cells = counts.map((n) => `${fmt(med(n))} / ${fmt(min(n))}`);
    const rc = counts.slice(1).map((n) => `${(med(n) / med(counts[0]!)).toFixed(2)} / ${(min(n) / min(counts[0]!)).toFixed(2)} / ${paired(n).toFixed(2)}`);
    const cpu = counts.map((n) => fmt(median(runs.get(n)!.map((t) => t.cpuMs ?? NaN)))).join(" / ");
    const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
    const share = counts.filter((n) => n > 1).map((n) => `${pct(median(runs.get(n)!.map((t) => t.workerShare ?? 0)))} / ${pct(median(runs.get(n)!.map((t) => t.takenBackShare ?? 0)))}`).join("; ");
    console.log(`| ${row.label} (${row.spec.tasks}) | ${cells.join(" | ")} | ${rc.join(" | ")} | ${cpu} | ${share} | ${bits.size === 1 ? "yes" : `NO (${[...bits].join(", ")})`} | ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} |`);
  }
  await kernelOnly(counts, rounds);
  await calibrate("after");
}

/**
 * The meta-gradient alone (no sampling, no Adam) of the Finn batch (25 tasks, 10 + 10 points, [1, 40, 40, 1]) through
 * `MamlWorkerPool` at 1 and 5 inner steps: rounds of 200 calls per thread count, alternating, in this process.
 */
async function kernelOnly(counts: readonly number[], rounds: number): Promise<void> {
  const model: MlpConfig = { sizes: FINN, activation: "relu" };
  const rng = new Rng(1);
  const b = new SineFamily().sample(rng, SINE);
  const flat = flattenBatch(b);
  disposeBatch(b);
  const init = new Mlp(model).init(new Rng(0));
  const theta = pack(init, mlpLayout(FINN));
  disposeParams(init);
  console.log(`\nThe meta-gradient alone (MamlWorkerPool.metaGradient on one Finn batch, 25 tasks), ${rounds} rounds of 200 calls, order alternating:\n`);
  console.log(`| inner steps | ${counts.map((n) => `${n} thread${n > 1 ? "s" : ""} µs (median / min)`).join(" | ")} | ${counts.slice(1).map((n) => `${n} vs ${counts[0]} (medians / mins)`).join(" | ")} | load |`);
  console.log(`|---:|${counts.map(() => "---:|").join("")}${counts.slice(1).map(() => "---:|").join("")}---:|`);
  for (const K of [1, 5]) {
    const pools = new Map(counts.map((n) => [n, new MamlWorkerPool({ model, workers: n })]));
    const ts = new Map<number, number[]>(counts.map((n) => [n, []]));
    const g = new Float32Array(theta.length);
    const o = { innerSteps: K, rates: { uniform: 0.01 }, firstOrder: false };
    const load = os.loadavg()[0]!;
    for (const n of counts) for (let i = 0; i < 20; i++) pools.get(n)!.metaGradient(theta, flat, o, g);
    for (let r = 0; r < rounds; r++) {
      for (const n of r % 2 === 0 ? counts : [...counts].reverse()) {
        const p = pools.get(n)!;
        for (let i = 0; i < 200; i++) {
          const t0 = performance.now();
          p.metaGradient(theta, flat, o, g);
          ts.get(n)!.push((performance.now() - t0) * 1000);
        }
      }
    }
    for (const p of pools.values()) p.dispose();
    const med = (n: number) => [...ts.get(n)!].sort((a, c) => a - c)[Math.floor(ts.get(n)!.length / 2)]!;
    const min = (n: number) => Math.min(...ts.get(n)!);
    console.log(`| ${K} | ${counts.map((n) => `${med(n).toFixed(0)} / ${min(n).toFixed(0)}`).join(" | ")} | ${counts.slice(1).map((n) => `${(med(n) / med(counts[0]!)).toFixed(2)} / ${(min(n) / min(counts[0]!)).toFixed(2)}`).join(" | ")} | ${load.toFixed(1)} |`);
  }
}

/** How much a second thread gets now: wall time of a fixed float loop alone, and on this thread and a worker at once. */
async function secondCore(): Promise<{ alone: number; together: number }> {
  const loop = "let x = 1; for (let i = 0; i < 1e8; i++) x = x * 1.0000001 + 1e-9;";
  const run = new Function(`${loop} return x;`) as () => number;
  const t0 = performance.now();
  run();
  const alone = performance.now() - t0;
  const { Worker } = await import("node:worker_threads");
  const w = new Worker(`const { parentPort } = require("node:worker_threads"); parentPort.once("message", () => { ${loop} parentPort.postMessage(x); });`, { eval: true });
  await new Promise((r) => w.once("online", r));
  const done = new Promise((r) => w.once("message", r));
  const t1 = performance.now();
  w.postMessage("go");
  run();
  await done;
  const together = performance.now() - t1;
  await w.terminate();
  return { alone, together };
}

/** --memory: 10,000 steps per row on its default path; RSS after 1,000 and after 10,000 steps, and tensors. */
async function memory(rows: readonly Row[]): Promise<void> {
  console.log("\n| row | steps | RSS after 10% of steps, MB | RSS at the end, MB | growth, MB | tensors leaked | ms / step |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  let bad = 0;
  for (const row of rows) {
    const t = runChild(row.id, "memory", ["--expose-gc"]);
    if (!("ms" in t)) {
      console.log(`| ${row.id} | error: ${t.error} |`);
      bad++;
      continue;
    }
    const grow = t.rssGrowthMb ?? 0;
    if (grow > 8 || t.tensorsLeaked !== 0) bad++;
    console.log(`| ${row.label} | ${t.iters} | ${t.rssAt1kMb?.toFixed(1)} | ${t.rssAtEndMb?.toFixed(1)} | ${grow.toFixed(1)} | ${t.tensorsLeaked} | ${fmt(t.ms)} |`);
  }
  if (bad) throw new Error(`${bad} row(s) grew by more than 8 MB or leaked tensors.`);
}

/** --scaling: the MAML fast path (FastMamlTrainer, same kernel as Maml) against PyTorch's batched form at 1 thread. */
async function scaling(): Promise<void> {
  const FINN_C = { tasks: 25, shots: 10, queries: 10, hidden: [40, 40], steps: 1 };
  const vary: { what: string; values: number[]; make: (v: number) => typeof FINN_C }[] = [
    { what: "meta-batch", values: [5, 10, 25, 50, 100], make: (v) => ({ ...FINN_C, tasks: v }) },
    { what: "shots K (= queries)", values: [5, 10, 20, 40], make: (v) => ({ ...FINN_C, shots: v, queries: v }) },
    { what: "inner steps", values: [1, 2, 5, 10], make: (v) => ({ ...FINN_C, steps: v }) },
    { what: "hidden width", values: [20, 40, 80, 160], make: (v) => ({ ...FINN_C, hidden: [v, v] }) },
  ];
  const py = process.env.METALAB_PYTHON ?? "/usr/bin/python3";
  console.log("\n| varied | value | metalab fast path ms (median / min) | PyTorch batched, 1 thread ms (median / min) | ratio (medians) |");
  console.log("|---|---:|---:|---:|---:|");
  for (const v of vary) {
    for (const value of v.values) {
      const c = v.make(value);
      const model: MlpConfig = { sizes: [1, ...c.hidden, 1], activation: "relu" };
      const trainer = new FastMamlTrainer(new Mlp(model).init(new Rng(0)), { model, innerSteps: c.steps, innerLr: 0.01, firstOrder: false });
      const fam = new SineFamily();
      const rng = new Rng(1);
      const ts: number[] = [];
      for (let i = 0; i < (QUICK ? 40 : 160); i++) {
        const t0 = performance.now();
        const b = fam.sample(rng, c);
        trainer.metaStep(b);
        if (i >= 10) ts.push(performance.now() - t0);
        disposeBatch(b);
      }
      ts.sort((a, b) => a - b);
      const t = runTorch(py, [{ name: "s", algo: "maml", loss: "mse", sizes: model.sizes, ...c, firstOrder: false, innerLr: 0.01 }], [1], ["batched"], QUICK ? 0.5 : 1.5);
      const b = best(t, "s");
      const med = ts[Math.floor(ts.length / 2)]!;
      console.log(`| ${v.what} | ${value} | ${fmt(med)} / ${fmt(ts[0])} | ${fmt(b?.ms)} / ${fmt(b?.msMin)} | ${b?.ms ? (med / b.ms).toFixed(2) : "–"} |`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
