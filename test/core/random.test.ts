import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random";

describe("Rng", () => {
  it("gives bit-identical streams for the same seed", () => {
    const a = new Rng(42).uniformArray(1000);
    const b = new Rng(42).uniformArray(1000);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });
  it("gives different streams for different seeds and splits", () => {
    const r = new Rng(1);
    const [c1, c2] = r.split(2);
    expect(c1!.next()).not.toBe(c2!.next());
    expect(new Rng(1).next()).not.toBe(new Rng(2).next());
  });
  it("forks by label without advancing the parent", () => {
    const r = new Rng(7);
    const x = r.fork("tasks").next();
    expect(r.fork("tasks").next()).toBe(x);
    expect(r.fork("init").next()).not.toBe(x);
    expect(r.next()).toBe(new Rng(7).next());
  });
  it("draws uniforms in range with the right mean and normals with unit variance", () => {
    const r = new Rng(3);
    const u = r.uniformArray(20000, -5, 5);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-5);
    expect(Math.max(...u)).toBeLessThan(5);
    const n = r.normalArray(20000);
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    const v = n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
  });
  it("rejects a non-integer seed with a fix", () => {
    expect(() => new Rng(0.5)).toThrow(/integer/);
  });
});
