// ESLint runs one rule here: the layer rule. A folder of src/ may import only the folders LAYERS lists for it
// (docs/architecture.md explains the layers); a wrong-way import fails `npm test` (`npm run lint`).
import tseslint from "typescript-eslint";
import boundaries from "eslint-plugin-boundaries";

/** What each folder of src/ may import besides itself; `index` is src/index.ts, the `metalab` entry point. */
const LAYERS = {
  // The library (`metalab`), lowest first.
  core: [],
  jupyter: [],
  graph: ["core"], // core: the options checks (core/validate.ts)
  optim: ["core"],
  autodiff: ["core", "optim"],
  tasks: ["core"],
  data: ["core", "tasks"],
  models: ["core", "autodiff", "tasks"],
  fast: ["core", "autodiff", "optim", "tasks", "models"],
  learners: ["core", "autodiff", "optim", "tasks", "data", "models", "fast"],
  eval: ["core", "autodiff", "optim", "tasks", "data", "models", "learners"],
  plot: ["core"],
  display: ["core", "jupyter", "tasks", "learners", "plot"],
  experiments: ["core", "autodiff", "optim", "tasks", "data", "models", "learners", "eval", "plot", "display"],
  index: ["core", "graph", "optim", "autodiff", "tasks", "data", "models", "fast", "learners", "eval", "plot", "display", "experiments"],
  // Tooling: the kernel (`metalab/kernel`), the runner (`metalab/notebook`), the grader (`metalab/grading`), the CLI.
  kernel: ["core", "jupyter"], // core: the process-global interrupt signal (core/interrupt.ts)
  notebook: ["core", "jupyter"], // core: the options checks (core/validate.ts, no imports)
  // grading draws the class report with plot/ and its check() (run inside the student kernel) sends through display/.
  grading: ["core", "jupyter", "notebook", "plot", "display"],
  cli: ["core", "data", "display", "jupyter", "notebook", "grading"],
};

export default [
  { ignores: ["dist/**", "node_modules/**", "**/*.d.ts"] },
  {
    files: ["src/**/*.ts"],
    languageOptions: { parser: tseslint.parser, parserOptions: { ecmaVersion: 2022, sourceType: "module" } },
    // typescript-eslint is registered (no rules on) so the eslint-disable comments in src/ name known rules.
    plugins: { boundaries, "@typescript-eslint": tseslint.plugin },
    settings: {
      "import/resolver": { node: { extensions: [".ts", ".js", ".json"] } },
      // Re-exports and require() calls are dependencies too (src/index.ts is all re-exports).
      "boundaries/dependency-nodes": ["import", "export", "dynamic-import", "require"],
      "boundaries/elements": Object.keys(LAYERS)
        .filter((t) => t !== "index")
        .map((t) => ({ type: t, pattern: `src/${t}`, partialMatch: false })),
      // Elements are folders; the one file at the top of src/ is classified as a file.
      "boundaries/files": [{ category: "index", pattern: "src/index.ts" }],
    },
    linterOptions: { reportUnusedDisableDirectives: "off" },
    rules: {
      // Every file of src/ belongs to a layer: a new top-level folder must be added to LAYERS first.
      "boundaries/no-unknown-files": "error",
      "boundaries/dependencies": [
        "error",
        {
          default: "disallow",
          policies: Object.entries(LAYERS).map(([type, allowed]) => ({
            from: type === "index" ? { file: { categories: "index" } } : { element: { type } },
            allow: { to: { element: { types: { anyOf: [type, ...allowed] } } } },
          })),
        },
      ],
    },
  },
];
