/**
 * Solution and hidden-test regions in instructor cells, nbgrader style but with TypeScript comments:
 * `// BEGIN SOLUTION` … `// END SOLUTION` and `// BEGIN HIDDEN TESTS` … `// END HIDDEN TESTS`.
 */

/** What replaces a solution region in the student version. */
export const SOLUTION_STUB = 'throw new Error("not implemented");';

/** What replaces hidden tests in feedback shown to students. */
export const HIDDEN_TESTS_NOTE = "// (hidden tests ran here)";

type Region = "SOLUTION" | "HIDDEN TESTS";

const MARKER = /^(\s*)\/\/\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)\s*$/;

/** Raised for unbalanced or nested markers; names the cell and line. */
export class MarkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MarkerError";
  }
}

/** One marker line found in a source. */
interface Marker {
  line: number;
  indent: string;
  kind: "BEGIN" | "END";
  region: Region;
}

function scan(source: string, where: string): Marker[] {
  const markers: Marker[] = [];
  let open: Marker | null = null;
  source.split("\n").forEach((text, line) => {
    const m = MARKER.exec(text);
    if (m === null) return;
    const marker: Marker = { line, indent: m[1] ?? "", kind: m[2] === "BEGIN" ? "BEGIN" : "END", region: m[3] === "SOLUTION" ? "SOLUTION" : "HIDDEN TESTS" };
    if (marker.kind === "BEGIN") {
      if (open !== null) {
        throw new MarkerError(`${where}, line ${line + 1}: "// BEGIN ${marker.region}" inside an open ${open.region} region (opened line ${open.line + 1}); close it first.`);
      }
      open = marker;
    } else {
      if (open === null || open.region !== marker.region) {
        throw new MarkerError(`${where}, line ${line + 1}: "// END ${marker.region}" without a matching "// BEGIN ${marker.region}".`);
      }
      open = null;
    }
    markers.push(marker);
  });
  if (open !== null) {
    const o: Marker = open;
    throw new MarkerError(`${where}, line ${o.line + 1}: "// BEGIN ${o.region}" is never closed; add "// END ${o.region}".`);
  }
  return markers;
}

/** Which regions a source contains (throws `MarkerError` when markers are unbalanced). */
export function regionsIn(source: string, where = "cell"): { solution: boolean; hidden: boolean } {
  const ms = scan(source, where);
  return { solution: ms.some((m) => m.region === "SOLUTION"), hidden: ms.some((m) => m.region === "HIDDEN TESTS") };
}

function replaceRegions(source: string, region: Region, replacement: (indent: string) => string | null, where: string): string {
  const markers = scan(source, where).filter((m) => m.region === region);
  if (markers.length === 0) return source;
  const lines = source.split("\n");
  const out: string[] = [];
  let i = 0;
  for (let k = 0; k < markers.length; k += 2) {
    const begin = markers[k];
    const end = markers[k + 1];
    // scan() has checked that markers come in BEGIN/END pairs; this guards the invariant.
    if (begin === undefined || end === undefined) throw new MarkerError(`${where}: unbalanced ${region} markers.`);
    out.push(...lines.slice(i, begin.line));
    const r = replacement(begin.indent);
    if (r !== null) out.push(r);
    i = end.line + 1;
  }
  out.push(...lines.slice(i));
  return out.join("\n");
}

/** Replaces each solution region with a stub that throws "not implemented" (at the region's indentation). */
export function stripSolutions(source: string, where = "cell"): string {
  return replaceRegions(source, "SOLUTION", (indent) => indent + SOLUTION_STUB, where);
}

/** Removes hidden-test regions entirely (student version). */
export function stripHiddenTests(source: string, where = "cell"): string {
  return replaceRegions(source, "HIDDEN TESTS", () => null, where);
}

/** Replaces hidden-test regions with a one-line note (feedback shown after grading). */
export function maskHiddenTests(source: string, where = "cell"): string {
  return replaceRegions(source, "HIDDEN TESTS", (indent) => indent + HIDDEN_TESTS_NOTE, where);
}

/** Removes marker lines but keeps region contents (the code the grader executes). */
export function unmark(source: string, where = "cell"): string {
  const lines = source.split("\n");
  const drop = new Set(scan(source, where).map((m) => m.line));
  return lines.filter((_, i) => !drop.has(i)).join("\n");
}
