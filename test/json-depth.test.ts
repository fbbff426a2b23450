import { describe, expect, test } from "bun:test";
import { jsonNestedDeeperThan } from "../src/json-depth.ts";

/** The nesting depth of a parsed value (the reference the text scan must agree with). */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + v.reduce((m: number, x) => Math.max(m, depthOf(x)), 0);
  if (v !== null && typeof v === "object")
    return 1 + Object.values(v).reduce((m: number, x) => Math.max(m, depthOf(x)), 0);
  return 0;
}

const nest = (n: number, inner = "1") => "[".repeat(n) + inner + "]".repeat(n);

describe("jsonNestedDeeperThan", () => {
  test("depth max is accepted, max + 1 refused, for arrays and objects", () => {
    expect(jsonNestedDeeperThan(nest(32), 32)).toBe(false);
    expect(jsonNestedDeeperThan(nest(33), 32)).toBe(true);
    const obj = (n: number): string => (n === 0 ? "0" : `{"a":${obj(n - 1)}}`);
    expect(jsonNestedDeeperThan(obj(256), 256)).toBe(false);
    expect(jsonNestedDeeperThan(obj(257), 256)).toBe(true);
  });

  test("many shallow brackets are not depth: more brackets than max, nested no deeper than 2", () => {
    const wide = `[${Array.from({ length: 500 }, (_, i) => `{"k${i}":[${i}]}`).join(",")}]`;
    expect(jsonNestedDeeperThan(wide, 3)).toBe(false);
    expect(jsonNestedDeeperThan(wide, 2)).toBe(true);
  });

  test("brackets inside strings, escaped quotes included, do not count", () => {
    const s = JSON.stringify({ a: `${"[".repeat(100)}\\"{{{{ \\\\" ${"{".repeat(100)}`, b: [[1]] });
    expect(jsonNestedDeeperThan(s, 3)).toBe(false);
    expect(jsonNestedDeeperThan(s, 2)).toBe(true);
    // deep nesting after a string of brackets, with more brackets in all than max
    const deep = `["${"[".repeat(40)}", ${nest(10)}]`;
    expect(jsonNestedDeeperThan(deep, 10)).toBe(true);
    expect(jsonNestedDeeperThan(deep, 11)).toBe(false);
  });

  test("agrees with the depth of the parsed value on random JSON texts", () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return (seed >>> 12) % n; // the high bits: the low ones of this generator repeat with a short period
    };
    const gen = (d: number): unknown => {
      const k = d > 12 ? 3 : rnd(6);
      if (k === 0) return Array.from({ length: rnd(4) }, () => gen(d + 1));
      if (k === 1) return Object.fromEntries(Array.from({ length: rnd(4) }, (_, i) => [`m${i}[{`, gen(d + 1)]));
      if (k === 2) return `"x[{\\${"]".repeat(rnd(3))}`;
      return rnd(100);
    };
    for (let i = 0; i < 2000; i++) {
      const v = gen(0);
      const text = JSON.stringify(v);
      const d = depthOf(v);
      for (const max of [0, 1, d - 1, d, d + 1, 5]) {
        if (max < 0) continue;
        expect(jsonNestedDeeperThan(text, max)).toBe(d > max);
      }
    }
  });
});
