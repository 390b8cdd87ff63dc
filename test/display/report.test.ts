import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearReports, formatReported, report, reportedNumbers } from "../../src/display/report";
import { iters, runMode } from "../../src/core/run-mode";

afterEach(() => {
  clearReports();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe("key-number reports", () => {
  it("records, prints and writes the sidecar JSON", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "metalab-rep-")), "sub", "nb.json");
    vi.stubEnv("METALAB_REPORT_FILE", file);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    report("mse_k10", 0.1234567891);
    report("diverged", Number.POSITIVE_INFINITY);
    report("backend", "wasm");
    expect(log.mock.calls.map((c) => c[0])).toEqual(["mse_k10 = 0.1235", "diverged = Infinity", "backend = wasm"]);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ mse_k10: 0.1234567891, diverged: null, backend: "wasm" });
    expect(reportedNumbers()).toEqual({ mse_k10: 0.1234567891, diverged: null, backend: "wasm" });
  });

  it("prints 4 significant digits without float noise, and integers and large numbers whole", () => {
    expect([0.0499999, Math.fround(0.05), 0.00032588109354413704, 4.76837158203125e-7, 12345.678, 20, -2.2806663513183594].map(formatReported)).toEqual([
      "0.05", "0.05", "0.0003259", "4.768e-7", "12346", "20", "-2.281",
    ]);
  });

  it("rejects keys that are not stable column names", () => {
    expect(() => report("1 bad key", 1)).toThrow(/start with a letter/);
  });
});

describe("run mode", () => {
  it("reads METALAB_QUICK", () => {
    expect(runMode({})).toBe("full");
    expect(runMode({ METALAB_QUICK: "0" })).toBe("full");
    expect(runMode({ METALAB_QUICK: "1" })).toBe("quick");
    expect(iters(70000, 200, { METALAB_QUICK: "true" })).toBe(200);
    expect(iters(70000, 200, {})).toBe(70000);
    expect(() => runMode({ METALAB_QUICK: "maybe" })).toThrow(/METALAB_QUICK=1/);
  });
});
