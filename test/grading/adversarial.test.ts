/**
 * A hostile class (issue 11's red-team findings), graded in the bubblewrap sandbox beside three honest classmates:
 * every attacker gets its exact status, score and flags; the classmates' result.json, feedback.html and graded
 * notebook are byte-identical to a run without the attackers; nothing outlives the batch; no hidden-test source,
 * instructor file, classmate file or grader path reaches any file a student sees. Needs bubblewrap and the build.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { assignmentName, loadAssignment, type Assignment } from "../../src/grading/assignment";
import { gradeBatch, type BatchResult } from "../../src/grading/grade-batch";
import { sandboxProblem } from "../../src/grading/sandbox";
import { codeCell, markdownCell, readNotebook, serializeNotebook, type Notebook } from "../../src/notebook/ipynb";

const ROOT = path.join(__dirname, "..", "..");
const FIXTURE = path.join(ROOT, "test", "fixtures", "grading", "squares.instructor.ipynb");
const SQ_OK = "function square(x: number): number {\n  return x * x;\n}";
const SQ_BAD = "function square(x: number): number {\n  return x + x;\n}";
const SS_OK = "function sumSquares(xs: number[]): number {\n  return xs.reduce((s, x) => s + square(x), 0);\n}";
/** Text only the hidden part of a test cell contains (not a check name, not a message). */
const HIDDEN_NEEDLE = "[sumSquares([]), sumSquares([-1, 3])]";
const MARK = `metalab-attack-${process.pid}`;
const canSandbox = sandboxProblem() === null && fs.existsSync(path.join(ROOT, "dist", "src", "kernel", "launch.js"));

function answer(a: Assignment, answers: Record<string, string>, edit?: (nb: Notebook) => void): string {
  const nb = structuredClone(a.student);
  for (const [id, source] of Object.entries(answers)) {
    const c = nb.cells.find((x) => x.id === id);
    if (c === undefined) throw new Error(`no cell ${id}`);
    c.source = source;
  }
  edit?.(nb);
  return serializeNotebook(nb);
}

const hash = (f: string): string => createHash("sha256").update(fs.readFileSync(f)).digest("hex");

/** Host processes whose command line mentions `needle`. */
function processesWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, "utf8").includes(needle)) out.push(Number(d));
    } catch {
      // Gone.
    }
  }
  return out;
}

/** student → [status, score, flags] for the attackers. */
const ATTACKERS: Record<string, [string, number, string[]]> = {
  forge_check: ["graded", 0, []],
  check_outside: ["graded", 0, []],
  guess_repeat: ["graded", 1, []], // Guessed square(3) and the hidden check (0 for both); square(-2) was sent once.
  spy: ["graded", 6, []],
  saboteur: ["graded", 6, []],
  outliver: ["graded", 6, []],
  poisoner: ["graded", 6, []],
  leaker: ["graded", 6, []],
  deep_json: ["graded", 6, []],
  many_cells: ["graded", 6, []],
  flood: ["graded", 6, ["output_truncated"]],
  arraybuffers: ["kernel_died", 2, []],
  mem_children: ["kernel_died", 2, []],
  fork_bomb: ["graded", 6, []],
  disk_filler: ["graded", 6, []],
  fifo: ["invalid", 0, []],
  huge: ["invalid", 0, []],
  link_instructor: ["invalid", 0, []],
  link_passwd: ["invalid", 0, []],
  "~2Edotfile": ["graded", 6, []],
  陈: ["graded", 6, []],
  "a~20b": ["graded", 0, []],
  a_b: ["graded", 6, []],
};
const CLASSMATES: Record<string, [string, number, string[]]> = {
  correct: ["graded", 6, []],
  partial: ["graded", 3, []],
  wrong: ["graded", 0, []],
};

describe.skipIf(!canSandbox)("a hostile class in the sandbox", () => {
  let a: Assignment;
  let root = "";
  let clean: BatchResult;
  let hostile: BatchResult;
  let server: net.Server;
  let port = 0;
  const subsHashes = new Map<string, string>();
  const distFiles = ["dist/src/grading/check.js", "dist/src/grading/check-value.js", "dist/src/kernel/launch.js", "check.js"].map((f) => path.join(ROOT, f));
  const distHashes = new Map<string, string>();

  beforeAll(async () => {
    a = loadAssignment(readNotebook(FIXTURE), assignmentName(FIXTURE));
    root = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-hostile-"));
    server = net.createServer((s) => s.end("host-loopback-secret\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as net.AddressInfo).port;
    const subsClean = path.join(root, "clean", "submissions");
    const subs = path.join(root, "hostile", "submissions");
    const outHostile = path.join(root, "hostile", "out");
    fs.mkdirSync(subsClean, { recursive: true });
    fs.mkdirSync(subs, { recursive: true });
    const classmates: Record<string, string> = {
      correct: answer(a, { square: SQ_OK, sum_squares: SS_OK }),
      partial: answer(a, { square: SQ_OK, sum_squares: "function sumSquares(xs: number[]): number {\n  return xs.length === 0 ? 1 : xs.reduce((s, x) => s + square(x), 0);\n}" }),
      wrong: answer(a, { square: SQ_BAD, sum_squares: SS_OK }),
    };
    const J = JSON.stringify;
    const attack = (code: string): string => `${SQ_OK}\ntry {\n${code}\n} catch (e) { console.log("attack failed:", (e as Error).message); }`;
    const files: Record<string, string> = {
      // The verdict is decided inside the kernel the student controls: patch check, Math.abs, vm, JSON.stringify.
      forge_check: answer(a, {
        square: `${SQ_BAD}\nconst mod: any = require("metalab/check");\nconst real = mod.check;\nmod.check = (n: string, _v: unknown, o: unknown) => real(n, 42, o);\n` +
          `Math.abs = () => 0;\nconst vm: any = require("vm");\nconst run = vm.runInThisContext;\nvm.runInThisContext = (c: string, ...r: unknown[]) => { try { return run(c, ...r); } catch { return undefined; } };\n` +
          `const str = JSON.stringify;\nJSON.stringify = (v: any, ...r: any[]) => str(v && v.status === "error" ? { ...v, status: "ok" } : v, ...r);`,
        sum_squares: "function sumSquares(xs: number[]): number {\n  return 7;\n}",
      }),
      // Guessing: several values for one check (the right one among them) count for nothing.
      guess_repeat: answer(a, {
        square: 'function square(x: number): number {\n  const { check } = require("metalab/check");\n  for (const g of [9, 6]) check("square(3)", g);\n  return x * x;\n}',
        sum_squares: 'function sumSquares(xs: number[]): number {\n  const { check } = require("metalab/check");\n  check("sumSquares on edge cases", [0, 10]);\n  return xs.reduce((s, x) => s + square(x), 0);\n}',
      }),
      // The right values, sent from an answer cell instead of the test cells (whose own calls then throw).
      check_outside: answer(a, {
        square: 'function square(x: number): number {\n  throw new Error("no");\n}\nconst { check } = require("metalab/check");\ncheck("square(3)", 9);\ncheck("square(-2)", 4);\ncheck("sumSquares on edge cases", [0, 10]);',
        sum_squares: SS_OK,
      }),
      // Reading what is not theirs: the instructor notebook, classmates, grader env, other kernels, the network.
      spy: answer(a, {
        square: attack(
          [
            `const fs: any = require("fs");`,
            `const probe = (what: string, f: () => unknown) => { try { const v = f(); console.log("LEAKED", what, String(v).slice(0, 80)); } catch (e) { console.log("blocked", what, (e as any).code ?? (e as Error).message); } };`,
            `probe("instructor", () => fs.readFileSync(${J(FIXTURE)}, "utf8"));`,
            `probe("classmates", () => fs.readdirSync(${J(subs)}));`,
            `probe("out", () => fs.readdirSync(${J(outHostile)}));`,
            `probe("project source", () => fs.readdirSync(${J(path.join(ROOT, "src"))}));`,
            `probe("test folder", () => fs.readdirSync(${J(path.join(ROOT, "test"))}));`,
            `console.log("tmp holds", fs.readdirSync("/tmp").length, "entries");`,
            `const pids = fs.readdirSync("/proc").filter((p: string) => /^\\d+$/.test(p));`,
            `console.log("processes visible:", pids.length);`,
            `for (const p of pids) { const c = fs.readFileSync("/proc/" + p + "/cmdline", "utf8"); if (c.includes("instructor") || c.includes("vitest")) console.log("LEAKED cmdline", p); }`,
            `const env = Object.keys(process.env).sort().join(",");`,
            `console.log(env.includes("VITEST") || env.includes("npm_") ? "LEAKED env" : "env ok: " + env);`,
            `await new Promise<void>((resolve) => { const s = require("net").connect(${port}, "127.0.0.1"); s.on("data", () => { console.log("LEAKED network"); s.destroy(); resolve(); }); s.on("error", (e: any) => { console.log("blocked network", e.code); resolve(); }); setTimeout(() => { s.destroy(); console.log("blocked network (timeout)"); resolve(); }, 3000); });`,
          ].join("\n"),
        ),
        sum_squares: SS_OK,
      }),
      // Stopping or poking classmates' kernels.
      saboteur: answer(a, {
        square: attack(
          `const fs: any = require("fs");\nlet n = 0;\nfor (const p of fs.readdirSync("/proc").filter((x: string) => /^\\d+$/.test(x))) { if (Number(p) !== process.pid && Number(p) !== 1) { try { process.kill(Number(p), "SIGSTOP"); n++; } catch {} } }\n` +
            `console.log("stopped", n);\nfor (const d of ["/tmp", "/run", "/var/run"]) { try { console.log(d, fs.readdirSync(d).length); } catch (e) { console.log(d, (e as any).code); } }`,
        ),
        sum_squares: SS_OK,
      }),
      // Outliving the kernel: a detached child that would rewrite results and classmates' files later.
      outliver: answer(a, {
        square: attack(
          `const cp: any = require("child_process");\n` +
            `const script = ${J(`sleep 3; echo forged > ${outHostile}/gradebook.csv; echo x > ${subs}/correct.ipynb; mkdir -p ${outHostile}/students/correct && echo '{}' > ${outHostile}/students/correct/result.json; sleep 60`)};\n` +
            `const c = cp.spawn("/bin/sh", ["-c", script, ${J(MARK)}], { detached: true, stdio: "ignore" });\nc.unref();\nconsole.log("spawned", c.pid);\n` +
            `try { require("fs").writeFileSync(${J(path.join(subs, "correct.ipynb"))}, "x"); console.log("LEAKED wrote classmate"); } catch (e) { console.log("blocked write", (e as any).code); }`,
        ),
        sum_squares: SS_OK,
      }),
      // Poisoning the next run through the grader's own build (node_modules/metalab links to it).
      poisoner: answer(a, {
        square: attack(
          distFiles
            .map((f) => `try { require("fs").appendFileSync(${J(f)}, "\\n// poisoned"); console.log("LEAKED poisoned"); } catch (e) { console.log("blocked", (e as any).code); }`)
            .join("\n") + `\ntry { require("fs").appendFileSync(require.resolve("metalab/check"), "\\n// poisoned"); console.log("LEAKED poisoned link"); } catch (e) { console.log("blocked link", (e as any).code); }`,
        ),
        sum_squares: SS_OK,
      }),
      // Seeing hidden tests: capture the code the kernel runs and print it, throw it, and send it as check names.
      leaker: answer(
        a,
        {
          square: `${SQ_OK}\nconst vm: any = require("vm");\nconst seen: string[] = [];\nconst run = vm.runInThisContext;\nvm.runInThisContext = (c: string, ...r: unknown[]) => { seen.push(String(c)); return run(c, ...r); };\n` +
            `setInterval(() => { console.log("CAPTURED", seen.join("\\n")); console.error("CAPTURED", seen.join("\\n")); }, 200);\n(globalThis as any).__seen = seen;`,
          sum_squares: SS_OK,
        },
        (nb) => {
          nb.cells.push(codeCell('const cap: any = (globalThis as any).__seen;\nrequire("metalab/check").check(cap.join("|").slice(0, 190), cap.join("\\n"));\nthrow new Error("CAPTURED " + cap.join("\\n"));', "leak-late"));
        },
      ),
      // 20,000-deep JSON in metadata and outputs: once overflowed structuredClone and broke the whole class.
      deep_json: (() => {
        const nb = JSON.parse(answer(a, { square: SQ_OK, sum_squares: SS_OK })) as { cells: { metadata: unknown; outputs?: unknown[] }[] };
        const deep = "[".repeat(20_000) + "]".repeat(20_000);
        const text = JSON.stringify(nb).replace('"metadata":{}', `"metadata":{"deep":${deep}}`);
        return text.replace('"outputs":[]', `"outputs":[{"output_type":"display_data","data":{"application/json":${deep}},"metadata":{}}]`);
      })(),
      many_cells: answer(a, { square: SQ_OK, sum_squares: SS_OK }, (nb) => {
        for (let i = 0; i < 20_000; i++) nb.cells.push(markdownCell(`note ${i}`, `m${i}`));
      }),
      flood: answer(a, { square: `${SQ_OK}\nconst line = "x".repeat(1000);\nfor (let i = 0; i < 50_000; i++) console.log(line);`, sum_squares: SS_OK }),
      // Memory beyond the V8 heap: ArrayBuffers in the kernel, and child processes (the limit is their total).
      arraybuffers: answer(a, { square: SQ_OK, sum_squares: `${SS_OK}\nconst hoard: Uint8Array[] = [];\nfor (let i = 0; i < 40; i++) hoard.push(new Uint8Array(1e8).fill(1));` }),
      mem_children: answer(a, {
        square: SQ_OK,
        sum_squares:
          `${SS_OK}\nconst cp: any = require("child_process");\n` +
          `for (let i = 0; i < 4; i++) cp.spawn(process.execPath, ["-e", "const b = Buffer.alloc(2.5e8, 1); setInterval(() => b[0]++, 100);"], { stdio: "ignore" });\n` +
          `await new Promise((r) => setTimeout(r, 8000));`,
      }),
      fork_bomb: answer(a, {
        square: attack(
          `const cp: any = require("child_process");\nlet failed = 0;\nconst kids: any[] = [];\n` +
            `for (let i = 0; i < 300; i++) { try { kids.push(cp.spawn("/bin/sleep", ["100"], { stdio: "ignore" }).on("error", () => { failed++; })); } catch { failed++; } }\n` +
            `await new Promise((r) => setTimeout(r, 1000));\nconsole.log("spawns refused:", failed > 0);\nfor (const k of kids) { try { k.kill("SIGKILL"); } catch {} }\nawait new Promise((r) => setTimeout(r, 500));`,
        ),
        sum_squares: SS_OK,
      }),
      disk_filler: answer(a, {
        square: attack(`const fs: any = require("fs");\nlet n = 0;\ntry { for (; n < 100; n++) fs.writeFileSync("fill-" + n, Buffer.alloc(5e6, 1)); } catch (e) { console.log("disk refused after", n, "files:", (e as any).code); }\nfor (let i = 0; i < n; i++) fs.rmSync("fill-" + i, { force: true });`),
        sum_squares: SS_OK,
      }),
      huge: "x".repeat(60_000_000),
      ".dotfile": answer(a, { square: SQ_OK, sum_squares: SS_OK }),
      陈: answer(a, { square: SQ_OK, sum_squares: SS_OK }),
      "a b": answer(a, { square: SQ_BAD, sum_squares: SS_OK }),
      a_b: answer(a, { square: SQ_OK, sum_squares: SS_OK }),
    };
    for (const [name, text] of Object.entries(classmates)) {
      fs.writeFileSync(path.join(subsClean, `${name}.ipynb`), text);
      fs.writeFileSync(path.join(subs, `${name}.ipynb`), text);
    }
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(subs, `${name}.ipynb`), text);
    spawnSync("mkfifo", [path.join(subs, "fifo.ipynb")]);
    fs.symlinkSync(FIXTURE, path.join(subs, "link_instructor.ipynb"));
    fs.mkdirSync(path.join(subs, "link_passwd"));
    fs.symlinkSync("/etc/passwd", path.join(subs, "link_passwd", "hw.ipynb"));
    for (const f of fs.readdirSync(subs)) {
      const p = path.join(subs, f);
      if (fs.lstatSync(p).isFile()) subsHashes.set(p, hash(p));
    }
    for (const f of distFiles) distHashes.set(f, hash(f));
    const opts = { jobs: 2, cellTimeoutMs: 20_000, timeoutMs: 120_000, memoryMb: 512, maxFileMb: 20 };
    clean = await gradeBatch(a, subsClean, path.join(root, "clean", "out"), opts);
    hostile = await gradeBatch(a, subs, outHostile, opts);
  }, 1_200_000);

  afterAll(() => {
    server?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test("every attacker and classmate gets its exact status, score and flags", () => {
    const got = Object.fromEntries(hostile.results.map((r) => [r.student, [r.status, r.score, r.flags]]));
    expect(got).toEqual({ ...ATTACKERS, ...CLASSMATES });
    expect(Object.fromEntries(clean.results.map((r) => [r.student, [r.status, r.score, r.flags]]))).toEqual(CLASSMATES);
    expect(hostile.results.every((r) => r.sandbox === "bubblewrap")).toBe(true);
  });

  test("classmates' results are byte-identical to a run without the attackers", () => {
    for (const s of Object.keys(CLASSMATES)) {
      for (const f of ["result.json", "feedback.html", "squares.graded.ipynb"]) {
        const x = fs.readFileSync(path.join(root, "clean", "out", "students", s, f), "utf8");
        const y = fs.readFileSync(path.join(root, "hostile", "out", "students", s, f), "utf8");
        expect(y, `${s}/${f}`).toBe(x);
      }
    }
  });

  test("reasons: out of memory counts every process; invalid inputs say what they are and quote nothing", () => {
    const by = new Map(hostile.results.map((r) => [r.student, r]));
    expect(by.get("arraybuffers")?.message).toMatch(/out of memory: the submission's processes used more than the 512 MB limit/);
    expect(by.get("mem_children")?.message).toMatch(/out of memory: the submission's processes used more than the 512 MB limit/);
    expect(by.get("fifo")?.message).toMatch(/is a FIFO \(named pipe\), not a regular file/);
    expect(by.get("huge")?.message).toMatch(/over the 50 MB limit/);
    expect(by.get("link_instructor")?.message).toMatch(/is a symbolic link, not a regular file \(links are not followed/);
    expect(by.get("link_passwd")?.message).toMatch(/is a symbolic link/);
    expect(JSON.stringify(by.get("link_passwd"))).not.toMatch(/root:x:0/);
    expect(by.get("guess_repeat")?.tests[0]?.checks?.[0]?.reason).toMatch(/sent 3 times/);
    expect(by.get("check_outside")?.tests[0]?.checks?.[0]?.reason).toMatch(/^sent from cell \d+, not from its test cell/);
    expect(by.get("陈")?.file).toBe("陈.ipynb");
    expect(by.get("~2Edotfile")?.file).toBe(".dotfile.ipynb");
  });

  test("the sandbox blocked every read, signal, write and connection the attackers tried", () => {
    const out = (s: string): string => {
      const cell = readNotebook(path.join(root, "hostile", "out", "students", s, "squares.graded.ipynb")).cells.find((c) => c.id === "square");
      return cell?.cell_type === "code" ? JSON.stringify(cell.outputs) : "";
    };
    for (const s of ["spy", "saboteur", "outliver", "poisoner"]) expect(out(s)).not.toMatch(/LEAKED/);
    expect(out("spy")).toMatch(/blocked instructor ENOENT/);
    expect(out("spy")).toMatch(/blocked classmates ENOENT/);
    expect(out("spy")).toMatch(/blocked network/);
    expect(out("spy")).toMatch(/processes visible: [1-3]\\n/);
    // /tmp shows only the kernel's socket folder, plus the checkout's top folder when the checkout lies under /tmp.
    expect(out("spy")).toMatch(new RegExp(`tmp holds ${fs.realpathSync(ROOT).startsWith("/tmp/") ? 2 : 1} entries`));
    expect(out("saboteur")).toMatch(/stopped [01]\\n/);
    expect(out("outliver")).toMatch(/blocked write ENOENT/);
    // EROFS (read-only bind), or EACCES first when the grader is root and the sandbox runs as nobody.
    expect(out("poisoner")).toMatch(/blocked (EROFS|EACCES)\\n/);
    expect(out("poisoner")).toMatch(/blocked link (EROFS|EACCES)\\n/);
    expect(out("fork_bomb")).toMatch(/spawns refused: true/);
    expect(out("disk_filler")).toMatch(/disk refused after [1-4] files: ENOSPC/);
    for (const [f, h] of distHashes) expect(hash(f), f).toBe(h);
  });

  test("nothing outlives the batch: no process, no rewritten file, no kernel key left behind", async () => {
    await new Promise((r) => setTimeout(r, 4000)); // Longer than the outliver's sleep before it would write.
    expect(processesWith(MARK)).toEqual([]);
    for (const [f, h] of subsHashes) expect(hash(f), f).toBe(h);
    const csv = fs.readFileSync(hostile.gradebookPath, "utf8");
    expect(csv).toMatch(/^student,file,status,/);
    expect(csv).toMatch(/\noutliver,outliver\.ipynb,graded,"",2,3,1,6,6\n/);
  });

  test("no student-facing file shows hidden-test source", () => {
    const dir = path.join(root, "hostile", "out", "students");
    for (const s of fs.readdirSync(dir)) {
      for (const f of fs.readdirSync(path.join(dir, s))) {
        const text = fs.readFileSync(path.join(dir, s, f), "utf8");
        expect(text.includes(HIDDEN_NEEDLE), `${s}/${f}`).toBe(false);
        expect(text.includes("BEGIN HIDDEN"), `${s}/${f}`).toBe(false);
      }
    }
    const leaker = hostile.results.find((r) => r.student === "leaker");
    expect(leaker?.notes.join("\n")).toMatch(/a cell you added\) failed; the details are not shown because hidden tests had already run/);
  });

  test("--resume trusts a result only with the hashes of assignment, submission and grader", async () => {
    const subs = path.join(root, "hostile", "submissions");
    const out = path.join(root, "hostile", "out");
    fs.writeFileSync(path.join(subs, "a b.ipynb"), answer(a, { square: SQ_OK, sum_squares: SS_OK })); // Resubmitted, now right.
    const forged = path.join(out, "students", "wrong", "result.json");
    fs.writeFileSync(forged, JSON.stringify({ ...JSON.parse(fs.readFileSync(forged, "utf8")), score: 6, hashes: { assignment: "x", submission: "y", grader: "z" } }));
    const seen: string[] = [];
    const again = await gradeBatch(a, subs, out, { jobs: 2, resume: true, cellTimeoutMs: 20_000, memoryMb: 512, maxFileMb: 20, onProgress: (_d, _t, s, r) => r && seen.push(s) });
    expect(seen.sort()).toEqual(["a~20b", "wrong"]);
    const by = new Map(again.results.map((r) => [r.student, r]));
    expect([by.get("a~20b")?.status, by.get("a~20b")?.score]).toEqual(["graded", 6]);
    expect([by.get("wrong")?.status, by.get("wrong")?.score]).toEqual(["graded", 0]);
    expect(by.get("correct")?.score).toBe(6);
  }, 600_000);
});
