/**
 * Renders a ScalarGraph as a standalone SVG string: a layered left-to-right DAG (Sugiyama-style layers, barycentre
 * ordering), one box per node with its expression, value and adjoint, and arrows for edges. No browser, no dependencies.
 */
import { checkBoolean, checkConfig, checkPositive } from "../core/validate";
import { formatNumber, type ScalarGraph, type ScalarNode } from "./scalar-graph";

/** Options of `graphToSvg`. */
export interface GraphSvgOptions {
  /** Title drawn above the graph; none by default. */
  readonly title?: string;
  /** Show adjoints (after `backward`); true by default, since the figure exists to teach them. */
  readonly showGrads?: boolean;
  /** Label each edge with the local partial d(target)/d(source); false by default to keep small figures clean. */
  readonly edgeLabels?: boolean;
  /** Font size in px of the node text; 14 reads well in a notebook at 100% zoom. */
  readonly fontSize?: number;
  /** Horizontal gap between layers in px; 70 leaves room for arrows (and edge labels). */
  readonly layerGap?: number;
  /** Vertical gap between boxes in a layer in px; 26 keeps boxes visually separate. */
  readonly rowGap?: number;
}

interface Box {
  readonly node: ScalarNode;
  readonly layer: number;
  readonly lines: readonly Line[];
  readonly w: number;
  readonly h: number;
  x: number;
  y: number;
}

interface Line {
  readonly text: string;
  readonly kind: "title" | "value" | "grad";
}

/** A box, or a dummy point that a long edge passes through in a layer it crosses. */
interface Item {
  readonly box: Box | null;
  readonly layer: number;
  readonly h: number;
  readonly preds: Item[];
  readonly succs: Item[];
  readonly key: number;
  x: number;
  y: number;
}

/**
 * Explicit sans-serif families before the generic one: resvg-js 2.6 here draws a bare "sans-serif" with a serif face
 * and no bold (measured), whereas this list renders in DejaVu Sans; browsers pick Helvetica or Arial.
 */
const FONT_FAMILY = "Helvetica, Arial, DejaVu Sans, sans-serif";

/** Height reserved for a long edge passing through a layer. */
const DUMMY_H = 8;

const COLORS = {
  input: { fill: "#e3efff", stroke: "#3b6fb6" },
  const: { fill: "#f2f2f2", stroke: "#8a8a8a" },
  op: { fill: "#fffaf0", stroke: "#b58a2e" },
  output: { fill: "#e6f6e6", stroke: "#2e8b3a" },
  text: "#1a1a1a",
  grad: "#b03a2e",
  edge: "#5a5a5a",
} as const;

/** Escapes text for XML content and attribute values. */
function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Approximate rendered width of text in DejaVu/Helvetica-like sans-serif (in em per glyph; deterministic, no font metrics). */
function textWidth(s: string, fontSize: number, bold = false): number {
  let w = 0;
  for (const ch of s) w += /[il.,:;|'!]/.test(ch) ? 0.3 : /[ ()\[\]]/.test(ch) ? 0.38 : /[mwMW]/.test(ch) ? 0.92 : /[×=+−<>∂²]/.test(ch) ? 0.84 : /[A-Z]/.test(ch) ? 0.7 : 0.62;
  return w * fontSize * (bold ? 1.1 : 1);
}

/** Layer of each node: ops one right of their deepest non-constant input; constants just left of their first consumer. */
function layers(g: ScalarGraph): number[] {
  const layer = g.nodes.map(() => 0);
  for (const n of g.nodes) {
    if (n.op === "input" || n.op === "const") continue;
    const deps = n.inputs.filter((i) => i.op !== "const");
    layer[n.id] = deps.length ? 1 + Math.max(...deps.map((i) => layer[i.id]!)) : 1;
  }
  const consumers = g.nodes.map((): number[] => []);
  for (const n of g.nodes) for (const i of n.inputs) consumers[i.id]!.push(n.id);
  for (const n of g.nodes) {
    if (n.op !== "const") continue;
    const cs = consumers[n.id]!;
    layer[n.id] = cs.length ? Math.max(0, Math.min(...cs.map((c) => layer[c]!)) - 1) : 0;
  }
  return layer;
}

function linesFor(n: ScalarNode, g: ScalarGraph, showGrads: boolean): Line[] {
  const out = g.output;
  if (n.op === "const") return [{ text: formatNumber(n.value), kind: "title" }];
  const title = n.op === "input" ? `${n.label} (input)` : `${n.label} = ${n.expression()}`;
  const lines: Line[] = [{ text: title, kind: "title" }, { text: `${n.label} = ${formatNumber(n.value)}`, kind: "value" }];
  if (showGrads && out && n.grad !== null) lines.push({ text: `∂${out.label}/∂${n.label} = ${formatNumber(n.grad)}`, kind: "grad" });
  return lines;
}

/** Checks `graphToSvg`'s options: unknown keys are errors listing the known ones, sizes positive, switches booleans. */
export function graphSvgOptions(o: GraphSvgOptions): GraphSvgOptions {
  const WHO = "graphToSvg";
  checkConfig(WHO, o, { title: true, showGrads: true, edgeLabels: true, fontSize: true, layerGap: true, rowGap: true } satisfies { readonly [K in keyof GraphSvgOptions]-?: true }, { hint: "Pass e.g. { showGrads: true }.", keysWho: `${WHO} options` });
  if (o.title !== undefined && typeof o.title !== "string") throw new Error(`${WHO} title must be a string, got ${String(o.title)}.`);
  for (const k of ["showGrads", "edgeLabels"] as const) if (o[k] !== undefined) checkBoolean(WHO, k, o[k]);
  for (const k of ["fontSize", "layerGap", "rowGap"] as const) {
    const v = o[k];
    if (v !== undefined) checkPositive(WHO, k, v, "A size in pixels; leave it out for the default.");
  }
  return o;
}

/** Renders `g` as an SVG document string; identical input gives byte-identical output. */
export function graphToSvg(g: ScalarGraph, options: GraphSvgOptions = {}): string {
  graphSvgOptions(options);
  if (g.nodes.length === 0) throw new Error("graphToSvg: the graph is empty; build it with g.input(...) and operations first.");
  const fs = options.fontSize ?? 14;
  const edgeText = (to: ScalarNode, slot: number) => `∂${to.label}/∂${to.inputs[slot]!.label} = ${formatNumber(to.localGrads()[slot]!)}`;
  // With edge labels, each gap is wide enough for the widest label plus room for the arrowhead.
  const widestLabel = options.edgeLabels ? Math.max(0, ...g.nodes.flatMap((n) => n.inputs.map((_, j) => textWidth(edgeText(n, j), fs * 0.8)))) : 0;
  const layerGap = options.layerGap ?? (options.edgeLabels ? Math.max(110, widestLabel + 44) : 70);
  const rowGap = options.rowGap ?? 26;
  const showGrads = options.showGrads ?? true;
  const lineH = Math.round(fs * 1.45);
  const padX = Math.round(fs * 0.8);
  const padY = Math.round(fs * 0.55);
  const margin = 20;
  const titleH = options.title ? Math.round(fs * 2.4) : 0;

  const layer = layers(g);
  const boxes: Box[] = g.nodes.map((n) => {
    const lines = linesFor(n, g, showGrads);
    if (n.op === "const") {
      const d = Math.max(textWidth(lines[0]!.text, fs) + padX * 1.4, lineH + padY * 2);
      return { node: n, layer: layer[n.id]!, lines, w: d, h: d, x: 0, y: 0 };
    }
    const w = Math.max(...lines.map((l) => (l.kind === "title" ? textWidth(l.text, fs * 1.04, true) : textWidth(l.text, fs)))) + 2 * padX;
    return { node: n, layer: layer[n.id]!, lines, w, h: lines.length * lineH + 2 * padY, x: 0, y: 0 };
  });

  // Long edges get one dummy item per layer they cross, so they are routed between boxes rather than under them.
  const items: Item[] = boxes.map((b) => ({ box: b, layer: b.layer, h: b.h, preds: [], succs: [], x: 0, y: 0, key: b.node.id }));
  const routes: { from: ScalarNode; to: ScalarNode; slot: number; via: Item[] }[] = [];
  let dummyKey = g.nodes.length;
  for (const n of g.nodes) {
    n.inputs.forEach((inp, slot) => {
      const via: Item[] = [];
      let prev = items[inp.id]!;
      for (let l = layer[inp.id]! + 1; l < layer[n.id]!; l++) {
        const d: Item = { box: null, layer: l, h: DUMMY_H, preds: [prev], succs: [], x: 0, y: 0, key: dummyKey++ };
        prev.succs.push(d);
        items.push(d);
        via.push(d);
        prev = d;
      }
      const target = items[n.id]!;
      prev.succs.push(target);
      target.preds.push(prev);
      routes.push({ from: inp, to: n, slot, via });
    });
  }

  // Order within layers by creation, then barycentre sweeps (left to right, then right to left) to reduce crossings.
  const nLayers = Math.max(...layer) + 1;
  const byLayer: Item[][] = Array.from({ length: nLayers }, () => []);
  for (const it of items) byLayer[it.layer]!.push(it);
  const order = new Map<Item, number>();
  const setOrder = () => byLayer.forEach((col) => col.forEach((it, i) => order.set(it, i)));
  setOrder();
  const mean = (xs: readonly number[], fallback: number) => (xs.length ? xs.reduce((a, c) => a + c, 0) / xs.length : fallback);
  for (let sweep = 0; sweep < 6; sweep++) {
    const forward = sweep % 2 === 0;
    for (let li = forward ? 1 : nLayers - 2; forward ? li < nLayers : li >= 0; li += forward ? 1 : -1) {
      const keyed = byLayer[li]!.map((it) => ({ it, k: mean((forward ? it.preds : it.succs).map((m) => order.get(m)!), order.get(it)!) }));
      keyed.sort((p, q) => p.k - q.k || p.it.key - q.it.key);
      byLayer[li] = keyed.map((e) => e.it);
      setOrder();
    }
  }

  // Columns: x from the widest box of each layer. Rows: stacked, then pulled toward their neighbours' centres.
  const colW = byLayer.map((col) => Math.max(...col.map((it) => it.box?.w ?? 0), 0));
  let x = margin;
  byLayer.forEach((col, li) => {
    for (const it of col) it.x = x;
    x += colW[li]! + layerGap;
  });
  const gapAfter = (a: Item, b: Item) => (a.box && b.box ? rowGap : rowGap / 2);
  const stack = (col: Item[], desired: readonly number[]) => {
    // Place in order without overlap, each as close to its desired top as the one above allows, then recentre.
    let bottom = -Infinity;
    col.forEach((it, i) => {
      it.y = i === 0 ? desired[0]! : Math.max(desired[i]!, bottom + gapAfter(col[i - 1]!, it));
      bottom = it.y + it.h;
    });
    const shift = mean(col.map((it, i) => it.y - desired[i]!), 0);
    for (const it of col) it.y -= shift;
  };
  for (const col of byLayer) {
    let y = 0;
    stack(col, col.map((it) => { const t = y; y += it.h + rowGap; return t; }));
  }
  for (let round = 0; round < 4; round++) {
    const forward = round % 2 === 0;
    for (let li = forward ? 1 : nLayers - 2; forward ? li < nLayers : li >= 0; li += forward ? 1 : -1) {
      const col = byLayer[li]!;
      stack(col, col.map((it) => {
        const nb = forward ? it.preds : it.succs;
        return mean(nb.map((m) => m.y + m.h / 2), it.y + it.h / 2) - it.h / 2;
      }));
    }
  }
  const top = Math.min(...items.map((it) => it.y));
  const bottom = Math.max(...items.map((it) => it.y + it.h));
  for (const it of items) it.y += margin + titleH - top;
  for (const b of boxes) {
    const it = items[b.node.id]!;
    b.x = it.x + (colW[b.layer]! - b.w) / 2;
    b.y = it.y;
  }
  const width = Math.ceil(x - layerGap + margin);
  const height = Math.ceil(margin * 2 + titleH + bottom - top);

  const r = (v: number) => Number(v.toFixed(1));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" font-size="${fs}">`);
  parts.push(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${COLORS.edge}"/></marker></defs>`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title) parts.push(`<text x="${margin}" y="${r(margin + fs * 1.1)}" font-size="${r(fs * 1.2)}" font-weight="bold" fill="${COLORS.text}">${esc(options.title)}</text>`);

  // Edges first, so boxes sit on top of them. Several edges into one box enter at spread-out points.
  parts.push(`<g fill="none" stroke="${COLORS.edge}" stroke-width="1.4">`);
  const labels: string[] = [];
  for (const { from, to, slot, via } of routes) {
    const s = boxes[from.id]!;
    const b = boxes[to.id]!;
    const pts: [number, number][] = [[s.x + s.w, s.y + s.h / 2]];
    for (const d of via) pts.push([d.x, d.y + d.h / 2], [d.x + colW[d.layer]!, d.y + d.h / 2]);
    const yEnd = b.y + (b.h * (slot + 1)) / (to.inputs.length + 1);
    pts.push([b.x - 1, yEnd]);
    let d = `M${r(pts[0]![0])},${r(pts[0]![1])}`;
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1]!;
      const [x1, y1] = pts[i]!;
      // Odd segments run straight through a dummy's column; the others are S-curves with horizontal tangents.
      if (i % 2 === 0 && via.length > 0 && i < pts.length - 1) d += ` L${r(x1)},${r(y1)}`;
      else {
        const dx = Math.max(12, (x1 - x0) / 2);
        d += ` C${r(x0 + dx)},${r(y0)} ${r(x1 - dx)},${r(y1)} ${r(x1)},${r(y1)}`;
      }
    }
    parts.push(`<path d="${d}" marker-end="url(#arrow)"/>`);
    if (options.edgeLabels) {
      const text = edgeText(to, slot);
      // Label the last segment, at its midpoint, on a white plate so the curve does not strike through it.
      const [xa, ya] = pts[pts.length - 2]!;
      const [xb, yb] = pts[pts.length - 1]!;
      const lf = fs * 0.8;
      const tw = textWidth(text, lf) + 8;
      const mx = (xa + xb) / 2;
      const my = (ya + yb) / 2;
      labels.push(`<rect x="${r(mx - tw / 2)}" y="${r(my - lf * 0.75)}" width="${r(tw)}" height="${r(lf * 1.5)}" rx="4" fill="#ffffff" fill-opacity="0.92" stroke="#d0d0d0" stroke-width="0.8"/>`);
      labels.push(`<text x="${r(mx)}" y="${r(my + lf * 0.35)}" text-anchor="middle" font-size="${r(lf)}" fill="${COLORS.edge}">${esc(text)}</text>`);
    }
  }
  parts.push("</g>");
  parts.push(...labels);

  for (const b of boxes) {
    const n = b.node;
    const isOut = g.output === n;
    const c = isOut ? COLORS.output : n.op === "input" ? COLORS.input : n.op === "const" ? COLORS.const : COLORS.op;
    if (n.op === "const") {
      const cx = b.x + b.w / 2;
      const cy = b.y + b.h / 2;
      parts.push(`<g><circle cx="${r(cx)}" cy="${r(cy)}" r="${r(b.w / 2)}" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.4"/>`);
      parts.push(`<text x="${r(cx)}" y="${r(cy + fs * 0.35)}" text-anchor="middle" fill="${COLORS.text}">${esc(b.lines[0]!.text)}</text></g>`);
      continue;
    }
    parts.push(`<g><rect x="${r(b.x)}" y="${r(b.y)}" width="${r(b.w)}" height="${r(b.h)}" rx="8" ry="8" fill="${c.fill}" stroke="${c.stroke}" stroke-width="${isOut ? 2.6 : 1.4}"/>`);
    b.lines.forEach((l, i) => {
      const ty = b.y + padY + lineH * i + lineH * 0.72;
      const attrs = l.kind === "title" ? ` font-weight="bold" font-size="${r(fs * 1.04)}" fill="${COLORS.text}"` : l.kind === "grad" ? ` fill="${COLORS.grad}"` : ` fill="${COLORS.text}"`;
      parts.push(`<text x="${r(b.x + padX)}" y="${r(ty)}"${attrs}>${esc(l.text)}</text>`);
    });
    parts.push("</g>");
  }
  parts.push("</svg>");
  return parts.join("\n");
}
