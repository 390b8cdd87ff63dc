import { describe, expect, test } from "vitest";
import { digitGridOptions, digitGridSvg } from "../../src/data/mnist-figure";
import { loadMnist, mnistLoadOptions } from "../../src/data/mnist";
import { loadOmniglot, loadOmniglotOptions } from "../../src/data/omniglot";
import { downloadOmniglot, downloadOmniglotOptions } from "../../src/data/omniglot-download";
import { loadOneShotRuns, loadRunsOptions } from "../../src/data/omniglot-runs";
import { DEFAULT_OMNIGLOT_TASKS, OmniglotTasks, omniglotTasksConfig, type OmniglotTasksConfig } from "../../src/data/omniglot-tasks";
import { synthetic } from "../experiments/synthetic-omniglot";

describe("data loaders' options: unknown keys and field types are errors with the fix", () => {
  test("good options pass unchanged", () => {
    const o = { size: 28, sets: ["background_small1" as const], alphabets: ["Greek"], cache: false, dir: "/tmp/x", cacheDir: "/tmp/c" };
    expect(loadOmniglotOptions(o)).toBe(o);
    expect(loadRunsOptions({ size: 105, cache: true })).toBeTruthy();
    expect(downloadOmniglotOptions({ full: true, force: false, baseUrl: "http://localhost:1", connectTimeoutMs: 200, log: () => undefined })).toBeTruthy();
    expect(omniglotTasksConfig(DEFAULT_OMNIGLOT_TASKS)).toBe(DEFAULT_OMNIGLOT_TASKS);
    expect(mnistLoadOptions({ dir: "/tmp/digits" })).toBeTruthy();
    expect(digitGridOptions({ columns: 5, scale: 1, title: "t" })).toBeTruthy();
  });
  test("a mistyped option is an error listing the known ones, at each public entry point", async () => {
    expect(() => loadOmniglot({ sise: 28 } as never)).toThrow('loadOmniglot options: unknown option "sise"; known: dir, sets, size, alphabets, cache, cacheDir.');
    expect(() => loadOneShotRuns({ folder: "/tmp" } as never)).toThrow('loadOneShotRuns options: unknown option "folder"; known: dir, size, cache, cacheDir.');
    await expect(downloadOmniglot({ dir: "/tmp/none", ful: true } as never)).rejects.toThrow(/downloadOmniglot options: unknown option "ful"; known: dir, full, force, baseUrl, log, connectTimeoutMs, totalTimeoutMs, fetch\./);
    expect(() => new OmniglotTasks(synthetic(1, 6, 3), { ways: 5, rotations: true, shots: 1 } as unknown as OmniglotTasksConfig)).toThrow('OmniglotTasks config: unknown option "shots"; known: ways, rotations, characters.');
    expect(() => loadMnist({ directory: "/tmp" } as never)).toThrow('loadMnist options: unknown option "directory"; known: dir.');
    expect(() => digitGridSvg([], { colums: 4 } as never)).toThrow('digitGridSvg options: unknown option "colums"; known: columns, scale, title.');
  });
  test("wrong types and ranges name the field and the fix", () => {
    expect(() => loadOmniglotOptions({ size: 0 })).toThrow("loadOmniglot: size must be an integer in [1, 105], got 0. Use 28 (the usual) or 105 (the originals).");
    expect(() => loadOmniglotOptions({ sets: ["evaluation_small"] } as never)).toThrow(/loadOmniglot sets must be a non-empty list of .*"background".*got \["evaluation_small"\]/);
    expect(() => loadOmniglotOptions({ alphabets: "Greek" } as never)).toThrow(/loadOmniglot alphabets must be a list of alphabet names/);
    expect(() => loadOmniglotOptions({ cache: "no" } as never)).toThrow(/loadOmniglot cache must be true or false/);
    expect(() => loadOmniglotOptions({ dir: 3 } as never)).toThrow(/loadOmniglot dir must be a non-empty string, got 3\. A folder holding the Omniglot archives/);
    expect(() => loadRunsOptions({ size: 200 })).toThrow(/loadOneShotRuns: size must be an integer in \[1, 105\], got 200/);
    expect(() => downloadOmniglotOptions({ connectTimeoutMs: 0 })).toThrow(/downloadOmniglot connectTimeoutMs must be a positive number, got 0/);
    expect(() => downloadOmniglotOptions({ log: "stderr" } as never)).toThrow(/downloadOmniglot log must be a function/);
    expect(() => omniglotTasksConfig({ ways: 5, rotations: "yes" } as never)).toThrow(/OmniglotTasks rotations must be true or false/);
    expect(() => omniglotTasksConfig({ ways: 5, rotations: true, characters: 3 } as never)).toThrow(/OmniglotTasks characters must be a list of character indices/);
    expect(() => mnistLoadOptions({ dir: "" })).toThrow(/loadMnist dir must be a non-empty string/);
    expect(() => digitGridOptions({ columns: 0 })).toThrow(/digitGridSvg columns must be an integer >= 1, got 0/);
    expect(() => digitGridOptions({ scale: -2 })).toThrow(/digitGridSvg scale must be a positive number/);
  });
});
