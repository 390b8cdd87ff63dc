/**
 * Where the tests find the real Omniglot archives: `METALAB_OMNIGLOT_DIR`, else `../shared/data/omniglot` beside the
 * project root (how CI lays out the clone). Missing data skips the real-data tests on a developer's machine and
 * FAILS them in CI (`CI=true`), so CI can never pass without having read the data.
 */
import { existsSync } from "fs";
import * as path from "path";
import { it } from "vitest";

const root = path.resolve(__dirname, "..", "..");

/** The folder with the Omniglot archives, or null if there is none. */
export function sharedOmniglotDir(): string | null {
  const dir = process.env.METALAB_OMNIGLOT_DIR ? path.resolve(process.env.METALAB_OMNIGLOT_DIR) : path.resolve(root, "..", "shared", "data", "omniglot");
  return existsSync(path.join(dir, "images_background_small1.zip")) && existsSync(path.join(dir, "all_runs.zip")) ? dir : null;
}

/** True when CI=true (CI must not skip). */
export const inCi = (process.env.CI ?? "").toLowerCase() === "true" || process.env.CI === "1";

/** Message of a missing-data failure or skip. */
export const missingDataMessage = `Omniglot archives not found: set METALAB_OMNIGLOT_DIR or put images_background_small{1,2}.zip and all_runs.zip in ${path.resolve(root, "..", "shared", "data", "omniglot")}.`;

/** Registers a test that FAILS in CI and is skipped elsewhere when the real data is missing. */
export function requireSharedData(): void {
  if (sharedOmniglotDir() !== null) return;
  if (inCi) {
    it("finds the Omniglot archives (CI=true: missing data is a failure)", () => {
      throw new Error(missingDataMessage);
    });
  } else {
    it.skip(`real-data tests skipped: ${missingDataMessage}`, () => {});
  }
}
