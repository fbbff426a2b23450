// src/n32f/b64.ts: b64uEncode (Uint8Array.prototype.toBase64 where the runtime has it) writes Buffer's unpadded
// base64url, also for a view into a larger buffer; b64uDecode takes it back.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { b64uDecode, b64uEncode } from "../../src/n32f/b64.ts";

test("b64uEncode = Buffer's base64url on random octets and views (fast-check)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 7 }), fc.nat({ max: 7 }), (bytes, head, tail) => {
      const whole = new Uint8Array(head + bytes.length + tail).fill(0xa5);
      whole.set(bytes, head);
      const view = whole.subarray(head, head + bytes.length);
      const text = b64uEncode(view);
      expect(text).toBe(Buffer.from(bytes).toString("base64url"));
      expect(Buffer.from(b64uDecode(text)!)).toEqual(Buffer.from(bytes));
    }),
    { numRuns: 2000 },
  );
});
