/**
 * TS2742 guard. tslab compiles every cell with declaration emit, so each value a cell declares needs a type
 * TypeScript can name from the notebook's folder. In an instructor's course repository metalab's own dependencies
 * (vega-lite, nodejs-polars, ...) may live in metalab/node_modules (`npm link`, `npm install ../metalab`), which a
 * notebook cannot reach: a public type that is one of theirs must therefore be re-exported by metalab. This test
 * declares every value export of every entry point (and every public member of every exported class) in a
 * synthetic notebook outside the checkout and requires declaration emit to name all of their types.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

/** Compiler options close to tslab's: CommonJS, Node10 resolution, strict, declarations. */
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  declaration: true,
  emitDeclarationOnly: true,
  types: ["node"],
  typeRoots: [path.join(ROOT, "node_modules/@types")],
};

/** One compiler host for both programs, so the second reuses the parsed source files of the first. */
function cachingHost(): ts.CompilerHost {
  const host = ts.createCompilerHost(OPTIONS);
  const cache = new Map<string, ts.SourceFile>();
  const parse = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, onError, create) => {
    const hit = cache.get(file);
    if (hit && !create) return hit;
    const sf = parse(file, language, onError, create);
    if (sf) cache.set(file, sf);
    return sf;
  };
  return host;
}

/**
 * Entry points left out: `metalab/kernel` is the kernel launcher's API, whose signatures carry tslab's message types;
 * the launcher script imports it, a notebook never does.
 */
const NOT_FOR_NOTEBOOKS = new Set(["./kernel"]);

/** Import specifier -> source file of each entry point: package.json `exports` (dist/src/x.js is src/x.ts), else `main`. */
export function entryPoints(root: string = ROOT): Map<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { name: string; main?: string; exports?: unknown };
  const toSource = (target: string): string => path.join(root, target.replace(/^\.\//, "").replace(/^dist\//, "").replace(/(\.d)?\.[cm]?[jt]s$/, ".ts"));
  const pick = (v: unknown): string | null => {
    if (typeof v === "string") return v;
    if (v && typeof v === "object") {
      for (const k of ["types", "require", "node", "default", "import"]) {
        const t = pick((v as Record<string, unknown>)[k]);
        if (t !== null) return t;
      }
    }
    return null;
  };
  const out = new Map<string, string>();
  const exp = pkg.exports;
  const subpaths = typeof exp === "string" || (exp && typeof exp === "object" && !Object.keys(exp).some((k) => k.startsWith(".")))
    ? { ".": exp }
    : ((exp ?? { ".": pkg.main ?? "index.js" }) as Record<string, unknown>);
  for (const [sub, target] of Object.entries(subpaths)) {
    const t = pick(target);
    if (t === null || NOT_FOR_NOTEBOOKS.has(sub) || sub.includes("*") || !/\.[cm]?[jt]s$/.test(t) || t.endsWith(".json")) continue;
    // A hand-written declaration file at the package root (e.g. check.d.ts) stands for itself.
    const literal = path.join(root, t.replace(/^\.\//, ""));
    const file = fs.existsSync(toSource(t)) ? toSource(t) : literal;
    if (fs.existsSync(file)) out.set(sub === "." ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, "")}`, file);
  }
  return out;
}

/** True for `export type { X }` and exports that lead to a type-only import: no value to declare. */
function isTypeOnlyAlias(checker: ts.TypeChecker, e: ts.Symbol): boolean {
  for (let s: ts.Symbol | undefined = e; s && s.flags & ts.SymbolFlags.Alias; s = checker.getImmediateAliasedSymbol(s)) {
    if ((s.declarations ?? []).some((d) => ts.isTypeOnlyImportOrExportDeclaration(d))) return true;
  }
  return false;
}

/** True for a class whose constructor is private or protected (instances come from a factory). */
function hasHiddenConstructor(s: ts.Symbol): boolean {
  return (s.declarations ?? []).some((d) => ts.isClassDeclaration(d) && d.members.some((m) => ts.isConstructorDeclaration(m) && (ts.getCombinedModifierFlags(m) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0));
}

function isPublicMember(s: ts.Symbol): boolean {
  if (s.name.startsWith("#") || s.name.startsWith("__")) return false;
  return !(s.declarations ?? []).some((d) => (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0);
}

/** Helpers of the synthetic notebook: each call's type must be printed in full by declaration emit. */
const HELPERS = `type Fn = (...a: any[]) => any;
function val<T>(x: T): T { return x; }
function ret<F extends Fn>(f: F): ReturnType<F> { return null!; }
function args<F extends Fn>(f: F): Parameters<F> { return null!; }
function ctor<C extends abstract new (...a: any[]) => any>(c: C): ConstructorParameters<C> { return null!; }
type Instance<C> = C extends { prototype: infer P } ? P : never;`;

/**
 * The synthetic notebook: for every value export of every entry point its value type, or its parameters and
 * return type when callable, a class's constructor parameters, and the same for each public instance member.
 */
function syntheticNotebook(entries: Map<string, string>, host: ts.CompilerHost): { text: string; declared: number } {
  const program = ts.createProgram([...entries.values()], OPTIONS, host);
  const checker = program.getTypeChecker();
  const lines = [HELPERS];
  const declare = (expr: string): void => {
    lines.push(`export const v${lines.length} = ${expr};`);
  };
  const declareValue = (expr: string, type: ts.Type): void => {
    if (type.getCallSignatures().length > 0) {
      declare(`ret(${expr})`);
      declare(`args(${expr})`);
    } else declare(`val(${expr})`);
  };
  const pkgName = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { name: string }).name;
  let m = 0;
  for (const [spec, file] of entries) {
    const alias = `M${m++}`;
    // Through the link to the source file (not dist/), so the test sees the current types without a build.
    const viaLink = `${pkgName}/${path.relative(ROOT, file).replace(/(\.d)?\.ts$/, "")}`;
    lines.push(`import * as ${alias} from ${JSON.stringify(viaLink)}; // ${spec}`);
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!);
    if (!moduleSymbol) continue;
    for (const e of checker.getExportsOfModule(moduleSymbol)) {
      const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      if (!(s.flags & ts.SymbolFlags.Value) || isTypeOnlyAlias(checker, e)) continue;
      const expr = `${alias}.${e.name}`;
      if (s.flags & ts.SymbolFlags.Class) {
        if (!hasHiddenConstructor(s)) declare(`ctor(${expr})`);
        for (const p of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(s)).filter(isPublicMember)) {
          declareValue(`(null! as Instance<typeof ${expr}>)[${JSON.stringify(p.name)}]`, checker.getTypeOfSymbol(p));
        }
      } else declareValue(expr, checker.getTypeOfSymbol(s));
    }
  }
  return { text: lines.join("\n") + "\n", declared: lines.length };
}

describe("public types are portable (TS2742)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "metalab-course-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a notebook outside the checkout can name the type of every public value", () => {
    const entries = entryPoints();
    expect(entries.size).toBeGreaterThan(0);
    const host = cachingHost();
    const { text, declared } = syntheticNotebook(entries, host);
    expect(declared).toBeGreaterThan(50);
    const nb = path.join(dir, "labs", "notebook.ts");
    fs.mkdirSync(path.dirname(nb), { recursive: true });
    fs.writeFileSync(nb, text);
    // metalab linked into the course (as `npm link` does): its own node_modules are out of the notebook's reach.
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    fs.symlinkSync(ROOT, path.join(dir, "node_modules", "metalab"), "dir");
    const program = ts.createProgram([nb], OPTIONS, host);
    const sf = program.getSourceFile(nb)!;
    const errors = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    expect(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
    const lines = text.split("\n");
    const unnamed = program.getDeclarationDiagnostics(sf).map((d) => {
      const line = d.start === undefined ? -1 : sf.getLineAndCharacterOfPosition(d.start).line;
      return `${lines[line] ?? "?"}\n  ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    expect(unnamed, "re-export these types from metalab (export type { X } from \"dep\") so notebooks can name them").toEqual([]);
  });
});
