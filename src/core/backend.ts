/**
 * Picks the TensorFlow.js backend at run time: tfjs-node, then wasm, then cpu.
 * `METALAB_BACKEND=tensorflow|wasm|cpu` forces one and fails loudly if it is not available.
 */
import * as tf from "@tensorflow/tfjs";

/** Backends metalab knows how to load, fastest first. */
export const BACKEND_ORDER = ["tensorflow", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** What `ready()` chose, and why the faster ones were skipped. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly forced: boolean;
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
  readonly simd: boolean;
  readonly threads: boolean;
}

let chosen: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

async function tryLoad(name: BackendName): Promise<string | null> {
  try {
    if (name === "tensorflow") {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("@tensorflow/tfjs-node");
    } else if (name === "wasm") {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("@tensorflow/tfjs-backend-wasm");
    }
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend("${name}") returned false`;
    await tf.ready();
    return null;
  } catch (e) {
    const line = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
    return line.trim().replace(/\.$/, "") || "unknown error"; // no trailing period: callers append their own
  }
}

function parseForced(value: string | undefined): BackendName | null {
  if (value === undefined || value === "") return null;
  const v = value.trim().toLowerCase();
  const alias: Record<string, BackendName> = { node: "tensorflow", "tfjs-node": "tensorflow", tensorflow: "tensorflow", wasm: "wasm", cpu: "cpu" };
  const name = alias[v];
  if (name === undefined) {
    throw new Error(`METALAB_BACKEND="${value}" is not a backend. Use one of: tensorflow (tfjs-node), wasm, cpu; or unset it to pick automatically.`);
  }
  return name;
}

async function choose(forcedEnv: string | undefined): Promise<BackendInfo> {
  const forced = parseForced(forcedEnv);
  const skipped: { name: BackendName; reason: string }[] = [];
  const candidates = forced ? [forced] : BACKEND_ORDER;
  for (const name of candidates) {
    const reason = await tryLoad(name);
    if (reason === null) {
      return {
        name,
        forced: forced !== null,
        skipped,
        simd: name === "wasm" && tf.env().getBool("WASM_HAS_SIMD_SUPPORT"),
        threads: name === "wasm" && tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT"),
      };
    }
    skipped.push({ name, reason });
  }
  if (forced) {
    const hint = forced === "tensorflow"
      ? "tfjs-node needs libtensorflow, which its install script downloads; install it where that host is reachable (npm rebuild @tensorflow/tfjs-node), or unset METALAB_BACKEND"
      : "reinstall with npm install, or unset METALAB_BACKEND";
    throw new Error(`METALAB_BACKEND=${forcedEnv} was forced but backend "${forced}" is not available: ${skipped[0]?.reason}. Fix: ${hint}.`);
  }
  throw new Error(`No TensorFlow.js backend could be loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}. Run npm install.`);
}

/** Loads and selects the backend once; every entry point awaits this before touching tensors. */
export function ready(env: string | undefined = process.env.METALAB_BACKEND): Promise<BackendInfo> {
  if (chosen) return Promise.resolve(chosen);
  if (!pending) {
    pending = choose(env).then((info) => {
      chosen = info;
      return info;
    }, (e: unknown) => {
      pending = null;
      throw e;
    });
  }
  return pending;
}

/** The backend chosen by `ready()`; throws if `ready()` has not finished. */
export function backendInfo(): BackendInfo {
  if (!chosen) throw new Error("No backend chosen yet: call `await ready()` first.");
  return chosen;
}

/** One-line description, e.g. `wasm (SIMD, 1 thread); skipped tensorflow: native addon missing`. */
export function describeBackend(info: BackendInfo = backendInfo()): string {
  const extra = info.name === "wasm" ? ` (${info.simd ? "SIMD" : "no SIMD"}, ${info.threads ? "threads" : "1 thread"})` : "";
  const why = info.skipped.length ? `; skipped ${info.skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}` : "";
  return `${info.name}${extra}${info.forced ? " [forced by METALAB_BACKEND]" : ""}${why}`;
}
