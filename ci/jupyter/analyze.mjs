// Turns what a notebook showed after Run All (collectNotebook) and what the monitor saw while it ran
// (installMonitor/readMonitor) into named checks: { name, ok, detail }.
import { TRAINING_CELL, VEGA_LITE, showCalls } from "./ui.mjs";

/** Stderr text that is not an error (the same short list as ci/check_outputs.py). */
const BENIGN_STDERR = [/^\(node:\d+\) ExperimentalWarning: .*$/gm];

/** Longest stretch the status bar may show "Idle" while a cell still shows [*] (between two cells it is a few ms). */
export const IDLE_WHILE_RUNNING_LIMIT_MS = 1500;

const check = (name, ok, detail) => ({ name, ok, detail });

function benign(text) {
  let rest = text;
  for (const re of BENIGN_STDERR) rest = rest.replace(re, "");
  return rest.trim() === "";
}

function cellLabel(cell) {
  const first = cell.source.split("\n").find((l) => l.trim() !== "") ?? "";
  return `cell ${cell.index} ${cell.prompt ?? ""} (${first.trim().slice(0, 60)})`;
}

/** Label of a progress bar line: the text before the bar. */
function barLabel(text) {
  return text.split(/[█░]/)[0].trim();
}

/** Checks on the final state of a notebook after Run All. */
export function finalChecks(cells) {
  const code = cells.filter((c) => c.type === "code");
  const results = [];

  const unrun = code.filter((c) => c.source.trim() !== "" && !/\[\d+\]/.test(c.prompt));
  results.push(check("every cell ran", unrun.length === 0, unrun.length ? `not run: ${unrun.map(cellLabel).join("; ")}` : `${code.length} code cells`));

  const errors = [];
  for (const c of code) {
    for (const o of c.outputs) {
      if (o.type === "error") errors.push(`${cellLabel(c)}: error output ${o.text}`);
      else if (o.type === "stream" && o.name === "stderr" && !benign(o.text)) errors.push(`${cellLabel(c)}: stderr ${JSON.stringify(o.text.slice(0, 300))}`);
      else if (o.dom?.mime === "application/vnd.jupyter.stderr" && o.type !== "stream") errors.push(`${cellLabel(c)}: shows a stderr-styled output`);
    }
  }
  results.push(check("no error or stderr output", errors.length === 0, errors.length ? errors.join("\n") : "none"));

  const charts = code.flatMap((c) => c.outputs.filter((o) => o.mimes.includes(VEGA_LITE)).map((o) => ({ c, o })));
  const badCharts = charts.filter(({ o }) => !(o.vega?.renderer && o.vega.drawn && !o.vega.fallback));
  results.push(check(
    "charts drawn by JupyterLab's Vega-Lite renderer",
    badCharts.length === 0,
    badCharts.length
      ? badCharts.map(({ c, o }) => `${cellLabel(c)}: ${o.dom ? `rendered as ${o.dom.className}` : "no output element"} ${JSON.stringify(o.vega ?? {})}`).join("\n")
      : `${charts.length} charts, each a .vega-embed inside .jp-RenderedVegaCommon5`,
  ));

  // Expected charts: one per ml.show call, plus the live loss chart of each progress bar in a training cell.
  const mismatches = [];
  let expected = 0;
  for (const c of code) {
    const live = TRAINING_CELL.test(c.source) ? c.outputs.filter((o) => o.bar).length : 0;
    const want = showCalls(c.source) + live;
    const got = c.outputs.filter((o) => o.mimes.includes(VEGA_LITE)).length;
    expected += want;
    if (want !== got) mismatches.push(`${cellLabel(c)}: ${got} charts, expected ${want} (${showCalls(c.source)} ml.show + ${live} live)`);
  }
  const shows = code.reduce((n, c) => n + showCalls(c.source), 0);
  results.push(check(
    "chart count matches ml.show calls",
    mismatches.length === 0,
    mismatches.length ? mismatches.join("\n") : `${charts.length} charts = ${shows} ml.show calls + ${expected - shows} live charts`,
  ));

  const tables = code.flatMap((c) => c.outputs.filter((o) => o.table).map((o) => ({ c, o })));
  const badTables = tables.filter(({ o }) => !(o.table.rendered && o.table.rows > 0));
  const displays = code.some((c) => /\bml\.display\s*\(/.test(c.source));
  results.push(check(
    "tables render as HTML tables",
    badTables.length === 0 && (!displays || tables.length > 0),
    badTables.length
      ? badTables.map(({ c, o }) => `${cellLabel(c)}: ${o.dom?.className ?? "no element"}`).join("\n")
      : displays && tables.length === 0 ? "the notebook calls ml.display but no table was shown" : `${tables.length} tables`,
  ));
  return results;
}

/**
 * A live display must be seen changing while it runs if its cell ran at least this long: the bar redraws at most every
 * 250 ms and the chart at 25%/50%, so a quick-mode cell on the fast path (0.4 s) may jump straight to its end.
 */
export const LIVE_MIN_RUN_MS = 2000;

/**
 * The live display of each training cell: its progress bar and loss chart must each be seen in at least two
 * different states while the cell runs (not counting the final one), updated in place (the same output), and end
 * in one final state: one bar per label, each at done = total, with its chart drawn. A cell with only
 * `ml.progressBar` gets the same checks without the chart. The two running states are required only of a cell that
 * ran for LIVE_MIN_RUN_MS (the in-place updates and the final state are checked for every cell).
 */
export function liveChecks(cells, monitor) {
  const code = cells.filter((c) => c.type === "code");
  const results = [];
  for (const [i, rec] of Object.entries(monitor?.cells ?? {})) {
    const cell = code[Number(i)];
    if (!cell) continue;
    const training = TRAINING_CELL.test(cell.source);
    const ranMs = rec.started !== null && rec.finished !== null ? rec.finished - rec.started : null;
    const problems = [];
    const bars = cell.outputs.flatMap((o, k) => (o.bar ? [k] : []));
    const charts = cell.outputs.flatMap((o, k) => (o.mimes.includes(VEGA_LITE) ? [k] : []));
    const pairs = bars.map((b, j) => ({ bar: b, chart: charts.find((k) => k > b && (j + 1 >= bars.length || k < bars[j + 1])) ?? null }));
    if (bars.length === 0) problems.push("no progress bar in the final outputs");
    const labels = bars.map((k) => barLabel(cell.outputs[k].text));
    if (new Set(labels).size !== labels.length) problems.push(`stale outputs: ${bars.length} bars for ${new Set(labels).size} labels (${labels.join(", ")})`);
    const summaries = [];
    let good = 0;
    for (const { bar, chart } of pairs) {
      const m = /(\d+)\/(\d+)/.exec(cell.outputs[bar].text);
      if (!m || m[1] !== m[2]) problems.push(`bar "${barLabel(cell.outputs[bar].text)}" ends at ${m ? `${m[1]}/${m[2]}` : "?"}, not at its total`);
      if (training && chart === null) problems.push(`no live chart after bar "${barLabel(cell.outputs[bar].text)}"`);
      const finalBar = m ? `${m[1]}/${m[2]}` : null;
      const barStates = new Set(rec.states.filter((s) => s.kind === "bar" && s.index === bar && s.running && s.sig !== finalBar).map((s) => s.sig));
      if (training) {
        const chartSeen = rec.states.filter((s) => s.kind === "chart" && s.index === chart);
        const finalChart = chartSeen.filter((s) => !s.running).pop()?.sig ?? chartSeen[chartSeen.length - 1]?.sig ?? null;
        const chartStates = new Set(chartSeen.filter((s) => s.running && s.sig !== finalChart).map((s) => s.sig));
        if (barStates.size >= 2 && chartStates.size >= 2) good++;
        summaries.push(`"${barLabel(cell.outputs[bar].text) || "bar"}": bar ${barStates.size} states before ${finalBar}, chart ${chartStates.size} states before its final one`);
      } else {
        if (barStates.size >= 2) good++;
        summaries.push(`"${barLabel(cell.outputs[bar].text) || "bar"}": bar ${barStates.size} states before ${finalBar} (${[...barStates].join(", ")})`);
      }
    }
    const short = ranMs !== null && ranMs < LIVE_MIN_RUN_MS;
    if (training && pairs.length > 0 && good === 0 && !short) problems.push("no bar and chart were both seen in two different states before the final one while the cell ran");
    if (!training && pairs.length > 0 && good === 0 && ranMs !== null && !short) {
      problems.push(`no bar was seen in two different states before the final one in a cell that ran ${(ranMs / 1000).toFixed(1)} s`);
    }
    const adds = rec.events.filter((e) => e.type === "add").length;
    const sets = rec.events.filter((e) => e.type === "set").length;
    results.push(check(
      `${training ? "live progress bar and loss chart" : "live progress bar"} (${cellLabel(cell)})`,
      problems.length === 0,
      [...problems, ...summaries, `output model: ${adds} added, ${sets} updated in place; ran ${ranMs !== null ? (ranMs / 1000).toFixed(1) : "?"} s`].join("\n"),
    ));
  }
  return results;
}

/** The status bar must not say "Idle" for long while cells are still running or queued (Run All). */
export function statusCheck(monitor) {
  let longest = 0;
  let since = null;
  let busySeen = false;
  for (const [t, status, running] of monitor?.status ?? []) {
    if (status === "busy") busySeen = true;
    const bad = busySeen && status === "idle" && running > 0;
    if (bad) {
      since ??= t;
      longest = Math.max(longest, t - since);
    } else since = null;
  }
  return check(
    "kernel status busy while cells run",
    longest <= IDLE_WHILE_RUNNING_LIMIT_MS,
    `longest "Idle" while a cell showed [*]: ${(longest / 1000).toFixed(1)} s (limit ${IDLE_WHILE_RUNNING_LIMIT_MS / 1000} s)`,
  );
}
