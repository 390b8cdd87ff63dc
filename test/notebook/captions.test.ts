import { describe, expect, it } from "vitest";
import * as path from "path";
import { labNotebooks, projectRoot } from "../../src/cli/reproduce";
import { readNotebook } from "../../src/notebook/ipynb";
import { captionProblems } from "../../src/notebook/captions";

const md = (source: string) => ({ cell_type: "markdown", source });
const code = (source: string) => ({ cell_type: "code", source });

describe("caption convention", () => {
  it("accepts captions before their figures, numbered in order, live ones marked", () => {
    expect(captionProblems([
      md("**Figure 1 (live) — loss.** What to see: it falls."), code("const a = 1;"), code("await ml.trainLive(l, f, r, {});"),
      md("Text.\n\n**Figure 2 — fits.** What to see: one step."), code("await ml.show(chart, \"x\");"),
    ])).toEqual([]);
  });

  it("rejects captions after figures, other styles, numbering gaps and uncaptioned figures", () => {
    expect(captionProblems([code("await ml.show(c);"), md("*Figure 1.* The chart above.")])).toHaveLength(2); // uncaptioned + style
    expect(captionProblems([md("**Figure 2 — x.**"), code("await ml.show(c);")])[0]).toMatch(/where Figure 1 was expected/);
    expect(captionProblems([md("**Figure 1 — x.**"), md("more text"), code("await ml.show(c);")])[0]).toMatch(/not followed by its figure/);
    expect(captionProblems([md("**Figure 1 — x.**"), code("await ml.show(a);"), code("await ml.show(b);")])[0]).toMatch(/cell 2: draws a figure with no caption/);
    expect(captionProblems([md("**Figure 1 (live, above) — x.**"), code("await ml.show(a);")])[0]).toMatch(/not a caption in the labs' style/);
  });
});

describe("the lab notebooks' captions", () => {
  for (const file of labNotebooks(projectRoot(__dirname))) {
    it(`${path.basename(file, ".ipynb")}: every figure has a caption before it, in one style, numbered in order`, () => {
      expect(captionProblems(readNotebook(file).cells)).toEqual([]);
    });
  }
});
