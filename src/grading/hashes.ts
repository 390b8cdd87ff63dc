/**
 * Content hashes that tie a result to exactly what produced it: the assignment, the submission file and the grader
 * (its built code and the kernel-side packages). `--resume` trusts a result only when all three match.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { serializeNotebook, type Notebook } from "../notebook/ipynb";

/** sha256 of a string or bytes, hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** sha256 of an instructor notebook's content (as serialised, so the same notebook always gives the same hash). */
export function assignmentHash(instructor: Notebook): string {
  return sha256(serializeNotebook(instructor));
}

function walkJs(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkJs(p, out);
    else if (e.isFile() && e.name.endsWith(".js")) out.push(p);
  }
}

function packageVersion(req: NodeJS.Require, name: string): string {
  try {
    const pkg = req(`${name}/package.json`) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "?";
  } catch {
    return "absent";
  }
}

let cached: string | null = null;

/**
 * The grader version: metalab's package version plus a hash of its built code (dist/src, which holds the grader,
 * the kernel launcher and the library student code imports) and the versions of tslab and tfjs.
 */
export function graderVersion(): string {
  if (cached !== null) return cached;
  const distSrc = path.resolve(__dirname, "..");
  const root = path.resolve(distSrc, "..", "..");
  const files: string[] = [];
  walkJs(distSrc, files);
  const h = createHash("sha256");
  for (const f of files) {
    h.update(path.relative(distSrc, f));
    h.update("\0");
    h.update(fs.readFileSync(f));
    h.update("\0");
  }
  let version = "?";
  try {
    version = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version?: string }).version ?? "?";
  } catch {
    // Not a package checkout: the code hash still identifies the grader.
  }
  for (const dep of ["tslab", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"]) h.update(`${dep}@${packageVersion(require, dep)}\0`);
  cached = `metalab ${version} ${h.digest("hex").slice(0, 16)}`;
  return cached;
}
