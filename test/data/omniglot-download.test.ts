import { describe, expect, it } from "vitest";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readFileSync } from "fs";
import * as path from "path";
import { zipSync } from "fflate";
import { DataError } from "../../src/data/errors";
import { downloadOmniglot, omniglotDownloads } from "../../src/data/omniglot-download";
import { tempDir } from "./omniglot-fixtures";

/** A loopback server that answers every path with `body(path)` (or 404 for null). */
async function serve(body: (p: string) => Uint8Array | null): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const b = body(req.url ?? "");
    if (!b) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": String(b.length) }).end(Buffer.from(b));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe("metalab data omniglot (download)", () => {
  it("names the small sets and the runs by default, and the full sets with --full", () => {
    expect(omniglotDownloads(false).map((d) => d.file)).toEqual(["images_background_small1.zip", "images_background_small2.zip", "all_runs.zip"]);
    expect(omniglotDownloads(true).length).toBe(5);
  });

  it("downloads into the folder and checks each file is a zip", async () => {
    const zip = zipSync({ "a/b.txt": new Uint8Array([1, 2, 3]) });
    const s = await serve(() => zip);
    const dir = tempDir("og-dl");
    try {
      const files = await downloadOmniglot({ dir, baseUrl: s.url });
      expect(files.length).toBe(3);
      expect(new Uint8Array(readFileSync(path.join(dir, "all_runs.zip")))).toEqual(zip);
      expect(await downloadOmniglot({ dir, baseUrl: s.url })).toEqual([]); // already there
    } finally {
      await s.close();
    }
  });

  it("fails at once with a clear error when the network is unreachable (no hang), leaving no partial file", async () => {
    const dir = tempDir("og-dl-offline");
    const offline = (() => Promise.reject(new TypeError("fetch failed", { cause: new Error("getaddrinfo ENOTFOUND") }))) as unknown as typeof fetch;
    const t = Date.now();
    const e = await downloadOmniglot({ dir, fetch: offline }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DataError);
    expect((e as Error).message).toMatch(/Could not download https:\/\/.*images_background_small1\.zip \(fetch failed: getaddrinfo ENOTFOUND\)\. This machine may have no internet access/);
    expect((e as Error).message).toContain("METALAB_OMNIGLOT_DIR");
    expect(Date.now() - t).toBeLessThan(5000);
    expect(existsSync(path.join(dir, "images_background_small1.zip"))).toBe(false);
  });

  it("a server that never answers hits the connect time limit", async () => {
    const hang = ((_u: string, init: { signal: AbortSignal }) => new Promise((_r, reject) => init.signal.addEventListener("abort", () => reject(new Error("aborted"))))) as unknown as typeof fetch;
    const e = await downloadOmniglot({ dir: tempDir("og-dl-hang"), fetch: hang, connectTimeoutMs: 200 }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/no answer within 0.2 s/);
  });

  it("a 404 and a download that is not a zip are errors naming the file", async () => {
    const s = await serve(() => new TextEncoder().encode("<html>a login page, not a zip</html>"));
    const none = await serve(() => null);
    try {
      const e1 = await downloadOmniglot({ dir: tempDir("og-dl-bad"), baseUrl: s.url }).catch((x: unknown) => x);
      expect((e1 as Error).message).toMatch(/images_background_small1\.zip is not a zip archive/);
      expect((e1 as Error).message).toContain("Run `metalab data omniglot` again");
      const e2 = await downloadOmniglot({ dir: tempDir("og-dl-404"), baseUrl: none.url }).catch((x: unknown) => x);
      expect((e2 as Error).message).toMatch(/images_background_small1\.zip: the server answered 404/);
    } finally {
      await s.close();
      await none.close();
    }
  });
});
