import { describe, expect, it } from "vitest";
import { LiveLine } from "../../src/cli/live-line";

function stream(isTTY: boolean) {
  const out: string[] = [];
  return { out, s: { isTTY, columns: 40, write: (t: string) => out.push(t) } };
}

describe("the reproduce terminal's live progress line", () => {
  it("redraws one line in place on a TTY, shortened to the terminal width, and clears it before log lines", () => {
    const { out, s } = stream(true);
    const line = new LiveLine(s);
    line.show("cell 6 training ███░░░ 50% 500/1000");
    line.show("cell 6 training ████░░ 60% 600/1000 and a long tail that does not fit");
    line.clear();
    expect(out[0]).toBe("\rcell 6 training ███░░░ 50% 500/1000\x1b[K");
    expect(out[1]).toBe("\rcell 6 training ████░░ 60% 600/1000 an…\x1b[K"); // 39 columns: the last one stays free
    expect(out[2]).toBe("\r\x1b[K");
  });

  it("prints a plain line every few seconds in a log, starting the clock again with each cell", () => {
    const { out, s } = stream(false);
    let t = 0;
    const line = new LiveLine(s, { intervalMs: 5000, now: () => t });
    for (let i = 1; i <= 12; i++) {
      t = i * 1000;
      line.show(`step ${i}`);
    }
    expect(out).toEqual(["step 5\n", "step 10\n"]);
    line.clear();
    t = 14_000;
    line.show("next cell");
    expect(out).toHaveLength(2);
  });
});
