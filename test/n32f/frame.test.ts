// src/n32f/frame.ts: an n32f-process body read without JSON.parse only when the value is provably JSON.parse's — the
// same value for our own frame, null (JSON.parse decides, also its errors) for everything else.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import { parseN32fBody, readFrame } from "../../src/n32f/frame.ts";
import { protectJwe } from "../../src/n32f/jwe.ts";
import { contextPair } from "../support/contexts.ts";

const pair = contextPair({ engine: new SoftwareAeadEngine() });
const utf8 = new TextEncoder();
const frame = (aad = '{"metaData":{}}', plaintext = '{"dataToEncrypt":["x"]}') =>
  JSON.stringify({ reformattedData: protectJwe(pair.c, "request", utf8.encode(aad), utf8.encode(plaintext)) });

/** parseN32fBody gives JSON.parse's value, or throws JSON.parse's error. */
function same(text: string): "frame" | "json" | "error" {
  let want: unknown;
  let wantError = "";
  try {
    want = JSON.parse(text);
  } catch (e) {
    wantError = String(e);
  }
  const read = readFrame(text);
  if (wantError) {
    expect(read).toBeNull();
    expect(() => parseN32fBody(text)).toThrow();
    return "error";
  }
  expect(parseN32fBody(text) as object).toEqual(want as object);
  if (read) expect(read as object).toEqual(want as object);
  return read ? "frame" : "json";
}

describe("readFrame = JSON.parse", () => {
  test("our frames, empty ciphertext included, are read without JSON.parse", () => {
    expect(same(frame())).toBe("frame");
    expect(same(frame("{}", ""))).toBe("frame");
    expect(same(frame("x".repeat(20_000)))).toBe("frame");
  });

  test("anything else is JSON.parse's; the frame's strings are JSON.parse's whatever they hold", () => {
    const f = frame();
    const aadAt = f.indexOf('"aad":"') + 7;
    const cases: Array<[string, string, "frame" | "json" | "error"]> = [
      ["a space", f.replace('{"reformattedData"', '{ "reformattedData"'), "json"],
      ["trailing newline", `${f}\n`, "json"],
      [
        "members reordered",
        JSON.stringify({ reformattedData: { ...JSON.parse(f).reformattedData, protected: undefined, x: 1 } }),
        "json",
      ],
      ["a modificationsBlock", `${f.slice(0, -1)},"modificationsBlock":[]}`, "json"],
      ["an escape in the aad", `${f.slice(0, aadAt)}\\u0041${f.slice(aadAt + 1)}`, "json"],
      ["an escaped slash", `${f.slice(0, aadAt)}\\/${f.slice(aadAt + 1)}`, "json"],
      // not base64url, but JSON.parse's value all the same (parseJwe refuses it, as it would JSON.parse's)
      ["padding", f.replace('","iv":"', '=","iv":"'), "frame"],
      ["+ in a member", `${f.slice(0, aadAt)}+${f.slice(aadAt + 1)}`, "frame"],
      ["a non-ASCII character", `${f.slice(0, aadAt)}é${f.slice(aadAt + 1)}`, "frame"],
      ["a control character", `${f.slice(0, aadAt)}\u0001${f.slice(aadAt + 1)}`, "error"],
      ["a tab", `${f.slice(0, aadAt)}\t${f.slice(aadAt + 1)}`, "error"],
      ["cut short", f.slice(0, -1), "error"],
      ["a second object", `${f}{}`, "error"],
    ];
    for (const [, text, want] of cases) expect(same(text)).toBe(want);
  });

  test("random edits of a frame (fast-check)", () => {
    const f = frame('{"metaData":{"n32fContextId":"0011223344556677"},"payload":[]}');
    const unit = fc.constantFrom(
      '"',
      "\\",
      "\u0000",
      "\u001f",
      " ",
      "\n",
      "+",
      "/",
      "=",
      "-",
      "_",
      "A",
      "é",
      "\u2028",
      "}",
      ",",
      ":",
      "u0041",
    );
    fc.assert(
      fc.property(fc.nat({ max: f.length }), fc.nat({ max: 3 }), fc.array(unit, { maxLength: 3 }), (at, del, ins) => {
        same(f.slice(0, at) + ins.join("") + f.slice(at + del));
      }),
      { numRuns: 3000 },
    );
  });
});
