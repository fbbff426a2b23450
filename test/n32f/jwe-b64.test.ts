// The JWE members' base64url decoder (jwe.ts decodeMember), both ways it decodes (Uint8Array.prototype.setFromBase64,
// which this runtime has, and Buffer's, for a runtime without it), accepts exactly what b64uDecode (b64.ts: the
// alphabet regex, length ≢ 1 mod 4, zero unused bits) accepts, with the same octets: random strings over an alphabet
// biased towards the edges (+ / = whitespace, NUL, non-latin1).
import { expect, test } from "bun:test";
import fc from "fast-check";
import { b64uDecode } from "../../src/n32f/b64.ts";
import { decodeJweMember } from "../../src/n32f/jwe.ts";

const unit = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("+", "/", "=", " ", "\t", "\n", "\r", "\f", "\u0000", "é", "\u2028", "😀", ".", "\\"),
  },
);

const DECODERS = ["tc39", "buffer"] as const;

test.each(DECODERS)("decodeJweMember (%s) = b64uDecode on random strings (fast-check)", (decoder) => {
  let accepted = 0;
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
      const want = b64uDecode(s);
      const got = decodeJweMember(s, decoder);
      expect(got === null).toBe(want === null);
      if (want && got) {
        expect(Buffer.from(got)).toEqual(Buffer.from(want));
        accepted++;
      }
    }),
    { numRuns: 20000 },
  );
  expect(accepted).toBeGreaterThan(2000); // valid ones too, not only refusals
});

test.each(DECODERS)("the edges one by one (%s)", (decoder) => {
  for (const s of [
    "",
    "A",
    "AA",
    "AB",
    "AAA",
    "AAB",
    "AAAA",
    "AA==",
    "AAA=",
    "A+AA",
    "A/AA",
    "AA AA",
    "AAAA\n",
    "-_-_",
    "QQ",
    "QR",
  ])
    expect(decodeJweMember(s, decoder) === null).toBe(b64uDecode(s) === null);
});
