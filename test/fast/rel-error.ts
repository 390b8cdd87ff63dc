/** Test helper shared by the fast-path tests. */
import type { Params } from "../../src/core/params";

/** Relative error ||a - b|| / ||b|| over all parameters together. */
export function relError(a: Params, b: Params): number {
  let num = 0;
  let den = 0;
  for (const k of Object.keys(b)) {
    const x = a[k]!.dataSync();
    const y = b[k]!.dataSync();
    for (let i = 0; i < y.length; i++) {
      num += (x[i]! - y[i]!) ** 2;
      den += y[i]! ** 2;
    }
  }
  return Math.sqrt(num / den);
}
