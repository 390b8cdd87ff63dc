#!/usr/bin/env node
// Real-browser check: serves the project with Debian's Jupyter Notebook (classic 6.x), opens a notebook in
// Debian's Chromium driven by playwright-core, runs Cell > Run All, waits for the kernel, checks that a plot
// is rendered (an <img> with data:image/png or an <svg> inside an output area) and that no cell shows an
// error, and saves screenshots.
//
// Usage: node ci/browser_check.mjs NOTEBOOK.ipynb [--out ci-artifacts] [--timeout-min 15]
// Env:   CHROMIUM (default /usr/bin/chromium), JUPYTER_PYTHON (default /usr/bin/python3), and the
//        kernel's environment (METALAB_QUICK, JUPYTER_PATH) is passed on to the notebook server.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { launchChromium, chromiumPath } from "./chromium.mjs";
import { freePort, sleep } from "./jupyter/server.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const notebookArg = args.find((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
if (!notebookArg) {
  console.error("usage: node ci/browser_check.mjs NOTEBOOK.ipynb [--out ci-artifacts] [--timeout-min 15]");
  process.exit(2);
}
const root = process.cwd();
const notebook = path.resolve(notebookArg);
const rel = path.relative(root, notebook);
if (rel.startsWith("..")) throw new Error(`${notebook} must be inside the project (${root}) so its kernel finds node_modules.`);
const outDir = path.resolve(opt("--out", "ci-artifacts"));
const timeoutMs = Number(opt("--timeout-min", "15")) * 60_000;
const executablePath = chromiumPath();
const python = process.env.JUPYTER_PYTHON ?? "/usr/bin/python3";
fs.mkdirSync(outDir, { recursive: true });

const sha = (file) => createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const original = fs.readFileSync(notebook);
const before = sha(notebook);
const log = (msg) => console.log(`[browser] ${msg}`);

async function waitForServer(url, server, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (server.exitCode !== null) throw new Error(`jupyter notebook exited with code ${server.exitCode}; see ${outDir}/notebook-server.log`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(300);
  }
  throw new Error(`jupyter notebook did not answer at ${url} within ${ms / 1000} s; see ${outDir}/notebook-server.log`);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-browser-"));
const port = await freePort();
const token = randomBytes(16).toString("hex");
const serverLog = fs.openSync(path.join(outDir, "notebook-server.log"), "w");
const server = spawn(
  python,
  [
    "-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0",
    `--NotebookApp.token=${token}`, `--notebook-dir=${root}`, "--allow-root",
  ],
  {
    stdio: ["ignore", serverLog, serverLog],
    env: {
      ...process.env,
      // Keep the server's config, runtime files and notebook-trust database out of the user's home.
      JUPYTER_CONFIG_DIR: path.join(scratch, "config"),
      JUPYTER_RUNTIME_DIR: path.join(scratch, "runtime"),
      JUPYTER_DATA_DIR: path.join(scratch, "data"),
    },
  },
);

let context = null;
let failed = null;
const started = Date.now();
try {
  await waitForServer(`http://127.0.0.1:${port}/api/status?token=${token}`, server, 60_000);
  log(`jupyter notebook ${port} up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const browser = await launchChromium(path.join(scratch, "chromium-profile"), executablePath);
  context = browser.context;
  const { page, pageErrors } = browser;
  const url = `http://127.0.0.1:${port}/notebooks/${rel.split(path.sep).map(encodeURIComponent).join("/")}?token=${token}`;
  await page.goto(url, { waitUntil: "load", timeout: 120_000 });
  // Never write the checked-in notebook: switch autosave off as soon as the notebook object exists.
  await page.waitForFunction(() => typeof window.Jupyter?.notebook?.set_autosave_interval === "function", null, { timeout: 60_000 });
  await page.evaluate(() => window.Jupyter.notebook.set_autosave_interval(0));
  // Wait for the kernel to start and connect.
  await page.waitForFunction(
    () => window.Jupyter?.notebook?.kernel?.is_connected?.() === true && document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null,
    null,
    { timeout: 120_000, polling: 250 },
  );
  log(`kernel connected after ${((Date.now() - started) / 1000).toFixed(1)} s; Cell > Run All`);
  // Start from a clean slate so saved outputs and prompt numbers cannot pass for this run's.
  await page.evaluate(() => {
    const nb = window.Jupyter.notebook;
    nb.clear_all_output();
    nb.get_cells().filter((c) => c.cell_type === "code").forEach((c) => c.set_input_prompt(null));
  });
  await page.click("#celllink"); // The "Cell" menu.
  await page.click("#run_all_cells"); // "Run All".
  const runStart = Date.now();
  // Done when the kernel is idle and no prompt shows "*" (running or queued) for 3 s in a row.
  let quietSince = null;
  for (;;) {
    const state = await page.evaluate(() => {
      const code = window.Jupyter.notebook.get_cells().filter((c) => c.cell_type === "code");
      return {
        running: code.filter((c) => c.input_prompt_number === "*").length,
        ran: code.filter((c) => typeof c.input_prompt_number === "number").length,
        idle: document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null,
      };
    });
    const quiet = state.idle && state.running === 0 && state.ran > 0;
    quietSince = quiet ? (quietSince ?? Date.now()) : null;
    if (quietSince !== null && Date.now() - quietSince >= 3000) break;
    if (Date.now() - runStart > timeoutMs) throw new Error(`cells still running after ${timeoutMs / 60000} min (${state.ran} ran, ${state.running} running or queued)`);
    await sleep(1000);
  }
  log(`all cells ran in ${((Date.now() - runStart) / 1000).toFixed(1)} s`);
  await sleep(500); // Let the last outputs paint.

  const report = await page.evaluate(() => {
    const outputs = [...document.querySelectorAll(".output_area")];
    const pngs = outputs.flatMap((o) => [...o.querySelectorAll('img[src^="data:image/png"]')]);
    const svgs = outputs.flatMap((o) => [...o.querySelectorAll("svg")]);
    const plots = [...pngs, ...svgs].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 50 && r.height > 50;
    });
    plots.forEach((el, i) => el.setAttribute("data-ci-plot", String(i)));
    const codeCells = window.Jupyter.notebook.get_cells().filter((c) => c.cell_type === "code");
    return {
      cells: codeCells.length,
      unrun: codeCells.filter((c) => c.get_text().trim() !== "" && typeof c.input_prompt_number !== "number").length,
      pngs: pngs.length,
      svgs: svgs.length,
      plots: plots.length,
      errors: [...document.querySelectorAll(".output_error")].map((e) => e.innerText.slice(0, 2000)),
      stderr: [...document.querySelectorAll(".output_stderr")].map((e) => e.innerText.slice(0, 2000)),
      height: document.querySelector("#notebook-container")?.scrollHeight ?? 900,
    };
  });
  log(`${report.cells} code cells (${report.unrun} not run), ${report.pngs} PNG images and ${report.svgs} SVGs in outputs, ${report.plots} plot-sized`);

  // Screenshots: the whole notebook (viewport grown to its height, capped) and the first plot on its own.
  await page.setViewportSize({ width: 1280, height: Math.min(Math.max(900, report.height + 200), 12_000) });
  await sleep(300);
  const shot = path.join(outDir, "notebook.png");
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot: ${shot}`);
  // Each plot on its own (the first as notebook-plot.png, then notebook-plot-2.png, ...; at most 8).
  for (let i = 0; i < Math.min(report.plots, 8); i++) {
    const plotShot = path.join(outDir, i === 0 ? "notebook-plot.png" : `notebook-plot-${i + 1}.png`);
    await page.locator(`[data-ci-plot="${i}"]`).screenshot({ path: plotShot });
    log(`plot screenshot: ${plotShot}`);
  }

  const problems = [];
  if (report.errors.length) problems.push(`${report.errors.length} cell(s) show an error:\n${report.errors.join("\n---\n")}`);
  if (report.stderr.length) problems.push(`${report.stderr.length} cell(s) wrote to stderr:\n${report.stderr.join("\n---\n")}`);
  if (report.unrun) problems.push(`${report.unrun} code cell(s) did not run`);
  if (report.plots === 0) problems.push("no plot (data:image/png <img> or <svg> of at least 50x50 px) inside an output area");
  if (pageErrors.length) log(`page errors (not fatal, from the notebook UI): ${pageErrors.join(" | ")}`);
  if (problems.length) failed = new Error(problems.join("\n"));
} catch (e) {
  failed = e;
  const page = context?.pages()[0];
  if (page) {
    const shot = path.join(outDir, "notebook-failure.png");
    await page.screenshot({ path: shot, fullPage: true }).then(() => log(`failure screenshot: ${shot}`), () => undefined);
  }
} finally {
  if (context) await context.close().catch(() => undefined);
  server.kill("SIGTERM");
  await sleep(500);
  if (server.exitCode === null) server.kill("SIGKILL");
  fs.rmSync(scratch, { recursive: true, force: true });
}
if (sha(notebook) !== before) {
  // The server saved the notebook despite autosave being off: put the original bytes back.
  fs.writeFileSync(notebook, original);
  failed ??= new Error(`${rel} was saved by the notebook server during the browser check (restored).`);
}
if (failed) {
  console.error(`[browser] FAILED: ${failed instanceof Error ? failed.message : String(failed)}`);
  process.exit(1);
}
log(`ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
