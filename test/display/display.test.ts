import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { lineChart } from "../../src/plot/chart";
import { display, show } from "../../src/display/display";
import { figureBundle } from "../../src/display/figure";
import { FIGURE_MIME_TYPES } from "../../src/jupyter/mime";
import { captureDisplays, hasDisplayTarget, inKernel, sendDisplay } from "../../src/display/sink";
import { formatTable } from "../../src/display/table";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

const chart = lineChart([{ x: 0, y: 1 }, { x: 1, y: 2 }], { x: "x", y: "y", title: "t" });

describe("display", () => {
  it("is a no-op outside a kernel", async () => {
    expect(inKernel()).toBe(false);
    expect(hasDisplayTarget()).toBe(false);
    await display(chart);
    sendDisplay({ data: { "text/plain": "x" }, metadata: {}, transient: {}, update: false });
  });

  it("sends one bundle with exactly the four figure MIME types and no text/html", async () => {
    const cap = captureDisplays();
    try {
      await display(chart);
    } finally {
      cap.restore();
    }
    expect(cap.messages).toHaveLength(1);
    const m = cap.messages[0]!;
    expect(Object.keys(m.data).sort()).toEqual([...FIGURE_MIME_TYPES].sort());
    expect(m.data["text/html"]).toBeUndefined();
    expect(m.update).toBe(false);
    expect(typeof m.transient.display_id).toBe("string");
    expect(m.data["application/vnd.vegalite.v5+json"]).toEqual(chart);
    const png = Buffer.from(String(m.data["image/png"]), "base64");
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(m.metadata["image/png"]).toEqual({ width: png.readUInt32BE(16) / 2, height: png.readUInt32BE(20) / 2 });
    expect(String(m.data["image/svg+xml"]).startsWith("<svg")).toBe(true);
    expect(m.data["text/plain"]).toBe("<Figure: t (line chart)>");
    expect(hasDisplayTarget()).toBe(false);
  });

  it("show displays and writes the figure files from the same render", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "metalab-show-"));
    const cap = captureDisplays();
    const before = process.env.METALAB_FIGURES_DIR;
    process.env.METALAB_FIGURES_DIR = dir;
    try {
      await show(chart, "nb/one");
    } finally {
      cap.restore();
      if (before === undefined) delete process.env.METALAB_FIGURES_DIR;
      else process.env.METALAB_FIGURES_DIR = before;
    }
    expect(readFileSync(path.join(dir, "nb", "one.svg"), "utf8")).toBe(cap.messages[0]!.data["image/svg+xml"]);
    expect(readFileSync(path.join(dir, "nb", "one.png")).toString("base64")).toBe(cap.messages[0]!.data["image/png"]);
  });

  it("displays rows and DataFrame-likes as text and HTML tables, Markdown as markdown", async () => {
    const cap = captureDisplays();
    try {
      await display([{ k: 5, mse: 0.123456 }, { k: 10, mse: Number.NaN }]);
      const frame = { columns: ["b", "a"], toRecords: () => [{ a: "x<y", b: 1 }] };
      await display(frame);
      await display("**bold**");
    } finally {
      cap.restore();
    }
    expect(Object.keys(cap.messages[0]!.data).sort()).toEqual(["text/html", "text/plain"]);
    expect(cap.messages[0]!.data["text/plain"]).toBe([" k     mse", "--  ------", " 5  0.1235", "10", "(2 rows × 2 columns)"].join("\n"));
    expect(String(cap.messages[1]!.data["text/html"])).toContain("<th style=\"text-align:right\">b</th><th>a</th>");
    expect(String(cap.messages[1]!.data["text/html"])).toContain("x&lt;y");
    expect(cap.messages[2]!.data).toEqual({ "text/markdown": "**bold**", "text/plain": "**bold**" });
  });

  it("formats a nodejs-polars DataFrame in its column order", () => {
    const df = pl.DataFrame({ method: ["maml", "fomaml"], mse: [0.31, 0.42], k: [10, 10] });
    expect(formatTable(df).text.split("\n").slice(0, 3)).toEqual(["method   mse   k", "------  ----  --", "maml    0.31  10"]);
  });

  it("elides long tables in the middle", () => {
    const t = formatTable(Array.from({ length: 30 }, (_, i) => ({ i })), { maxRows: 4 });
    expect(t.text.split("\n")).toEqual([" i", "--", " 0", " 1", "… 26 more rows …", "28", "29", "(30 rows × 1 columns)"]);
  });

  it("bundles render deterministically", async () => {
    const a = await figureBundle(chart);
    const b = await figureBundle(chart);
    expect(a.data).toEqual(b.data);
  });
});
