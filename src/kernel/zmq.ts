/**
 * The zeromq module the kernel uses: the copy tslab was installed with (it may not be hoisted to the top level).
 */
import { createRequire } from "module";
import type * as Zmq from "zeromq";

/** Loads zeromq through tslab's own resolution (the copy tslab was installed with). */
export function loadZmq(): typeof Zmq {
  let req: NodeRequire = require;
  try {
    req = createRequire(require.resolve("tslab/package.json"));
  } catch {
    // tslab not resolvable from here: use a top-level zeromq.
  }
  return req("zeromq") as typeof Zmq;
}
