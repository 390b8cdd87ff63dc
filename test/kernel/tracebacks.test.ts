/**
 * Runtime errors point into the cell (issue 10.5): each frame names the cell and its own line and column (not the
 * compiled `evalmachine.<anonymous>` code, which was off by a line or more), also for functions from earlier cells.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { codeExcerpt, toJupyterError } from "../../src/kernel/errors";
import { RawKernel } from "./raw-kernel";

describe("cell tracebacks", () => {
  let kernel: RawKernel;
  beforeAll(async () => {
    kernel = await RawKernel.start();
  });
  afterAll(async () => {
    await kernel?.close();
  });

  async function run(code: string): Promise<{ status: unknown; error?: Record<string, unknown> }> {
    const id = kernel.execute(code);
    const reply = await kernel.reply(id);
    await kernel.idle(id);
    return { status: reply.content.status, error: kernel.messagesOf(id).find((m) => m.type === "error")?.content };
  }

  test("a throw on the first line, after comments and blank lines, and inside an earlier cell's function", async () => {
    const first = await run("console.log('hi'); throw new Error('boom')");
    expect(first.error?.traceback).toEqual(["Error: boom", "    at Cell In[1]:1:26", "", "Cell In[1], line 1, column 26:", "> 1 | console.log('hi'); throw new Error('boom')", "    |                          ^"]);

    const define = "// helpers\n\nconst limit: number = 1;\n\nfunction check(x: number): number {\n  if (x > limit) {\n    throw new RangeError('too big: ' + x);\n  }\n  return x;\n}\n";
    expect((await run(define)).status).toBe("ok");
    const call = await run("const y = 2;\n\ncheck(y)");
    const tb = call.error?.traceback as string[];
    expect(tb[0]).toBe("RangeError: too big: 2");
    expect(tb[1]).toBe("    at check (Cell In[2]:7:11)");
    expect(tb[2]).toBe("    at Cell In[3]:3:1");
    expect(tb).toContain("> 7 |     throw new RangeError('too big: ' + x);");
    expect(tb.join("\n")).not.toMatch(/evalmachine|metalab-cell/);
  });

  test("after a top-level await and type-only lines", async () => {
    const r = await run("interface T { a: number }\nconst t: T = { a: 1 };\nawait new Promise((r) => setTimeout(r, 10));\n(null as any).foo");
    expect(r.error?.ename).toBe("TypeError");
    expect((r.error?.traceback as string[])[1]).toBe("    at Cell In[4]:4:15");
  });

  test("TypeScript diagnostics keep their own cell positions", async () => {
    const r = await run("const ok = 1;\nconst n: number = 'no';");
    expect(r.error?.evalue).toMatch(/^2:7 - Type 'string' is not assignable/);
  });
});

describe("traceback pieces", () => {
  test("the excerpt numbers lines and puts a caret under the column", () => {
    expect(codeExcerpt("a\nbb\nccc", 3, 2)).toEqual(["  1 | a", "  2 | bb", "> 3 | ccc", "    |  ^"]);
  });

  test("drops Node's compiled-code excerpt before the message", () => {
    const e = new Error("x");
    e.stack = ["metalab-cell-1.js:3", "throw new Error('x')", "^", "", "Error: x", "    at metalab-cell-1.js:3:7"].join("\n");
    expect(toJupyterError([[e]]).traceback).toEqual(["Error: x", "    at metalab-cell-1.js:3:7"]);
  });
});
