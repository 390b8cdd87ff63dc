/**
 * Named-tensor records as one flat float32 vector and back: the fast paths keep parameters, learned rates and Adam
 * moments packed, and make tensors only when someone asks for them.
 */
import * as tf from "@tensorflow/tfjs";
import type { Params } from "../core/params";
import { layerParamNames } from "../models/mlp";

/** Where each named tensor lives in a flat vector. */
export interface Layout {
  readonly names: readonly string[];
  readonly shapes: readonly (readonly number[])[];
  readonly offsets: readonly number[];
  readonly size: number;
}

/** A layout of named shapes, packed in the given order. */
export function layoutOf(entries: readonly (readonly [string, readonly number[]])[]): Layout {
  const offsets: number[] = [];
  let off = 0;
  for (const [, shape] of entries) {
    offsets.push(off);
    off += shape.reduce((a, b) => a * b, 1);
  }
  return { names: entries.map((e) => e[0]), shapes: entries.map((e) => [...e[1]]), offsets, size: off };
}

/** The MLP layout `w0 [in, out], b0 [out], w1, b1, ...` of these layer widths. */
export function mlpLayout(sizes: readonly number[]): Layout {
  const entries: [string, number[]][] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [w, b] = layerParamNames(l);
    entries.push([w, [sizes[l]!, sizes[l + 1]!]], [b, [sizes[l + 1]!]]);
  }
  return layoutOf(entries);
}

/** Concatenates two layouts (the second one's offsets shifted). */
export function concatLayouts(a: Layout, b: Layout): Layout {
  return { names: [...a.names, ...b.names], shapes: [...a.shapes, ...b.shapes], offsets: [...a.offsets, ...b.offsets.map((o) => o + a.size)], size: a.size + b.size };
}

/** Reads the record's tensors into one float32 vector laid out as `layout`. */
export function pack(params: Params, layout: Layout, out: Float32Array = new Float32Array(layout.size)): Float32Array {
  layout.names.forEach((k, i) => {
    const t = params[k];
    if (!t) throw new Error(`pack: parameter "${k}" is missing; got [${Object.keys(params).join(", ")}]. Build params with initMlp for the same sizes.`);
    const n = layout.shapes[i]!.reduce((a, b) => a * b, 1);
    if (t.size !== n) throw new Error(`pack: "${k}" has shape [${t.shape}], expected [${layout.shapes[i]}]. Build params with initMlp for the same sizes.`);
    out.set(t.dataSync(), layout.offsets[i]!);
  });
  return out;
}

/** New float32 tensors for the entries of a flat vector (the caller owns them). */
export function unpack(flat: ArrayLike<number>, layout: Layout): Params {
  const out: Record<string, tf.Tensor> = {};
  layout.names.forEach((k, i) => {
    const shape = layout.shapes[i]!;
    const off = layout.offsets[i]!;
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let j = 0; j < n; j++) data[j] = flat[off + j]!;
    out[k] = tf.tensor(data, [...shape], "float32");
  });
  return out;
}

/** Flattens `w0, b0, w1, b1, ...` into one float32 vector, layer by layer (row-major [in, out] then [out]). */
export function packParams(params: Params, sizes: readonly number[]): Float32Array {
  return pack(params, mlpLayout(sizes));
}

/** Inverse of `packParams`: float32 tensors `w0 [in, out], b0 [out], ...`. */
export function unpackParams(theta: ArrayLike<number>, sizes: readonly number[]): Params {
  return unpack(theta, mlpLayout(sizes));
}

/** The entries of `layout` named in `names`, at their offsets in the full vector (for moments of a subset). */
export function subLayout(layout: Layout, names: readonly string[]): Layout {
  const idx = names.map((k) => {
    const i = layout.names.indexOf(k);
    if (i < 0) throw new Error(`subLayout: "${k}" is not in [${layout.names.join(", ")}].`);
    return i;
  });
  return { names: [...names], shapes: idx.map((i) => layout.shapes[i]!), offsets: idx.map((i) => layout.offsets[i]!), size: layout.size };
}
