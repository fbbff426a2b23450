// The text engine's JSON scanner (src/n32f/text/scan.ts) against JSON.parse: it never accepts a text JSON.parse
// refuses, accepts every valid text within its bounds, and calls a value canonical only when JSON.stringify of
// the parsed value gives the very same text.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonScanner, MAX_SCAN_DEPTH, UNSCANNABLE } from "../../src/n32f/text/scan.ts";
import { jsonText, mutatedText } from "./text-arb.ts";

const sc = new JsonScanner();

/** "refused" | "canonical" | "other" (valid but not canonical) */
function scan(t: string): "refused" | "canonical" | "other" {
  sc.reset(t);
  try {
    sc.ws();
    sc.value(0);
    sc.end();
  } catch (e) {
    if (e === UNSCANNABLE) return "refused";
    throw e;
  }
  return sc.canon && t.trim() === t ? "canonical" : "other";
}

function parses(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

function hasDigitName(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasDigitName);
  if (typeof v !== "object" || v === null) return false;
  return Object.entries(v).some(([k, x]) => /^[0-9]+$/.test(k) || hasDigitName(x));
}

describe("JSON scanner vs JSON.parse", () => {
  test("random and mutated texts: accepted ⇒ JSON.parse accepts; canonical ⇒ stringify(parse(t)) === t", () => {
    fc.assert(
      fc.property(fc.oneof(jsonText, mutatedText, fc.string(), fc.string({ unit: "binary" })), (t) => {
        const r = scan(t);
        if (r !== "refused") expect(parses(t)).toBe(true);
        if (r === "canonical") expect(JSON.stringify(JSON.parse(t))).toBe(t);
      }),
      { numRuns: 20_000 },
    );
  });

  test("valid JSON without names the engine leaves to the reference is accepted", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        const t = JSON.stringify(v);
        if (t.includes("encBlockIndex")) return;
        // names of digits only are array indices JSON.parse may reorder: never called canonical
        expect(scan(t)).toBe(hasDigitName(v) ? "other" : "canonical");
        expect(scan(JSON.stringify(v, null, 1))).not.toBe("refused");
      }),
      { numRuns: 3000 },
    );
  });

  test("strict RFC 8259: what JSON.parse refuses is refused", () => {
    for (const t of [
      "",
      " ",
      "{",
      "[1,]",
      '{"a":1,}',
      "01",
      "1.",
      ".5",
      "+1",
      "1e",
      "-",
      "NaN",
      "Infinity",
      "tru",
      "nul",
      '"\\x"',
      '"\\u12"',
      '"\\u12G4"',
      '"a\tb"',
      '"a\u0000"',
      "'a'",
      '{"a" 1}',
      "{a:1}",
      "[1 2]",
      "1 2",
      '"abc',
      "\u00a0 1",
      "[1]]",
    ])
      expect([t, scan(t)]).toEqual([t, "refused"]);
  });

  test("nesting is bounded: deeper than MAX_SCAN_DEPTH is refused, at the bound accepted", () => {
    const nest = (d: number) => `${"[".repeat(d)}${"]".repeat(d)}`;
    expect(scan(nest(MAX_SCAN_DEPTH))).toBe("canonical");
    expect(scan(nest(MAX_SCAN_DEPTH + 1))).toBe("refused");
    expect(scan(nest(100_000))).toBe("refused"); // no stack overflow: refused at the bound
  });

  test("a member named encBlockIndex, however spelled, is left to the reference engine", () => {
    expect(scan('{"encBlockIndex":1}')).toBe("refused");
    expect(scan('[{"x":{"encBlockIndex":1}}]')).toBe("refused");
    expect(scan('{"enc\\u0042lockIndex":1}')).toBe("refused");
    expect(scan('{"x":"encBlockIndex"}')).toBe("canonical");
  });

  test("values JSON.stringify writes otherwise are not canonical", () => {
    for (const t of [
      "-0",
      "1.0",
      "1e400",
      "1E2",
      '"\\/"',
      '"\\u0041"',
      '"\\u001F"',
      '{"a":1,"a":2}',
      '{"b":1,"0":2}',
      "[1, 2]",
      '"\\ud83d\\ude00"',
    ])
      expect([t, scan(t)]).toEqual([t, "other"]);
    for (const t of ["0", "-1", "1.5", '"\\n\\u001f"', '{"a":1,"b":[true,null]}', '"é😀\u2028"'])
      expect([t, scan(t)]).toEqual([t, "canonical"]);
  });
});
