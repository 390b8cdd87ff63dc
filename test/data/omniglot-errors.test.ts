import { describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";
import { DataError } from "../../src/data/errors";
import { loadOmniglot, omniglotDir } from "../../src/data/omniglot";
import { loadOneShotRuns, nearestNeighbourRuns } from "../../src/data/omniglot-runs";
import { drawingPng, tempDir, writeBackgroundZip, writeRunsZip } from "./omniglot-fixtures";
import { Rng } from "../../src/core/random";

/** Runs `f`, expects a DataError, and returns it. */
function dataError(f: () => unknown): DataError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error("expected a DataError, but nothing was thrown");
}

describe("Omniglot loader on generated fixtures", () => {
  it("reads a generated archive: counts, sizes, ranges", () => {
    const dir = tempDir("og-ok");
    writeBackgroundZip(dir, "images_background_small1.zip", { Alpha: 2, Beta: 3 }, 4);
    const im = loadOmniglot({ dir, sets: ["background_small1"], cache: false });
    expect(im.alphabets).toEqual(["Alpha", "Beta"]);
    expect(im.characters.length).toBe(5);
    expect(im.drawings).toBe(4);
    expect(Math.max(...im.pixels)).toBe(255);
    expect(Math.min(...im.pixels)).toBe(0);
    expect(loadOmniglot({ dir, sets: ["background_small1"], alphabets: ["Beta"], cache: false }).characters.length).toBe(3);
  });

  it("the typed-array cache returns exactly what decoding gives (background and runs)", () => {
    const dir = tempDir("og-cache");
    const cacheDir = tempDir("og-cache-arrays");
    writeBackgroundZip(dir, "images_background_small1.zip", { Alpha: 2, Beta: 1 }, 3);
    writeRunsZip(dir, 2, 3);
    const fresh = loadOmniglot({ dir, sets: ["background_small1"], cache: false });
    loadOmniglot({ dir, sets: ["background_small1"], cacheDir });
    const cached = loadOmniglot({ dir, sets: ["background_small1"], cacheDir });
    expect(cached.pixels).toEqual(fresh.pixels);
    expect(cached.characters).toEqual(fresh.characters);
    expect(readdirSync(cacheDir).some((f) => f.startsWith("omniglot-background_small1-28-"))).toBe(true);
    const r0 = loadOneShotRuns({ dir, cache: false });
    loadOneShotRuns({ dir, cacheDir });
    const r1 = loadOneShotRuns({ dir, cacheDir });
    expect(r1).toEqual(r0);
  });

  it("the data folder: METALAB_OMNIGLOT_DIR, then METALAB_DATA_DIR, then the cache, then ../shared/data/omniglot beside the checkout", () => {
    const root = tempDir("og-layout");
    const project = path.join(root, "project");
    const shared = path.join(root, "shared", "data", "omniglot");
    mkdirSync(path.join(project, "dist", "src", "data"), { recursive: true });
    mkdirSync(shared, { recursive: true });
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "metalab" }));
    const from = path.join(project, "dist", "src", "data");
    const cache = tempDir("og-layout-cache");
    expect(omniglotDir({ METALAB_CACHE_DIR: cache }, from)).toBe(path.join(cache, "omniglot")); // nothing anywhere: the cache folder, for the error message
    writeRunsZip(shared, 1, 2);
    expect(omniglotDir({ METALAB_CACHE_DIR: cache }, from)).toBe(shared);
    expect(omniglotDir({ METALAB_CACHE_DIR: cache, METALAB_DATA_DIR: "/data" }, from)).toBe(path.resolve("/data/omniglot"));
    expect(omniglotDir({ METALAB_CACHE_DIR: cache, METALAB_OMNIGLOT_DIR: "/og" }, from)).toBe(path.resolve("/og"));
    mkdirSync(path.join(cache, "omniglot"), { recursive: true });
    writeRunsZip(path.join(cache, "omniglot"), 1, 2);
    expect(omniglotDir({ METALAB_CACHE_DIR: cache }, from)).toBe(path.join(cache, "omniglot")); // downloaded data wins over the shared folder
  });

  it("a missing archive names the file and the fix (metalab data omniglot, METALAB_OMNIGLOT_DIR)", () => {
    const dir = tempDir("og-missing");
    const e = dataError(() => loadOmniglot({ dir, cache: false }));
    expect(e.message).toContain(path.join(dir, "images_background_small1.zip"));
    expect(e.message).toContain("metalab data omniglot");
    expect(e.message).toContain("METALAB_OMNIGLOT_DIR");
    expect(e.file).toBe(path.join(dir, "images_background_small1.zip"));
  });

  it("a corrupt archive (not a zip) and a truncated zip are errors naming the file", () => {
    const dir = tempDir("og-corrupt");
    writeFileSync(path.join(dir, "images_background_small1.zip"), "this is not a zip file, just text pretending to be one");
    const e = dataError(() => loadOmniglot({ dir, sets: ["background_small1"], cache: false }));
    expect(e.message).toMatch(/not a zip archive/);
    expect(e.message).toContain("images_background_small1.zip");
    const file = writeBackgroundZip(dir, "images_background_small2.zip", { Alpha: 2 }, 3);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const t = dataError(() => loadOmniglot({ dir, sets: ["background_small2"], cache: false }));
    expect(t.message).toMatch(/corrupt zip archive/);
    expect(t.message).toContain("images_background_small2.zip");
    expect(t.message).toContain("metalab data omniglot");
  });

  it("a truncated PNG inside the archive names the archive member", () => {
    const dir = tempDir("og-png");
    writeBackgroundZip(dir, "images_background_small1.zip", { Alpha: 2 }, 3, 0, (files) => {
      const name = Object.keys(files)[4]!;
      files[name] = files[name]!.subarray(0, 60);
    });
    const e = dataError(() => loadOmniglot({ dir, sets: ["background_small1"], cache: false }));
    expect(e.message).toMatch(/images_background_small1\.zip:images_background_small1\/Alpha\/character02\/\d+_02\.png is not a readable PNG/);
    expect(e.message).toMatch(/truncated or corrupt/);
  });

  it("an unknown alphabet lists the names that exist", () => {
    const dir = tempDir("og-alpha");
    writeBackgroundZip(dir, "images_background_small1.zip", { Greek: 1, Latin: 1 }, 2);
    const e = dataError(() => loadOmniglot({ dir, sets: ["background_small1"], alphabets: ["Greek", "Klingon"], cache: false }));
    expect(e.message).toContain('Unknown Omniglot alphabet "Klingon"');
    expect(e.message).toContain("Greek, Latin");
  });

  it("a character folder with missing drawings is an error, not a smaller dataset", () => {
    const dir = tempDir("og-short");
    writeBackgroundZip(dir, "images_background_small1.zip", { Alpha: 2 }, 3, 0, (files) => {
      delete files[Object.keys(files).find((n) => n.includes("character02"))!];
    });
    const e = dataError(() => loadOmniglot({ dir, sets: ["background_small1"], cache: false }));
    expect(e.message).toContain("Alpha/character02 has 2 drawings where the others have 3");
  });

  it("one-shot runs: a generated archive loads and nearest neighbour scores it", () => {
    const dir = tempDir("og-runs");
    writeRunsZip(dir, 2, 3);
    const runs = loadOneShotRuns({ dir });
    expect(runs.runs.length).toBe(2);
    expect(runs.ways).toBe(3);
    const nn = nearestNeighbourRuns(runs);
    expect(nn.perRun.length).toBe(2);
    expect(nn.mean).toBeGreaterThanOrEqual(0);
  });

  it("a run folder with a missing file names that file", () => {
    const dir = tempDir("og-runs-missing");
    writeRunsZip(dir, 2, 3, 0, (files) => {
      delete files["run02/training/class03.png"];
    });
    const e = dataError(() => loadOneShotRuns({ dir }));
    expect(e.message).toContain("run02/training/class03.png (named in run02/class_labels.txt) is missing");
    expect(e.message).toContain("metalab data omniglot");
  });

  it("a run folder without class_labels.txt, and a truncated run image, are errors naming the file", () => {
    const dir = tempDir("og-runs-labels");
    writeRunsZip(dir, 2, 3, 0, (files) => {
      delete files["run01/class_labels.txt"];
    });
    expect(dataError(() => loadOneShotRuns({ dir })).message).toContain("run01/class_labels.txt is missing");
    const dir2 = tempDir("og-runs-png");
    writeRunsZip(dir2, 1, 3, 0, (files) => {
      files["run01/test/item02.png"] = drawingPng(new Rng(1)).subarray(0, 40);
    });
    expect(dataError(() => loadOneShotRuns({ dir: dir2 })).message).toMatch(/all_runs\.zip:run01\/test\/item02\.png is not a readable PNG/);
  });
});
