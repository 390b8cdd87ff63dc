/**
 * Why MAML and first-order MAML sat at chance on 5-way Omniglot episodes while their training loss fell, measured:
 * each method of the MAML family is meta-trained on the MLP (fast path), then the test-time inner loop is traced on
 * the same kind of episode it trained on and on 5-way episodes cut from the 20 runs: support and query loss after
 * each inner step, the query error for a few (steps × rate) settings, and the test path's query loss beside the
 * training path's meta-loss on the same training episodes. Writes bench/results/omniglot-maml-diagnosis.{md,json}.
 *
 * Usage: node dist/bench/omniglot-maml-diagnosis.js [--steps 600] [--methods maml,fomaml,anil] [--out bench/results]
 * Data: METALAB_OMNIGLOT_DIR, else the library's search (cache folder, then ../shared/data/omniglot).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ready, describeBackend } from "../src/core/backend";
import { Rng } from "../src/core/random";
import { disposeParams, type Params } from "../src/core/params";
import { loadOmniglot, omniglotDir } from "../src/data/omniglot";
import { loadOneShotRuns, runsSubEpisodes } from "../src/data/omniglot-runs";
import { OmniglotTasks } from "../src/data/omniglot-tasks";
import { adaptSgd } from "../src/learners/adapt-sgd";
import { mamlMetaGradient } from "../src/learners/maml";
import { summedTaskLoss } from "../src/models/losses";
import { disposeBatch, type TaskBatch } from "../src/tasks/task-family";
import { fewShotConfig, fewShotError, fewShotLogits, fewShotNet, MAML_FAMILY, trainFewShot, type FewShotMethod, type OmniglotFewShotConfig } from "../src/experiments/omniglot-few-shot";

/** Test-time inner steps traced (the old default was 3, training uses 1). */
const TRACE_STEPS = 5;
/** (steps, rate) settings scored; rates are on the mean support loss. */
const GRID: readonly (readonly [number, number])[] = [[1, 2], [3, 2], [1, 0.5], [3, 0.5], [5, 0.5]];

interface Trace {
  readonly method: FewShotMethod;
  readonly steps: number;
  readonly trainSeconds: number;
  readonly load: number;
  /** Mean training (meta) loss over the last 10% of steps; chance is ln 5 = 1.61. */
  readonly finalLoss: number;
  /** On fresh training episodes: the training path's meta-loss, and the test path's query loss (old and new default). */
  readonly trainPathLoss: number;
  readonly testPathLoss: { readonly oldDefault: number; readonly newDefault: number };
  /** Mean support and query loss per task after each inner step at the training rate, [0..TRACE_STEPS]. */
  readonly curves: Record<"train" | "runs5", { readonly support: number[]; readonly query: number[] }>;
  /** Query error for each GRID setting, on training episodes and on 5-way episodes from the runs (chance 80%). */
  readonly grid: { readonly steps: number; readonly lr: number; readonly train: number; readonly runs5: number }[];
}

function parse(argv: string[]): { steps: number; methods: FewShotMethod[]; out: string } {
  let steps = 600;
  let methods: FewShotMethod[] = [...MAML_FAMILY];
  let out = path.join("bench", "results");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value.`);
    if (a === "--steps") {
      steps = Number(v);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got "${v}".`);
    } else if (a === "--methods") {
      methods = v.split(",") as FewShotMethod[];
      for (const m of methods) if (!MAML_FAMILY.includes(m)) throw new Error(`Unknown method "${m}"; use ${MAML_FAMILY.join(", ")}.`);
    } else if (a === "--out") out = v;
    else throw new Error(`Unknown option ${a}; use --steps, --methods or --out.`);
  }
  return { steps, methods, out };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const meanLoss = (net: ReturnType<typeof fewShotNet>, p: Params, x: tf.Tensor, y: tf.Tensor): number => tf.tidy(() => summedTaskLoss("cross-entropy", net.apply(p, x), y).dataSync()[0]! / x.shape[0]!);

/** Support and query loss after each of TRACE_STEPS inner steps at the training rate (ANIL adapts the head only). */
function curve(method: FewShotMethod, params: Params, b: TaskBatch, c: OmniglotFewShotConfig): { support: number[]; query: number[] } {
  const net = fewShotNet(c, c.metaWays);
  const L = c.mlpHidden.length;
  const out = { support: [] as number[], query: [] as number[] };
  const adapted = adaptSgd(params, { x: b.supportX, y: b.supportY }, net, {
    steps: TRACE_STEPS, lr: c.innerLr, loss: "cross-entropy", ...(method === "anil" ? { trainable: [`w${L}`, `b${L}`] } : {}),
    onStep: (_s, p) => {
      out.support.push(meanLoss(net, p, b.supportX, b.supportY));
      out.query.push(meanLoss(net, p, b.queryX, b.queryY));
    },
  });
  disposeParams(adapted);
  return out;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const backend = await ready();
  const dir = process.env.METALAB_OMNIGLOT_DIR ?? omniglotDir();
  const images = loadOmniglot({ dir });
  const runs = loadOneShotRuns({ dir });
  const base: Partial<OmniglotFewShotConfig> = { embedding: "mlp", steps: args.steps };
  const c = fewShotConfig(base);
  const train = new OmniglotTasks(images, { ways: c.metaWays, rotations: true }).sample(new Rng(99), { tasks: 40, shots: 1, queries: 1 });
  const runs5 = runsSubEpisodes(runs, c.metaWays, 4, new Rng(7));
  const traces: Trace[] = [];
  const t0 = Date.now();
  for (const method of args.methods) {
    const load0 = os.loadavg()[0]!;
    const run = trainFewShot(method, images, base, new Rng(0), (s, total, loss) => {
      if (s % 200 === 0 || s === total) process.stderr.write(`  ${method}: step ${s}/${total} loss ${loss.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)}s)\n`);
    });
    const net = fewShotNet(c, c.metaWays);
    const mg = mamlMetaGradient(run.params, train, net, { innerSteps: c.innerSteps, innerLr: c.innerLr, loss: "cross-entropy", firstOrder: method === "fomaml", adapt: method === "anil" ? "head" : "all", fastPath: "off" });
    disposeParams(mg.grads);
    const testLoss = (steps: number): number => {
      const logits = fewShotLogits(run, train, { ...base, testInnerSteps: steps, testInnerLr: c.innerLr });
      const l = tf.tidy(() => summedTaskLoss("cross-entropy", logits, train.queryY).dataSync()[0]! / train.queryX.shape[0]!);
      logits.dispose();
      return l;
    };
    const tail = Array.from(run.losses.slice(-Math.max(1, Math.round(args.steps / 10))));
    traces.push({
      method, steps: args.steps, trainSeconds: run.trainMs / 1000, load: (load0 + os.loadavg()[0]!) / 2, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
      trainPathLoss: mg.loss, testPathLoss: { oldDefault: testLoss(3), newDefault: testLoss(c.testInnerSteps) },
      curves: { train: curve(method, run.params, train, c), runs5: curve(method, run.params, runs5, c) },
      grid: GRID.map(([steps, lr]) => ({ steps, lr, train: fewShotError(run, train, { ...base, testInnerSteps: steps, testInnerLr: lr }), runs5: fewShotError(run, runs5, { ...base, testInnerSteps: steps, testInnerLr: lr }) })),
    });
    disposeParams(run.params);
    process.stderr.write(`${method}: done; ${tf.memory().numTensors} tensors live\n`);
  }
  disposeBatch(train);
  disposeBatch(runs5);
  fs.mkdirSync(args.out, { recursive: true });
  fs.writeFileSync(path.join(args.out, "omniglot-maml-diagnosis.json"), JSON.stringify({ backend: describeBackend(backend), innerLr: c.innerLr, innerSteps: c.innerSteps, testInnerSteps: c.testInnerSteps, traces }, null, 2) + "\n");
  const g = (x: number): string => (Math.abs(x) < 1e4 ? x.toFixed(2) : Number.isFinite(x) ? x.toExponential(1) : String(x));
  const lines = [
    "# Why MAML sat at chance on 5-way Omniglot: the test-time inner loop, traced",
    "",
    "Written by `node dist/bench/omniglot-maml-diagnosis.js` (bench/omniglot-maml-diagnosis.ts). Each method is",
    `meta-trained on Finn's MLP (${c.mlpHidden.join("-")}, no batch norm; fast path) for ${args.steps} steps of ${c.metaEpisode.tasks} × ${c.metaWays}-way 1-shot episodes with`,
    `${c.innerSteps} inner step of ${c.innerLr} on the mean support loss, seed 0. "train": 40 fresh 5-way episodes from the background`,
    "characters (the kind it trained on); \"runs5\": 80 5-way episodes cut from the 20 runs (4 per run). Chance: 80% error, loss ln 5 = 1.61.",
    "",
    "## Loss after each test-time inner step (at the training rate)",
    "",
    `| method | episodes | support loss, steps 0..${TRACE_STEPS} | query loss, steps 0..${TRACE_STEPS} |`,
    "|---|---|---|---|",
    ...traces.flatMap((t) => (["train", "runs5"] as const).map((k) => `| ${t.method} | ${k} | ${t.curves[k].support.map(g).join(" → ")} | ${t.curves[k].query.map(g).join(" → ")} |`)),
    "",
    "## Query error by test-time loop (steps × rate)",
    "",
    `| method | ${GRID.map(([s, lr]) => `${s} × ${lr}`).join(" | ")} |`,
    `|---|${GRID.map(() => "---").join("|")}|`,
    ...traces.flatMap((t) => [`| ${t.method} (train) | ${t.grid.map((x) => pct(x.train)).join(" | ")} |`, `| ${t.method} (runs5) | ${t.grid.map((x) => pct(x.runs5)).join(" | ")} |`]),
    "",
    "## The training path and the test path on the same training episodes",
    "",
    "| method | final training loss | meta-loss (training path, fastPath off) | test path, 3 steps (old default) | test path, new default | train s | load |",
    "|---|---|---|---|---|---|---|",
    ...traces.map((t) => `| ${t.method} | ${t.finalLoss.toFixed(2)} | ${t.trainPathLoss.toFixed(3)} | ${g(t.testPathLoss.oldDefault)} | ${t.testPathLoss.newDefault.toFixed(3)} | ${t.trainSeconds.toFixed(0)} | ${t.load.toFixed(1)} |`),
    "",
    "## Reading",
    "",
    "- The defect: the test path adapted with 3 inner steps where meta-training used 1. MAML meta-learns an",
    "  initialisation for the loop it is trained with; on this MLP (no batch norm) the second and third steps of the",
    "  same size overshoot, the support loss explodes (table 1), and the query error goes to chance (table 2, 3 × 2),",
    "  on the training episodes as much as on the runs. Finn et al. evaluate with 3 steps, but their net has batch",
    "  norm, which makes each layer invariant to the scale of its weights and keeps large steps stable.",
    `- The fix (src/experiments/omniglot-few-shot.ts): the test loop defaults to the training loop, ${c.testInnerSteps} × ${c.innerLr}; the test path's`,
    "  query loss then equals the training meta-loss on the same episodes (table 3; test",
    "  test/experiments/omniglot-maml-test-path.test.ts). Smaller test rates with more steps can score better; they are",
    "  shown, not used, because picking them on these numbers would tune on the test runs.",
    `- Times are wall-clock training time on a shared 2-core machine; "load" is the 1-minute load average at start and end. Backend: ${describeBackend(backend)}.`,
    "",
  ];
  fs.writeFileSync(path.join(args.out, "omniglot-maml-diagnosis.md"), lines.join("\n"));
  process.stderr.write(`wrote ${path.join(args.out, "omniglot-maml-diagnosis.md")} in ${((Date.now() - t0) / 1000).toFixed(0)}s\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
