import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { omniglotBenchFile, readOmniglotBench } from "../../src/experiments/omniglot-bench";
import { benchResultsFile } from "../../src/experiments/bench-results";

describe("Omniglot bench results", () => {
  it("reads metalab's own committed file, found above the module (checkout or npm package)", () => {
    expect(omniglotBenchFile()).toBe(path.resolve(__dirname, "../../bench/results/omniglot.json"));
    const { rows } = readOmniglotBench();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.error).toBeGreaterThanOrEqual(0);
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")) as { files: string[] };
    expect(pkg.files).toContain("bench/results/omniglot.json");
  });

  it("says how to regenerate a missing, malformed or empty file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "omniglot-bench-"));
    expect(() => readOmniglotBench(path.join(dir, "nope.json"))).toThrow(/nope\.json are missing.*node dist\/bench\/omniglot-few-shot\.js/);
    fs.writeFileSync(path.join(dir, "bad.json"), "{ rows: [");
    expect(() => readOmniglotBench(path.join(dir, "bad.json"))).toThrow(/not valid JSON/);
    fs.writeFileSync(path.join(dir, "empty.json"), JSON.stringify({ rows: [{ method: "maml" }] }));
    expect(() => readOmniglotBench(path.join(dir, "empty.json"))).toThrow(/hold no rows with method, steps and error/);
    expect(benchResultsFile("none.json", dir)).toBe(path.join(dir, "bench", "results", "none.json"));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
