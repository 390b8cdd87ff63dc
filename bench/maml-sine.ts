/**
 * Times one MAML meta-step in Finn et al.'s (2017) sine setting on every path metalab has, and PyTorch 1.13's
 * batched reference in the same run: sample a meta-batch, meta-gradient through the inner loop, one Adam step.
 *
 *   npm run bench                         # Finn setting: meta-batch 25, K=10, 1-40-40-1 ReLU; 1 and 5 steps; SO and FO
 *   node dist/bench/maml-sine.js --scaling  # how the fast path and PyTorch grow with tasks, shots, steps and width
 *   options: --no-torch, --quick (fewer timed steps), --threads=1,2 (PyTorch thread counts)
 */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { ready, describeBackend, type BackendInfo } from "../src/core/backend";
import { Rng } from "../src/core/random";
import { disposeParams } from "../src/core/params";
import { initMlp, Mlp, type MlpConfig } from "../src/models/mlp";
import { SineFamily } from "../src/tasks/regression";
import { disposeBatch } from "../src/tasks/task-family";
import { Maml } from "../src/learners/maml";
import { defaultKernelBackend } from "../src/fast/mlp-maml";
import { FastMamlTrainer } from "../src/fast/fast-maml-trainer";

/** One benchmark configuration (all Finn defaults unless varied). */
interface Config {
  readonly name: string;
  readonly tasks: number;
  readonly shots: number;
  readonly queries: number;
  readonly hidden: readonly number[];
  readonly steps: number;
  readonly firstOrder: boolean;
}

/** What one timed path measured. */
interface Timing {
  readonly ms: number;
  readonly msMin: number;
  readonly iters: number;
  readonly rssMb: number;
  readonly tensorsLeaked: number;
}

const FINN: Config = { name: "finn", tasks: 25, shots: 10, queries: 10, hidden: [40, 40], steps: 1, firstOrder: false };
const INNER_LR = 0.01;
const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f);
const opt = (f: string) => args.find((a) => a.startsWith(`${f}=`))?.split("=")[1];
const QUICK = flag("--quick");

function modelOf(c: Config): MlpConfig {
  return { sizes: [1, ...c.hidden, 1], activation: "relu" };
}

function label(c: Config): string {
  return `${c.firstOrder ? "FO" : "SO"}, ${c.steps} step${c.steps > 1 ? "s" : ""}`;
}

/** Median and min over timed calls of `step`, after warm-up; stops early at `maxSeconds`. */
function time(step: () => void, warmup: number, iters: number, maxSeconds: number): Timing {
  const tensorsBefore = tf.memory().numTensors;
  for (let i = 0; i < warmup; i++) step();
  const ts: number[] = [];
  let rss = process.memoryUsage().rss;
  const start = performance.now();
  while (ts.length < iters && (performance.now() - start < maxSeconds * 1000 || ts.length < 3)) {
    const t0 = performance.now();
    step();
    ts.push(performance.now() - t0);
    rss = Math.max(rss, process.memoryUsage().rss);
  }
  ts.sort((a, b) => a - b);
  return { ms: ts[Math.floor(ts.length / 2)]!, msMin: ts[0]!, iters: ts.length, rssMb: rss / 2 ** 20, tensorsLeaked: tf.memory().numTensors - tensorsBefore };
}

/** A meta-step of the public `Maml` learner: SineFamily batch, `mamlStep` (fast path unless disabled), tfjs Adam. */
function learnerStep(fastPath: boolean): (c: Config) => { step: () => void; done: () => void } {
  return (c) => {
    const model = new Mlp(modelOf(c));
    const family = new SineFamily();
    const rng = new Rng(0);
    const init = model.init(rng.fork("init"));
    const maml = new Maml(model, init, { innerSteps: c.steps, innerLr: INNER_LR, firstOrder: c.firstOrder, fastPath });
    disposeParams(init);
    return {
      step: () => {
        const batch = family.sample(rng, { tasks: c.tasks, shots: c.shots, queries: c.queries });
        maml.step(batch);
        disposeBatch(batch);
      },
      done: () => maml.dispose(),
    };
  };
}

/** A meta-step of FastMamlTrainer: typed-array params and Adam; the batch is sampled by SineFamily as usual. */
function fastTrainerStep(c: Config): { step: () => void; done: () => void } {
  const model = modelOf(c);
  const family = new SineFamily();
  const rng = new Rng(0);
  const init = initMlp(rng.fork("init"), model);
  const trainer = new FastMamlTrainer(init, { model, innerSteps: c.steps, innerLr: INNER_LR, firstOrder: c.firstOrder });
  disposeParams(init);
  return {
    step: () => {
      const batch = family.sample(rng, { tasks: c.tasks, shots: c.shots, queries: c.queries });
      trainer.metaStep(batch);
      disposeBatch(batch);
    },
    done: () => undefined,
  };
}

interface TorchResult {
  readonly name: string;
  readonly threads: number;
  readonly ms: number;
  readonly msMin: number;
  readonly iters: number;
}

interface TorchRun {
  readonly available: boolean;
  readonly note: string;
  readonly version?: string;
  readonly results: TorchResult[];
  readonly peakRssMb?: number;
}

function pythonPath(): string {
  return process.env.METALAB_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/** Runs bench/torch_maml_step.py on the same configs; says so plainly when PyTorch is missing. */
function runTorch(configs: readonly Config[], threads: readonly number[], maxSeconds: number): TorchRun {
  const script = [path.join(__dirname, "torch_maml_step.py"), path.join(__dirname, "..", "..", "bench", "torch_maml_step.py")].find(existsSync);
  if (!script) return { available: false, note: "bench/torch_maml_step.py not found", results: [] };
  const spec = {
    threads,
    warmup: QUICK ? 3 : 10,
    iters: QUICK ? 15 : 60,
    maxSeconds,
    configs: configs.map((c) => ({ name: c.name, tasks: c.tasks, shots: c.shots, queries: c.queries, hidden: c.hidden, steps: c.steps, firstOrder: c.firstOrder, innerLr: INNER_LR })),
  };
  const py = pythonPath();
  const r = spawnSync(py, [script, JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || "").trim().split("\n").pop() ?? "";
    const missing = /No module named .?torch/.test(r.stderr ?? "") || r.error !== undefined;
    return {
      available: false,
      note: missing
        ? `PyTorch not found for ${py} (${why}). Install it with \`sudo apt-get install python3-torch\` (Debian/Ubuntu) or set METALAB_PYTHON to a python with torch.`
        : `PyTorch reference failed: ${why}`,
      results: [],
    };
  }
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { torch: string; results: TorchResult[]; peakRssMb: number };
  return { available: true, note: `PyTorch ${out.torch} (${py})`, version: out.torch, results: out.results, peakRssMb: out.peakRssMb };
}

/** Per config and thread count, the faster of two PyTorch runs (median and min taken separately). */
function fasterOf(a: TorchRun, b: TorchRun): TorchRun {
  if (!a.available) return b;
  if (!b.available) return a;
  const results = a.results.map((r) => {
    const o = b.results.find((x) => x.name === r.name && x.threads === r.threads);
    return o ? { ...r, ms: Math.min(r.ms, o.ms), msMin: Math.min(r.msMin, o.msMin), iters: r.iters + o.iters } : r;
  });
  return { ...a, note: `${a.note}; run before and after metalab's paths, faster of the two kept`, results, peakRssMb: Math.max(a.peakRssMb ?? 0, b.peakRssMb ?? 0) };
}

function fmt(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "–";
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined ? "–" : (a / b).toFixed(2);
}

function minOf(xs: readonly (number | undefined)[]): number | undefined {
  const ok = xs.filter((x): x is number => x !== undefined);
  return ok.length ? Math.min(...ok) : undefined;
}

function header(info: BackendInfo): string[] {
  const cpus = os.cpus();
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${cpus.length} × ${cpus[0]?.model ?? "unknown cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    `node ${process.version}; tfjs ${tf.version.tfjs}; default backend: ${describeBackend(info)}`,
    `tfjs-node: ${info.skipped.find((s) => s.name === "tensorflow")?.reason ?? (info.name === "tensorflow" ? "loaded" : "not tried")}`,
    `wasm: WASM_HAS_SIMD_SUPPORT=${tf.env().getBool("WASM_HAS_SIMD_SUPPORT")}, WASM_HAS_MULTITHREAD_SUPPORT=${tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT")}`,
    `fast-path kernels: ${defaultKernelBackend()}`,
  ];
}

async function main(): Promise<void> {
  const info = await ready();
  const torchThreads = (opt("--threads") ?? "1,2").split(",").map(Number);
  const lines = header(info);
  for (const l of lines) console.log(l);
  if (flag("--scaling")) return scaling(torchThreads);

  const configs: Config[] = [];
  for (const steps of [1, 5]) for (const firstOrder of [false, true]) configs.push({ ...FINN, name: `${firstOrder ? "fo" : "so"}${steps}`, steps, firstOrder });

  const maxS = QUICK ? 1 : 3;
  // PyTorch runs before and after our paths and the faster of the two is kept: conservative when load varies.
  const torchBefore = flag("--no-torch") ? null : runTorch(configs, torchThreads, maxS);
  const rows: { cfg: Config; path: string; t: Timing }[] = [];
  const run = (cfg: Config, pathName: string, make: (c: Config) => { step: () => void; done: () => void }, warm: number, iters: number) => {
    const h = make(cfg);
    const t = time(h.step, warm, iters, maxS);
    h.done();
    rows.push({ cfg, path: pathName, t });
    console.error(`  ${label(cfg)} ${pathName}: ${fmt(t.ms)} ms (${t.iters} steps)`);
  };

  const defaultName = tf.getBackend();
  for (const cfg of configs) {
    run(cfg, `Maml learner, fast path (default; ${defaultName})`, learnerStep(true), QUICK ? 10 : 50, QUICK ? 50 : 300);
    run(cfg, "FastMamlTrainer (typed-array Adam)", fastTrainerStep, QUICK ? 20 : 100, QUICK ? 100 : 400);
    run(cfg, `Maml learner, fastPath: false (tfjs autodiff, ${defaultName})`, learnerStep(false), 3, QUICK ? 10 : 40);
  }
  if (defaultName !== "cpu" && !flag("--no-cpu")) {
    await tf.setBackend("cpu");
    for (const cfg of configs) run(cfg, "Maml learner, fastPath: false (tfjs autodiff, cpu)", learnerStep(false), 2, QUICK ? 5 : 20);
    await tf.setBackend(defaultName);
  }

  const torch = torchBefore === null ? { available: false, note: "skipped (--no-torch)", results: [] } : fasterOf(torchBefore, runTorch(configs, torchThreads, maxS));
  console.log(`PyTorch: ${torch.note}`);
  console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB${torch.peakRssMb ? `; PyTorch process: ${torch.peakRssMb.toFixed(0)} MB` : ""}`);
  console.log("");
  const tcols = torch.available ? torchThreads.map((n) => `PyTorch ${n} thr (median / min)`) : [];
  console.log(`| setting | path | ms / meta-step (median) | min | process RSS so far, MB | ${tcols.join(" | ")}${tcols.length ? " | " : ""}ratio vs best PyTorch (medians) | ratio (mins) |`);
  console.log(`|---|---|---:|---:|---:|${tcols.map(() => "---:|").join("")}---:|---:|`);
  for (const r of rows) {
    const tr = torchThreads.map((n) => torch.results.find((x) => x.name === r.cfg.name && x.threads === n));
    const ts = tr.map((x) => x?.ms);
    const best = minOf(ts);
    const bestMin = minOf(torchThreads.map((n) => torch.results.find((x) => x.name === r.cfg.name && x.threads === n)?.msMin));
    console.log(`| ${label(r.cfg)} | ${r.path} | ${fmt(r.t.ms)} | ${fmt(r.t.msMin)} | ${r.t.rssMb.toFixed(0)} | ${torch.available ? tr.map((x) => `${fmt(x?.ms)} / ${fmt(x?.msMin)}`).join(" | ") + " | " : ""}${ratio(r.t.ms, best)} | ${ratio(r.t.msMin, bestMin)} |`);
  }
  const headline = rows.find((r) => r.cfg.name === "so1" && r.path.startsWith("Maml learner, fast path"));
  const torchSo1 = torch.results.filter((x) => x.name === "so1");
  if (headline && torchSo1.length) {
    const rMed = headline.t.ms / Math.min(...torchSo1.map((x) => x.ms));
    const rMin = headline.t.msMin / Math.min(...torchSo1.map((x) => x.msMin));
    const verdict = (r: number) => `${r.toFixed(2)} (bar ≤ 1.0 ${r <= 1 ? "met" : "NOT met"}, goal ≤ 0.5 ${r <= 0.5 ? "met" : "not met"})`;
    console.log("");
    console.log(`Headline, second-order MAML, 1 inner step, Maml learner on ${defaultName}: ratio to PyTorch ${verdict(rMed)} on medians, ${verdict(rMin)} on minimum times.`);
  }
  const leaks = rows.filter((r) => r.t.tensorsLeaked !== 0);
  if (leaks.length) throw new Error(`Tensor leak in: ${leaks.map((r) => `${label(r.cfg)} ${r.path} (+${r.t.tensorsLeaked})`).join(", ")}. Fix the disposal in bench/maml-sine.ts or the path it calls.`);
}

/** Item 4 of the issue: time per meta-step against meta-batch size, shots, inner steps and hidden width. */
function scaling(torchThreads: readonly number[]): void {
  const vary: { what: string; values: number[]; make: (v: number) => Config }[] = [
    { what: "meta-batch", values: [5, 10, 25, 50, 100], make: (v) => ({ ...FINN, name: `tasks${v}`, tasks: v }) },
    { what: "shots K (= queries)", values: [5, 10, 20, 40], make: (v) => ({ ...FINN, name: `shots${v}`, shots: v, queries: v }) },
    { what: "inner steps", values: [1, 2, 5, 10], make: (v) => ({ ...FINN, name: `steps${v}`, steps: v }) },
    { what: "hidden width", values: [20, 40, 80, 160], make: (v) => ({ ...FINN, name: `width${v}`, hidden: [v, v] }) },
  ];
  const maxS = QUICK ? 0.5 : 1.5;
  const all = vary.flatMap((v) => v.values.map(v.make));
  const ours = new Map<string, Timing>();
  for (const c of all) {
    const h = fastTrainerStep(c);
    ours.set(c.name, time(h.step, 10, QUICK ? 30 : 150, maxS));
    h.done();
    console.error(`  ${c.name}: ${fmt(ours.get(c.name)!.ms)} ms`);
  }
  const torch = flag("--no-torch") ? { available: false, note: "skipped (--no-torch)", results: [] } : runTorch(all, [torchThreads[0] ?? 1], maxS);
  console.log(`PyTorch: ${torch.note}`);
  console.log("");
  console.log(`Second-order MAML, ReLU MLP; Finn defaults (meta-batch 25, K=10, 1 step, 1-40-40-1) except the varied quantity. PyTorch at ${torchThreads[0] ?? 1} thread(s). ms per meta-step as median / min; the ratio uses mins, which are the least disturbed by other load on the machine.`);
  console.log("");
  console.log("| varied | value | FastMamlTrainer ms (median / min) | PyTorch ms (median / min) | ratio (mins) |");
  console.log("|---|---:|---:|---:|---:|");
  for (const v of vary) {
    for (const value of v.values) {
      const c = v.make(value);
      const a = ours.get(c.name)!;
      const b = torch.results.find((x) => x.name === c.name);
      console.log(`| ${v.what} | ${value} | ${fmt(a.ms)} / ${fmt(a.msMin)} | ${fmt(b?.ms)} / ${fmt(b?.msMin)} | ${ratio(a.msMin, b?.msMin)} |`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
