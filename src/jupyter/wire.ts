/**
 * The Jupyter messaging wire format (protocol 5.3): multipart frames signed with HMAC-SHA256.
 * https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";

/** The delimiter between routing identities and the signed message. */
export const DELIMITER = Buffer.from("<IDS|MSG>");

/** A message header. */
export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded Jupyter message; `content` is left loosely typed and checked by readers. */
export interface JupyterMessage {
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  buffers: Buffer[];
}

/** HMAC-SHA256 over header, parent, metadata, content, as lowercase hex; "" when the key is empty. */
export function sign(key: string, parts: ReadonlyArray<Buffer | string>): string {
  if (key === "") return "";
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** Whether `signature` is the HMAC of `parts` under `key`, compared in constant time; always true when the key is empty. */
export function verify(key: string, parts: ReadonlyArray<Buffer | string>, signature: string): boolean {
  if (key === "") return true;
  const want = Buffer.from(sign(key, parts), "ascii");
  const got = Buffer.from(signature, "ascii");
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Builds a new message with a fresh id. */
export function newMessage(
  msgType: string,
  content: Record<string, unknown>,
  session: string,
  parent: Partial<MessageHeader> = {},
): JupyterMessage {
  return {
    header: {
      msg_id: randomUUID(),
      session,
      username: "metalab",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
    },
    parent_header: parent,
    metadata: {},
    content,
    buffers: [],
  };
}

/** Encodes a message into frames (no routing identities: for DEALER sockets). */
export function encodeMessage(msg: JupyterMessage, key: string): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) => Buffer.from(JSON.stringify(p)));
  return [DELIMITER, Buffer.from(sign(key, parts)), ...parts, ...msg.buffers];
}

function parseObject(b: Buffer, what: string): Record<string, unknown> {
  const v: unknown = JSON.parse(b.toString("utf8"));
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`Jupyter message ${what} is not an object`);
  return v as Record<string, unknown>;
}

function isHeader(x: Record<string, unknown>): x is Record<string, unknown> & MessageHeader {
  return typeof x.msg_id === "string" && typeof x.msg_type === "string";
}

/** Decodes frames (any routing prefix), verifying the signature in constant time; throws on a bad message. */
export function decodeMessage(frames: Buffer[], key: string): JupyterMessage {
  const at = frames.findIndex((f) => f.equals(DELIMITER));
  const [signature, rawHeader, rawParent, rawMetadata, rawContent] = at < 0 ? [] : frames.slice(at + 1, at + 6);
  if (signature === undefined || rawHeader === undefined || rawParent === undefined || rawMetadata === undefined || rawContent === undefined) {
    throw new Error("Jupyter message without <IDS|MSG> delimiter or parts");
  }
  const parts = [rawHeader, rawParent, rawMetadata, rawContent];
  if (!verify(key, parts, signature.toString("ascii"))) {
    throw new Error("Jupyter message with an invalid HMAC signature (wrong key or tampered message)");
  }
  const header = parseObject(rawHeader, "header");
  if (!isHeader(header)) throw new Error("Jupyter message header lacks msg_id or msg_type");
  return {
    header,
    parent_header: parseObject(rawParent, "parent_header"),
    metadata: parseObject(rawMetadata, "metadata"),
    content: parseObject(rawContent, "content"),
    buffers: frames.slice(at + 6),
  };
}
