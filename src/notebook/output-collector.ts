/**
 * Turns the iopub messages of one execute_request into nbformat outputs: streams merged, clear_output (also with
 * wait=true), update_display_data by display id, and a byte cap past which output is dropped with a note.
 * Pure: no sockets, no kernel; the client feeds it decoded messages.
 */
import type { MimeBundle, Output } from "./ipynb";

/** Text of a string or list-of-strings field; "" for anything else. */
export function textOf(x: unknown): string {
  if (typeof x === "string") return x;
  if (Array.isArray(x)) return x.map(String).join("");
  return "";
}

function bundle(x: unknown): MimeBundle {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as MimeBundle) : {};
}

/** The outputs, stderr text and reply of one execution, as its messages arrive. */
export class OutputCollector {
  /** Outputs in nbformat shape; messages arriving after the reply keep being appended here. */
  readonly outputs: Output[] = [];
  /** All stderr stream text received (not capped: the failure rules read it). */
  stderr = "";
  /** True once output was dropped at the cap. */
  truncated = false;
  /** The execute_reply content, once it arrived. */
  reply: Record<string, unknown> | null = null;
  /** True once iopub reported the kernel idle for this request. */
  idle = false;
  private bytes = 0;
  private clearPending = false;
  private readonly displayIds = new WeakMap<Output, string>();

  /** `maxBytes`: output kept, measured as the JSON size of each output. */
  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new Error(`OutputCollector: maxBytes must be a non-negative number, got ${maxBytes}.`);
  }

  /** Both the reply and the idle status have arrived. */
  get done(): boolean {
    return this.reply !== null && this.idle;
  }

  /** Records the execute_reply (from shell). */
  onReply(content: Record<string, unknown>): void {
    this.reply = content;
  }

  /** Applies one iopub message addressed to this execution. */
  onIopub(msgType: string, content: Record<string, unknown>): void {
    if (msgType === "status") {
      if (content.execution_state === "idle") this.idle = true;
      return;
    }
    if (msgType === "clear_output") {
      if (content.wait === true) this.clearPending = true;
      else this.outputs.length = 0;
      return;
    }
    if (msgType === "update_display_data") {
      const id = bundle(content.transient).display_id;
      for (const o of this.outputs) {
        if ((o.output_type === "display_data" || o.output_type === "execute_result") && this.displayIds.get(o) === id) {
          o.data = bundle(content.data);
        }
      }
      return;
    }
    const out = this.outputOf(msgType, content);
    if (out === null) return;
    if (this.clearPending) {
      this.outputs.length = 0;
      this.clearPending = false;
    }
    this.append(out);
  }

  /** Appends a note of the client's own on stderr (subject to the cap like any output). */
  note(text: string): void {
    this.append({ output_type: "stream", name: "stderr", text });
  }

  /** execute_count from the reply, or null. */
  executionCount(): number | null {
    const r = this.reply;
    return r !== null && typeof r.execution_count === "number" ? r.execution_count : null;
  }

  /** The reply's error fields, when it is an error reply that carries them (tslab's own replies do not). */
  replyError(): { ename: string; evalue: string; traceback: string[] } | undefined {
    const r = this.reply;
    if (r === null || r.status !== "error" || (r.ename === undefined && r.evalue === undefined)) return undefined;
    return { ename: textOf(r.ename), evalue: textOf(r.evalue), traceback: Array.isArray(r.traceback) ? r.traceback.map(String) : [] };
  }

  private outputOf(msgType: string, ct: Record<string, unknown>): Output | null {
    if (msgType === "stream") {
      const name = ct.name === "stderr" ? "stderr" : "stdout";
      const text = textOf(ct.text);
      if (name === "stderr") this.stderr += text;
      return { output_type: "stream", name, text };
    }
    if (msgType === "display_data") {
      const out: Output = { output_type: "display_data", data: bundle(ct.data), metadata: bundle(ct.metadata) };
      const id = bundle(ct.transient).display_id;
      if (typeof id === "string") this.displayIds.set(out, id);
      return out;
    }
    if (msgType === "execute_result") {
      const count = typeof ct.execution_count === "number" ? ct.execution_count : null;
      return { output_type: "execute_result", execution_count: count, data: bundle(ct.data), metadata: bundle(ct.metadata) };
    }
    if (msgType === "error") {
      return {
        output_type: "error",
        ename: textOf(ct.ename),
        evalue: textOf(ct.evalue),
        traceback: Array.isArray(ct.traceback) ? ct.traceback.map(String) : [],
      };
    }
    return null;
  }

  private append(out: Output): void {
    if (this.truncated) return;
    const size = JSON.stringify(out).length;
    if (this.bytes + size > this.maxBytes) {
      this.truncated = true;
      const kept = out.output_type === "stream" ? textOf(out.text).slice(0, Math.max(0, this.maxBytes - this.bytes)) : "";
      this.mergeStream({
        output_type: "stream",
        name: "stderr",
        text: `${kept}\n[metalab: output truncated at ${this.maxBytes} bytes; further output of this cell was dropped]\n`,
      });
      return;
    }
    this.bytes += size;
    if (out.output_type === "stream") this.mergeStream(out);
    else this.outputs.push(out);
  }

  private mergeStream(out: Output & { output_type: "stream" }): void {
    const last = this.outputs[this.outputs.length - 1];
    if (last !== undefined && last.output_type === "stream" && last.name === out.name) {
      last.text = textOf(last.text) + textOf(out.text);
    } else {
      this.outputs.push(out);
    }
  }
}
