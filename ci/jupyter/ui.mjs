// Drives a notebook in JupyterLab 4 or Notebook 7 through its UI (menus, keyboard, mouse) and reads what the page
// shows. Both apps run with `expose_app_in_browser`, so `window.jupyterapp` is there to read state (kernel status,
// output models) that the DOM alone does not carry; every action a user takes goes through the UI.
import { sleep } from "./server.mjs";

export const VEGA_LITE = "application/vnd.vegalite.v5+json";

/** Source pattern of a cell that trains with the live progress bar and loss chart. */
export const TRAINING_CELL = /\bml\.(trainLive|liveTraining)\s*\(/;

/** Source pattern of a cell with a live display the monitor follows: a training cell, or a plain progress bar. */
export const LIVE_CELL = /\bml\.(trainLive|liveTraining|progressBar)\s*\(/;

/** `ml.show(` calls in a code cell's source, comments left out. */
export function showCalls(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  return (code.match(/\bml\.show\s*\(/g) ?? []).length;
}

/** Opens `rel` (a path under the server root) in a fresh app (a reset workspace) and waits for an idle kernel. The
 *  limit only stops a hung run: at load 35 on 2 cores, Notebook 7's page plus a kernel start took over 3 minutes. */
export async function openNotebook(page, server, rel, { timeoutMs = 600_000 } = {}) {
  const encoded = rel.split("/").map(encodeURIComponent).join("/");
  const url = server.app === "lab" ? server.url(`/lab/tree/${encoded}?reset`) : server.url(`/notebooks/${encoded}`);
  await page.goto(url, { waitUntil: "load", timeout: timeoutMs });
  await page.waitForFunction(
    (name) => {
      const w = window.jupyterapp?.shell?.currentWidget;
      return w?.context?.path?.endsWith(name) && w.sessionContext?.session?.kernel && w.content?.widgets?.length > 0;
    },
    rel.split("/").pop(),
    { timeout: timeoutMs, polling: 250 },
  );
  await page.evaluate(() => window.jupyterapp.shell.collapseLeft?.()); // Room for the notebook (screenshots).
  await waitKernelIdle(page, timeoutMs);
}

/** Waits until the notebook's kernel reports idle. */
export async function waitKernelIdle(page, timeoutMs = 180_000) {
  await page.waitForFunction(() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === "idle", null, {
    timeout: timeoutMs,
    polling: 250,
  });
}

/** Clicks a top-level menu, then one of its items (exact label). Returns false, with the menu closed, if the item
 *  is shown disabled and `allowDisabled` is set; throws if it is missing (or disabled without `allowDisabled`). */
export async function menu(page, top, item, { allowDisabled = false } = {}) {
  await page.locator(".lm-MenuBar-itemLabel", { hasText: new RegExp(`^${escapeRe(top)}$`) }).first().click();
  const label = new RegExp(`^${escapeRe(item)}$`);
  const entry = page.locator(".lm-Menu:not(.lm-MenuBar) .lm-Menu-item", { has: page.locator(".lm-Menu-itemLabel", { hasText: label }) }).first();
  await entry.waitFor({ state: "visible", timeout: 10_000 });
  if ((await entry.getAttribute("class"))?.includes("lm-mod-disabled")) {
    await page.keyboard.press("Escape");
    await page.keyboard.press("Escape");
    if (allowDisabled) return false;
    throw new Error(`menu ${top} > ${item} is disabled`);
  }
  await entry.click();
  return true;
}

/** Accepts the dialog that is open (e.g. "Restart" after Kernel > Restart Kernel…), by its button label. */
export async function acceptDialog(page, label) {
  const button = page.locator(".jp-Dialog .jp-Dialog-button", { hasText: new RegExp(`^${escapeRe(label)}$`) }).first();
  await button.waitFor({ state: "visible", timeout: 10_000 });
  await button.click();
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Records, every 25 ms and on every DOM change, what the page shows: the kernel status and the number of cells
 * showing [*] (every 100 ms), and for each training cell the rendered states of its progress bars (done/total) and
 * charts (a hash of the Vega-Lite spec, counted once the chart is drawn), plus the output model's change events.
 */
export async function installMonitor(page) {
  await page.evaluate(
    ({ trainingSource, VL }) => {
      const w = window.jupyterapp.shell.currentWidget;
      const re = new RegExp(trainingSource);
      const BAR = /[█░]{3,}/;
      const t0 = Date.now();
      const M = (window.__ciMonitor = { status: [], cells: {} });
      const code = () => w.content.widgets.filter((c) => c.model.type === "code");
      const prompt = (c) => c.node.querySelector(".jp-InputPrompt")?.textContent.trim() ?? "";
      const hashes = new WeakMap();
      const hash = (obj) => {
        let h = hashes.get(obj);
        if (h === undefined) {
          const s = JSON.stringify(obj);
          let x = 2166136261;
          for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 16777619);
          h = `${(x >>> 0).toString(16)}:${s.length}`;
          hashes.set(obj, h);
        }
        return h;
      };
      const drawn = (el) => {
        const target = el?.querySelector(".jp-RenderedVegaCommon5 .vega-embed canvas, .jp-RenderedVegaCommon5 .vega-embed svg.marks");
        if (!target) return false;
        const r = target.getBoundingClientRect();
        return r.width > 50 && r.height > 50;
      };
      const training = code().map((c, i) => [i, c]).filter(([, c]) => re.test(c.model.sharedModel.getSource()));
      for (const [i, c] of training) {
        const rec = (M.cells[i] = { events: [], states: [], seen: new Set(), started: null, finished: null, prompts: [] });
        c.model.outputs.changed.connect((_, a) => rec.events.push({ t: Date.now() - t0, type: a.type, newIndex: a.newIndex, oldIndex: a.oldIndex }));
      }
      const sample = () => {
        const t = Date.now() - t0;
        const cells = code();
        for (const [i] of training) {
          const c = cells[i];
          const rec = M.cells[i];
          if (!c || !rec) continue;
          const p = prompt(c);
          if (rec.prompts[rec.prompts.length - 1] !== p) rec.prompts.push(p);
          const running = p.includes("*");
          if (running && c.model.outputs.length > 0 && rec.started === null) rec.started = t;
          if (!running && /\[\d+\]/.test(p) && rec.started !== null && rec.finished === null) rec.finished = t;
          const children = c.node.querySelectorAll(".jp-OutputArea-child");
          for (let k = 0; k < c.model.outputs.length; k++) {
            const data = c.model.outputs.get(k).data ?? {};
            let kind = null;
            let sig = null;
            if (data[VL]) {
              if (drawn(children[k])) [kind, sig] = ["chart", hash(data[VL])];
            } else if (typeof data["text/plain"] === "string" && BAR.test(data["text/plain"])) {
              const text = children[k]?.querySelector(".jp-OutputArea-output")?.textContent?.trim();
              const m = text ? /(\d+)\/(\d+)/.exec(text) : null;
              if (m) [kind, sig] = ["bar", `${m[1]}/${m[2]}`];
            }
            if (kind === null) continue;
            const key = `${k}|${kind}|${sig}|${running}`;
            if (rec.seen.has(key)) continue;
            rec.seen.add(key);
            rec.states.push({ t, index: k, kind, sig, running });
          }
        }
      };
      M.sample = sample;
      M.statusTimer = setInterval(() => {
        const cells = code();
        M.status.push([Date.now() - t0, w.sessionContext.kernelDisplayStatus, cells.filter((c) => prompt(c).includes("*")).length]);
      }, 100);
      M.timer = setInterval(sample, 25);
      M.observer = new MutationObserver(sample);
      M.observer.observe(w.content.node, { childList: true, subtree: true, characterData: true });
    },
    { trainingSource: LIVE_CELL.source, VL: VEGA_LITE },
  );
}

/** Stops the monitor and returns its records (sets turned into counts). */
export async function readMonitor(page) {
  return page.evaluate(() => {
    const M = window.__ciMonitor;
    if (!M) return null;
    clearInterval(M.timer);
    clearInterval(M.statusTimer);
    M.observer.disconnect();
    M.sample();
    const cells = {};
    for (const [i, rec] of Object.entries(M.cells)) cells[i] = { events: rec.events, states: rec.states, started: rec.started, finished: rec.finished, prompts: rec.prompts };
    window.__ciMonitor = null;
    return { status: M.status, cells };
  });
}

/** Waits until every non-empty code cell shows a number, none shows [*], and the kernel is idle, for 2 s in a row. */
export async function waitRunDone(page, timeoutMs) {
  const start = Date.now();
  let quietSince = null;
  let last = null;
  for (;;) {
    last = await page.evaluate(() => {
      const w = window.jupyterapp.shell.currentWidget;
      const cells = w.content.widgets.filter((c) => c.model.type === "code" && c.model.sharedModel.getSource().trim() !== "");
      const prompts = cells.map((c) => c.node.querySelector(".jp-InputPrompt")?.textContent.trim() ?? "");
      return {
        status: w.sessionContext.kernelDisplayStatus,
        running: prompts.filter((p) => p.includes("*")).length,
        ran: prompts.filter((p) => /\[\d+\]/.test(p)).length,
        total: cells.length,
      };
    });
    const quiet = last.status === "idle" && last.running === 0 && last.ran > 0;
    quietSince = quiet ? (quietSince ?? Date.now()) : null;
    if (quietSince !== null && Date.now() - quietSince >= 2000) return { ...last, seconds: (quietSince - start) / 1000 };
    if (Date.now() - start > timeoutMs) {
      throw new Error(`cells still running after ${timeoutMs / 1000} s (${last.ran} of ${last.total} ran, ${last.running} running or queued, kernel ${last.status})`);
    }
    await sleep(500);
  }
}

/** Everything the notebook shows after a run: per code cell, its prompt and, per output, the model and the DOM. */
export async function collectNotebook(page) {
  return page.evaluate((VL) => {
    const w = window.jupyterapp.shell.currentWidget;
    const BAR = /[█░]{3,}/;
    const rgb = (s) => (/rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(s) ?? []).slice(1).map(Number);
    return w.content.widgets.map((c, index) => {
      const cell = { index, type: c.model.type, source: c.model.sharedModel.getSource(), outputs: [] };
      if (c.model.type !== "code") return cell;
      cell.prompt = c.node.querySelector(".jp-InputPrompt")?.textContent.trim() ?? "";
      cell.executionCount = c.model.executionCount;
      const children = c.node.querySelectorAll(".jp-OutputArea-child");
      for (let k = 0; k < c.model.outputs.length; k++) {
        const json = c.model.outputs.get(k).toJSON();
        const data = json.data ?? {};
        const el = children[k]?.querySelector(".jp-OutputArea-output") ?? null;
        const text = json.output_type === "stream" ? [].concat(json.text).join("") : json.output_type === "error" ? `${json.ename}: ${json.evalue}` : [].concat(data["text/plain"] ?? "").join("");
        const out = {
          type: json.output_type,
          name: json.name ?? null,
          mimes: Object.keys(data),
          text: text.slice(0, 2000),
          bar: typeof data["text/plain"] !== "undefined" && Object.keys(data).length === 1 && BAR.test(text),
          html: typeof data["text/html"] === "string" || Array.isArray(data["text/html"]) ? [].concat(data["text/html"]).join("").slice(0, 200) : null,
          dom: el === null ? null : {
            className: el.className,
            mime: el.getAttribute("data-mime-type"),
            text: el.innerText.slice(0, 2000),
            background: rgb(getComputedStyle(el).backgroundColor),
            prompt: children[k].querySelector(".jp-OutputPrompt")?.textContent.trim() ?? "",
          },
        };
        if (data[VL] && el) {
          const target = el.querySelector(".vega-embed canvas, .vega-embed svg.marks");
          const r = target?.getBoundingClientRect();
          out.vega = {
            renderer: el.classList.contains("jp-RenderedVegaCommon5") && el.querySelector(".vega-embed") !== null,
            drawn: !!r && r.width > 50 && r.height > 50,
            size: r ? [Math.round(r.width), Math.round(r.height)] : null,
            fallback: el.classList.contains("jp-RenderedImage") || el.classList.contains("jp-RenderedSVG"),
          };
        }
        if (out.html && /<table/i.test(out.html) && el) {
          const table = el.querySelector(".jp-RenderedHTMLCommon table, table");
          out.table = { rendered: table !== null && el.classList.contains("jp-RenderedHTMLCommon"), rows: table ? table.querySelectorAll("tbody tr").length : 0 };
        }
        cell.outputs.push(out);
      }
      return cell;
    });
  }, VEGA_LITE);
}

/** Saves a screenshot of the whole notebook (the viewport grown to the notebook's height, capped) and restores it. */
export async function screenshotNotebook(page, file, { width = 1280, maxHeight = 16_000 } = {}) {
  const before = page.viewportSize();
  const content = await page.evaluate(() => {
    const w = window.jupyterapp.shell.currentWidget;
    return w.content.widgets.reduce((h, c) => h + c.node.getBoundingClientRect().height, 0);
  });
  await page.setViewportSize({ width, height: Math.min(maxHeight, Math.max(900, Math.ceil(content) + 400)) });
  await sleep(700);
  await page.evaluate(() => {
    const w = window.jupyterapp.shell.currentWidget;
    for (let el = w.content.node; el; el = el.parentElement) el.scrollTop = 0;
    w.content.node.querySelectorAll(".jp-WindowedPanel-outer").forEach((el) => (el.scrollTop = 0));
  });
  await sleep(300);
  await page.screenshot({ path: file });
  if (before) await page.setViewportSize(before);
}

/** The code-cell editor `n` (0-based among code cells): clicks into it (edit mode), optionally replacing its text. */
export async function editCodeCell(page, n, text) {
  const editor = page.locator(".jp-Notebook .jp-CodeCell").nth(n).locator(".cm-content");
  await editor.click();
  if (text !== undefined) {
    await page.keyboard.press("Control+a");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(text);
  }
  return editor;
}

/** Reads the code cells' prompts and sources (cheap; for waiting on one cell). */
export async function codeCellState(page, n) {
  return page.evaluate((n) => {
    const c = window.jupyterapp.shell.currentWidget.content.widgets.filter((x) => x.model.type === "code")[n];
    if (!c) return null;
    return {
      prompt: c.node.querySelector(".jp-InputPrompt")?.textContent.trim() ?? "",
      source: c.model.sharedModel.getSource(),
      outputs: c.model.outputs.length,
      status: window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus,
    };
  }, n);
}

/** Waits until code cell `n` shows an execution number (it finished); returns the seconds it took. */
export async function waitCellDone(page, n, timeoutMs) {
  const start = Date.now();
  for (;;) {
    const s = await codeCellState(page, n);
    if (s && /\[\d+\]/.test(s.prompt)) return (Date.now() - start) / 1000;
    if (Date.now() - start > timeoutMs) throw new Error(`cell ${n} still running after ${timeoutMs / 1000} s (prompt ${s?.prompt})`);
    await sleep(100);
  }
}

/** Closes the current notebook without saving and shuts its kernel down (so the next one starts alone). */
export async function closeNotebook(page) {
  await page.evaluate(async () => {
    const w = window.jupyterapp?.shell?.currentWidget;
    if (!w?.sessionContext) return;
    await w.sessionContext.shutdown().catch(() => undefined);
    w.context.model.dirty = false;
    w.dispose();
  }).catch(() => undefined);
}
