/**
 * The kernel cannot die on its own output (issue 10.1): many cells, each sending a ≥1 MB display bundle
 * (Vega-Lite + SVG + PNG + text), hundreds of update_display_data messages and thousands of stream writes, while
 * two other processes keep both cores busy; 50 repetitions, zero kernel deaths, every message received in order.
 * tslab 1.0.22's own server died here with EBUSY after 513 sends in one tick.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RawKernel, type Recorded } from "./raw-kernel";

const REPETITIONS = 50;
const UPDATES = 300;
const WRITES_PER_UPDATE = 10;

/** Defines the stress functions in the kernel: events are numbered 0, 1, 2, ... across stream lines and updates. */
const SETUP = `
const jupyter = require("tslab/dist/jupyter");
function bigBundle(cell: number): Record<string, unknown> {
  const values = Array.from({ length: 6000 }, (_, i) => ({ step: i, loss: Math.exp(-i / 1000) + cell, series: "s" + (i % 3) }));
  const svg = "<svg xmlns='http://www.w3.org/2000/svg'>" + values.map((v) => "<circle cx='" + v.step + "' cy='" + v.loss.toFixed(6) + "' r='1'/>").join("") + "</svg>";
  const png = Buffer.alloc(400_000, cell % 251).toString("base64");
  return {
    "application/vnd.vegalite.v5+json": { $schema: "https://vega.github.io/schema/vega-lite/v5.json", data: { values }, mark: "line" },
    "image/svg+xml": svg,
    "image/png": png,
    "text/plain": "chart " + cell,
  };
}
function stressSync(cell: number, updates: number, writes: number): number {
  const id = "stress-" + cell;
  jupyter.lastWriteDisplayData({ data: bigBundle(cell), metadata: {}, transient: { display_id: id } }, false);
  let seq = 0;
  for (let u = 0; u < updates; u++) {
    for (let w = 0; w < writes; w++) process.stdout.write(seq++ + "\\n");
    jupyter.lastWriteDisplayData({ data: { "text/plain": String(seq++) }, metadata: {}, transient: { display_id: id } }, true);
  }
  return seq;
}
async function stressAsync(cell: number, updates: number, writes: number): Promise<number> {
  const id = "stress-" + cell;
  jupyter.lastWriteDisplayData({ data: bigBundle(cell), metadata: {}, transient: { display_id: id } }, false);
  let seq = 0;
  for (let u = 0; u < updates; u++) {
    for (let w = 0; w < writes; w++) console.log(seq++);
    jupyter.lastWriteDisplayData({ data: { "text/plain": String(seq++) }, metadata: {}, transient: { display_id: id } }, true);
    if (u % 7 === 0) await new Promise((r) => setImmediate(r));
  }
  return seq;
}
`;

/** Checks one cell's iopub messages: status busy, input, the bundle, events 0..n-1 in order, result, idle. */
function checkCell(msgs: readonly Recorded[], events: number): { bundleBytes: number } {
  const types = msgs.map((m) => m.type);
  expect(types[0]).toBe("status");
  expect(msgs[0]!.content.execution_state).toBe("busy");
  expect(types[1]).toBe("execute_input");
  expect(types[2]).toBe("display_data");
  expect(types[types.length - 2]).toBe("execute_result");
  expect(types[types.length - 1]).toBe("status");
  expect(msgs[msgs.length - 1]!.content.execution_state).toBe("idle");
  const bundleBytes = JSON.stringify(msgs[2]!.content.data).length;
  const seen: number[] = [];
  for (const m of msgs.slice(3, -2)) {
    if (m.type === "stream") {
      expect(m.content.name).toBe("stdout");
      for (const line of String(m.content.text).split("\n")) if (line !== "") seen.push(Number(line));
    } else if (m.type === "update_display_data") {
      seen.push(Number((m.content.data as Record<string, unknown>)["text/plain"]));
    } else {
      throw new Error(`unexpected ${m.type} in the middle of a stress cell`);
    }
  }
  expect(seen.length).toBe(events);
  const firstWrong = seen.findIndex((v, i) => v !== i);
  expect(firstWrong, `event ${firstWrong} arrived as ${seen[firstWrong]}`).toBe(-1);
  return { bundleBytes };
}

/** Runs the stress cells until the kernel dies or all pass; returns how many passed and how it ended. */
async function stressRun(kernel: RawKernel, repetitions: number): Promise<{ passed: number; died: boolean }> {
  const setup = kernel.execute(SETUP);
  expect((await kernel.reply(setup)).content.status).toBe("ok");
  await kernel.idle(setup);
  const events = UPDATES * (WRITES_PER_UPDATE + 1);
  for (let rep = 0; rep < repetitions; rep++) {
    kernel.iopubLog.length = 0;
    const fn = rep % 2 === 0 ? "stressSync" : "await stressAsync";
    const id = kernel.execute(`${fn}(${rep}, ${UPDATES}, ${WRITES_PER_UPDATE})`);
    const reply = await kernel.reply(id).catch(() => null);
    if (reply === null) return { passed: rep, died: kernel.exited !== null };
    expect(reply.content.status, JSON.stringify(reply.content)).toBe("ok");
    await kernel.idle(id);
    const { bundleBytes } = checkCell(kernel.messagesOf(id), events);
    expect(bundleBytes).toBeGreaterThan(1_000_000);
    const result = kernel.messagesOf(id).find((m) => m.type === "execute_result");
    expect((result?.content.data as Record<string, unknown>)["text/plain"]).toBe(String(events));
  }
  return { passed: repetitions, died: kernel.exited !== null };
}

describe("kernel under output stress and CPU load", () => {
  const burners: ChildProcess[] = [];
  let kernel: RawKernel;

  beforeAll(async () => {
    // Two busy-looping processes, so both cores are loaded while the kernel sends.
    for (let i = 0; i < 2; i++) burners.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
    kernel = await RawKernel.start();
  });

  afterAll(async () => {
    for (const b of burners) b.kill("SIGKILL");
    await kernel?.close();
  });

  test(`${REPETITIONS} cells of ≥1 MB bundles, ${UPDATES} updates and ${UPDATES * WRITES_PER_UPDATE} writes each: no death, all in order`, async () => {
    const run = await stressRun(kernel, REPETITIONS);
    expect(run).toEqual({ passed: REPETITIONS, died: false });
    expect(kernel.stderr).not.toMatch(/EBUSY|dropped/);
  }, 600_000);

  // The same load against tslab 1.0.22's own server, to show what the test catches (opt-in: METALAB_COMPARE_TSLAB=1).
  test.runIf(process.env.METALAB_COMPARE_TSLAB === "1")("plain tslab 1.0.22 under the same load", async () => {
    const bin = path.join(path.dirname(require.resolve("tslab/package.json")), "bin", "tslab");
    const plain = await RawKernel.start({ argv: [process.execPath, bin, "kernel", "--config-path", "{connection_file}"] });
    try {
      const run = await stressRun(plain, 3).catch((e: unknown) => ({ passed: -1, died: plain.exited !== null, error: String(e) }));
      const errors = plain.iopubLog.filter((m) => m.type === "error" || (m.type === "stream" && m.content.name === "stderr"));
      console.log("plain tslab:", JSON.stringify(run), JSON.stringify(plain.exited), JSON.stringify(errors.map((m) => m.content)).slice(0, 800));
    } finally {
      await plain.close();
    }
  }, 600_000);
});
