/** A test helper shared by the Omniglot experiment tests (not a test file itself). */
import { Rng } from "../../src/core/random";
import type { OmniglotImages } from "../../src/data/omniglot";

/** Tiny synthetic "characters": 8×8 images, each class a random pattern plus per-drawing noise. */
export function synthetic(seed: number, characters: number, drawings: number): OmniglotImages {
  const rng = new Rng(seed);
  const size = 8;
  const n = size * size;
  const pixels = new Uint8Array(characters * drawings * n);
  for (let c = 0; c < characters; c++) {
    const proto = rng.uniformArray(n);
    for (let d = 0; d < drawings; d++) for (let i = 0; i < n; i++) pixels[(c * drawings + d) * n + i] = Math.round(255 * Math.min(1, Math.max(0, proto[i]! + rng.normal(0, 0.1))));
  }
  return { size, drawings, characters: Array.from({ length: characters }, (_, i) => ({ alphabet: "Synthetic", name: `character${i}`, set: "background_small1" as const })), alphabets: ["Synthetic"], pixels };
}
