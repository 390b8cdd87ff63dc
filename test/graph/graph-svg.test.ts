import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { graphToSvg } from "../../src/graph/graph-svg";
import { ScalarGraph, traceScalar } from "../../src/graph/scalar-graph";

function example(): ScalarGraph {
  const g = new ScalarGraph();
  const x1 = g.input("x1", 2);
  const x2 = g.input("x2", 3);
  const F = g.mul(g.add(x1, x2), g.add(x2, g.constant(1))).named("F");
  g.backward(F);
  return g;
}

/** Checks that every opened tag is closed in order (enough to catch broken markup without an XML parser). */
function expectBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
}

describe("graphToSvg", () => {
  it("is balanced, standalone SVG with sans-serif text", () => {
    const svg = graphToSvg(example(), { title: "F(x1, x2) = (x1 + x2)(x2 + 1)" });
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toMatch(/font-family="[^"]*DejaVu Sans, sans-serif"/);
    expect(svg).not.toMatch(/href="http|<script|<image/);
    expectBalanced(svg);
  });

  it("shows every node's label, value and adjoint, and one arrow per edge", () => {
    const svg = graphToSvg(example());
    for (const s of ["x1 (input)", "x1 = 2", "∂F/∂x1 = 4", "x2 = 3", "∂F/∂x2 = 9", "v1 = x1 + x2", "v1 = 5", "v2 = x2 + 1", "∂F/∂v2 = 5", "F = v1 × v2", "F = 20", "∂F/∂F = 1"]) {
      expect(svg).toContain(s);
    }
    expect(svg.match(/marker-end=/g)?.length).toBe(6); // x1, x2 into v1; x2, 1 into v2; v1, v2 into F: 6 edges
  });

  it("is deterministic: the same graph gives byte-identical SVG", () => {
    expect(graphToSvg(example())).toBe(graphToSvg(example()));
    const t = () => traceScalar((x, w, b) => x!.mul(w!).add(b!).sigmoid().sub(1).square(), { x: 1.5, w: -0.8, b: 0.3 }).graph;
    expect(graphToSvg(t(), { edgeLabels: true })).toBe(graphToSvg(t(), { edgeLabels: true }));
  });

  it("omits adjoints before backward or when asked, and escapes XML in labels", () => {
    const g = new ScalarGraph();
    const a = g.input("a<b", 1);
    g.exp(a);
    const svg = graphToSvg(g);
    expect(svg).not.toContain("∂");
    expect(svg).toContain("a&lt;b");
    expectBalanced(svg);
    expect(graphToSvg(example(), { showGrads: false })).not.toContain("∂F");
  });

  it("edge labels show local partials", () => {
    const svg = graphToSvg(example(), { edgeLabels: true });
    expect(svg).toContain("∂F/∂v1 = 4"); // local dF/dv1 = v2 = 4
    expect(svg).toContain("∂v1/∂x2 = 1");
    expectBalanced(svg);
  });

  it("renders to PNG with resvg (no browser)", () => {
    const png = new Resvg(graphToSvg(example()), { font: { loadSystemFonts: true, sansSerifFamily: "DejaVu Sans" } }).render().asPng();
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(png.length).toBeGreaterThan(5000);
  });
});
