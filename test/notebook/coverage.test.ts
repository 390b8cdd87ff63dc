import { describe, expect, it } from "vitest";
import { readFileSync } from "fs";
import * as path from "path";
import { labNotebooks, projectRoot } from "../../src/cli/reproduce";
import { readNotebook } from "../../src/notebook/ipynb";
import { captionNumbers } from "../../src/notebook/captions";

const root = projectRoot(__dirname);
const readme = readFileSync(path.join(root, "notebooks", "README.md"), "utf8");
const table = readme.slice(readme.indexOf("## Coverage"));
const rows = table.split("\n").filter((l) => /^\| [^-|]/.test(l) && !l.startsWith("| topic")).map((l) => l.split("|").slice(1, -1).map((s) => s.trim()));

/** Numbers a figure cell names: "Fig. 3", "Figs. 1–3", "Figs. 3, 5" → [3], [1, 2, 3], [3, 5]. */
function figuresNamed(cell: string): number[] {
  const m = /^Figs?\. (.*)$/.exec(cell);
  if (!m) return [];
  return m[1]!.split(",").flatMap((part) => {
    const [a, b] = part.trim().split("–").map(Number);
    return b === undefined ? [a!] : Array.from({ length: b - a! + 1 }, (_, i) => a! + i);
  });
}

describe("notebooks/README.md's coverage table", () => {
  const labs = new Map(labNotebooks(root).map((f) => [path.basename(f).slice(0, 2), readNotebook(f).cells]));

  it("has a row per topic, each naming a lab that exists, and every lab appears", () => {
    expect(rows.length).toBeGreaterThan(30);
    for (const [topic, lab] of rows) expect(labs.has(lab!), `${topic} → lab ${lab}`).toBe(true);
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(labs.keys()));
  });

  it("names figures and sections the lab has", () => {
    for (const [topic, lab, section, figure] of rows) {
      const cells = labs.get(lab!)!;
      const markdown = cells.filter((c) => c.cell_type === "markdown").map((c) => (typeof c.source === "string" ? c.source : c.source.join(""))).join("\n");
      const captions = new Set(captionNumbers(markdown));
      for (const n of figuresNamed(figure!)) expect(captions.has(n), `${topic}: lab ${lab} has no Figure ${n}`).toBe(true);
      if (!/^Figs?\. /.test(figure!)) expect(figure, topic).toMatch(/^(table|\(.*\))$/);
      const headings = [...markdown.matchAll(/^#{2,3} (.*)$/gm)].map((m) => m[1]!.toLowerCase());
      for (const part of section!.split(/, |–/)) {
        if (part === "all") continue;
        const found = /^\d+$/.test(part) ? headings.some((h) => h.startsWith(`${part}.`)) : headings.some((h) => h.includes(part.toLowerCase()));
        expect(found, `${topic}: lab ${lab} has no section "${part}"`).toBe(true);
      }
    }
  });
});
