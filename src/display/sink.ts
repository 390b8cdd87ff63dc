/**
 * Where MIME bundles go: the running tslab kernel (as display_data / update_display_data), or a capturing sink.
 * Outside a kernel (plain node, vitest) displays are silently dropped unless a sink is installed.
 */

/** One Jupyter display message: a MIME bundle, its metadata and an optional display id for in-place updates. */
export interface DisplayMessage {
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly transient: { readonly display_id?: string; readonly [key: string]: unknown };
  /** True sends update_display_data (replaces the output with the same display id); false sends display_data. */
  readonly update: boolean;
}

/** Receives display messages. */
export type DisplaySink = (message: DisplayMessage) => void;

/** The shape of tslab's `dist/jupyter` module that matters here. */
interface TslabJupyter {
  lastWriteDisplayData: ((data: { data: unknown; metadata: unknown; transient: unknown }, update: boolean) => void) | null;
}

let installed: DisplaySink | null = null;

/** Matches tslab's jupyter module in Node's module cache, whichever copy (local or global) started the kernel. */
const TSLAB_JUPYTER = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/**
 * Finds the jupyter module of the tslab that is running this process, or null outside a kernel.
 * Looks in Node's module cache instead of calling require, so a second tslab copy is never loaded by mistake.
 */
function tslabJupyter(): TslabJupyter | null {
  const cache: Record<string, NodeJS.Module | undefined> | undefined = typeof require === "function" ? require.cache : undefined;
  if (!cache) return null;
  for (const [file, mod] of Object.entries(cache)) {
    if (!TSLAB_JUPYTER.test(file) || !mod) continue;
    const exp: unknown = mod.exports;
    if (exp && typeof exp === "object" && "lastWriteDisplayData" in exp && typeof exp.lastWriteDisplayData === "function") {
      return { lastWriteDisplayData: exp.lastWriteDisplayData as TslabJupyter["lastWriteDisplayData"] };
    }
  }
  return null;
}

/** True when this code runs inside a tslab kernel that is executing (or has executed) a cell. */
export function inKernel(): boolean {
  return tslabJupyter() !== null;
}

/** Sends a display message to the installed sink, else to the kernel, else nowhere. */
export function sendDisplay(message: DisplayMessage): void {
  if (installed) {
    installed(message);
    return;
  }
  const j = tslabJupyter();
  if (!j?.lastWriteDisplayData) return;
  j.lastWriteDisplayData({ data: message.data, metadata: message.metadata, transient: message.transient }, message.update);
}

/** True when displays go somewhere (a kernel or an installed sink); progress falls back to the terminal otherwise. */
export function hasDisplayTarget(): boolean {
  return installed !== null || inKernel();
}

/** Installs a sink that receives every display (tests, custom frontends); returns the previous sink. */
export function setDisplaySink(sink: DisplaySink | null): DisplaySink | null {
  const previous = installed;
  installed = sink;
  return previous;
}

/** Captures displays into an array until `restore()` is called (for tests). */
export function captureDisplays(): { readonly messages: DisplayMessage[]; restore(): void } {
  const messages: DisplayMessage[] = [];
  const previous = setDisplaySink((m) => messages.push(m));
  return {
    messages,
    restore: () => {
      setDisplaySink(previous);
    },
  };
}

let displayCounter = 0;

/**
 * A fresh display id for outputs updated in place. Ids must differ between outputs of one notebook but
 * are not saved (transient), so a per-process counter is enough and keeps reruns deterministic.
 */
export function newDisplayId(): string {
  displayCounter += 1;
  return `metalab-${process.pid}-${displayCounter}`;
}
