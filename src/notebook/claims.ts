/**
 * Claims: numbers quoted in a notebook's prose, tied to the key numbers it reports, so prose cannot drift from
 * outputs. A claim is a number followed by an HTML comment (invisible when the markdown is rendered):
 *
 *     MAML reaches 0.347<!--claim maml_mse_k10_step1--> after one step
 *     the body moved 4.9%<!--claim adapt_body_change_random tol=0.2--> ...
 *     at least 9<!--claim diverged_k5 mode=any--> tasks diverge
 *
 * - `KEY` is a key the notebook reports with `ml.report` (in README-like documents, `notebook:KEY`).
 * - `tol=` is the allowed absolute difference in the quoted units; by default half a unit of the last quoted digit,
 *   i.e. the quoted number must be the reported one rounded as written. A `%` after the number compares with the
 *   reported value × 100.
 * - `mode=` says which run the number comes from: `full` (the default; checked by `npm run reproduce`), `quick`, or
 *   `any` (true in both modes; checked by `npm run test:notebooks` too).
 *
 * Numbers that are not measured (settings, constants, other people's results) are marked `<!--fixed-->`, and
 * `unmarkedNumbers` finds decimal numbers that carry neither marker, so a new measured number cannot slip in
 * unchecked. Numbers inside `$…$` math and `code` are skipped: formulas and settings are written there.
 */
/** The run a report comes from (the same names as core/run-mode, which this tooling layer does not import). */
export type RunMode = "full" | "quick";

/** Which runs a claim is checked in. */
export type ClaimMode = "full" | "quick" | "any";

/** One quoted number and the key number it must match. */
export interface Claim {
  /** Index of the markdown cell (or 0 for a plain document). */
  readonly cell: number;
  /** The number as quoted, e.g. "0.347" or "4.9%". */
  readonly quoted: string;
  /** Its value in quoted units. */
  readonly value: number;
  /** The report key, possibly `notebook:key`. */
  readonly key: string;
  /** Allowed |quoted − reported| in quoted units. */
  readonly tolerance: number;
  readonly percent: boolean;
  readonly mode: ClaimMode;
  /** A few words of text before the number, to find it. */
  readonly context: string;
  /** Where the number (without a `%`) starts and ends in the cell's source text. */
  readonly start: number;
  readonly end: number;
}

/** A cell of a notebook-like document: enough for the claims check. */
export interface ClaimCell {
  readonly cell_type: string;
  readonly source: string | readonly string[];
}

const MARKER = /<!--\s*claim\s+([^\s>]+)((?:\s+[a-z]+=[^\s>]+)*)\s*-->/g;
const NUMBER_BEFORE = /([-−]?\d[\d,]*(?:\.\d+)?(?:[eE][-+−]?\d+)?)(\s*%)?(\s*)$/;

function text(source: string | readonly string[]): string {
  return typeof source === "string" ? source : source.join("");
}

/** Decimal places of a quoted number, counting a mantissa's for scientific notation: "0.347" → 3, "1e18" → 0. */
function decimals(q: string): { places: number; exponent: number } {
  const [mantissa, exp] = q.toLowerCase().split("e");
  const dot = mantissa!.indexOf(".");
  return { places: dot < 0 ? 0 : mantissa!.length - dot - 1, exponent: exp ? Number(exp.replace("−", "-")) : 0 };
}

function parseNumber(q: string): number {
  return Number(q.replace(/,/g, "").replace(/−/g, "-"));
}

/** Claims in one markdown string; throws with the position when a marker is malformed. */
export function parseClaims(markdown: string, cell = 0): Claim[] {
  const out: Claim[] = [];
  for (const m of markdown.matchAll(MARKER)) {
    const before = markdown.slice(0, m.index);
    const num = NUMBER_BEFORE.exec(before);
    const where = `cell ${cell}, "…${before.slice(-40).replace(/\s+/g, " ")}"`;
    if (!num) throw new Error(`Claim marker for "${m[1]}" does not follow a number (${where}). Write the number right before <!--claim ...-->.`);
    const quoted = num[1]!;
    const percent = num[2] !== undefined;
    const opts: Record<string, string> = {};
    for (const kv of (m[2] ?? "").trim().split(/\s+/).filter(Boolean)) {
      const [k, v] = kv.split("=");
      if (k !== "tol" && k !== "mode") throw new Error(`Unknown claim option "${k}" (${where}); use tol= and mode=.`);
      opts[k] = v!;
    }
    const mode = (opts.mode ?? "full") as ClaimMode;
    if (mode !== "full" && mode !== "quick" && mode !== "any") throw new Error(`Claim mode must be full, quick or any, got "${opts.mode}" (${where}).`);
    const { places, exponent } = decimals(quoted);
    const tolerance = opts.tol !== undefined ? Number(opts.tol) : 0.5 * 10 ** (exponent - places);
    if (!(tolerance >= 0)) throw new Error(`Claim tol must be a non-negative number, got "${opts.tol}" (${where}).`);
    const start = num.index;
    out.push({
      cell, quoted: quoted + (percent ? "%" : ""), value: parseNumber(quoted), key: m[1]!, tolerance, percent, mode,
      context: before.slice(0, start).slice(-60).replace(/\s+/g, " ").trim(), start, end: start + quoted.length,
    });
  }
  return out;
}

/** Every claim in the markdown cells of a notebook (or one document as a single cell). */
export function claimsOf(cells: readonly ClaimCell[]): Claim[] {
  return cells.flatMap((c, i) => (c.cell_type === "markdown" ? parseClaims(text(c.source), i) : []));
}

/** Whether a claim is checked in a run of `mode`. */
export function claimApplies(claim: Claim, mode: RunMode): boolean {
  return claim.mode === "any" || claim.mode === mode;
}

/** Reported numbers as `reproduce` writes them (non-finite numbers are null). */
export type ReportedNumbers = Readonly<Record<string, number | string | boolean | null>>;

/**
 * Problems of the claims that apply to a run of `mode`, against that run's reported numbers. `lookup` resolves
 * `notebook:key` names for documents outside a notebook. An empty list means every quoted number holds.
 */
export function checkClaims(claims: readonly Claim[], numbers: ReportedNumbers | ((key: string) => unknown), mode: RunMode): string[] {
  const get = typeof numbers === "function" ? numbers : (k: string): unknown => numbers[k];
  const problems: string[] = [];
  for (const c of claims) {
    if (!claimApplies(c, mode)) continue;
    const v = get(c.key);
    const where = `cell ${c.cell} ("…${c.context}")`;
    if (typeof v !== "number") {
      problems.push(`${where}: quotes ${c.quoted} for "${c.key}", but the run reported ${v === undefined ? "no such key" : JSON.stringify(v)}.`);
      continue;
    }
    const reported = c.percent ? 100 * v : v;
    if (!(Math.abs(reported - c.value) <= c.tolerance * (1 + 1e-9))) {
      problems.push(`${where}: quotes ${c.quoted} for "${c.key}", but this ${mode}-mode run reported ${Number(reported.toPrecision(6))}${c.percent ? "%" : ""} (allowed ±${c.tolerance}). Update the prose or the claim.`);
    }
  }
  return problems;
}

/** Strips math, code spans and HTML comments other than markers, so the unmarked-number scan sees only prose. */
function proseOnly(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/\$\$[\s\S]*?\$\$/g, " ")
    .replace(/\$[^$\n]*\$/g, " ")
    .replace(/`[^`\n]*`/g, " ")
    .replace(/\]\([^)]*\)/g, "]") // link targets
    .replace(/<!--\s*claim\s[^>]*-->/g, "<!--claim k-->") // keep markers, drop their options (tol=0.5 is no quote)
    .replace(/<!--(?!claim k-->|\s*fixed\s*-->)[\s\S]*?-->/g, " "); // other comments
}

const NUMBER = /(?<![\w.])[-−]?\d[\d,]*(\.\d+)?([eE][-+−]?\d+)?(\s*%)?(?![\w])/g;
const ANY_MARKER = /^\s*<!--\s*(claim\s|fixed\s*-->)/;

/**
 * Decimal numbers, percentages and scientific numbers in prose (outside math and code) that carry neither a claim
 * nor a `<!--fixed-->` marker: "cell 4: 0.347 (…context)". Integers are not listed (they are mostly settings).
 */
export function unmarkedNumbers(cells: readonly ClaimCell[]): string[] {
  const out: string[] = [];
  cells.forEach((c, i) => {
    if (c.cell_type !== "markdown") return;
    const prose = proseOnly(text(c.source));
    for (const m of prose.matchAll(NUMBER)) {
      if (m[1] === undefined && m[2] === undefined && m[3] === undefined) continue; // a plain integer
      const after = prose.slice(m.index! + m[0].length);
      if (ANY_MARKER.test(after)) continue;
      out.push(`cell ${i}: ${m[0].trim()} ("…${prose.slice(Math.max(0, m.index! - 40), m.index!).replace(/\s+/g, " ").trim()}")`);
    }
  });
  return out;
}
