/**
 * Banned calls: finds, with the TypeScript compiler API and its type checker (tslab's own TypeScript), every use of a
 * function an answer must not call, whatever name it goes by: named and namespace imports, aliases
 * (`const f = ml.mamlInnerLoop`), destructuring (`const { mamlInnerLoop: f } = ml`), element access with a literal,
 * values whose type carries the function. Code that hides what it calls (the module object passed around, computed
 * property names on it, `require`, `import()`, `eval`, `Function`, `module`, `process.mainModule`) is flagged too,
 * since no static analysis can see through it.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as TS from "typescript";
import { joinSource } from "../notebook/ipynb";
import type { AnswerRule, Assignment } from "./assignment";
import { defaultNodeModules } from "./kernel-run";
import type { MergedSubmission } from "./merge";

/** One use of a banned function (or of code that hides calls) in a student's cell. */
export interface BannedFinding {
  /** grade_id of the answer whose rule it breaks. */
  answer: string;
  /** Tests zeroed. */
  tests: string[];
  /** "your cell 5 (answer inner_step), line 3". */
  where: string;
  /** "uses mamlInnerLoop (from metalab)". */
  what: string;
}

let tsMod: typeof TS | null = null;
/** tslab's TypeScript (the compiler cells are compiled with), loaded on first use. */
function ts(): typeof TS {
  if (tsMod === null) {
    const req = createRequire(require.resolve("tslab/package.json"));
    tsMod = req("@tslab/typescript-for-tslab") as typeof TS;
  }
  return tsMod;
}

/** Parsed library declaration files, shared by every analysis in this process (they never change during a run). */
const sourceCache = new Map<string, TS.SourceFile | undefined>();

interface CellRange {
  start: number;
  end: number;
  /** Index in the merged notebook. */
  index: number;
}

function compilerOptions(t: typeof TS): TS.CompilerOptions {
  return {
    target: t.ScriptTarget.ES2022,
    module: t.ModuleKind.ESNext,
    moduleResolution: t.ModuleResolutionKind.NodeJs, // tslab resolves modules as Node10 does.
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2022.d.ts"],
    allowJs: false,
    strict: false,
  };
}

/** Builds a program of one virtual file holding the cells, next to the node_modules the kernel imports from. */
function program(code: string, nodeModules: string): { program: TS.Program; file: TS.SourceFile } {
  const t = ts();
  const opts = compilerOptions(t);
  const vfile = path.join(path.dirname(nodeModules), "__metalab_cells__.ts");
  const host = t.createCompilerHost(opts, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError) => {
    if (fileName === vfile) return t.createSourceFile(fileName, code, languageVersion, true, t.ScriptKind.TS);
    if (!sourceCache.has(fileName)) sourceCache.set(fileName, getSourceFile(fileName, languageVersion, onError));
    return sourceCache.get(fileName);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (f) => f === vfile || fileExists(f);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => (f === vfile ? code : readFile(f));
  host.writeFile = () => undefined;
  const prog = t.createProgram([vfile], opts, host);
  const file = prog.getSourceFile(vfile);
  if (file === undefined) throw new Error("the TypeScript program lost its cells file");
  return { program: prog, file };
}

const DYNAMIC_GLOBALS = new Set(["require", "eval", "Function", "module"]);

/** Finds banned uses in the student-authored cells of a merged submission. Returns [] when nothing is banned. */
export function bannedCalls(a: Assignment, merged: MergedSubmission, nodeModules: string = defaultNodeModules()): BannedFinding[] {
  const rules = a.rules.filter((r) => r.banned.length > 0);
  if (rules.length === 0) return [];
  const t = ts();
  const modules = [...new Set(rules.flatMap((r) => r.banned.map((b) => b.module)))];
  const header = modules.map((m, i) => `import * as __metalab_banned_${i} from ${JSON.stringify(m)};\n`).join("");
  // The cells in execution order, one after another (tslab runs them in one program scope).
  let code = header;
  const ranges: CellRange[] = [];
  merged.notebook.cells.forEach((c, index) => {
    if (c.cell_type !== "code") return;
    const start = code.length;
    code += joinSource(c.source);
    ranges.push({ start, end: code.length, index });
    code += "\n;\n";
  });
  const { program: prog, file } = program(code, nodeModules);
  const checker = prog.getTypeChecker();

  const resolve = (s: TS.Symbol | undefined): TS.Symbol | undefined => {
    let cur = s;
    for (let k = 0; cur !== undefined && cur.flags & t.SymbolFlags.Alias && k < 20; k++) cur = checker.getAliasedSymbol(cur);
    return cur;
  };

  // Banned targets: module name → export name → the declaration's symbol.
  const moduleSymbols = new Map<string, TS.Symbol>();
  const targets = new Map<TS.Symbol, string>();
  file.statements.slice(0, modules.length).forEach((st, i) => {
    const moduleName = modules[i];
    if (moduleName === undefined) return;
    if (!t.isImportDeclaration(st) || st.importClause?.namedBindings === undefined || !t.isNamespaceImport(st.importClause.namedBindings)) return;
    const modSym = resolve(checker.getSymbolAtLocation(st.importClause.namedBindings.name));
    if (modSym === undefined) throw new Error(`banned calls name module "${moduleName}", which cannot be resolved from ${nodeModules}; install it or fix the name`);
    moduleSymbols.set(moduleName, modSym);
    const exports = checker.getExportsOfModule(modSym);
    for (const r of rules) {
      for (const b of r.banned) {
        if (b.module !== moduleName) continue;
        const e = exports.find((x) => x.name === b.name);
        const target = resolve(e);
        if (target === undefined) throw new Error(`banned call "${b.name}" is not exported by "${b.module}"; fix metadata.metalab.banned of answer ${r.answer}`);
        targets.set(target, `${b.name} (from ${b.module})`);
      }
    }
  });
  const bannedModules = new Set(moduleSymbols.values());
  const ruleTargets = new Map<AnswerRule, Set<string>>(rules.map((r) => [r, new Set(r.banned.map((b) => `${b.name} (from ${b.module})`))]));

  const studentRanges = ranges.filter((r) => {
    const kind = merged.origins[r.index]?.kind;
    return kind === "answer" || kind === "extra";
  });
  const rangeAt = (pos: number): CellRange | undefined => studentRanges.find((r) => pos >= r.start && pos < r.end);

  // Every suspicious node in student cells: [position, what, banned label or null for "hides calls"].
  const hits: { pos: number; what: string; label: string | null }[] = [];
  const bannedOf = (s: TS.Symbol | undefined): string | undefined => {
    const r = resolve(s);
    return r === undefined ? undefined : targets.get(r);
  };
  const isModuleObject = (s: TS.Symbol | undefined): boolean => {
    const r = resolve(s);
    return r !== undefined && bannedModules.has(r);
  };
  const typeHolds = (node: TS.Node): string | undefined => {
    const ty = checker.getTypeAtLocation(node);
    for (const p of ty.getProperties()) {
      const l = bannedOf(p);
      if (l !== undefined) return l;
    }
    return undefined;
  };

  // A name the cells did not declare themselves: a global from the default library or from @types (e.g. Node's require).
  const isGlobal = (s: TS.Symbol | undefined): boolean => s === undefined || (s.declarations ?? []).every((d) => d.getSourceFile() !== file);

  const visit = (n: TS.Node): void => {
    if (t.isTypeNode(n) && !t.isExpressionWithTypeArguments(n)) return; // Types call nothing.
    const inStudent = rangeAt(n.getStart(file)) !== undefined;
    if (inStudent) {
      if (t.isIdentifier(n)) {
        const parent = n.parent;
        let sym = checker.getSymbolAtLocation(n);
        if (t.isBindingElement(parent) && t.isObjectBindingPattern(parent.parent) && (parent.propertyName ?? parent.name) === n) {
          // `{ mamlInnerLoop } = ml` / `{ mamlInnerLoop: f } = ml`: the property read from the destructured value.
          sym = checker.getTypeAtLocation(parent.parent).getProperty(n.text);
        }
        if (sym === undefined && (t.isPropertyAssignment(parent) || t.isShorthandPropertyAssignment(parent)) && parent.name === n) {
          sym = checker.getPropertySymbolOfDestructuringAssignment(n);
        }
        const label = bannedOf(sym);
        if (label !== undefined) hits.push({ pos: n.getStart(file), what: `uses ${label}`, label });
        else if (isModuleObject(sym) && !isPlainModuleUse(t, n)) {
          hits.push({ pos: n.getStart(file), what: "passes a module object that holds banned functions around, which hides what it calls", label: null });
        } else if (DYNAMIC_GLOBALS.has(n.text) && isGlobal(sym) && !isPropertyName(t, n)) {
          if (!(n.text === "require" && isLiteralRequire(t, n, modules))) {
            hits.push({ pos: n.getStart(file), what: `uses ${n.text}, which hides what it calls`, label: null });
          }
        }
      } else if (t.isStringLiteralLike(n) && t.isElementAccessExpression(n.parent) && n.parent.argumentExpression === n) {
        const ty = checker.getTypeAtLocation(n.parent.expression);
        const label = bannedOf(ty.getProperty(n.text));
        if (label !== undefined) hits.push({ pos: n.getStart(file), what: `uses ${label}`, label });
      } else if (t.isElementAccessExpression(n) && !t.isStringLiteralLike(n.argumentExpression) && !t.isNumericLiteral(n.argumentExpression)) {
        const label = typeHolds(n.expression);
        if (label !== undefined) hits.push({ pos: n.getStart(file), what: `reads a computed property of an object that holds ${label}`, label: null });
        else if (t.isIdentifier(n.expression) && (n.expression.text === "globalThis" || n.expression.text === "global") && isGlobal(checker.getSymbolAtLocation(n.expression))) {
          hits.push({ pos: n.getStart(file), what: `reads a computed property of ${n.expression.text}, which hides what it calls`, label: null });
        }
      } else if (t.isCallExpression(n) && n.expression.kind === t.SyntaxKind.ImportKeyword) {
        hits.push({ pos: n.getStart(file), what: "uses import(), which hides what it calls", label: null });
      } else if (t.isPropertyAccessExpression(n) && n.name.text === "mainModule" && t.isIdentifier(n.expression) && n.expression.text === "process") {
        hits.push({ pos: n.getStart(file), what: "uses process.mainModule, which hides what it calls", label: null });
      }
    }
    t.forEachChild(n, visit);
  };
  visit(file);

  const findings: BannedFinding[] = [];
  for (const r of rules) {
    const lastTest = Math.max(merged.testIndex.get(r.tests[r.tests.length - 1] ?? "") ?? -1, ...r.tests.map((id) => merged.testIndex.get(id) ?? -1));
    const answerIndex = merged.origins.findIndex((o) => (o.kind === "answer" || o.kind === "stub") && o.gradeId === r.answer);
    const scopeEnd = Math.max(lastTest, answerIndex);
    const mine = ruleTargets.get(r) ?? new Set<string>();
    const seen = new Set<string>();
    for (const h of hits) {
      const range = rangeAt(h.pos);
      if (range === undefined || range.index > scopeEnd) continue;
      if (h.label !== null && !mine.has(h.label)) continue;
      const origin = merged.origins[range.index];
      const before = code.slice(range.start, h.pos);
      const line = before.split("\n").length;
      const where = `your cell ${(origin?.studentIndex ?? 0) + 1}${origin?.kind === "answer" ? ` (answer ${origin.gradeId})` : " (a cell you added)"}, line ${line}`;
      const key = `${where}|${h.what}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push({ answer: r.answer, tests: r.tests, where, what: h.what });
    }
  }
  return findings;
}

/** `ml.x`, `ml["x"]`, `import * as ml`, `typeof ml`, type positions: uses that keep property names visible. */
function isPlainModuleUse(t: typeof TS, n: TS.Identifier): boolean {
  const p = n.parent;
  if (t.isPropertyAccessExpression(p) && p.expression === n) return true;
  if (t.isElementAccessExpression(p) && p.expression === n && t.isStringLiteralLike(p.argumentExpression)) return true;
  if (t.isNamespaceImport(p) || t.isImportSpecifier(p) || t.isImportClause(p) || t.isImportEqualsDeclaration(p)) return true;
  if (t.isQualifiedName(p) || t.isTypeQueryNode(p) || t.isTypeReferenceNode(p)) return true;
  // `const { a, b: c } = ml`: the names stay visible in the pattern (and are checked there).
  if (t.isVariableDeclaration(p) && p.initializer === n && t.isObjectBindingPattern(p.name)) return true;
  return false;
}

/** A property name position (`x.require`, `{ require: 1 }`), where the identifier is not the global. */
function isPropertyName(t: typeof TS, n: TS.Identifier): boolean {
  const p = n.parent;
  return (
    (t.isPropertyAccessExpression(p) && p.name === n) ||
    (t.isPropertyAssignment(p) && p.name === n) ||
    (t.isMethodDeclaration(p) && p.name === n) ||
    (t.isPropertyDeclaration(p) && p.name === n) ||
    (t.isPropertySignature(p) && p.name === n) ||
    (t.isBindingElement(p) && p.propertyName === n)
  );
}

/** `require("some-module")` with a literal name that is not a module holding banned functions. */
function isLiteralRequire(t: typeof TS, n: TS.Identifier, bannedModules: readonly string[]): boolean {
  const call = n.parent;
  if (!t.isCallExpression(call) || call.expression !== n || call.arguments.length !== 1) return false;
  const arg = call.arguments[0];
  if (arg === undefined || !t.isStringLiteralLike(arg)) return false;
  return !bannedModules.some((m) => arg.text === m || arg.text.startsWith(`${m}/`));
}
