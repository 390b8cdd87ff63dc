/** Encoding, hostile-payload validation and comparison of check values (no kernel). */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, test } from "vitest";
import { check } from "../../src/grading/check";
import { CHECK_MIME, compareValues, encodeValue, jsonDepth, readPayload, type CheckPayload } from "../../src/grading/check-value";
import { assignPoints, scoreChecks, type ReferenceTest } from "../../src/grading/checks";
import { captureDisplays } from "../../src/display/sink";

const enc = encodeValue;

describe("encodeValue", () => {
  test("numbers, including those JSON cannot hold", () => {
    expect(enc(1.5)).toEqual({ t: "num", v: 1.5 });
    expect(enc(NaN)).toEqual({ t: "num", v: "NaN" });
    expect(enc(-Infinity)).toEqual({ t: "num", v: "-Infinity" });
    expect(enc(-0)).toEqual({ t: "num", v: "-0" });
  });
  test("tensors keep dtype and shape; records are sorted", () => {
    const e = enc({ w: tf.tensor2d([[1, 2, 3]]), b: tf.scalar(2, "int32") });
    expect(e.t).toBe("rec");
    if (e.t !== "rec") return;
    expect(Object.keys(e.v)).toEqual(["b", "w"]);
    expect(e.v.w).toMatchObject({ t: "tensor", dtype: "float32", shape: [1, 3] });
    expect(e.v.b).toMatchObject({ t: "tensor", dtype: "int32", shape: [] });
  });
  test("what cannot be sent becomes a fixed description, never text the value chose", () => {
    class Secret {}
    expect(enc(() => 1)).toEqual({ t: "unsupported", what: "a function" });
    expect(enc(Promise.resolve(1))).toEqual({ t: "unsupported", what: "a promise (await it first)" });
    expect(enc(new Secret())).toEqual({ t: "unsupported", what: "a class instance" });
    const t = tf.scalar(1);
    t.dispose();
    expect(enc(t)).toEqual({ t: "unsupported", what: "a disposed tensor" });
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(JSON.stringify(enc(deep))).toContain("a value nested too deep");
  });
});

describe("compareValues", () => {
  test("numpy.allclose tolerances, NaN equal to NaN", () => {
    expect(compareValues(enc(1), enc(1 + 1e-6), { rtol: 1e-5 }).ok).toBe(true);
    expect(compareValues(enc(1), enc(1.1), { rtol: 1e-5 }).ok).toBe(false);
    expect(compareValues(enc(NaN), enc(NaN)).ok).toBe(true);
    expect(compareValues(enc(0), enc(1e-9)).ok).toBe(true);
    expect(compareValues(enc(Infinity), enc(1e308)).ok).toBe(false);
  });
  test("reasons name the expected structure, never the expected numbers", () => {
    const want = enc({ w0: tf.tensor2d([[0.123456, 0.654321]]) });
    const r = compareValues(want, enc({ w0: tf.tensor2d([[0.123456, 0.9]]) }), { rtol: 1e-4 });
    expect(r).toMatchObject({ ok: false });
    expect(r.reason).toMatch(/1 of 2 entries at w0 do not match .*first at \[0,1\]/);
    expect(r.reason).not.toMatch(/0\.65|0\.12/);
    expect(compareValues(want, enc({ w0: tf.tensor2d([[1], [2]]) })).reason).toMatch(/expected a float32 tensor of shape \[1,2\] at w0, got a tensor of another shape/);
    expect(compareValues(want, enc({ w0: tf.tensor2d([[1, 2]]), secretKeyName: 1 })).reason).toMatch(/has 1 key the solution does not have/);
    expect(compareValues(want, enc({ w0: tf.tensor2d([[1, 2]]), secretKeyName: 1 })).reason).not.toMatch(/secretKeyName/);
    expect(compareValues(enc([1, 2]), enc("12")).reason).toBe("expected an array of 2, got a string");
  });
  test("integer tensors compare exactly", () => {
    expect(compareValues(enc(tf.tensor1d([3], "int32")), enc(tf.tensor1d([3], "int32"))).ok).toBe(true);
    expect(compareValues(enc(tf.tensor1d([3], "int32")), enc(tf.tensor1d([3], "float32"))).reason).toMatch(/got a float32 tensor/);
  });
});

describe("readPayload (grader side, hostile input)", () => {
  const good = (): CheckPayload => ({ format: 1, name: "x", value: enc([1, 2]), options: { rtol: 1e-3 } });
  test("accepts what check() sends", () => {
    expect(readPayload(JSON.parse(JSON.stringify(good())))).toMatchObject({ name: "x", options: { rtol: 1e-3 } });
  });
  test.each([
    ["not an object", "x"],
    ["unknown format", { ...good(), format: 2 }],
    ["empty name", { ...good(), name: "" }],
    ["tensor data shorter than its shape", { ...good(), value: { t: "tensor", dtype: "float32", shape: [1000], b64: "AAAA" } }],
    ["unknown option", { ...good(), options: { tolerance: 1 } }],
    ["negative tolerance", { ...good(), options: { rtol: -1 } }],
    ["invented unsupported text", { ...good(), value: { t: "unsupported", what: "<script>" } }],
  ])("rejects %s", (_why, payload) => {
    expect(() => readPayload(payload)).toThrow();
  });
  test("rejects a value nested 20,000 deep without overflowing the stack", () => {
    let v: unknown = { t: "num", v: 1 };
    for (let i = 0; i < 20_000; i++) v = { t: "arr", v: [v] };
    const text = JSON.stringify({ ...good(), value: "X" }).replace('"X"', "%");
    const parsed: unknown = JSON.parse(text.replace("%", "null"));
    (parsed as { value: unknown }).value = v;
    expect(() => readPayload(parsed)).toThrow(/nested too deep/);
    expect(jsonDepth(v, 100)).toBeGreaterThan(100);
  });
});

describe("check() in a kernel", () => {
  test("sends one display bundle with the payload and a line saying what was sent", () => {
    const cap = captureDisplays();
    try {
      check("innerStep, α = 0.3", { w: tf.zeros([2, 3]) }, { rtol: 1e-4, points: 2 });
    } finally {
      cap.restore();
    }
    expect(cap.messages).toHaveLength(1);
    const data = cap.messages[0]?.data ?? {};
    expect(readPayload(data[CHECK_MIME])).toMatchObject({ name: "innerStep, α = 0.3", options: { rtol: 1e-4, points: 2 } });
    expect(data["text/plain"]).toBe('check "innerStep, α = 0.3": sent a record with keys w to the grader');
  });
  test("rejects a missing name", () => {
    expect(() => check("", 1)).toThrow(/non-empty string/);
  });
});

describe("points and scoring", () => {
  test("declared points first, the rest shared equally", () => {
    expect(assignPoints(3, [{ points: 0 }, { points: 3 }])).toEqual({ points: [0, 3], problems: [] });
    expect(assignPoints(2, [{}, {}, { points: 1 }])).toEqual({ points: [0.5, 0.5, 1], problems: [] });
    expect(assignPoints(2, [{ points: 3 }]).problems[0]).toMatch(/declare 3 points but the cell has 2/);
    expect(assignPoints(2, [{ points: 2 }, {}]).problems[0]).toMatch(/share nothing/);
  });
  const ref: ReferenceTest = {
    gradeId: "t",
    points: 3,
    mode: "checks",
    checks: [
      { name: "a", value: enc(1), options: {}, points: 1, hidden: false },
      { name: "b", value: enc(2), options: { message: "think about b" }, points: 2, hidden: true },
    ],
  };
  const sent = (name: string, v: unknown) => ({ ok: true as const, payload: { format: 1, name, value: enc(v), options: {} } });
  const ran = { ran: true, failed: false, error: null };
  test("partial credit per check; hidden checks show only the instructor's message", () => {
    const s = scoreChecks(ref, [sent("a", 1), sent("b", 3)], ran);
    expect(s.score).toBe(1);
    expect(s.checks.map((c) => [c.name, c.ok, c.reason])).toEqual([
      ["a", true, undefined],
      ["b", false, "think about b"],
    ]);
  });
  test("a check sent twice, or not at all, scores 0 with a reason", () => {
    const s = scoreChecks(ref, [sent("a", 1), sent("a", 1), sent("b", 2)], ran);
    expect(s.score).toBe(2);
    expect(s.checks[0]?.reason).toMatch(/sent 2 times/);
    const missing = scoreChecks(ref, [], { ran: true, failed: true, error: "Error: not implemented" });
    expect(missing.checks[0]?.reason).toBe("not sent: the cell stopped before it (Error: not implemented)");
  });
  test("a check sent from another cell instead of its test cell scores 0 and says so", () => {
    const s = scoreChecks(ref, [sent("b", 2)], { ...ran, elsewhere: new Map([["a", 4]]) });
    expect(s.checks[0]).toMatchObject({ ok: false, score: 0, reason: "sent from cell 4, not from its test cell; a check counts only from its own test cell" });
    expect(s.score).toBe(2);
  });
  test("unknown names are ignored without echoing them", () => {
    const s = scoreChecks(ref, [sent("the hidden source is ...", 1)], ran);
    expect(s.notes.join()).toMatch(/1 check with names the solution does not send was ignored/);
    expect(s.notes.join()).not.toMatch(/hidden source/);
  });
});
