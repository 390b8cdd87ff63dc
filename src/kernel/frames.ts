/**
 * Signed Jupyter wire frames for messages the kernel sends (HMAC-SHA256 over header, parent, metadata, content).
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
import { createHmac, randomBytes } from "crypto";
import { DELIMITER } from "../jupyter/wire";
import type { Frames } from "./send-queue";

/** Builds signed frames for a message replying to `parent` (header fields as Jupyter's own kernels set them). */
export function signedFrames(
  key: string,
  identities: readonly Buffer[],
  parent: Readonly<Record<string, unknown>>,
  msgType: string,
  content: Readonly<Record<string, unknown>>,
): Frames {
  const header = {
    msg_id: randomBytes(16).toString("hex"),
    username: typeof parent.username === "string" ? parent.username : "kernel",
    session: typeof parent.session === "string" ? parent.session : "",
    date: new Date().toISOString(),
    msg_type: msgType,
    version: "5.3",
  };
  const bodies = [header, parent, {}, content].map((b) => JSON.stringify(b));
  // Signed even under an empty key, as tslab signs its own replies (wire.ts `sign` would give "").
  const hmac = createHmac("sha256", key);
  for (const b of bodies) hmac.update(b);
  return [...identities, DELIMITER, hmac.digest("hex"), ...bodies];
}
