/**
 * tslab's ZeroMQ server with the protocol gaps of tslab 1.0.22 closed: execute_result for the last expression,
 * `error` messages and full error replies, execute_input, kernel_info status, and a correct comm_info_reply.
 */
import { createHmac, randomBytes } from "crypto";
import * as util from "util";
import { ZmqServer } from "tslab/dist/jupyter";
import { getVersion } from "tslab/dist/util";
import { socketAddress } from "../jupyter/connection";
import { DELIMITER, verify } from "../jupyter/wire";
import type { CellOutcome, CellRequest, CellRunner } from "./cell-runner";

/** A message as tslab's server passes it to its handlers (its class is not exported). */
type Message = Parameters<ZmqServer["handleExecute"]>[1];
/** A socket as tslab's server passes it to its handlers. */
type Socket = Parameters<ZmqServer["handleExecute"]>[0];
/** The shell/control socket type. */
type Router = Parameters<ZmqServer["handleShellMessage"]>[0];

/** A raw multipart message split into routing identities and its parsed header, if its signature is valid. */
export interface RawMessage {
  readonly identities: readonly Buffer[];
  readonly header: Record<string, unknown>;
}

/** Splits a raw shell message and checks its HMAC-SHA256 signature (the wire protocol); null if malformed or forged. */
export function parseRaw(frames: readonly Buffer[], key: string): RawMessage | null {
  const d = frames.findIndex((f) => f.equals(DELIMITER));
  const signature = frames[d + 1];
  const parts = frames.slice(d + 2, d + 6);
  const [rawHeader] = parts;
  if (d < 0 || signature === undefined || rawHeader === undefined || parts.length < 4) return null;
  if (!verify(key, parts, signature.toString("ascii"))) return null;
  try {
    const header: unknown = JSON.parse(rawHeader.toString());
    if (typeof header !== "object" || header === null) return null;
    return { identities: frames.slice(0, d), header: header as Record<string, unknown> };
  } catch {
    return null;
  }
}

/** Builds signed frames for a message replying to `parent`. */
export function signedFrames(
  key: string,
  identities: readonly Buffer[],
  parent: Record<string, unknown>,
  msgType: string,
  content: Record<string, unknown>,
): (Buffer | string)[] {
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

/** Which TypeScript cells are compiled with (tslab's fork). */
function typescriptVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg: unknown = require("@tslab/typescript-for-tslab/package.json");
    if (typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string") return pkg.version;
  } catch {
    // Not resolvable from here: report no version rather than a wrong one.
  }
  return "";
}

function field(content: object, name: string): unknown {
  return (content as Record<string, unknown>)[name];
}

/** Reads an execute_request's content with the protocol's defaults. */
export function readExecuteRequest(content: object): CellRequest {
  const code = field(content, "code");
  const silent = field(content, "silent") === true;
  return {
    code: typeof code === "string" ? code : "",
    silent,
    storeHistory: silent ? false : field(content, "store_history") !== false,
    stopOnError: field(content, "stop_on_error") !== false,
  };
}

/** The kernel_info_reply content. */
export function kernelInfo(): Record<string, unknown> {
  return {
    status: "ok",
    protocol_version: "5.3",
    implementation: "tslab",
    implementation_version: getVersion(),
    language_info: {
      name: "typescript",
      version: typescriptVersion(),
      mimetype: "text/typescript",
      file_extension: ".ts",
      // tslab's setting: TypeScript highlighting in both Notebook and JupyterLab.
      codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
    },
    banner: `TypeScript (tslab ${getVersion()}, metalab kernel launcher)`,
    help_links: [{ text: "tslab", url: "https://github.com/yunabe/tslab" }],
  };
}

/** The execute_reply content for an outcome. */
export function executeReplyContent(outcome: CellOutcome): Record<string, unknown> {
  if (outcome.status === "error") {
    return { status: "error", execution_count: outcome.executionCount, ...outcome.error, traceback: [...outcome.error.traceback] };
  }
  if (outcome.status === "abort") return { status: "abort", execution_count: outcome.executionCount };
  return { status: "ok", execution_count: outcome.executionCount, payload: [], user_expressions: {} };
}

/** The text/plain form of a last expression, as Node's REPL shows it. */
export function plainText(value: unknown): string {
  return util.inspect(value, { colors: false });
}

/** tslab's server with fuller protocol support; everything else (sockets, completion, inspection) is tslab's. */
export class MetalabServer extends ZmqServer {
  constructor(private readonly runner: CellRunner, configPath: string) {
    super(runner.tslabHandler, configPath);
    // tslab binds `${transport}://${ip}:${port}` for every transport; jupyter_client connects ipc sockets at
    // `ipc://${ip}-${port}`. tslab declares bindSocket private, so it is replaced on the instance.
    const bind = async (sock: { bind(address: string): Promise<void> }, port: number): Promise<void> => {
      const { transport, ip } = this.connInfo;
      await sock.bind(transport === "ipc" ? socketAddress("ipc", ip, port) : `${transport}://${ip}:${port}`);
    };
    Object.defineProperty(this, "bindSocket", { value: bind });
  }

  private closed = false;

  private send(parent: Message, sock: Socket, msgType: string, content: Record<string, unknown>): void {
    // After shutdown the sockets are closed; output from late timers has nowhere to go.
    if (this.closed) return;
    const msg = parent.createReply();
    msg.header.msg_type = msgType;
    msg.content = content;
    msg.signAndSend(this.connInfo.key, sock);
  }

  /** Answers history_request (tslab has no history: an empty list) instead of tslab's "unknown msg_type" warning. */
  override async handleShellMessage(sock: Router, ...args: Buffer[]): Promise<void> {
    const raw = parseRaw(args, this.connInfo.key);
    if (raw === null || raw.header.msg_type !== "history_request") return super.handleShellMessage(sock, ...args);
    const key = this.connInfo.key;
    const ignore = (): undefined => undefined;
    await this.iopub.send(signedFrames(key, [], raw.header, "status", { execution_state: "busy" })).catch(ignore);
    await sock.send(signedFrames(key, raw.identities, raw.header, "history_reply", { status: "ok", history: [] })).catch(ignore);
    await this.iopub.send(signedFrames(key, [], raw.header, "status", { execution_state: "idle" })).catch(ignore);
  }

  override handleKernelInfo(sock: Socket, msg: Message): void {
    this.send(msg, sock, "kernel_info_reply", kernelInfo());
  }

  override async handleExecute(sock: Socket, msg: Message): Promise<void> {
    const req = readExecuteRequest(msg.content);
    const outcome = await this.runner.run(req, {
      onStart: (count) => {
        if (!req.silent) this.send(msg, this.iopub, "execute_input", { code: req.code, execution_count: count });
      },
      stream: (name, text) => this.send(msg, this.iopub, "stream", { name, text }),
      display: (data, update) => this.send(msg, this.iopub, update ? "update_display_data" : "display_data", { ...data }),
    });
    if (!req.silent) {
      if (outcome.status === "ok" && outcome.result) {
        this.send(msg, this.iopub, "execute_result", {
          execution_count: outcome.executionCount,
          data: { "text/plain": plainText(outcome.result.value) },
          metadata: {},
        });
      } else if (outcome.status === "error") {
        this.send(msg, this.iopub, "error", { ...outcome.error, traceback: [...outcome.error.traceback] });
      }
    }
    this.send(msg, sock, "execute_reply", executeReplyContent(outcome));
  }

  override handleCommInfoRequest(sock: Socket, msg: Message): void {
    // tslab answers with msg_type complete_reply; comms are not supported, so the list is empty.
    this.send(msg, sock, "comm_info_reply", { status: "ok", comms: {} });
  }

  override handleShutdown(sock: Socket, msg: Message): void {
    this.send(msg, sock, "shutdown_reply", { status: "ok", restart: field(msg.content, "restart") === true });
  }

  override close(): void {
    this.closed = true;
    super.close();
    // Timers a notebook left running would keep Node alive after shutdown; Jupyter would then have to kill it.
    setTimeout(() => process.exit(0), 1000).unref();
  }
}
