/**
 * Anti-aliased image downsampling, the separable Lanczos-3 filter of PIL's `Image.resize(..., LANCZOS)`, which the
 * Omniglot few-shot literature uses to go from 105×105 to 28×28 (Finn et al. 2017's resize script; Vinyals et al. 2016).
 */

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function lanczos3(x: number): number {
  return Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0;
}

type Coefficients = { start: number; weights: Float64Array }[];
const memo = new Map<string, Coefficients>();

/** Per output index: first source index and normalised weights (PIL's precompute_coeffs, support widened by the scale). */
function coefficients(inSize: number, outSize: number): Coefficients {
  const key = `${inSize}>${outSize}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 3 * filterScale;
  const out: { start: number; weights: Float64Array }[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    const w = new Float64Array(hi - lo);
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const v = lanczos3((j - center + 0.5) / filterScale);
      w[j - lo] = v;
      sum += v;
    }
    if (sum !== 0) for (let j = 0; j < w.length; j++) w[j]! /= sum;
    out.push({ start: lo, weights: w });
  }
  memo.set(key, out);
  return out;
}

/** Resizes a single-channel image `src` [height][width] (row-major) to [outHeight][outWidth] with Lanczos-3; values are not clamped. */
export function resizeLanczos(src: Float32Array, width: number, height: number, outWidth: number, outHeight: number): Float32Array {
  if (src.length !== width * height) throw new Error(`resizeLanczos: ${src.length} pixels do not make a ${width}×${height} image.`);
  if (!(outWidth >= 1 && outHeight >= 1)) throw new Error(`resizeLanczos: output size must be positive, got ${outWidth}×${outHeight}.`);
  if (outWidth === width && outHeight === height) return Float32Array.from(src);
  const cx = coefficients(width, outWidth);
  const cy = coefficients(height, outHeight);
  const tmp = new Float64Array(height * outWidth); // horizontal pass: [height][outWidth]
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < outWidth; x++) {
      const { start, weights } = cx[x]!;
      let s = 0;
      for (let k = 0; k < weights.length; k++) s += weights[k]! * src[y * width + start + k]!;
      tmp[y * outWidth + x] = s;
    }
  }
  const out = new Float32Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const { start, weights } = cy[y]!;
    for (let x = 0; x < outWidth; x++) {
      let s = 0;
      for (let k = 0; k < weights.length; k++) s += weights[k]! * tmp[(start + k) * outWidth + x]!;
      out[y * outWidth + x] = s;
    }
  }
  return out;
}
