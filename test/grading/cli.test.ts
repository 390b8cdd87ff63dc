/** The `metalab` CLI's argument handling and outputs, on cases that need no kernel. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { main } from "../../src/cli/metalab";

const FIXTURE = path.join(__dirname, "..", "fixtures", "grading", "squares.instructor.ipynb");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe("metalab CLI", () => {
  test("usage errors exit 2 with the usage text", async () => {
    expect((await capture([])).code).toBe(2);
    const bad = await capture(["grade", "--instructor", FIXTURE]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/missing --submissions[\s\S]*usage:/);
    const unknown = await capture(["grade", "--bogus"]);
    expect(unknown.code).toBe(2);
    expect((await capture(["frobnicate"])).err).toMatch(/unknown command "frobnicate"/);
    expect((await capture(["grade", "--instructor", FIXTURE, "--submissions", tmp, "--out", tmp, "--jobs", "zero"])).err).toMatch(/--jobs must be a positive number/);
  });

  test("assign --no-check releases the student version", async () => {
    const r = await capture(["assign", FIXTURE, "--release", path.join(tmp, "release"), "--no-check"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/3 test cells, 6 points; not checked; released .*squares\.ipynb/);
    expect(fs.readFileSync(path.join(tmp, "release", "squares.ipynb"), "utf8")).toMatch(/not implemented/);
  });

  test("grade reports per-student status for broken files and writes the gradebook", async () => {
    const subs = path.join(tmp, "subs");
    fs.mkdirSync(subs);
    fs.writeFileSync(path.join(subs, "ann.ipynb"), "");
    fs.writeFileSync(path.join(subs, "bob smith.ipynb"), '{"nbformat": 3, "cells": []}');
    const out = path.join(tmp, "out");
    const r = await capture(["grade", "--instructor", FIXTURE, "--submissions", subs, "--out", out]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ann\s+invalid\s+0\/6/);
    // Ids depend on the file's own name only: the space is escaped, so a real "bob_smith.ipynb" could never collide.
    expect(r.out).toMatch(/bob~20smith\s+invalid\s+0\/6/);
    expect(fs.readFileSync(path.join(out, "gradebook.csv"), "utf8")).toMatch(/^student,file,status,flags,test_square,test_sum_squares,test_square_neg,total,max_score\n/);
    expect(fs.readFileSync(path.join(out, "gradebook.csv"), "utf8")).toMatch(/\nbob~20smith,bob smith\.ipynb,invalid,/);
    expect(JSON.parse(fs.readFileSync(path.join(out, "students", "bob~20smith", "result.json"), "utf8")).message).toMatch(/nbformat 3/);
    const inside = await capture(["grade", "--instructor", FIXTURE, "--submissions", subs, "--out", path.join(subs, "out")]);
    expect(inside.code).toBe(1);
    expect(inside.err).toMatch(/inside the submissions folder/);
  });
});
