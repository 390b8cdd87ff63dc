import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { compileKernels, hasWasmSimd, simdProbeBytes, wasmSimdModule, wasmSimdModuleBytes, WasmSimdOps } from "../../src/fast/wasm-simd";
import { JsOps, type MathOps } from "../../src/fast/math-ops";
import { assemble, op } from "../../src/fast/wasm-asm";
import { Rng } from "../../src/core/random";

const SNAPSHOT = path.join(__dirname, "wasm-simd.wat");

/** The module's text form as the npm `wabt` package prints it, with the function and local names of the name section. */
async function watText(bytes: Uint8Array): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const init = require("wabt") as () => Promise<{ readWasm(b: Uint8Array, o: { readDebugNames: boolean }): { applyNames(): void; toText(o: { foldExprs: boolean; inlineExport: boolean }): string; destroy(): void } }>;
  const wabt = await init();
  const m = wabt.readWasm(bytes, { readDebugNames: true });
  try {
    m.applyNames();
    return m.toText({ foldExprs: false, inlineExport: true });
  } finally {
    m.destroy();
  }
}

describe("the WebAssembly SIMD kernels", () => {
  it("are detected with a separate minimal probe module, and metalab's module validates", () => {
    expect(WebAssembly.validate(simdProbeBytes())).toBe(true);
    expect(hasWasmSimd()).toBe(true);
    expect(WebAssembly.validate(wasmSimdModuleBytes())).toBe(true);
    expect(wasmSimdModule()).not.toBeNull();
  });

  it("throw (instead of falling back) when metalab's own module fails validation", () => {
    // An f32x4.add with nothing on the stack: what an assembler bug would produce.
    const bytes = assemble([{ name: "broken", params: [], locals: [], body: [...op.vadd] }], true);
    expect(WebAssembly.validate(bytes)).toBe(false);
    expect(() => compileKernels(bytes)).toThrow(/bug in src\/fast\/wasm-simd.ts.*METALAB_FAST_KERNELS=js/);
  });

  it("match the checked-in text form test/fast/wasm-simd.wat (METALAB_UPDATE_WAT=1 rewrites it)", async () => {
    const text = await watText(wasmSimdModuleBytes());
    if (process.env.METALAB_UPDATE_WAT === "1") writeFileSync(SNAPSHOT, text);
    expect(text).toBe(readFileSync(SNAPSHOT, "utf8"));
  });

  it("agree with the float64 JavaScript kernels on odd sizes (tails of the SIMD loops)", () => {
    const run = (ops: MathOps) => {
      const rng = new Rng(3);
      ops.reset();
      const n = 7, I = 13, O = 37;
      const buf = (m: number, zeroEvery = 0) => {
        const off = ops.alloc(m);
        const h = ops.heap();
        for (let j = 0; j < m; j++) h[off + j] = zeroEvery && j % zeroEvery === 0 ? 0 : Math.fround(rng.uniform(-1, 1));
        return off;
      };
      const a = buf(n * I, 3), x = buf(I * O), y = buf(n * O), d = buf(n * O), w = buf(I * O), g = buf(n * I);
      const e1 = buf(61), e2 = buf(61), e3 = buf(61), e4 = buf(61), e5 = buf(61), out = buf(61);
      ops.rankAcc(a, n, I, x, y, O, false);
      ops.rankAcc(a, n, I, d, w, O, true);
      ops.dotRows(d, n, O, w, I, g, true);
      ops.subMul(e1, e2, e3, out, 61);
      ops.secondTerm(e1, e2, e3, e4, e5, e2, 61);
      ops.axpy(e1, e2, 0.3, e3, 61);
      ops.mul(e3, e4, e4, 61);
      ops.relu(e5, e1, 61);
      const h = ops.heap();
      return [y, w, g, out, e1, e2, e3, e4, e5].map((o, k) => Array.from(h.subarray(o, o + [n * O, I * O, n * I, 61, 61, 61, 61, 61, 61][k]!)));
    };
    const js = run(new JsOps());
    const ws = run(new WasmSimdOps());
    js.forEach((arr, k) => arr.forEach((v, j) => expect(ws[k]![j]!).toBeCloseTo(v, 4)));
  });
});
