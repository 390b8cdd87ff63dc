/** Where metalab's own committed bench results live, in a checkout and in the npm package alike. */
import { existsSync } from "fs";
import * as path from "path";

/** metalab's own bench/results/<name>: the nearest one above `from` (a checkout or the installed npm package). */
export function benchResultsFile(name: string, from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const f = path.join(dir, "bench", "results", name);
    if (existsSync(f)) return f;
    if (path.dirname(dir) === dir) return path.join(from, "bench", "results", name);
  }
}
