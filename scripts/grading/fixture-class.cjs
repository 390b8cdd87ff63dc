#!/usr/bin/env node
// Writes the fixture class of docs/grading.md (correct, partial, forger, crashes, hangs, tampered, invalid, ...) for
// test/fixtures/grading/squares.instructor.ipynb into a folder; used by test/grading/fixture-class.test.ts and by
// the Slurm phase of .ci/run. Needs the build (dist/).   node scripts/grading/fixture-class.cjs <submissions-dir>
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..", "..");
const { loadAssignment, assignmentName } = require(path.join(root, "dist", "src", "grading", "assignment.js"));
const { codeCell, readNotebook, serializeNotebook } = require(path.join(root, "dist", "src", "notebook", "ipynb.js"));

const FIXTURE = path.join(root, "test", "fixtures", "grading", "squares.instructor.ipynb");
const SQ_OK = "function square(x: number): number {\n  return x * x;\n}";
const SS_OK = "function sumSquares(xs: number[]): number {\n  return xs.reduce((s, x) => s + square(x), 0);\n}";

/** Allocates 1 GB (twice the class's 512 MB limit) and keeps it, touching nothing: the sandbox counts committed
 * memory at allocation, so the kill needs no CPU from the kernel and cannot lose a race with the cell timeout. */
const OOM_HOG = "const hog = new Uint8Array(1e9);\nAtomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);";

/** A student notebook with the given answers, optionally edited further. */
function answer(a, answers, edit) {
  const nb = structuredClone(a.student);
  for (const [id, source] of Object.entries(answers)) {
    const c = nb.cells.find((x) => x.id === id);
    if (c === undefined) throw new Error(`no cell ${id}`);
    c.source = source;
  }
  if (edit) edit(nb);
  return serializeNotebook(nb);
}

/** The class: file name (without .ipynb) -> notebook text; plus a folder `no_notebook/` without a notebook. */
function fixtureClass() {
  const a = loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
  return {
    correct: answer(a, { square: SQ_OK, sum_squares: SS_OK }),
    partial: answer(a, {
      square: SQ_OK,
      sum_squares: "function sumSquares(xs: number[]): number {\n  return xs.length === 0 ? 1 : xs.reduce((s, x) => s + square(x), 0);\n}",
    }),
    wrong_forger: answer(a, { square: "function square(x: number): number {\n  return x + x;\n}", sum_squares: SS_OK }, (nb) => {
      for (const id of ["test_square", "test_sum_squares", "test_square_neg"]) {
        const i = nb.cells.findIndex((c) => c.id === id);
        nb.cells.splice(i + 1, 0, codeCell('console.log("square: ok");\nconsole.log("All tests passed! 6/6");', `forge-${id}`));
      }
    }),
    exits: answer(a, { square: SQ_OK, sum_squares: `${SS_OK}\nprocess.exit(0);` }),
    crashes: answer(a, { square: SQ_OK, sum_squares: `${SS_OK}\nprocess.kill(process.pid, "SIGSEGV");` }),
    hangs: answer(a, { square: SQ_OK, sum_squares: "function sumSquares(xs: number[]): number {\n  while (true) {}\n}" }),
    tampered: answer(
      a,
      { square: "function square(x: number): number {\n  return 0;\n}", sum_squares: "function sumSquares(xs: number[]): number {\n  return xs.reduce((s, x) => s + x * x, 0);\n}" },
      (nb) => {
        const t = nb.cells.find((c) => c.id === "test_square");
        if (t) t.source = 'console.log("square: ok");';
        nb.cells = nb.cells.filter((c) => c.id !== "test_square_neg");
      },
    ),
    // The old `new Array(1e6).fill(1)` loop built slow dictionary arrays, and touching memory at all runs at the
    // kernel's share of the CPU (3.5 s per 128 MB at load 40): it needed more than the 10 s cell timeout under load.
    oom: answer(a, { square: SQ_OK, sum_squares: `${SS_OK}\n${OOM_HOG}` }),
    wrong_kernel: answer(a, { square: "def square(x):\n    return x * x", sum_squares: "def sum_squares(xs):\n    return sum(x * x for x in xs)" }, (nb) => {
      nb.metadata.kernelspec = { name: "python3", display_name: "Python 3", language: "python" };
    }),
    missing_cell: answer(a, { square: SQ_OK }, (nb) => {
      nb.cells = nb.cells.filter((c) => c.id !== "sum_squares");
    }),
    invalid_json: '{"cells": [ this is not json',
    empty: "",
  };
}

/** Writes the class into `dir` (created); returns the paths written. */
function writeFixtureClass(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const files = [];
  for (const [name, text] of Object.entries(fixtureClass())) {
    const f = path.join(dir, `${name}.ipynb`);
    fs.writeFileSync(f, text);
    files.push(f);
  }
  fs.mkdirSync(path.join(dir, "no_notebook"), { recursive: true });
  fs.writeFileSync(path.join(dir, "no_notebook", "notes.txt"), "forgot to upload");
  return files;
}

module.exports = { fixtureClass, writeFixtureClass, FIXTURE };

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/grading/fixture-class.cjs <submissions-dir>");
    process.exit(2);
  }
  console.log(`wrote ${writeFixtureClass(dir).length} notebooks and no_notebook/ into ${dir}`);
}
