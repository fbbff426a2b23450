// N32-KDF and key material (TS 33.501 13.2.4.4.1, N32-PROFILE P1) against the project vectors, RFC 5869
// and node:crypto's HKDF; plus the replay-free property of distinct labels.
import { describe, expect, test } from "bun:test";
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import fc from "fast-check";
import {
  deriveN32fKeyMaterial,
  hkdfExpandSha256,
  KEY_LABELS,
  keyLengthFor,
  n32Kdf,
  SALT_LABELS,
  wipeKeyMaterial,
} from "../../src/n32f/kdf.ts";
import { n32fVectors } from "../support/vectors.ts";

const vectors = n32fVectors();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const master = () => Buffer.from(vectors.kdf.master_hex, "hex");

describe("N32-KDF vectors (n32f-vectors.json)", () => {
  for (const enc of ["A256GCM", "A128GCM"] as const) {
    test(`${enc}: the four keys`, () => {
      const m = deriveN32fKeyMaterial(master(), vectors.kdf.ctxId, enc);
      expect(m.enc).toBe(enc);
      const want = vectors.kdf[enc];
      expect(Object.keys(want).sort()).toEqual([...KEY_LABELS].sort());
      for (const label of KEY_LABELS) {
        expect(m.keys[label].length).toBe(keyLengthFor(enc));
        expect(hex(m.keys[label])).toBe(want[label]!);
        // and the single-call form
        expect(hex(n32Kdf(master(), vectors.kdf.ctxId, label, keyLengthFor(enc)))).toBe(want[label]!);
      }
    });
  }

  test("the four 8-octet IV salts (independent of enc)", () => {
    expect(Object.keys(vectors.kdf.salts).sort()).toEqual([...SALT_LABELS].sort());
    for (const enc of ["A256GCM", "A128GCM"] as const) {
      const m = deriveN32fKeyMaterial(master(), vectors.kdf.ctxId, enc);
      for (const label of SALT_LABELS) {
        expect(m.salts[label].length).toBe(8);
        expect(hex(m.salts[label])).toBe(vectors.kdf.salts[label]!);
      }
    }
  });

  test("derivation leaves the master untouched and wipeKeyMaterial zeroes everything", () => {
    const mk = master();
    const m = deriveN32fKeyMaterial(mk, vectors.kdf.ctxId, "A256GCM");
    expect(hex(mk)).toBe(vectors.kdf.master_hex);
    wipeKeyMaterial(m);
    for (const l of KEY_LABELS) expect(m.keys[l].every((x) => x === 0)).toBe(true);
    for (const l of SALT_LABELS) expect(m.salts[l].every((x) => x === 0)).toBe(true);
  });

  test("the context ID and the label both change the output (no separator collisions within our labels)", () => {
    const a = n32Kdf(master(), vectors.kdf.ctxId, "parallel_request_key", 32);
    const b = n32Kdf(master(), "51b0c7e2aa93f410", "parallel_request_key", 32);
    expect(hex(a)).not.toBe(hex(b));
    const all = new Set([...KEY_LABELS, ...SALT_LABELS].map((l) => hex(n32Kdf(master(), vectors.kdf.ctxId, l, 32))));
    expect(all.size).toBe(8);
  });
});

describe("HKDF-Expand (RFC 5869 §2.3)", () => {
  test("RFC 5869 test case 1 (Expand part, PRK given)", () => {
    const prk = Buffer.from("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", "hex");
    const info = Buffer.from("f0f1f2f3f4f5f6f7f8f9", "hex");
    expect(hex(hkdfExpandSha256(prk, info, 42))).toBe(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
  });

  test("equals node:crypto HKDF once its Extract step is done by hand (random inputs)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        fc.integer({ min: 1, max: 255 * 32 }),
        (ikm, salt, info, len) => {
          // RFC 5869 §2.2: an empty salt means HashLen zeros.
          const prk = createHmac("sha256", salt.length ? salt : Buffer.alloc(32))
            .update(ikm)
            .digest();
          const node = Buffer.from(hkdfSync("sha256", ikm, salt, info, len));
          expect(hex(hkdfExpandSha256(prk, info, len))).toBe(node.toString("hex"));
        },
      ),
      { numRuns: 60 },
    );
  });

  test("prefix-stable: the A128GCM key is the first 16 octets of the A256GCM key", () => {
    const mk = randomBytes(64);
    const k16 = deriveN32fKeyMaterial(mk, "0123456789abcdef", "A128GCM");
    const k32 = deriveN32fKeyMaterial(mk, "0123456789abcdef", "A256GCM");
    for (const l of KEY_LABELS) expect(hex(k16.keys[l])).toBe(hex(k32.keys[l].subarray(0, 16)));
  });
});

describe("N32-KDF input checks", () => {
  test("bad inputs are refused with RangeError", () => {
    expect(() => n32Kdf(new Uint8Array(31), "9f3c2a7b01d4e6a8", "parallel_request_key", 32)).toThrow(RangeError);
    expect(() => n32Kdf(master(), "9f3c2a7b01d4e6a8", "parallel_request_key", 0)).toThrow(RangeError);
    expect(() => n32Kdf(master(), "9f3c2a7b01d4e6a8", "parallel_request_key", 255 * 32 + 1)).toThrow(RangeError);
    expect(() => n32Kdf(master(), "9f3c2a7b01d4e6a8", "parallel_request_key", 1.5)).toThrow(RangeError);
    expect(() => n32Kdf(master(), "ctx-é", "parallel_request_key", 32)).toThrow(RangeError);
    expect(() => n32Kdf(master(), "", "parallel_request_key", 32)).toThrow(RangeError);
    expect(() => n32Kdf(master(), "9f3c2a7b01d4e6a8", "label with space", 32)).toThrow(RangeError);
    expect(() => deriveN32fKeyMaterial(master(), "9f3c2a7b01d4e6a8", "A192GCM" as never)).toThrow(RangeError);
  });

  test("the longest allowed output is produced in full", () => {
    const out = n32Kdf(master(), "9f3c2a7b01d4e6a8", "parallel_request_key", 255 * 32);
    expect(out.length).toBe(255 * 32);
    expect(hex(out.subarray(0, 32))).toBe(vectors.kdf.A256GCM.parallel_request_key!);
  });
});
