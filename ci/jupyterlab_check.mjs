#!/usr/bin/env node
// JupyterLab 4 and Notebook 7 in headless Chromium (playwright-core + Debian's /usr/bin/chromium), driven through
// their menus and keyboard like a student would:
//   labs     every lab notebook: Edit > Clear Outputs, Run > Run All Cells, wait; no error or stderr output; every
//            chart drawn by JupyterLab's own Vega-Lite renderer, as many as the notebook's ml.show calls (plus the
//            live chart of each training run); tables shown as tables; the live progress bar and loss chart of each
//            training cell seen changing in place; the status bar busy while cells run; a screenshot per notebook.
//   restart  on the first lab: Kernel > Restart Kernel…, then Run All again passes the same checks.
//   scratch  a scratch notebook: `throw` gives a red traceback, a type error its message, `1 + 2` shows [n]: 3, Tab
//            after `ml.Ma` offers Maml, Shift+Tab on `ml.Maml` shows its type, Kernel > Interrupt stops a training
//            cell within 5 s and training does not go on, and the kernel still runs cells.
//   bad-input a notebook whose cells print 50 MB and call display 10,000 times (tslab.display.text, ml.display):
//            the kernel survives (same kernel, never dead or restarting), the page answers, the next cell runs.
//   student  a notebook released by `metalab assign`: locked cells cannot be edited or deleted (typing, D D,
//            Edit > Delete Cell, Edit > Cut Cell), an answer typed into an answer cell passes its test, File > Save,
//            and `metalab grade` on the saved file gives the points of exactly that test.
//   nb7      the same server software as Notebook 7 (`jupyter notebook`): one lab, Run All, charts drawn.
// One JupyterLab server for all of it, then one Notebook 7 server. Checked-in notebooks are never written (autosave
// off, hashes compared); scratch and student files live under --out, inside the project so kernels find metalab.
//
// Usage: node ci/jupyterlab_check.mjs --jupyter VENV/bin/jupyter [--out ci-artifacts/jupyterlab]
//          [--only labs,restart,scratch,bad-input,student,nb7] [--nb7-notebook PATH] [--assignment PATH] [--timeout-min 10]
//          [NOTEBOOK.ipynb ...]        (default: notebooks/*.ipynb)
// Env: CHROMIUM (default /usr/bin/chromium); the kernels inherit this process's environment (METALAB_QUICK=1).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { launchChromium } from "./chromium.mjs";
import { finalChecks, liveChecks, statusCheck } from "./jupyter/analyze.mjs";
import { resultsMatrix } from "./jupyter/matrix.mjs";
import { api, sleep, startJupyter } from "./jupyter/server.mjs";
import {
  acceptDialog, closeNotebook, codeCellState, collectNotebook, editCodeCell, installMonitor, menu, openNotebook,
  readMonitor, screenshotNotebook, waitCellDone, waitKernelIdle, waitRunDone,
} from "./jupyter/ui.mjs";

const args = process.argv.slice(2);
const flags = new Set(["--jupyter", "--out", "--only", "--nb7-notebook", "--assignment", "--timeout-min"]);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && flags.has(args[i - 1])));
const root = process.cwd();
const jupyter = opt("--jupyter", null);
if (!jupyter) {
  console.error("usage: node ci/jupyterlab_check.mjs --jupyter VENV/bin/jupyter [--out DIR] [--only labs,restart,scratch,bad-input,student,nb7] [NOTEBOOK ...]");
  process.exit(2);
}
const outDir = path.resolve(opt("--out", "ci-artifacts/jupyterlab"));
if (path.relative(root, outDir).startsWith("..")) throw new Error(`--out ${outDir} must be inside the project (${root}): scratch notebooks there must find metalab.`);
const only = new Set(opt("--only", "labs,restart,scratch,bad-input,student,nb7").split(","));
const timeoutMs = Number(opt("--timeout-min", "10")) * 60_000;
const rel = (p) => path.relative(root, path.resolve(p)).split(path.sep).join("/");
const notebooks = (positional.length ? positional : fs.readdirSync("notebooks").filter((f) => f.endsWith(".ipynb")).sort().map((f) => `notebooks/${f}`)).map(rel);
const nb7Notebook = rel(opt("--nb7-notebook", notebooks[0] ?? "notebooks/01-computational-graphs.ipynb"));
const assignment = rel(opt("--assignment", (fs.existsSync("notebooks/instructor") ? fs.readdirSync("notebooks/instructor").filter((f) => f.endsWith(".instructor.ipynb")).sort().map((f) => `notebooks/instructor/${f}`) : [])[0] ?? ""));

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-jlab-"));
const log = (msg) => console.log(`[jupyterlab] ${msg}`);
const sha = (f) => createHash("sha256").update(fs.readFileSync(f)).digest("hex");
const slug = (p) => path.basename(p, ".ipynb");

/** All results: { section, subject, name, ok, detail, seconds? }. */
const results = [];
const record = (section, subject, checks, seconds) => {
  for (const c of checks) {
    results.push({ section, subject, ...c, ...(seconds !== undefined ? { seconds } : {}) });
    log(`${c.ok ? "ok  " : "FAIL"} ${section} ${subject}: ${c.name}${c.ok ? "" : `\n       ${String(c.detail).replace(/\n/g, "\n       ")}`}`);
  }
};
const fail = (section, subject, name, e) => record(section, subject, [{ name, ok: false, detail: e instanceof Error ? e.message : String(e) }]);

async function failureShot(page, name) {
  await page.screenshot({ path: path.join(outDir, `${name}-failure.png`) }).catch(() => undefined);
}

/** Run All on the open notebook (outputs cleared first) with the monitor on; returns the checks. */
async function runAllAndCheck(page, name) {
  await menu(page, "Edit", "Clear Outputs of All Cells");
  await installMonitor(page);
  await menu(page, "Run", "Run All Cells");
  const done = await waitRunDone(page, timeoutMs);
  await sleep(1000); // Let the last charts draw.
  const monitor = await readMonitor(page);
  const cells = await collectNotebook(page);
  fs.writeFileSync(path.join(outDir, `${name}.outputs.json`), JSON.stringify({ cells, monitor }, null, 1));
  return { seconds: done.seconds, checks: [...finalChecks(cells), ...liveChecks(cells, monitor), statusCheck(monitor)] };
}

// ---------------------------------------------------------------------------------------------------------------
async function labs(page, server) {
  for (const [n, nb] of notebooks.entries()) {
    const before = sha(nb);
    const original = fs.readFileSync(nb);
    const started = Date.now();
    try {
      log(`--- ${nb}`);
      await openNotebook(page, server, nb);
      const { seconds, checks } = await runAllAndCheck(page, `lab-${slug(nb)}`);
      await screenshotNotebook(page, path.join(outDir, `${slug(nb)}.png`));
      record("labs", nb, checks, seconds);
      log(`    Run All took ${seconds.toFixed(1)} s; screenshot ${rel(path.join(outDir, `${slug(nb)}.png`))}`);
      if (n === 0 && only.has("restart")) await restart(page, nb);
    } catch (e) {
      await failureShot(page, slug(nb));
      fail("labs", nb, "Run All completes", e);
    } finally {
      await closeNotebook(page);
    }
    if (sha(nb) !== before) {
      fs.writeFileSync(nb, original);
      fail("labs", nb, "checked-in notebook left unchanged", `${nb} was written during the check (restored)`);
    }
    log(`    ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
  }
}

async function restart(page, nb) {
  try {
    log(`--- Kernel > Restart Kernel… on ${nb}, then Run All`);
    await menu(page, "Kernel", "Restart Kernel…");
    await acceptDialog(page, "Restart");
    const t0 = Date.now();
    await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus !== "idle", null, { timeout: 10_000, polling: 50 }).catch(() => undefined);
    await waitKernelIdle(page, 120_000);
    const restartSeconds = (Date.now() - t0) / 1000;
    const { seconds, checks } = await runAllAndCheck(page, `restart-${slug(nb)}`);
    const counts = (await collectNotebook(page)).filter((c) => c.type === "code" && c.source.trim() !== "").map((c) => c.executionCount);
    const fresh = counts[0] === 1;
    record("restart", nb, [
      { name: "kernel restarted (execution count starts at 1 again)", ok: fresh, detail: `back to idle in ${restartSeconds.toFixed(1)} s; execution counts ${counts.join(",")}` },
      ...checks.map((c) => ({ ...c, name: `after restart: ${c.name}` })),
    ], seconds);
  } catch (e) {
    await failureShot(page, "restart");
    fail("restart", nb, "Kernel > Restart, then Run All", e);
  }
}

// ---------------------------------------------------------------------------------------------------------------
/** A notebook file with the given code cells (sources) and the metalab kernel. */
function writeNotebook(file, sources, cellMetadata = () => ({})) {
  const nb = {
    cells: sources.map((s, i) => ({ cell_type: "code", execution_count: null, id: `c${i}`, metadata: cellMetadata(i), outputs: [], source: s })),
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript (metalab)", language: "typescript" }, language_info: { name: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
}

const SCRATCH_SETUP = [
  'import * as ml from "metalab";',
  "await ml.ready();",
  "const rng = new ml.Rng(0);",
  "const family = new ml.SineFamily();",
  "const model = new ml.Mlp(ml.FINN_SINE_MLP);",
  "const maml = new ml.Maml(model, model.init(rng.fork(\"init\")), { innerSteps: 1, innerLr: 0.01 });",
  "const counter = { steps: 0 };",
  "const counted = { step: (b: ml.TaskBatch) => { counter.steps++; return maml.step(b); } };",
].join("\n");
const TRAIN_FOREVER = 'await ml.trainLive(counted, family, rng.fork("train"), { iterations: 1_000_000, spec: ml.FINN_SINE_BATCH, title: "interrupt me" });';
const STILL_TRAINING = "const s0 = counter.steps;\nawait new Promise((r) => setTimeout(r, 3000));\ncounter.steps - s0";

/** Types `text` into code cell `n`, runs it with Shift+Enter, waits, returns that cell as collectNotebook sees it. */
async function runTyped(page, n, text, waitMs = 120_000) {
  await editCodeCell(page, n, text);
  await page.keyboard.press("Shift+Enter");
  await waitCellDone(page, n, waitMs);
  await sleep(300);
  return (await collectNotebook(page)).filter((c) => c.type === "code")[n];
}

const reddish = (rgb) => rgb.length === 3 && rgb[0] > rgb[1] + 15 && rgb[0] > rgb[2] + 15;

async function scratchChecks(page, server) {
  const file = path.join(outDir, "scratch", "scratch.ipynb");
  writeNotebook(file, [SCRATCH_SETUP, ...Array.from({ length: 8 }, () => "")]);
  const subject = rel(file);
  const rec = (name, ok, detail) => record("scratch", subject, [{ name, ok, detail }]);
  try {
    log(`--- scratch notebook ${subject}`);
    await openNotebook(page, server, subject);
    const setup = await runTyped(page, 0, undefined, 180_000);
    const setupErr = setup.outputs.filter((o) => o.type === "error" || o.name === "stderr");
    if (setupErr.length) throw new Error(`the setup cell failed: ${setupErr.map((o) => o.text).join("\n")}`);

    const thrown = await runTyped(page, 1, 'throw new Error("boom")');
    const err = thrown.outputs.find((o) => o.type === "error");
    rec("throw shows a red traceback", !!err && /Error: boom/.test(err.dom?.text ?? "") && reddish(err.dom?.background ?? []),
      err ? `error output ${JSON.stringify(err.text)}, shown ${JSON.stringify((err.dom?.text ?? "").slice(0, 200))} on rgb(${err.dom?.background})` : `no error output: ${JSON.stringify(thrown.outputs)}`);

    const typed = await runTyped(page, 2, 'const n: number = "three";');
    const terr = typed.outputs.find((o) => o.type === "error");
    rec("a type error shows its message", !!terr && /Type 'string' is not assignable to type 'number'/.test(terr.dom?.text ?? "") && reddish(terr.dom?.background ?? []),
      terr ? `shown ${JSON.stringify((terr.dom?.text ?? "").slice(0, 200))}` : `no error output: ${JSON.stringify(typed.outputs)}`);

    const sum = await runTyped(page, 3, "1 + 2");
    const res = sum.outputs.find((o) => o.type === "execute_result");
    const num = /\[(\d+)\]/.exec(sum.prompt)?.[1];
    rec("1 + 2 shows Out[n]: 3", !!res && res.dom?.text.trim() === "3" && res.dom?.prompt === `[${num}]:`,
      res ? `input ${sum.prompt}, output prompt ${res.dom?.prompt}, value ${JSON.stringify(res.dom?.text)}` : `no execute_result: ${JSON.stringify(sum.outputs)}`);

    // Tab completion: type `ml.Ma` in an empty cell, press Tab, read the completer's list.
    await editCodeCell(page, 4, "");
    await page.keyboard.type("ml.Ma");
    await page.keyboard.press("Tab");
    const items = await page.waitForFunction(() => {
      const c = document.querySelector(".jp-Completer:not(.lm-mod-hidden)");
      const list = c ? [...c.querySelectorAll(".jp-Completer-item .jp-Completer-match")].map((i) => i.textContent) : [];
      return list.length ? list : null;
    }, null, { timeout: 30_000, polling: 200 }).then((h) => h.jsonValue()).catch(async () => [`(no completer; cell text ${JSON.stringify((await codeCellState(page, 4))?.source)})`]);
    rec("Tab after ml.Ma offers Maml", items.includes("Maml"), `completer offered ${items.slice(0, 12).join(", ")}${items.length > 12 ? ", …" : ""}`);
    await page.keyboard.press("Escape");

    // Contextual help: Shift+Tab with the cursor after `ml.Maml`.
    await editCodeCell(page, 5, "");
    await page.keyboard.type("ml.Maml");
    await page.keyboard.press("Shift+Tab");
    const tip = await page.waitForFunction(() => document.querySelector(".jp-Tooltip")?.innerText || null, null, { timeout: 30_000, polling: 200 })
      .then((h) => h.jsonValue()).catch(() => null);
    rec("Shift+Tab on ml.Maml shows its type", !!tip && /\bclass Maml\b|Maml\s*[:(<]|new \(/.test(tip), `tooltip: ${JSON.stringify(tip)}`);
    await page.keyboard.press("Escape");

    // Interrupt a training cell through the Kernel menu.
    await editCodeCell(page, 6, TRAIN_FOREVER);
    await page.keyboard.press("Shift+Enter");
    await page.waitForFunction(() => {
      const c = window.jupyterapp.shell.currentWidget.content.widgets.filter((x) => x.model.type === "code")[6];
      const t = c.node.querySelector(".jp-OutputArea-output")?.textContent ?? "";
      const m = /(\d+)\/1000000/.exec(t);
      return m && Number(m[1]) >= 20;
    }, null, { timeout: 120_000, polling: 200 });
    await sleep(2000);
    const t0 = Date.now();
    await menu(page, "Kernel", "Interrupt Kernel");
    let stopped = null;
    try {
      stopped = await waitCellDone(page, 6, 30_000);
    } catch {
      stopped = null;
    }
    const interrupted = (await collectNotebook(page)).filter((c) => c.type === "code")[6];
    const bar = interrupted.outputs.find((o) => o.bar)?.text ?? "";
    const shown = interrupted.outputs.filter((o) => !o.bar && !o.mimes?.includes("application/vnd.vegalite.v5+json")).map((o) => o.text).join(" | ");
    rec("Kernel > Interrupt stops a training cell within 5 s", stopped !== null && stopped <= 5,
      stopped === null ? `the cell still showed [*] ${((Date.now() - t0) / 1000).toFixed(0)} s after Interrupt` : `the cell ended ${stopped.toFixed(1)} s after Interrupt; bar ${JSON.stringify(bar)}; other output ${JSON.stringify(shown.slice(0, 300))}`);
    if (stopped === null) {
      await menu(page, "Kernel", "Restart Kernel…");
      await acceptDialog(page, "Restart");
      await sleep(1000);
      await waitKernelIdle(page, 120_000);
      rec("after Interrupt, training stops and the kernel runs the next cell", false, "not checked: the interrupted cell never ended (kernel restarted to go on)");
    } else {
      await waitKernelIdle(page, 30_000).catch(() => undefined);
      const after = await runTyped(page, 7, STILL_TRAINING, 60_000);
      const value = after.outputs.find((o) => o.type === "execute_result")?.dom?.text.trim();
      const problems = after.outputs.filter((o) => o.type === "error").map((o) => o.text);
      rec("after Interrupt, training stops and the kernel runs the next cell", value === "0" && problems.length === 0,
        value === undefined ? `the next cell showed no result: ${JSON.stringify(after.outputs.map((o) => o.text))}` : `training steps taken in the 3 s after the interrupted cell ended: ${value}`);
    }
    await screenshotNotebook(page, path.join(outDir, "scratch.png"));
  } catch (e) {
    await failureShot(page, "scratch");
    fail("scratch", subject, "scratch notebook checks", e);
  } finally {
    await closeNotebook(page);
  }
}

// ---------------------------------------------------------------------------------------------------------------
/** The same hostile cells as test/notebook/cell-progress.test.ts ("bad output"), then a cell that must still run. */
const BAD_INPUT = [
  'import * as ml from "metalab";\nimport * as tslab from "tslab";',
  "const mb = 'x'.repeat(1024 * 1024 - 1) + '\\n';\nfor (let i = 0; i < 50; i++) process.stdout.write(mb); // 50 MB",
  "for (let i = 0; i < 10_000; i++) tslab.display.text(String(i));",
  "for (let i = 0; i < 10_000; i++) await ml.display(`**row ${i}**`);",
  "console.log('alive');\n1 + 2",
];

/** Run All on a notebook whose cells print 50 MB and call display 10,000 times: the kernel survives (same kernel,
 *  never dead or restarting), the page stays responsive, and the next cell runs. */
async function badInput(page, server) {
  const file = path.join(outDir, "bad-input", "bad-input.ipynb");
  writeNotebook(file, BAD_INPUT);
  const subject = rel(file);
  const rec = (name, ok, detail) => record("bad-input", subject, [{ name, ok, detail }]);
  try {
    log(`--- bad input ${subject}`);
    await openNotebook(page, server, subject);
    const kernelId = await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id);
    await page.evaluate(() => {
      const ctx = window.jupyterapp.shell.currentWidget.sessionContext;
      const seen = (window.__ciStatuses = new Set());
      window.__ciStatusTimer = setInterval(() => seen.add(ctx.kernelDisplayStatus), 50);
      ctx.statusChanged.connect((_, s) => seen.add(s));
    });
    const t0 = Date.now();
    await menu(page, "Run", "Run All Cells");
    const done = await waitRunDone(page, timeoutMs);
    const statuses = await page.evaluate(() => {
      clearInterval(window.__ciStatusTimer);
      return [...window.__ciStatuses];
    });
    const kernelAfter = await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.id ?? null);
    const p0 = Date.now();
    await page.evaluate(() => 1);
    const responsive = Date.now() - p0;
    const cells = (await collectNotebook(page)).filter((c) => c.type === "code");
    const counts = cells.map((c) => c.executionCount);
    const bad = statuses.filter((s) => /dead|restarting|autorestarting|unknown/.test(s));
    rec("the kernel survives (same kernel, never dead or restarting)", kernelAfter === kernelId && bad.length === 0 && counts.every((n, i) => n === i + 1),
      `kernel ${kernelId === kernelAfter ? "unchanged" : `changed ${kernelId} -> ${kernelAfter}`}; statuses seen: ${statuses.join(", ")}; execution counts ${counts.join(",")}; Run All took ${done.seconds.toFixed(1)} s`);
    const shown = (c) => c.outputs.map((o) => `${o.type}${o.name ? `/${o.name}` : ""} ${JSON.stringify(o.text.slice(0, 80))}`);
    const printed = cells[1];
    const notices = cells.flatMap((c) => c.outputs.filter((o) => /IOPub (data|message) rate exceeded/.test(o.text)).map(() => c.index));
    rec("a cell printing 50 MB ends and the page stays responsive", /\[\d+\]/.test(printed.prompt) && responsive < 10_000,
      `cell shows ${printed.prompt}; ${printed.outputs.length} outputs (${shown(printed).slice(0, 3).join("; ")}); the page answered in ${responsive} ms`);
    const texts = cells[2];
    const mds = cells[3];
    const more = await page.evaluate(() => document.querySelectorAll(".jp-TrimmedOutputs").length);
    rec("cells calling display 10,000 times end", /\[\d+\]/.test(texts.prompt) && /\[\d+\]/.test(mds.prompt),
      `tslab.display.text x10,000: ${texts.outputs.length} outputs in the model; ml.display x10,000: ${mds.outputs.length} outputs; ${more} "show more outputs" notices (JupyterLab shows the first 50); server rate-limit notices in cells ${[...new Set(notices)].join(", ") || "none"}`);
    const last = cells[4];
    const alive = last.outputs.some((o) => o.type === "stream" && o.text.includes("alive"));
    const three = last.outputs.find((o) => o.type === "execute_result")?.dom?.text.trim();
    rec("the next cell runs (prints alive, 1 + 2 shows 3)", alive && three === "3", `outputs: ${shown(last).join("; ")}`);
    await screenshotNotebook(page, path.join(outDir, "bad-input.png"), { maxHeight: 4000 });
  } catch (e) {
    await failureShot(page, "bad-input");
    fail("bad-input", subject, "bad-input notebook", e);
  } finally {
    await closeNotebook(page);
  }
}

// ---------------------------------------------------------------------------------------------------------------
const text = (src) => (Array.isArray(src) ? src.join("") : String(src ?? ""));
const nbgrader = (cell) => cell.metadata?.nbgrader ?? {};

async function studentFlow(page, server) {
  const subject = assignment || "(no notebooks/instructor/*.instructor.ipynb)";
  if (!assignment) return fail("student", subject, "an assignment to release", "no instructor notebook found");
  const base = path.join(outDir, "student");
  const release = path.join(base, "release");
  const name = path.basename(assignment).replace(/\.instructor\.ipynb$/, ".ipynb");
  const submission = path.join(base, "submissions", "alice", name);
  const graded = path.join(base, "graded");
  const rec = (check, ok, detail) => record("student", subject, [{ name: check, ok, detail }]);
  try {
    log(`--- student flow: metalab assign ${assignment}`);
    const metalab = path.join(root, "dist/src/cli/metalab.js");
    const a = spawnSync(process.execPath, [metalab, "assign", assignment, "--release", release], { encoding: "utf8", cwd: root });
    fs.writeFileSync(path.join(base, "assign.log"), `${a.stdout}\n${a.stderr}`);
    if (a.status !== 0) throw new Error(`metalab assign failed (exit ${a.status}): ${(a.stderr || a.stdout).trim().slice(-1000)}`);
    fs.mkdirSync(path.dirname(submission), { recursive: true });
    fs.copyFileSync(path.join(release, name), submission);
    const released = JSON.parse(fs.readFileSync(submission, "utf8"));
    const instructor = JSON.parse(fs.readFileSync(assignment, "utf8"));
    const code = released.cells.filter((c) => c.cell_type === "code");
    const lockedIdx = code.flatMap((c, i) => (c.metadata?.editable === false ? [i] : []));
    const solutionIdx = code.findIndex((c) => nbgrader(c).solution === true);
    if (lockedIdx.length === 0 || solutionIdx < 0) throw new Error(`the released notebook has ${lockedIdx.length} locked cells and ${solutionIdx < 0 ? "no" : "an"} answer cell`);
    // The answer: the instructor's solution cell with the solution markers removed.
    const gradeId = nbgrader(code[solutionIdx]).grade_id;
    const solutionCell = instructor.cells.find((c) => nbgrader(c).grade_id === gradeId);
    const answer = text(solutionCell.source).split("\n").filter((l) => !/(BEGIN|END) SOLUTION/.test(l)).join("\n");
    // Expected points: the test cells after this answer cell, up to the next answer cell.
    const nextSolution = code.findIndex((c, i) => i > solutionIdx && nbgrader(c).solution === true);
    const tests = code.map((c, i) => [i, c]).filter(([i, c]) => nbgrader(c).grade === true && i > solutionIdx && (nextSolution < 0 || i < nextSolution));
    const expected = tests.reduce((s, [, c]) => s + Number(nbgrader(c).points ?? 0), 0);
    const total = code.filter((c) => nbgrader(c).grade === true).reduce((s, c) => s + Number(nbgrader(c).points ?? 0), 0);

    await openNotebook(page, server, rel(submission));
    const sources = async () => (await collectNotebook(page)).filter((c) => c.type === "code").map((c) => c.source);
    const original = await sources();

    // Editing: click into each locked cell and type; the text must not change, and the editor must be read-only.
    const edits = [];
    for (const i of lockedIdx) {
      const editor = await editCodeCell(page, i);
      await page.keyboard.press("End");
      await page.keyboard.type("// edited");
      const now = (await codeCellState(page, i)).source;
      if (now !== original[i]) edits.push(`code cell ${i}: typing changed its text to ${JSON.stringify(now.slice(-80))}`);
      void editor;
    }
    rec("locked cells cannot be edited", edits.length === 0, edits.length ? edits.join("; ") : `${lockedIdx.length} locked cells (editable: false): typing into each changed nothing`);

    // Deleting: select each locked cell in command mode and try D D, Edit > Delete Cell and Edit > Cut Cell.
    const deletions = [];
    const disabled = new Set();
    for (const i of lockedIdx) {
      for (const how of ["D D", "Edit > Delete Cell", "Edit > Cut Cell", "M", "Shift+M"]) {
        await page.locator(".jp-Notebook .jp-CodeCell").nth(i).locator(".jp-InputPrompt").click();
        await page.keyboard.press("Escape");
        if (how === "D D") {
          await page.keyboard.press("d");
          await page.keyboard.press("d");
        } else if (!how.includes(">")) {
          await page.keyboard.press(how);
        } else if (!(await menu(page, "Edit", how.split(" > ")[1], { allowDisabled: true }))) disabled.add(how);
        await sleep(300);
        await page.keyboard.press("Escape"); // Closes a dialog, if one explains why nothing happened.
        const now = await sources();
        if (now.length !== original.length || now[i] !== original[i]) {
          deletions.push(`code cell ${i} ${how.startsWith("M") ? "turned into Markdown" : how.startsWith("Shift+M") ? "merged" : "removed"} by ${how}`);
          await menu(page, "Edit", "Undo Cell Operation").catch(() => undefined);
        }
      }
    }
    rec("locked cells cannot be deleted", deletions.length === 0, deletions.length ? deletions.join("; ")
      : `${lockedIdx.length} locked cells (deletable: false) survived D D, Edit > Delete Cell, Edit > Cut Cell, M (to Markdown) and Shift+M (merge)${disabled.size ? ` (${[...disabled].join(", ")} shown disabled)` : ""}`);

    // Answer: type the solution into the answer cell, run setup, answer and its tests, save.
    await editCodeCell(page, solutionIdx, answer);
    await page.locator(".jp-Notebook .jp-CodeCell").nth(0).locator(".jp-InputPrompt").click();
    const lastTest = tests.length ? tests[tests.length - 1][0] : solutionIdx;
    for (let i = 0; i <= lastTest; i++) {
      if (i > 0 && i < solutionIdx) continue; // Unanswered exercises before this one would only fail.
      await page.locator(".jp-Notebook .jp-CodeCell").nth(i).locator(".jp-InputPrompt").click();
      await page.keyboard.press("Escape");
      await page.keyboard.press("Shift+Enter");
      await waitCellDone(page, i, 180_000);
    }
    const after = (await collectNotebook(page)).filter((c) => c.type === "code");
    const testOut = tests.map(([i]) => after[i]);
    const testErrors = testOut.flatMap((c) => c.outputs.filter((o) => o.type === "error").map((o) => o.text));
    rec("the answer passes its test in JupyterLab", testOut.length > 0 && testErrors.length === 0,
      testErrors.length ? testErrors.join("\n") : `test output: ${testOut.map((c) => c.outputs.map((o) => o.text.trim()).join(" ")).join(" | ")}`);
    await menu(page, "File", "Save Notebook");
    await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.context.model.dirty === false, null, { timeout: 30_000, polling: 200 });
    const saved = JSON.parse(fs.readFileSync(submission, "utf8")).cells.filter((c) => c.cell_type === "code");
    const lockedKept = lockedIdx.every((i) => text(saved[i].source) === text(code[i].source) && saved[i].metadata?.editable === false && saved[i].metadata?.deletable === false);
    rec("File > Save wrote the answer and kept the locked cells", text(saved[solutionIdx]?.source) === answer && lockedKept && saved.length === code.length,
      `answer cell saved: ${text(saved[solutionIdx]?.source) === answer}; locked cells unchanged with their metadata: ${lockedKept}; ${saved.length}/${code.length} code cells`);
    await screenshotNotebook(page, path.join(outDir, "student.png"));
    await closeNotebook(page);

    log(`--- metalab grade on the saved notebook`);
    // Generous limits: they only stop a hung kernel (at load 35 the instructor's import cell took over 30 s, the default).
    const g = spawnSync(process.execPath, [metalab, "grade", "--instructor", assignment, "--submissions", path.dirname(path.dirname(submission)), "--out", graded,
      "--cell-timeout", "300", "--timeout", "1200"], { encoding: "utf8", cwd: root });
    fs.writeFileSync(path.join(base, "grade.log"), `${g.stdout}\n${g.stderr}`);
    const resultFile = path.join(graded, "students", "alice", "result.json");
    if (!fs.existsSync(resultFile)) throw new Error(`metalab grade wrote no ${rel(resultFile)} (exit ${g.status}): ${(g.stderr || g.stdout).trim().slice(-1000)}`);
    const r = JSON.parse(fs.readFileSync(resultFile, "utf8"));
    const tampering = (r.notes ?? []).filter((n) => /edited|deleted|re-inserted/.test(n));
    rec(`metalab grade gives the expected score (${expected}/${total})`, r.score === expected && r.maxScore === total && tampering.length === 0,
      `score ${r.score}/${r.maxScore} (${r.status}); tests ${(r.tests ?? []).map((t) => `${t.gradeId} ${t.score}/${t.maxScore}`).join(", ")}${tampering.length ? `; notes: ${tampering.join("; ")}` : ""}`);
  } catch (e) {
    await failureShot(page, "student");
    fail("student", subject, "student flow", e);
  } finally {
    await closeNotebook(page);
  }
}

// ---------------------------------------------------------------------------------------------------------------
async function notebook7(page, server) {
  const nb = nb7Notebook;
  const before = sha(nb);
  const original = fs.readFileSync(nb);
  try {
    log(`--- Notebook 7: ${nb}`);
    await openNotebook(page, server, nb);
    const { seconds, checks } = await runAllAndCheck(page, `nb7-${slug(nb)}`);
    await screenshotNotebook(page, path.join(outDir, `nb7-${slug(nb)}.png`));
    const keep = new Set(["every cell ran", "no error or stderr output", "charts drawn by JupyterLab's Vega-Lite renderer", "chart count matches ml.show calls"]);
    record("nb7", nb, checks.filter((c) => keep.has(c.name)), seconds);
  } catch (e) {
    await failureShot(page, "nb7");
    fail("nb7", nb, "Run All completes", e);
  } finally {
    await closeNotebook(page);
  }
  if (sha(nb) !== before) {
    fs.writeFileSync(nb, original);
    fail("nb7", nb, "checked-in notebook left unchanged", `${nb} was written during the check (restored)`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
async function withBrowser(fn) {
  const { context, page, pageErrors } = await launchChromium(fs.mkdtempSync(path.join(scratch, "chromium-")));
  try {
    await fn(page);
  } finally {
    if (pageErrors.length) fs.writeFileSync(path.join(outDir, "page-errors.txt"), pageErrors.join("\n"));
    await context.close().catch(() => undefined);
  }
}

async function withServer(app, fn) {
  const server = await startJupyter({ jupyter, app, root, scratch: path.join(scratch, app), logFile: path.join(outDir, `${app}-server.log`) });
  try {
    const version = (await api(server, "/api/status").catch(() => ({})));
    const specs = await api(server, "/api/kernelspecs");
    const tslab = specs.kernelspecs?.tslab?.spec;
    log(`jupyter ${app} on ${server.base} (kernel "tslab" runs: ${tslab ? tslab.argv.join(" ") : "NOT REGISTERED"})`);
    if (!tslab) throw new Error(`the kernelspec "tslab" is not visible to jupyter ${app}; register it as environment.md says`);
    void version;
    await fn(server);
  } finally {
    await server.stop();
  }
}

const t0 = Date.now();
try {
  await withBrowser(async (page) => {
    if (["labs", "restart", "scratch", "bad-input", "student"].some((s) => only.has(s))) {
      await withServer("lab", async (server) => {
        if (only.has("labs")) await labs(page, server);
        else if (only.has("restart") && notebooks[0]) {
          await openNotebook(page, server, notebooks[0]);
          await restart(page, notebooks[0]);
          await closeNotebook(page);
        }
        if (only.has("scratch")) await scratchChecks(page, server);
        if (only.has("bad-input")) await badInput(page, server);
        if (only.has("student")) await studentFlow(page, server);
      });
    }
    if (only.has("nb7")) await withServer("notebook", (server) => notebook7(page, server));
  });
} catch (e) {
  fail("setup", "jupyter", "servers and browser start", e);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok);
const md = [
  "| section | notebook | check | result |",
  "| --- | --- | --- | --- |",
  ...results.map((r) => `| ${r.section} | ${r.subject} | ${r.name} | ${r.ok ? "pass" : `FAIL: ${String(r.detail).split("\n")[0].replace(/\|/g, "\\|").slice(0, 200)}`} |`),
].join("\n");
fs.writeFileSync(path.join(outDir, "results.json"), JSON.stringify({ seconds: (Date.now() - t0) / 1000, results }, null, 1));
fs.writeFileSync(path.join(outDir, "results.md"), md + "\n");
fs.writeFileSync(path.join(outDir, "results-matrix.md"), resultsMatrix(results));
log(`${results.length - failed.length}/${results.length} checks passed in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${rel(path.join(outDir, "results.md"))}`);
if (failed.length) {
  console.error(`[jupyterlab] FAILED: ${failed.map((r) => `${r.section} ${r.subject}: ${r.name}`).join("\n  ")}`);
  process.exit(1);
}
