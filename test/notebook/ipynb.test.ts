import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import {
  codeCell,
  emptyNotebook,
  ensureCellIds,
  joinSource,
  markdownCell,
  NotebookFormatError,
  parseNotebook,
  readNotebook,
  writeNotebook,
} from "../../src/notebook/ipynb";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-ipynb-"));

describe("readNotebook", () => {
  test("rejects invalid JSON, non-notebooks, empty files and nbformat 3 with fix-it messages", () => {
    expect(() => parseNotebook("{not json", "a.ipynb")).toThrow(/a\.ipynb is not valid JSON/);
    expect(() => parseNotebook("", "b.ipynb")).toThrow(/b\.ipynb is empty/);
    expect(() => parseNotebook('{"hello": 1}', "c.ipynb")).toThrow(/not a Jupyter notebook/);
    expect(() => parseNotebook('{"nbformat": 3, "cells": []}', "d.ipynb")).toThrow(/nbformat 3.*nbconvert/);
    expect(() => parseNotebook('{"nbformat": 4, "cells": [{"cell_type": "code"}]}', "e.ipynb")).toThrow(NotebookFormatError);
    expect(() => readNotebook(path.join(tmp, "missing.ipynb"))).toThrow(/cannot read notebook/);
  });

  test("upgrades 4.4 to 4.5 with unique deterministic ids and joins list sources", () => {
    const text = JSON.stringify({
      nbformat: 4,
      nbformat_minor: 4,
      metadata: {},
      cells: [
        { cell_type: "markdown", metadata: {}, source: ["# T", "itle\n"] },
        { cell_type: "code", metadata: {}, source: "1", outputs: [], execution_count: null, id: "dup" },
        { cell_type: "code", metadata: {}, source: "2", outputs: [], execution_count: null, id: "dup" },
      ],
    });
    const nb = parseNotebook(text);
    expect(nb.nbformat_minor).toBe(5);
    expect(nb.cells.map((c) => c.id)).toEqual(["cell-0", "dup", "cell-2"]);
    expect(joinSource(nb.cells[0]?.source ?? "")).toBe("# Title\n");
  });

  test("write then read round-trips, including outputs, atomically", () => {
    const nb = emptyNotebook();
    nb.cells.push(markdownCell("# Hi\nthere", "m1"), codeCell("const a = 1;\nconsole.log(a)\n", "c1"));
    const c = nb.cells[1];
    if (c?.cell_type !== "code") throw new Error("expected code cell");
    c.outputs.push({ output_type: "stream", name: "stdout", text: "1\n2\n" });
    const file = path.join(tmp, "sub", "x.ipynb");
    writeNotebook(file, nb);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["x.ipynb"]);
    const back = readNotebook(file);
    expect(back.cells.map((x) => joinSource(x.source))).toEqual(["# Hi\nthere", "const a = 1;\nconsole.log(a)\n"]);
    const bc = back.cells[1];
    const out = bc?.cell_type === "code" ? bc.outputs[0] : undefined;
    expect(out?.output_type === "stream" && joinSource(out.text)).toBe("1\n2\n");
    expect(back.metadata.kernelspec?.name).toBe("tslab");
  });

  test("ensureCellIds keeps valid unique ids", () => {
    const nb = emptyNotebook();
    nb.cells.push(codeCell("1", "keep-me"), codeCell("2", "bad id!"), codeCell("3", "cell-1"));
    ensureCellIds(nb);
    expect(nb.cells.map((c) => c.id)).toEqual(["keep-me", "cell-1-1", "cell-1"]);
  });
});
