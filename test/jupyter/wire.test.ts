import { describe, expect, test } from "vitest";
import { decodeMessage, DELIMITER, encodeMessage, newMessage, sign } from "../../src/jupyter/wire";

describe("Jupyter wire format", () => {
  test("signs header, parent, metadata and content with HMAC-SHA256 and round-trips", () => {
    const m = newMessage("execute_request", { code: "1 + 1" }, "session-1", { msg_id: "parent" });
    const frames = encodeMessage(m, "secret");
    expect(frames[0]?.equals(DELIMITER)).toBe(true);
    expect(frames[1]?.toString()).toBe(sign("secret", frames.slice(2, 6)));
    expect(frames[1]?.toString()).toMatch(/^[0-9a-f]{64}$/);
    const back = decodeMessage([Buffer.from("routing-id"), ...frames], "secret");
    expect(back.header.msg_type).toBe("execute_request");
    expect(back.content).toEqual({ code: "1 + 1" });
    expect(back.parent_header.msg_id).toBe("parent");
  });

  test("rejects a wrong key, a tampered body and a missing delimiter", () => {
    const frames = encodeMessage(newMessage("status", { execution_state: "idle" }, "s"), "secret");
    expect(() => decodeMessage(frames, "other")).toThrow(/invalid HMAC/);
    const tampered = [...frames];
    tampered[5] = Buffer.from(JSON.stringify({ execution_state: "busy" }));
    expect(() => decodeMessage(tampered, "secret")).toThrow(/invalid HMAC/);
    expect(() => decodeMessage(frames.slice(1), "secret")).toThrow(/delimiter/);
    expect(decodeMessage(encodeMessage(newMessage("x", {}, "s"), ""), "").header.msg_type).toBe("x"); // empty key: unsigned
  });
});
