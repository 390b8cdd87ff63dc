// Starts a Jupyter server (JupyterLab or Notebook 7 from a virtualenv) on 127.0.0.1 with a random token, with its
// config, runtime files, user settings and workspaces in a scratch folder, and stops it again.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

/** User settings for the run: no autosave (checked-in notebooks must never be written), no news pop-up, every cell
 *  attached to the page (windowingMode "none": charts far down a notebook are rendered and can be counted). */
const USER_SETTINGS = {
  "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": { autosave: false },
  "@jupyterlab/apputils-extension/notification.jupyterlab-settings": { fetchNews: "false", checkForUpdates: false },
  "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": { windowingMode: "none" },
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that is free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `<jupyter> lab` or `<jupyter> notebook`. `env` is the server's (and so the kernels') environment; the
 * Jupyter state folders are put under `scratch`. Returns { url(pathAndQuery), token, port, log, stop() }.
 */
export async function startJupyter({ jupyter, app, root, scratch, logFile, env = process.env, startTimeoutMs = 120_000 }) {
  if (app !== "lab" && app !== "notebook") throw new Error(`app must be "lab" or "notebook", got ${app}`);
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const dirs = {
    JUPYTER_CONFIG_DIR: path.join(scratch, "config"),
    JUPYTER_RUNTIME_DIR: path.join(scratch, "runtime"),
    JUPYTER_DATA_DIR: path.join(scratch, "data"),
    JUPYTERLAB_SETTINGS_DIR: path.join(scratch, "user-settings"),
    JUPYTERLAB_WORKSPACES_DIR: path.join(scratch, "workspaces"),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  for (const [file, value] of Object.entries(USER_SETTINGS)) {
    const f = path.join(dirs.JUPYTERLAB_SETTINGS_DIR, file);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, JSON.stringify(value, null, 2));
  }
  const expose = app === "lab" ? "--LabApp.expose_app_in_browser=True" : "--JupyterNotebookApp.expose_app_in_browser=True";
  const args = [
    app, "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0",
    `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`, expose,
    ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
  ];
  const log = fs.openSync(logFile, "w");
  const child = spawn(jupyter, args, { stdio: ["ignore", log, log], env: { ...env, ...dirs }, detached: true });
  const base = `http://127.0.0.1:${port}`;
  const url = (p) => `${base}${p}${p.includes("?") ? "&" : "?"}token=${token}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, "SIGTERM"); // The server's process group: its kernels go too.
    } catch {
      // Already gone.
    }
    for (let i = 0; i < 50 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    fs.closeSync(log);
  };
  const end = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jupyter ${app} exited with code ${child.exitCode}; see ${logFile}`);
    try {
      const res = await fetch(url("/api/status"));
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`jupyter ${app} did not answer at ${base} within ${startTimeoutMs / 1000} s; see ${logFile}`);
    }
    await sleep(300);
  }
  return { url, token, port, base, stop, app };
}

/** GET a Jupyter REST endpoint as JSON. */
export async function api(server, p) {
  const res = await fetch(server.url(p));
  if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status}`);
  return res.json();
}
