// src/ascii-text.ts: ASCII text in pieces — its length in octets, its text joined once.
import { describe, expect, test } from "bun:test";
import { AsciiText } from "../src/ascii-text.ts";

describe("AsciiText", () => {
  test("its length is the pieces' total; toString() is their concatenation, the same string each time", () => {
    const t = new AsciiText(['{"a":"', "QUJD", '"}']);
    expect(t.length).toBe(12);
    expect(t.toString()).toBe('{"a":"QUJD"}');
    expect(String(t)).toBe('{"a":"QUJD"}');
    expect(JSON.parse(t.toString())).toEqual({ a: "QUJD" });
    expect(t.toString()).toBe(t.toString());
    expect(new AsciiText([]).length).toBe(0);
    expect(new AsciiText(["", ""]).toString()).toBe("");
  });
});
