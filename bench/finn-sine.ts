/**
 * Finn et al. (2017) sine regression, side by side with the PyTorch reference run.
 *
 * Trains second-order MAML (meta-batch 25, K = 10, one inner step α = 0.01, Adam 1e-3, 1-40-40-1 ReLU), the jointly
 * pretrained baseline, first-order MAML, Reptile, ANIL and a ridge head; evaluates query MSE after 0..10 SGD steps
 * (lr 0.01) for K = 5, 10, 20 on 1000 held-out tasks with 100 grid query points; prints a table beside the
 * reference and writes bench/results/finn-sine.{csv,md} (and the trained parameters as JSON).
 *
 * Usage: node dist/bench/finn-sine.js [--iterations 70000] [--iterations-for reptile=20000] [--learners maml,...] [--seed 0]
 *        [--eval-only] [--out bench/results] [--reference /work/shared/reference/maml_sine_torch_70k_seed0.json]
 * Environment: FINN_ITERATIONS, FINN_LEARNERS, FINN_REFERENCE do the same.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ready, describeBackend } from "../src/core/backend";
import { Rng } from "../src/core/random";
import type { Params } from "../src/core/params";
import { Mlp, FINN_SINE_MLP } from "../src/models/mlp";
import { SineFamily } from "../src/tasks/regression";
import type { TaskFamily } from "../src/tasks/task-family";
import { Maml } from "../src/learners/maml";
import { Reptile } from "../src/learners/reptile";
import { Pretrain } from "../src/learners/pretrain";
import { RidgeHead, ridgePredict } from "../src/learners/ridge";
import { headNames } from "../src/models/mlp";
import { FINN_SINE_BATCH, type TrainOptions } from "../src/learners/train";
import { adaptSgd } from "../src/learners/adapt-sgd";
import { perTaskMse } from "../src/models/losses";
import { supportSharpness } from "../src/eval/sharpness";
import { DEFAULT_PROTOCOL, curvesFrame, heldOutSet, heldOutSetFrom, type HeldOutSet, disposeHeldOut, learnerCurves, writeCsv, type CurveRow, type EvalLearner } from "../src/eval/protocol";

const ALL_LEARNERS = ["maml", "pretrained", "fomaml", "reptile", "anil", "ridge"] as const;
type LearnerName = (typeof ALL_LEARNERS)[number];

interface Args {
  readonly iterations: number;
  /** Per-learner overrides, e.g. `--iterations-for reptile=20000` (Reptile's 5 inner steps make it the slowest). */
  readonly iterationsFor: Readonly<Record<string, number>>;
  readonly learners: readonly LearnerName[];
  readonly seed: number;
  readonly evalOnly: boolean;
  readonly out: string;
  readonly reference: string | null;
  /** Evaluate on these tasks (JSON from bench/results/torch_reference_tasks.py) instead of our seeded draw. */
  readonly tasksFrom: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  const get = (flag: string, env: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : process.env[env];
  };
  const iterations = Number(get("--iterations", "FINN_ITERATIONS") ?? 70_000);
  if (!Number.isInteger(iterations) || iterations < 0) throw new Error(`--iterations must be a non-negative integer, e.g. --iterations 70000; got ${iterations}.`);
  const learners = (get("--learners", "FINN_LEARNERS") ?? ALL_LEARNERS.join(",")).split(",").map((s) => s.trim());
  for (const l of learners) if (!(ALL_LEARNERS as readonly string[]).includes(l)) throw new Error(`Unknown learner "${l}". Choose from ${ALL_LEARNERS.join(", ")}.`);
  const ref = argv.includes("--no-reference") ? null : get("--reference", "FINN_REFERENCE") ?? "/work/shared/reference/maml_sine_torch_70k_seed0.json";
  const iterationsFor: Record<string, number> = {};
  for (const pair of (get("--iterations-for", "FINN_ITERATIONS_FOR") ?? "").split(",").filter((x) => x.trim())) {
    const [k, v] = pair.split("=");
    const n = Number(v);
    if (!k || !(ALL_LEARNERS as readonly string[]).includes(k.trim()) || !Number.isInteger(n) || n < 0) {
      throw new Error(`--iterations-for expects name=count pairs like reptile=20000, got "${pair}".`);
    }
    iterationsFor[k.trim()] = n;
  }
  return {
    iterations,
    iterationsFor,
    learners: learners as LearnerName[],
    seed: Number(get("--seed", "FINN_SEED") ?? 0),
    evalOnly: argv.includes("--eval-only"),
    out: get("--out", "FINN_OUT") ?? "bench/results",
    reference: ref,
    tasksFrom: get("--tasks-from", "FINN_TASKS_FROM") ?? null,
  };
}

type Reference = Record<string, { maml: number[]; pretrained: number[] }> & { iters?: number };

function loadReference(file: string | null): Reference | null {
  if (file === null) return null;
  if (!fs.existsSync(file)) throw new Error(`Reference ${file} not found. Pass --reference <path> or --no-reference.`);
  // Python's json writes bare Infinity and NaN, which JSON.parse rejects: quote them, then revive as numbers.
  const text = fs.readFileSync(file, "utf8").replace(/-?Infinity|NaN/g, (m) => `"${m}"`);
  return JSON.parse(text, (_k, v: unknown) => (v === "Infinity" || v === "-Infinity" || v === "NaN" ? Number(v) : v)) as Reference;
}

/** Serialises params as {name: {shape, data}}. */
function paramsToJson(p: Params): Record<string, { shape: number[]; data: number[] }> {
  return Object.fromEntries(Object.entries(p).map(([k, t]) => [k, { shape: t.shape, data: Array.from(t.dataSync()) }]));
}

function paramsFromJson(j: Record<string, { shape: number[]; data: number[] }>): Params {
  return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
}

interface Trained {
  readonly name: LearnerName;
  readonly params: Params;
  readonly seconds: number;
  readonly iterations: number;
  readonly finalLoss: number;
}

function train(name: LearnerName, model: Mlp, family: TaskFamily, args: Args): Trained {
  const root = new Rng(args.seed);
  const init = model.init(root.fork(`init ${name}`));
  const rng = root.fork(`train ${name}`);
  const t0 = performance.now();
  let last = t0;
  const iterations = args.iterationsFor[name] ?? args.iterations;
  const opts: TrainOptions = {
    iterations,
    spec: FINN_SINE_BATCH,
    progressEvery: 1000,
    onProgress: (s, total, loss) => {
      const now = performance.now();
      console.log(`  ${name} ${s}/${total} loss ${loss.toFixed(4)} (${((now - last) / 1000).toFixed(1)} s per 1000)`);
      last = now;
    },
  };
  const learner =
    name === "maml" ? new Maml(model, init) :
    name === "fomaml" ? new Maml(model, init, { firstOrder: true }) :
    name === "anil" ? new Maml(model, init, { adapt: "head" }) :
    name === "reptile" ? new Reptile(model, init) :
    name === "pretrained" ? new Pretrain(model, init) :
    new RidgeHead(model, init);
  const losses = learner.train(family, rng, opts);
  const seconds = (performance.now() - t0) / 1000;
  const tail = losses.slice(Math.max(0, losses.length - 1000));
  const finalLoss = tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
  const params = Object.fromEntries(Object.entries(learner.params).map(([k, t]) => [k, t.clone()]));
  learner.dispose();
  for (const t of Object.values(init)) t.dispose();
  return { name, params, seconds, iterations, finalLoss };
}

function fmt(x: number | undefined): string {
  if (x === undefined) return "";
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e4 ? x.toExponential(2) : x.toFixed(4);
}

function markdownTables(rows: readonly CurveRow[], ref: Reference | null, learners: readonly string[]): string {
  const out: string[] = [];
  for (const K of DEFAULT_PROTOCOL.shots) {
    const cols = [...learners];
    const header = ["step", ...cols.flatMap((l) => (ref && (l === "maml" || l === "pretrained") ? [l, `${l} (torch)`] : [l]))];
    out.push(`### K = ${K}: mean query MSE over ${DEFAULT_PROTOCOL.tasks} tasks (median in parentheses)`, "", `| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
    for (let s = 0; s <= DEFAULT_PROTOCOL.steps; s++) {
      const cells = [String(s)];
      for (const l of cols) {
        const r = rows.find((x) => x.learner === l && x.K === K && x.step === s);
        cells.push(r ? `${fmt(r.mse)} (${fmt(r.median)})` : "");
        if (ref && (l === "maml" || l === "pretrained")) cells.push(fmt(ref[`K${K}`]?.[l]?.[s]));
      }
      out.push(`| ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

/**
 * Why do long adaptation curves blow up? For each K: which tasks diverge (query MSE after the last step above its
 * step-0 value), and how sharp their support loss is at θ and after a few steps, against SGD's stability limit 2 / lr.
 */
function diagnose(name: string, params: Params, model: Mlp, set: HeldOutSet): string {
  const lr = DEFAULT_PROTOCOL.lr;
  const steps = DEFAULT_PROTOCOL.steps;
  const probeStep = 5;
  const lines: string[] = [];
  for (const [K, b] of set.batches) {
    const curves: Float32Array[] = [];
    const supportCurves: Float32Array[] = [];
    let sharp0 = new Float32Array(0);
    let sharpProbe = new Float32Array(0);
    const rng = new Rng(99);
    const support = { x: b.supportX, y: b.supportY };
    const adapted = adaptSgd(params, support, model, {
      steps, lr,
      onStep: (s, p) => {
        curves.push(tf.tidy(() => perTaskMse(model.apply(p, b.queryX), b.queryY).dataSync() as Float32Array));
        supportCurves.push(tf.tidy(() => perTaskMse(model.apply(p, b.supportX), b.supportY).dataSync() as Float32Array));
        if (s === 0) sharp0 = supportSharpness(p, support, model, rng, { taskBatched: true });
        if (s === probeStep) sharpProbe = supportSharpness(p, support, model, rng, { taskBatched: true });
      },
    });
    for (const t of Object.values(adapted)) t.dispose();
    const n = curves[0]!.length;
    const all = Array.from({ length: n }, (_, t) => t);
    // SGD diverged on a task if its own support loss ends above where it started.
    const diverged = all.filter((t) => !(supportCurves[steps]![t]! <= supportCurves[0]![t]!));
    const rest = all.filter((t) => supportCurves[steps]![t]! <= supportCurves[0]![t]!);
    const last = curves[steps]!;
    const limit = 2 / lr;
    const count = (a: Float32Array): number => Array.from(a).filter((v) => v > limit).length;
    const divSharp = diverged.filter((t) => sharpProbe[t]! > limit || !Number.isFinite(sharpProbe[t]!)).length;
    const sx = b.supportX.dataSync();
    const maxAbsX = (t: number): number => Math.max(...Array.from(sx.subarray(t * K, (t + 1) * K)).map(Math.abs));
    const mean = (ts: number[], f: (t: number) => number): number => (ts.length ? ts.reduce((a, t) => a + f(t), 0) / ts.length : NaN);
    const median = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)]! : NaN; };
    const sharpStats = (a: Float32Array): string => `median ${fmt(median(Array.from(a)))}, max ${fmt(Math.max(...Array.from(a)))}; ${count(a)} above ${limit}`;
    const amp = set.tasks.params.amplitude!;
    lines.push(
      `| ${name} | ${K} | ${diverged.length} / ${n} | ${sharpStats(sharp0)} | ${sharpStats(sharpProbe)} | ${divSharp} / ${diverged.length} | ` +
        `${fmt(mean(rest, (t) => last[t]!))} | ${fmt(mean(diverged, (t) => curves[0]![t]!))} → ${fmt(mean(diverged, (t) => last[t]!))} | ` +
        `${fmt(mean(diverged, maxAbsX))} vs ${fmt(mean(rest, maxAbsX))} | ${fmt(mean(diverged, (t) => amp[t]!))} vs ${fmt(mean(rest, (t) => amp[t]!))} |`,
    );
  }
  return lines.join("\n");
}

const DIAGNOSE_HEADER = [
  `| learner | K | tasks whose support loss rose by step ${DEFAULT_PROTOCOL.steps} | support sharpness at θ | after 5 steps | of those tasks, sharper than 2/lr after 5 steps | final query MSE, other tasks | those tasks: query MSE step 0 → ${DEFAULT_PROTOCOL.steps} | max abs support x: those vs others | amplitude: those vs others |`,
  "|---|---|---|---|---|---|---|---|---|---|",
].join("\n");

/** The reference's held-out tasks, as dumped by bench/results/torch_reference_tasks.py. */
function loadTasks(file: string): HeldOutSet {
  if (!fs.existsSync(file)) throw new Error(`${file} not found. Create it with: python3 bench/results/torch_reference_tasks.py > ${file}`);
  const j = JSON.parse(fs.readFileSync(file, "utf8")) as { amplitude: number[]; phase: number[]; K: Record<string, number[]> };
  const tasks = { count: j.amplitude.length, params: { amplitude: Float32Array.from(j.amplitude), phase: Float32Array.from(j.phase) } };
  return heldOutSetFrom(tasks, new Map(Object.entries(j.K).map(([k, xs]) => [Number(k), Float32Array.from(xs)])));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await ready();
  console.log(`backend: ${describeBackend()}`);
  const ref = loadReference(args.reference);
  const model = new Mlp(FINN_SINE_MLP);
  const family = new SineFamily();
  fs.mkdirSync(args.out, { recursive: true });
  const paramsFile = path.join(args.out, "finn-sine-params.json");
  const saved: Record<string, { iterations: number; seconds: number; finalLoss: number; params: ReturnType<typeof paramsToJson> }> =
    fs.existsSync(paramsFile) ? JSON.parse(fs.readFileSync(paramsFile, "utf8")) : {};

  const trained: Trained[] = [];
  for (const name of args.learners) {
    if (args.evalOnly) {
      const s = saved[name];
      if (!s) throw new Error(`--eval-only: no saved parameters for "${name}" in ${paramsFile}. Train it first (drop --eval-only).`);
      trained.push({ name, params: paramsFromJson(s.params), seconds: s.seconds, iterations: s.iterations, finalLoss: s.finalLoss });
      continue;
    }
    console.log(`training ${name} for ${args.iterationsFor[name] ?? args.iterations} iterations`);
    const t = train(name, model, family, args);
    console.log(`  ${name}: ${t.seconds.toFixed(1)} s, mean loss over the last 1000 steps ${t.finalLoss.toFixed(4)}`);
    trained.push(t);
    saved[name] = { iterations: t.iterations, seconds: t.seconds, finalLoss: t.finalLoss, params: paramsToJson(t.params) };
    fs.writeFileSync(paramsFile, JSON.stringify(saved));
  }

  const evalLearners: EvalLearner[] = [{ name: "random", params: model.init(new Rng(args.seed).fork("random init")), model }];
  for (const t of trained) {
    if (t.name === "ridge") {
      evalLearners.push({ name: "ridge", params: t.params, model, predict: (s, qx) => ridgePredict(t.params, s, qx, model) });
      continue;
    }
    evalLearners.push({ name: t.name, params: t.params, model });
    if (t.name === "anil") evalLearners.push({ name: "anil-head", params: t.params, model, trainable: headNames(t.params) });
  }
  const t0 = performance.now();
  const set = args.tasksFrom ? loadTasks(args.tasksFrom) : heldOutSet();
  const rows = evalLearners.flatMap((l) => learnerCurves(l, set));
  console.log(`evaluation: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const diag = evalLearners.filter((l) => ["maml", "fomaml", "pretrained"].includes(l.name)).map((l) => diagnose(l.name, l.params, model, set));
  disposeHeldOut(set);
  const diagnosis = diag.length ? ["## Divergence of long adaptation (SGD lr 0.01)", "", DIAGNOSE_HEADER, ...diag, ""].join("\n") : "";
  console.log(diagnosis);

  const stem = args.tasksFrom ? "finn-sine-reftasks" : "finn-sine";
  writeCsv(curvesFrame(rows), path.join(args.out, `${stem}.csv`));
  const names = evalLearners.map((l) => l.name);
  const tables = markdownTables(rows, ref, names);
  const info = trained.map((t) => `| ${t.name} | ${t.iterations} | ${t.seconds.toFixed(1)} | ${t.finalLoss.toFixed(4)} |`).join("\n");
  const md = [
    "# Finn et al. sine regression: metalab vs the PyTorch reference",
    "",
    `Backend: ${describeBackend()}. Seed ${args.seed}. Reference: ${args.reference ?? "none"}${ref?.iters ? ` (${ref.iters} iterations)` : ""}.`,
    args.tasksFrom ? `Held-out tasks: the reference's own draw, loaded from ${args.tasksFrom}.` : "Held-out tasks: metalab's seeded draw (seed 1234), not the reference's.",
    "Evaluation: 1000 held-out tasks, K support points, SGD lr 0.01 with each task's own gradient, 100 grid query points on [-5, 5].",
    "ridge: closed-form ridge head on the support features (no SGD steps, so its row is flat). anil-head: ANIL evaluated with head-only SGD.",
    "",
    "| learner | iterations | train seconds | mean train loss, last 1000 steps |",
    "|---|---|---|---|",
    info,
    "",
    tables,
    diagnosis,
  ].join("\n");
  fs.writeFileSync(path.join(args.out, `${stem}.md`), md);
  console.log(tables);
  for (const t of trained) for (const v of Object.values(t.params)) v.dispose();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
