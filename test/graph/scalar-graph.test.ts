import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { checkNumericGradient } from "../../src/autodiff/finite-diff";
import { Rng } from "../../src/core/random";
import { formatNumber, ScalarGraph, ScalarNode, traceScalar } from "../../src/graph/scalar-graph";

describe("ScalarGraph", () => {
  it("F(x1, x2) = (x1 + x2)(x2 + 1) at (2, 3): F = 20, dF/dx1 = 4, dF/dx2 = 9", () => {
    const g = new ScalarGraph();
    const x1 = g.input("x1", 2);
    const x2 = g.input("x2", 3);
    const F = g.mul(g.add(x1, x2), g.add(x2, g.constant(1)));
    expect(F.value).toBe(20);
    expect(x1.grad).toBeNull();
    const grads = g.backward(F);
    expect(grads).toEqual({ x1: 4, x2: 9 });
    expect(x1.grad).toBe(4);
    expect(x2.grad).toBe(9);
    expect(F.grad).toBe(1);
    // The intermediate adjoints: dF/d(x1 + x2) = x2 + 1 = 4, dF/d(x2 + 1) = x1 + x2 = 5.
    expect(g.nodes.filter((n) => n.op === "add").map((n) => n.grad)).toEqual([4, 5]);
  });

  it("traceScalar gives the same result with chained methods and names the output F", () => {
    const t = traceScalar((x1, x2) => x1!.add(x2!).mul(x2!.add(1)), { x1: 2, x2: 3 });
    expect(t.value).toBe(20);
    expect(t.grads).toEqual({ x1: 4, x2: 9 });
    expect(t.output.label).toBe("F");
    expect(t.graph.output).toBe(t.output);
  });

  it("table() lists every node in evaluation order with op, expression, value and adjoint", () => {
    const { graph } = traceScalar((x1, x2) => x1!.add(x2!).mul(x2!.add(1)), { x1: 2, x2: 3 });
    expect(graph.table()).toEqual([
      { node: "x1", op: "input", expression: "input", value: 2, grad: 4 },
      { node: "x2", op: "input", expression: "input", value: 3, grad: 9 },
      { node: "v1", op: "add", expression: "x1 + x2", value: 5, grad: 4 },
      { node: "1", op: "const", expression: "1", value: 1, grad: 5 },
      { node: "v2", op: "add", expression: "x2 + 1", value: 4, grad: 5 },
      { node: "F", op: "mul", expression: "v1 × v2", value: 20, grad: 1 },
    ]);
    const text = graph.tableText();
    expect(text.split("\n")[0]).toMatch(/^node\s+op\s+expression\s+value\s+∂F\/∂node$/);
    expect(text).toContain("F     mul    v1 × v2     20     1");
  });

  it("errors explain the fix", () => {
    const g = new ScalarGraph();
    const x = g.input("x", 1);
    expect(() => g.input("x", 2)).toThrow(/already used/);
    expect(() => new ScalarGraph().add(x, 1)).toThrow(/another ScalarGraph/);
    expect(() => g.inputGrads()).toThrow(/backward/);
    expect(() => g.input("y", NaN)).toThrow(/finite/);
  });

  it("formats numbers compactly", () => {
    expect(formatNumber(20)).toBe("20");
    expect(formatNumber(-3)).toBe("−3");
    expect(formatNumber(0.1 + 0.2)).toBe("0.3");
    expect(formatNumber(2 / 3)).toBe("0.6667");
    expect(formatNumber(1.5e-7)).toBe("1.5e-7");
  });
});

/** A function written once over an abstract set of ops, so the graph and tfjs compute exactly the same thing. */
interface Ops<T> {
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  neg(a: T): T;
  square(a: T): T;
  pow(a: T, k: number): T;
  exp(a: T): T;
  log(a: T): T;
  sin(a: T): T;
  cos(a: T): T;
  tanh(a: T): T;
  sigmoid(a: T): T;
  relu(a: T): T;
  c(v: number): T;
}

function graphOps(g: ScalarGraph): Ops<ScalarNode> {
  return {
    add: (a, b) => g.add(a, b), sub: (a, b) => g.sub(a, b), mul: (a, b) => g.mul(a, b), div: (a, b) => g.div(a, b),
    neg: (a) => g.neg(a), square: (a) => g.square(a), pow: (a, k) => g.pow(a, k), exp: (a) => g.exp(a), log: (a) => g.log(a),
    sin: (a) => g.sin(a), cos: (a) => g.cos(a), tanh: (a) => g.tanh(a), sigmoid: (a) => g.sigmoid(a), relu: (a) => g.relu(a),
    c: (v) => g.constant(v),
  };
}

const tfOps: Ops<tf.Tensor> = {
  add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, neg: tf.neg, square: tf.square, pow: (a, k) => tf.pow(a, k),
  exp: tf.exp, log: tf.log, sin: tf.sin, cos: tf.cos, tanh: tf.tanh, sigmoid: tf.sigmoid, relu: tf.relu, c: (v) => tf.scalar(v),
};

const cases: { name: string; at: number[]; f: <T>(o: Ops<T>, x: T[]) => T }[] = [
  { name: "(x1 + x2)(x2 + 1)", at: [2, 3], f: (o, [a, b]) => o.mul(o.add(a!, b!), o.add(b!, o.c(1))) },
  { name: "sin(x1) x2 + exp(x1 / x2)", at: [0.7, 1.9], f: (o, [a, b]) => o.add(o.mul(o.sin(a!), b!), o.exp(o.div(a!, b!))) },
  { name: "log(x1^2 + 1) - cos(x1 x2)", at: [1.3, -0.4], f: (o, [a, b]) => o.sub(o.log(o.add(o.square(a!), o.c(1))), o.cos(o.mul(a!, b!))) },
  { name: "(sigmoid(w x + b) - 1)^2", at: [1.5, -0.8, 0.3], f: (o, [x, w, b]) => o.square(o.sub(o.sigmoid(o.add(o.mul(w!, x!), b!)), o.c(1))) },
  { name: "tanh(x1) relu(x2) - x1^3 / -x2", at: [0.4, 2.2], f: (o, [a, b]) => o.sub(o.mul(o.tanh(a!), o.relu(b!)), o.div(o.pow(a!, 3), o.neg(b!))) },
  { name: "x^1.5 (reused three times)", at: [2.5], f: (o, [a]) => o.mul(o.pow(a!, 1.5), o.add(a!, o.square(a!))) },
];

describe("ScalarGraph gradients agree with tf.grads", () => {
  for (const c of cases) {
    it(c.name, () => {
      const g = new ScalarGraph();
      const xs = c.at.map((v, i) => g.input(`x${i + 1}`, v));
      const F = c.f(graphOps(g), xs);
      g.backward(F);
      const tfValue = c.f(tfOps, c.at.map((v) => tf.scalar(v))).dataSync()[0]!;
      const tfGrads = tf.grads((...ts: tf.Tensor[]) => c.f(tfOps, ts))(c.at.map((v) => tf.scalar(v)));
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
      expect(rel(F.value, tfValue)).toBeLessThan(1e-5);
      xs.forEach((x, i) => expect(rel(x.grad!, tfGrads[i]!.dataSync()[0]!)).toBeLessThan(1e-5));
    });
  }
});

describe("ScalarGraph gradients agree with float64 finite differences", () => {
  for (const c of cases) {
    it(c.name, () => {
      const run = (at: readonly number[]) => {
        const g = new ScalarGraph();
        const xs = at.map((v, i) => g.input(`x${i + 1}`, v));
        const F = c.f(graphOps(g), xs);
        g.backward(F);
        return { value: F.value, grads: xs.map((x) => x.grad!) };
      };
      const report = checkNumericGradient((x) => run(x).value, (x) => run(x).grads, c.at, new Rng(1));
      expect(report.pass, report.summary).toBe(true);
      expect(report.first!.maxRelError).toBeLessThan(1e-7);
    });
  }

  it("the float64 check catches an off-by-a-little gradient that float32 tolerances would let through", () => {
    const f = (x: readonly number[]) => x[0]! * x[0]! * x[1]!;
    const wrong = (x: readonly number[]) => [2 * x[0]! * x[1]! * (1 + 1e-4), x[0]! * x[0]!];
    expect(checkNumericGradient(f, wrong, [1.2, 0.7], new Rng(2)).pass).toBe(false);
    expect(checkNumericGradient(f, wrong, [1.2, 0.7], new Rng(2), { dtype: "float32" }).pass).toBe(true);
  });
});
