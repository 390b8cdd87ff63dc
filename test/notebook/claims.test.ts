import { describe, expect, it } from "vitest";
import { readFileSync } from "fs";
import * as path from "path";
import { CLAIM_DOCUMENTS, labNotebooks, projectRoot } from "../../src/cli/reproduce";
import { readNotebook } from "../../src/notebook/ipynb";
import { checkClaims, claimsOf, parseClaims, unmarkedNumbers, type Claim } from "../../src/notebook/claims";

const md = (source: string) => ({ cell_type: "markdown", source });

describe("claims in notebook prose", () => {
  it("parses a number, its key, its tolerance (half the last quoted digit by default), percent and mode", () => {
    const [a, b, c, d] = parseClaims("MAML reaches 0.347<!--claim maml_mse--> and moves 4.9 %<!-- claim body tol=0.2 mode=any --> with 1,000<!--claim n mode=quick--> tasks, gap ~1e-6<!--claim gap tol=1e-5-->.");
    expect(a).toMatchObject({ quoted: "0.347", value: 0.347, key: "maml_mse", mode: "full", percent: false });
    expect(a!.tolerance).toBeCloseTo(0.0005, 12);
    expect(b).toMatchObject({ quoted: "4.9%", value: 4.9, key: "body", tolerance: 0.2, mode: "any", percent: true });
    expect(c).toMatchObject({ value: 1000, tolerance: 0.5, mode: "quick" });
    expect(d).toMatchObject({ value: 1e-6, tolerance: 1e-5 });
    expect(parseClaims("x = 2.10<!--claim k-->")[0]!.tolerance).toBeCloseTo(0.005, 12);
    expect(parseClaims("1e18<!--claim k-->")[0]!.tolerance).toBeCloseTo(0.5e18, 0);
  });

  it("rejects malformed markers with a fix", () => {
    expect(() => parseClaims("no number <!--claim k-->")).toThrow(/does not follow a number/);
    expect(() => parseClaims("1.2<!--claim k mode=fast-->")).toThrow(/full, quick or any/);
    expect(() => parseClaims("1.2<!--claim k tolerance=1-->")).toThrow(/Unknown claim option/);
  });

  it("checks claims of the run's mode against its reported numbers", () => {
    const claims = claimsOf([md("a 0.347<!--claim a--> b 4.9%<!--claim b tol=0.2 mode=any--> c 3<!--claim c mode=quick-->")]);
    expect(checkClaims(claims, { a: 0.3472, b: 0.05, c: 9 }, "full")).toEqual([]);
    expect(checkClaims(claims, { a: 0.3476, b: 0.05 }, "full")[0]).toMatch(/quotes 0.347 for "a", but this full-mode run reported 0.3476/);
    expect(checkClaims(claims, { b: 0.052 }, "quick")).toHaveLength(2); // b off by 0.3 points, c missing
    expect(checkClaims(claims, { a: null, b: 0.049 }, "full")[0]).toMatch(/reported null/);
    const doc: Record<string, number> = { "nb:a": 0.347 };
    expect(checkClaims(claims, (k) => doc[`nb:${k}`] ?? 0.049, "full")).toEqual([]);
  });

  it("finds decimal numbers in prose that carry no marker, skipping math, code and marked ones", () => {
    const cells = [md("α $= 0.01$ and `lr 0.1`; reached 0.52<!--claim k--> and 0.6 %<!--fixed--> but 0.75 and 12% are loose; K = 5 is an integer."), { cell_type: "code", source: "0.9" }];
    expect(unmarkedNumbers(cells).map((s) => s.split(" (")[0])).toEqual(["cell 0: 0.75", "cell 0: 12%"]);
  });
});

describe("the lab notebooks' claims", () => {
  const root = projectRoot(__dirname);
  const files = labNotebooks(root);

  for (const file of files) {
    const name = path.basename(file, ".ipynb");
    it(`${name}: every decimal number in its prose is a claim or marked fixed, and every marker parses`, () => {
      const nb = readNotebook(file);
      expect(unmarkedNumbers(nb.cells)).toEqual([]);
      expect(() => claimsOf(nb.cells)).not.toThrow();
    });
  }

  it("editing a quoted number makes the check fail (every claim of every lab, against the numbers it quotes)", () => {
    let total = 0;
    for (const file of files) {
      const nb = readNotebook(file);
      const claims = claimsOf(nb.cells);
      // A report that agrees with every claim passes...
      const agreeing = (c: Claim): number => (c.percent ? c.value / 100 : c.value);
      for (const mode of ["full", "quick"] as const) {
        const numbers = Object.fromEntries(claims.filter((c) => c.mode === "any" || c.mode === mode).map((c) => [c.key, agreeing(c)]));
        expect(checkClaims(claims, numbers, mode)).toEqual([]);
      }
      // ...and the same report fails once the prose quotes a different number.
      claims.forEach((c, i) => {
        const edited = nb.cells.map((cell, j) => {
          if (j !== c.cell) return cell;
          const src = typeof cell.source === "string" ? cell.source : cell.source.join("");
          const bumped = String(Number((c.value + 10 * c.tolerance + 1).toPrecision(6)));
          return { ...cell, source: src.slice(0, c.start) + bumped + src.slice(c.end) };
        });
        const mode = c.mode === "quick" ? "quick" : "full";
        const numbers = Object.fromEntries(claims.map((x) => [x.key, agreeing(x)]));
        const after = claimsOf(edited);
        expect(after).toHaveLength(claims.length);
        expect(checkClaims([after[i]!], numbers, mode), `${path.basename(file)} claim ${c.key}`).toHaveLength(1);
        total += 1;
      });
    }
    expect(total).toBeGreaterThan(20);
  });
});

describe("README.md's measured numbers", () => {
  const root = projectRoot(__dirname);
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const measured = readme.slice(readme.indexOf("## What was measured"), readme.indexOf("\n## ", readme.indexOf("## What was measured") + 1));

  it("are claims on notebook keys (or marked fixed, with their source), and the claims parse", () => {
    expect(CLAIM_DOCUMENTS).toContain("README.md");
    expect(measured.length).toBeGreaterThan(100);
    expect(unmarkedNumbers([md(measured)])).toEqual([]);
    const claims = parseClaims(readme);
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) expect(c.key, `README claim ${c.quoted}`).toMatch(/^\d\d-[a-z0-9-]+:[A-Za-z0-9_.]+$/);
  });

  it("editing one of them makes the check fail", () => {
    const claims = parseClaims(readme);
    const numbers = Object.fromEntries(claims.map((c) => [c.key, c.percent ? c.value / 100 : c.value]));
    expect(checkClaims(claims, numbers, "full")).toEqual([]);
    for (const c of claims) {
      const edited = readme.slice(0, c.start) + String(Number((c.value + 10 * c.tolerance + 1).toPrecision(6))) + readme.slice(c.end);
      expect(checkClaims(parseClaims(edited), numbers, "full"), `README claim ${c.key}`).toHaveLength(1);
    }
  });
});
