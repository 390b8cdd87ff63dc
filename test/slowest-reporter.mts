/** A vitest reporter that prints the slowest tests of the run, with their project and file, after the summary. */
import * as path from "node:path";
import type { Reporter, TestModule } from "vitest/node";

/** How many tests to list. */
const SHOWN = 10;

export default class SlowestTests implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const rows: { ms: number; where: string }[] = [];
    for (const m of modules) {
      const file = path.relative(process.cwd(), m.moduleId);
      for (const t of m.children.allTests()) {
        const d = t.diagnostic();
        if (d !== undefined) rows.push({ ms: d.duration, where: `[${m.project.name}] ${file} > ${t.fullName}` });
      }
    }
    if (rows.length === 0) return;
    rows.sort((a, b) => b.ms - a.ms);
    const total = rows.reduce((s, r) => s + r.ms, 0);
    const lines = rows.slice(0, SHOWN).map((r) => `  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.where}`);
    process.stdout.write(`\nSlowest ${Math.min(SHOWN, rows.length)} of ${rows.length} tests (${(total / 1000).toFixed(0)} s of test time in all):\n${lines.join("\n")}\n`);
  }
}
