/**
 * The labs' caption convention, checked: a figure's caption comes *before* it, in a markdown cell, as
 * `**Figure N — what is plotted.** What to see: …` (or `**Figure N (live) — …**` for a chart that updates while its
 * cell runs), numbered 1, 2, … in notebook order. A code cell draws a figure when it calls `ml.show(…)` or
 * `trainLive(…)`; tables (`ml.display(rows)`) carry their own caption option and are not figures.
 */
import type { ClaimCell } from "./claims";

const CAPTION = /^\*\*Figure (\d+)( \(live\))? — /gm;
const ANY_FIGURE_LABEL = /^\s*(\*{1,2}|_)?Figure (\d+)\b[^\n]{0,12}/gm;
const DRAWS = /\bml\.show\(|\btrainLive\(/;

function text(source: string | readonly string[]): string {
  return typeof source === "string" ? source : source.join("");
}

/** Captions of one markdown text: their figure numbers in order. */
export function captionNumbers(markdown: string): number[] {
  return [...markdown.matchAll(CAPTION)].map((m) => Number(m[1]));
}

/** Whether a code cell draws a figure (see the module comment). */
export function drawsFigure(code: string): boolean {
  return DRAWS.test(code);
}

/**
 * Problems with a notebook's captions: a figure label at the start of a line in another style, numbers out of
 * order, a caption not followed (through code cells only) by a cell that draws a figure, and a figure with no
 * caption before it. An empty list means the notebook follows the convention.
 */
export function captionProblems(cells: readonly ClaimCell[]): string[] {
  const problems: string[] = [];
  let expected = 1;
  cells.forEach((c, i) => {
    const src = text(c.source);
    if (c.cell_type === "markdown") {
      for (const m of src.matchAll(ANY_FIGURE_LABEL)) {
        if (!/^\*\*Figure \d+( \(live\))? — /.test(m[0].trimStart())) {
          problems.push(`cell ${i}: "${m[0].trim()}…" is not a caption in the labs' style; write "**Figure ${m[2]} — what is plotted.** What to see: …" before the figure.`);
        }
      }
      const numbers = captionNumbers(src);
      for (const n of numbers) {
        if (n !== expected) problems.push(`cell ${i}: Figure ${n} comes where Figure ${expected} was expected; number the figures 1, 2, … in order.`);
        expected = n + 1;
      }
      if (numbers.length > 0) {
        let j = i + 1;
        while (j < cells.length && cells[j]!.cell_type === "code" && !drawsFigure(text(cells[j]!.source))) j++;
        const next = cells[j];
        if (!next || next.cell_type !== "code") problems.push(`cell ${i}: the caption of Figure ${numbers.join(", ")} is not followed by its figure (captions come right before the code that draws it).`);
      }
      return;
    }
    if (c.cell_type !== "code" || !drawsFigure(src)) return;
    let j = i - 1;
    while (j >= 0 && cells[j]!.cell_type === "code" && !drawsFigure(text(cells[j]!.source))) j--;
    const before = cells[j];
    if (!before || before.cell_type !== "markdown" || captionNumbers(text(before.source)).length === 0) {
      problems.push(`cell ${i}: draws a figure with no caption right before it; add "**Figure N — …** What to see: …" in the markdown cell above.`);
    }
  });
  return problems;
}
