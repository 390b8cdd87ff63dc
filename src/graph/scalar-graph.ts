/**
 * A scalar computational-graph tracer for teaching reverse-mode autodiff: every operation records a node with its
 * inputs and forward value, and `backward(F)` fills each node's adjoint dF/dnode (Baydin et al. 2018, "Automatic
 * differentiation in machine learning: a survey", evaluation traces). Plain JS numbers (float64), no tensors.
 */

/** Operations the tracer records. */
const SCALAR_OPS = ["input", "const", "add", "sub", "mul", "div", "neg", "square", "pow", "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu"] as const;
export type ScalarOp = (typeof SCALAR_OPS)[number];

/** A node, or a number that becomes a constant node. */
export type ScalarLike = ScalarNode | number;

/** One row of `ScalarGraph.table()`, for notebooks. */
export interface ScalarGraphRow {
  /** Node label, e.g. "x1" or "v3". */
  readonly node: string;
  /** Operation. */
  readonly op: ScalarOp;
  /** The node's defining expression, e.g. "v1 * v2". */
  readonly expression: string;
  /** Forward value. */
  readonly value: number;
  /** Adjoint dF/dnode after `backward(F)`, else null. */
  readonly grad: number | null;
}

/** A recorded scalar; arithmetic methods record new nodes in the same graph (`x1.add(x2).mul(x2.add(1))`). */
export class ScalarNode {
  /** Adjoint dF/dnode, set by `graph.backward(F)`; null before. */
  grad: number | null = null;

  /** Use the methods of `ScalarGraph` (or of another node) to create nodes. */
  constructor(
    readonly graph: ScalarGraph,
    readonly id: number,
    readonly op: ScalarOp,
    readonly inputs: readonly ScalarNode[],
    readonly value: number,
    public label: string,
    /** Exponent of a `pow` node. */
    readonly exponent: number | null = null,
  ) {}

  /** Renames the node (e.g. `.named("F")`) and returns it, for chaining. */
  named(label: string): this {
    this.graph.rename(this, label);
    return this;
  }

  add(other: ScalarLike): ScalarNode {
    return this.graph.add(this, other);
  }
  sub(other: ScalarLike): ScalarNode {
    return this.graph.sub(this, other);
  }
  mul(other: ScalarLike): ScalarNode {
    return this.graph.mul(this, other);
  }
  div(other: ScalarLike): ScalarNode {
    return this.graph.div(this, other);
  }
  neg(): ScalarNode {
    return this.graph.neg(this);
  }
  square(): ScalarNode {
    return this.graph.square(this);
  }
  pow(exponent: number): ScalarNode {
    return this.graph.pow(this, exponent);
  }
  exp(): ScalarNode {
    return this.graph.exp(this);
  }
  log(): ScalarNode {
    return this.graph.log(this);
  }
  sin(): ScalarNode {
    return this.graph.sin(this);
  }
  cos(): ScalarNode {
    return this.graph.cos(this);
  }
  tanh(): ScalarNode {
    return this.graph.tanh(this);
  }
  sigmoid(): ScalarNode {
    return this.graph.sigmoid(this);
  }
  relu(): ScalarNode {
    return this.graph.relu(this);
  }

  /** The defining expression, e.g. "x1 + x2", "exp(v2)", or the value of a constant. */
  expression(): string {
    const [a, b] = this.inputs.map((n) => n.label);
    switch (this.op) {
      case "input":
        return "input";
      case "const":
        return formatNumber(this.value);
      case "add":
        return `${a} + ${b}`;
      case "sub":
        return `${a} − ${b}`;
      case "mul":
        return `${a} × ${b}`;
      case "div":
        return `${a} / ${b}`;
      case "neg":
        return `−${a}`;
      case "square":
        return `${a}²`;
      case "pow":
        return `${a}^${formatNumber(this.exponent ?? 1)}`;
      default:
        return `${this.op}(${a})`;
    }
  }

  /** Local partial derivatives d(this)/d(input_i), from the forward values. */
  localGrads(): number[] {
    const [a, b] = this.inputs.map((n) => n.value) as [number, number];
    const y = this.value;
    switch (this.op) {
      case "input":
      case "const":
        return [];
      case "add":
        return [1, 1];
      case "sub":
        return [1, -1];
      case "mul":
        return [b, a];
      case "div":
        return [1 / b, -a / (b * b)];
      case "neg":
        return [-1];
      case "square":
        return [2 * a];
      case "pow": {
        const k = this.exponent ?? 1;
        return [k * Math.pow(a, k - 1)];
      }
      case "exp":
        return [y];
      case "log":
        return [1 / a];
      case "sin":
        return [Math.cos(a)];
      case "cos":
        return [-Math.sin(a)];
      case "tanh":
        return [1 - y * y];
      case "sigmoid":
        return [y * (1 - y)];
      case "relu":
        return [a > 0 ? 1 : 0]; // subgradient 0 at the kink, as in PyTorch and tfjs
    }
  }
}

/** Formats a number for labels: integers as is, otherwise 4 significant digits without trailing zeros. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x).replace(/^-/, "−");
  const a = Math.abs(x);
  const s = a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3).replace(/\.?0+e/, "e") : String(Number(x.toPrecision(4)));
  return s.replace(/^-/, "−");
}

/** Records scalar operations; `backward(F)` fills every node's adjoint. */
export class ScalarGraph {
  /** All nodes in creation order, which is a topological order. */
  readonly nodes: ScalarNode[] = [];
  /** The node `backward` was last called on. */
  output: ScalarNode | null = null;
  private intermediates = 0;
  private readonly labels = new Set<string>();

  /** A named input (leaf) with a value, e.g. `g.input("x1", 2)`. */
  input(name: string, value: number): ScalarNode {
    if (!Number.isFinite(value)) throw new Error(`ScalarGraph.input("${name}"): value must be a finite number, got ${value}.`);
    return this.push("input", [], value, this.claim(name));
  }

  /** A constant leaf; its label is its value unless given. */
  constant(value: number, label?: string): ScalarNode {
    return this.push("const", [], value, label === undefined ? formatNumber(value) : this.claim(label));
  }

  add(a: ScalarLike, b: ScalarLike): ScalarNode {
    const [x, y] = this.nodesOf(a, b);
    return this.op("add", [x, y], x.value + y.value);
  }
  sub(a: ScalarLike, b: ScalarLike): ScalarNode {
    const [x, y] = this.nodesOf(a, b);
    return this.op("sub", [x, y], x.value - y.value);
  }
  mul(a: ScalarLike, b: ScalarLike): ScalarNode {
    const [x, y] = this.nodesOf(a, b);
    return this.op("mul", [x, y], x.value * y.value);
  }
  div(a: ScalarLike, b: ScalarLike): ScalarNode {
    const [x, y] = this.nodesOf(a, b);
    return this.op("div", [x, y], x.value / y.value);
  }
  neg(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("neg", [x], -x.value);
  }
  square(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("square", [x], x.value * x.value);
  }
  /** a^k for a constant exponent k. */
  pow(a: ScalarLike, exponent: number): ScalarNode {
    if (!Number.isFinite(exponent)) throw new Error(`ScalarGraph.pow: exponent must be a finite number, got ${exponent}.`);
    const [x] = this.nodesOf(a);
    return this.push("pow", [x], Math.pow(x.value, exponent), this.nextLabel(), exponent);
  }
  exp(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("exp", [x], Math.exp(x.value));
  }
  log(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("log", [x], Math.log(x.value));
  }
  sin(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("sin", [x], Math.sin(x.value));
  }
  cos(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("cos", [x], Math.cos(x.value));
  }
  tanh(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("tanh", [x], Math.tanh(x.value));
  }
  sigmoid(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("sigmoid", [x], 1 / (1 + Math.exp(-x.value)));
  }
  relu(a: ScalarLike): ScalarNode {
    const [x] = this.nodesOf(a);
    return this.op("relu", [x], Math.max(0, x.value));
  }

  /** Gives a node a new, unique label. */
  rename(node: ScalarNode, label: string): void {
    this.own(node);
    if (node.label === label) return;
    this.labels.delete(node.label);
    node.label = this.claim(label);
  }

  /** Reverse sweep from `output`: sets `node.grad = d output / d node` for every node; returns the inputs' grads by name. */
  backward(output: ScalarNode): Record<string, number> {
    this.own(output);
    for (const n of this.nodes) n.grad = 0;
    output.grad = 1;
    for (let i = output.id; i >= 0; i--) {
      const n = this.nodes[i]!;
      const local = n.localGrads();
      n.inputs.forEach((inp, j) => {
        inp.grad = (inp.grad ?? 0) + (n.grad ?? 0) * local[j]!;
      });
    }
    this.output = output;
    return this.inputGrads();
  }

  /** Inputs' adjoints by name after `backward` (throws before). */
  inputGrads(): Record<string, number> {
    if (!this.output) throw new Error("Call graph.backward(F) before reading gradients.");
    const out: Record<string, number> = {};
    for (const n of this.nodes) if (n.op === "input") out[n.label] = n.grad ?? 0;
    return out;
  }

  /** Inputs' values by name. */
  inputValues(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const n of this.nodes) if (n.op === "input") out[n.label] = n.value;
    return out;
  }

  /** One row per node in evaluation order: label, op, expression, value, adjoint. */
  table(): ScalarGraphRow[] {
    return this.nodes.map((n) => ({ node: n.label, op: n.op, expression: n.expression(), value: n.value, grad: n.grad }));
  }

  /** The table as aligned plain text, for printing in a notebook. */
  tableText(): string {
    const head = ["node", "op", "expression", "value", this.output ? `∂${this.output.label}/∂node` : "grad"];
    const rows = this.table().map((r) => [r.node, r.op, r.expression, formatNumber(r.value), r.grad === null ? "" : formatNumber(r.grad)]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
  }

  private op(op: ScalarOp, inputs: ScalarNode[], value: number): ScalarNode {
    return this.push(op, inputs, value, this.nextLabel());
  }

  private push(op: ScalarOp, inputs: ScalarNode[], value: number, label: string, exponent: number | null = null): ScalarNode {
    const n = new ScalarNode(this, this.nodes.length, op, inputs, value, label, exponent);
    this.nodes.push(n);
    return n;
  }

  private nextLabel(): string {
    let label: string;
    do label = `v${++this.intermediates}`;
    while (this.labels.has(label));
    this.labels.add(label);
    return label;
  }

  private claim(label: string): string {
    if (label.length === 0) throw new Error("ScalarGraph: labels must be non-empty, e.g. \"x1\".");
    if (this.labels.has(label)) throw new Error(`ScalarGraph: the label "${label}" is already used; pick another name.`);
    this.labels.add(label);
    return label;
  }

  private own(n: ScalarNode): void {
    if (n.graph !== this) throw new Error(`Node "${n.label}" belongs to another ScalarGraph; build the whole function in one graph.`);
  }

  private nodesOf<T extends readonly ScalarLike[]>(...xs: T): { [K in keyof T]: ScalarNode } {
    return xs.map((x) => {
      if (typeof x === "number") return this.constant(x);
      this.own(x);
      return x;
    }) as { [K in keyof T]: ScalarNode };
  }
}

/** What `traceScalar` returns: the graph after `backward`, its output, F's value and dF/dinput by name. */
export interface ScalarTrace {
  readonly graph: ScalarGraph;
  readonly output: ScalarNode;
  readonly value: number;
  readonly grads: Readonly<Record<string, number>>;
}

/**
 * Traces `fn` on named inputs and runs backward, e.g.
 * `traceScalar((x1, x2) => x1.add(x2).mul(x2.add(1)), { x1: 2, x2: 3 })` gives value 20 and grads {x1: 4, x2: 9}.
 * Inputs are passed to `fn` in the record's key order; the output is labelled "F" unless `fn` named it.
 */
export function traceScalar(fn: (...inputs: ScalarNode[]) => ScalarNode, inputs: Readonly<Record<string, number>>): ScalarTrace {
  const graph = new ScalarGraph();
  const xs = Object.entries(inputs).map(([name, v]) => graph.input(name, v));
  const output = fn(...xs);
  if (!(output instanceof ScalarNode)) throw new Error("traceScalar: fn must return a node built from its arguments, e.g. (x1, x2) => x1.mul(x2).");
  if (output.op !== "input" && output.op !== "const" && /^v\d+$/.test(output.label)) graph.rename(output, "F");
  const grads = graph.backward(output);
  return { graph, output, value: output.value, grads };
}
