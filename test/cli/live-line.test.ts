import { describe, expect, it } from "vitest";
import { LiveBoard, LiveLine } from "../../src/cli/live-line";

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

  it("keeps one redrawn line per running notebook under the log lines on a TTY", () => {
    const { out, s } = stream(true);
    const board = new LiveBoard(s);
    board.open("02");
    board.open("06");
    board.show("02", "02 cell 6 50%");
    board.show("06", "06 cell 3 10%");
    board.log("06 [1/9] cell 2 ok 1.0s");
    board.show("02", "02 cell 6 60% and a long tail that does not fit the width");
    board.close("06");
    board.close("02");
    expect(out).toEqual([
      "02 cell 6 50%\n", // first live line
      "\x1b[1A\r\x1b[J", "02 cell 6 50%\n06 cell 3 10%\n", // both lines, one per notebook
      "\x1b[2A\r\x1b[J", "06 [1/9] cell 2 ok 1.0s\n", "02 cell 6 50%\n06 cell 3 10%\n", // a log line above them
      "\x1b[2A\r\x1b[J", "02 cell 6 60% and a long tail that doe…\n06 cell 3 10%\n",
      "\x1b[2A\r\x1b[J", "02 cell 6 60% and a long tail that doe…\n", // 06 finished
      "\x1b[1A\r\x1b[J", // nothing left running
    ]);
  });

  it("prints each running notebook's newest line every few seconds in a log, each on its own clock", () => {
    const { out, s } = stream(false);
    let t = 0;
    const board = new LiveBoard(s, { intervalMs: 5000, now: () => t });
    board.open("a");
    for (let i = 1; i <= 11; i++) {
      t = i * 1000;
      board.show("a", `a step ${i}`);
      if (i === 3) board.open("b");
      if (i >= 3) board.show("b", `b step ${i}`);
    }
    board.log("a [1/2] cell 1 ok");
    expect(out).toEqual(["a step 5\n", "b step 8\n", "a step 10\n", "a [1/2] cell 1 ok\n"]);
    expect(board.texts()).toEqual({ a: "a step 11", b: "b step 11" });
  });
});
