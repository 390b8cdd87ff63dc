/**
 * A 2-D convolution that TensorFlow.js can differentiate to any order on every backend. tfjs 4.22 has no gradient for
 * `Conv2DBackpropFilter` (so `grad(grad(f))` through `tf.conv2d` throws) and the wasm backend has no
 * `Conv2DBackpropFilter` kernel at all (so even the first-order filter gradient throws there). Here three custom ops,
 * the convolution and its two adjoints, define each other's gradients, and the filter gradient runs as a dilated
 * `tf.conv2d` of transposed tensors, so every backend computes every order with its fast native convolution.
 */
import * as tf from "@tensorflow/tfjs";

type Grad = tf.GradSaveFunc;

/** "valid" convolution: x [n, h, w, in], filter [k, k, in, out] to [n, (h-k)/s+1, (w-k)/s+1, out]. */
export function convValid(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | Grad)[]) => {
    const [xx, ff, save] = args as [tf.Tensor4D, tf.Tensor4D, Grad];
    save([xx, ff]);
    return {
      value: tf.conv2d(xx, ff, stride, "valid"),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
        const g = dy as tf.Tensor4D;
        return [convInputAdjoint(g, sf, sx.shape, stride), convFilterAdjoint(sx, g, sf.shape, stride)];
      },
    };
  });
  return op(x, filter) as tf.Tensor4D;
}

/** d<dy, conv(x, filter)>/dx: dy [n, oh, ow, out], filter [k, k, in, out] to [n, h, w, in] (a transposed convolution). */
export function convInputAdjoint(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: readonly [number, number, number, number], stride: number): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | Grad)[]) => {
    const [gy, ff, save] = args as [tf.Tensor4D, tf.Tensor4D, Grad];
    save([gy, ff]);
    return {
      value: transposedConv(gy, ff, xShape, stride),
      gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sy, sf] = saved as [tf.Tensor4D, tf.Tensor4D];
        const gx = g as tf.Tensor4D; // cotangent shaped like x
        return [convValid(gx, sf, stride), convFilterAdjoint(gx, sy, sf.shape, stride)];
      },
    };
  });
  return op(dy, filter) as tf.Tensor4D;
}

/** Inserts `stride - 1` zeros between the rows and the columns of dy [n, oh, ow, c]: [n, s(oh-1)+1, s(ow-1)+1, c]. */
function dilate(dy: tf.Tensor4D, stride: number): tf.Tensor4D {
  if (stride === 1) return dy;
  const [n, oh, ow, c] = dy.shape;
  const zr = tf.zeros([n, oh, ow * c]);
  const rows = tf.reshape(tf.stack([tf.reshape(dy, [n, oh, ow * c]), ...Array.from({ length: stride - 1 }, () => zr)], 2), [n, oh * stride, ow, c]);
  const zc = tf.zeros([n * oh * stride, ow, c]);
  const both = tf.reshape(tf.stack([tf.reshape(rows, [n * oh * stride, ow, c]), ...Array.from({ length: stride - 1 }, () => zc)], 2), [n, oh * stride, ow * stride, c]);
  return tf.slice(both, [0, 0, 0, 0], [n, stride * (oh - 1) + 1, stride * (ow - 1) + 1, c]) as tf.Tensor4D;
}

/**
 * The transposed convolution as a plain convolution (tfjs's wasm Conv2DBackpropInput is about 10x slower than its
 * conv2d): the zero-dilated dy, padded by k-1, convolved with the filter rotated by 180° with in/out swapped.
 */
function transposedConv(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: readonly [number, number, number, number], stride: number): tf.Tensor4D {
  const [k, kw] = filter.shape;
  const d = dilate(dy, stride);
  const padded = tf.pad(d, [[0, 0], [k - 1, k - 1], [kw - 1, kw - 1], [0, 0]]) as tf.Tensor4D;
  const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [k, k, out, in]
  const full = tf.conv2d(padded, rotated, 1, "valid"); // [n, s(oh-1)+k, s(ow-1)+k, in]
  const [, fh, fw] = full.shape;
  return tf.pad(full, [[0, 0], [0, xShape[1] - fh], [0, xShape[2] - fw], [0, 0]]) as tf.Tensor4D; // rows past the last window get no gradient
}

/**
 * d<dy, conv(x, filter)>/dfilter: x [n, h, w, in], dy [n, oh, ow, out] to [k, k, in, out], computed as a dilated
 * convolution of x^T [in, h, w, n] with dy^T [oh, ow, n, out] (dilation = stride), cropped to k × k.
 */
export function convFilterAdjoint(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: readonly [number, number, number, number], stride: number): tf.Tensor4D {
  const [k, kw] = filterShape;
  const op = tf.customGrad((...args: (tf.Tensor | Grad)[]) => {
    const [xx, gy, save] = args as [tf.Tensor4D, tf.Tensor4D, Grad];
    save([xx, gy]);
    const xt = tf.transpose(xx, [3, 1, 2, 0]) as tf.Tensor4D; // [in, h, w, n]
    const yt = tf.transpose(gy, [1, 2, 0, 3]) as tf.Tensor4D; // [oh, ow, n, out]
    const full = tf.conv2d(xt, yt, 1, "valid", "NHWC", stride); // [in, h - s(oh-1), w - s(ow-1), out]
    const cropped = tf.slice(full, [0, 0, 0, 0], [full.shape[0], k, kw, full.shape[3]]); // [in, k, k, out]
    return {
      value: tf.transpose(cropped, [1, 2, 0, 3]) as tf.Tensor4D, // [k, k, in, out]
      gradFunc: (g: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        const gf = g as tf.Tensor4D; // cotangent shaped like the filter
        return [convInputAdjoint(sy, gf, sx.shape, stride), convValid(sx, gf, stride)];
      },
    };
  });
  return op(x, dy) as tf.Tensor4D;
}

/** Padding of "same" convolution (TensorFlow's split: the odd row or column goes at the bottom or right). */
export function samePadding(side: number, kernel: number, stride: number): { out: number; before: number; after: number } {
  const out = Math.ceil(side / stride);
  const total = Math.max((out - 1) * stride + kernel - side, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** "same" convolution with correct derivatives of every order: x [n, h, w, in], filter [k, k, in, out]. */
export function conv2dSame(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const k = filter.shape[0];
  const py = samePadding(h, k, stride);
  const px = samePadding(w, filter.shape[1], stride);
  const xp = tf.pad(x, [[0, 0], [py.before, py.after], [px.before, px.after], [0, 0]]) as tf.Tensor4D;
  return convValid(xp, filter, stride);
}
