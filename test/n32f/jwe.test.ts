// PRINS JWE (N32-PROFILE P2, P10; RFC 7516 flattened JSON): the project vectors byte for byte, a jose
// cross-check in both directions, every receive-side failure with its exact N32fErrorType, and properties.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FlattenedEncrypt, flattenedDecrypt } from "jose";
import { createN32fContext, MAX_SEQ, type N32fContext, type N32fContextParams } from "../../src/n32f/context.ts";
import { N32fError } from "../../src/n32f/errors.ts";
import {
  openJwe,
  parseCipherBlock,
  parseJwe,
  PROTECTED_HEADER,
  protectJwe,
  type ProtectedJwe,
} from "../../src/n32f/jwe.ts";
import { deriveN32fKeyMaterial, type JweEnc } from "../../src/n32f/kdf.ts";
import { bareAssociation, sideParams } from "../support/contexts.ts";
import { n32fVectors, type VectorMessage } from "../support/vectors.ts";

const vectors = n32fVectors();
const INITIATOR_ID = vectors.kdf.ctxId;
const RESPONDER_ID = "51b0c7e2aa93f410";
const te = new TextEncoder();
const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const unb64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));
const EMPTY = new Uint8Array(0);

function mk(
  role: "initiator" | "responder",
  enc: JweEnc = "A256GCM",
  over: Partial<N32fContextParams> = {},
): N32fContext {
  const master = Buffer.from(vectors.kdf.master_hex, "hex");
  const ids = { initiatorId: INITIATOR_ID, responderId: RESPONDER_ID };
  return createN32fContext(
    sideParams(role, { ...ids, master, enc }, { association: bareAssociation("peer.example"), ...over }),
  );
}
const rawKey = (
  label: "parallel_request_key" | "parallel_response_key" | "reverse_request_key" | "reverse_response_key",
  enc: JweEnc,
) => deriveN32fKeyMaterial(Buffer.from(vectors.kdf.master_hex, "hex"), INITIATOR_ID, enc).keys[label];

function fail(fn: () => unknown): N32fError {
  try {
    fn();
  } catch (e) {
    if (e instanceof N32fError) return e;
    throw e;
  }
  throw new Error("expected an N32fError, nothing was thrown");
}
const errType = (fn: () => unknown) => fail(fn).errorType;

/** The vector messages: who sends, with which kind, SEQ and enc (from the descriptions / iv). */
const VECTOR_SETUP = [
  { sender: "initiator", kind: "request", seq: 0, enc: "A256GCM" },
  { sender: "responder", kind: "response", seq: 7, enc: "A256GCM" },
  { sender: "responder", kind: "request", seq: 3, enc: "A128GCM" },
] as const;

function vectorPlaintext(m: VectorMessage): Uint8Array {
  // The vectors encode JSON compactly (no spaces), as JSON.stringify does.
  return m.plaintextObject === null ? EMPTY : te.encode(JSON.stringify(m.plaintextObject));
}

describe("n32f-vectors.json messages", () => {
  test("the file has the three messages this test knows", () => {
    expect(vectors.messages.length).toBe(VECTOR_SETUP.length);
    for (const [i, m] of vectors.messages.entries()) {
      const s = VECTOR_SETUP[i]!;
      expect(m.description).toContain(`SEQ ${s.seq}`);
      expect(m.description).toContain(s.enc);
      expect(Buffer.from(m.jwe.iv, "base64url").readUInt32BE(8)).toBe(s.seq);
    }
  });

  for (const [i, s] of VECTOR_SETUP.entries()) {
    test(`message ${i}: opens with the receiver's context to the given plaintext`, () => {
      const m = vectors.messages[i]!;
      const receiver = mk(s.sender === "initiator" ? "responder" : "initiator", s.enc);
      const parsed = parseJwe(m.jwe);
      expect(Buffer.from(parsed.aad).toString()).toBe(JSON.stringify(m.aadObject));
      const { plaintext, seq } = openJwe(receiver, s.kind, parsed);
      expect(seq).toBe(s.seq);
      expect(Buffer.from(plaintext).toString()).toBe(Buffer.from(vectorPlaintext(m)).toString());
      const blocks = parseCipherBlock(plaintext);
      expect(blocks).toEqual(
        m.plaintextObject === null ? [] : (m.plaintextObject as { dataToEncrypt: unknown[] }).dataToEncrypt,
      );
    });

    test(`message ${i}: our protection at SEQ ${s.seq} reproduces it byte for byte`, () => {
      const m = vectors.messages[i]!;
      const sender = mk(s.sender, s.enc);
      // SEQ set with the forward-only advanceSendSeq (the documented test path).
      if (s.seq > 0) sender.advanceSendSeq(s.kind, s.seq);
      const ours = protectJwe(sender, s.kind, unb64u(m.jwe.aad), vectorPlaintext(m));
      expect(ours).toEqual(m.jwe);
      expect(Object.keys(ours)).toEqual(["protected", "aad", "iv", "ciphertext", "tag"]);
      expect(Buffer.from(ours.protected, "base64url").toString()).toBe(PROTECTED_HEADER[s.enc]);
    });
  }
});

describe("jose cross-check", () => {
  for (const e of ["A256GCM", "A128GCM"] as const) {
    test(`${e}: jose flattenedDecrypt opens our JWEs (with and without ciphertext)`, async () => {
      const ini = mk("initiator", e);
      for (const pt of [te.encode('{"dataToEncrypt":["imsi-001010000000001",{"a":1}]}'), EMPTY]) {
        const aad = te.encode(
          '{"metaData":{"n32fContextId":"51b0c7e2aa93f410","messageId":"0a","authorizedIpxId":"NULL"}}',
        );
        const jwe = protectJwe(ini, "request", aad, pt);
        const r = await flattenedDecrypt(jwe, rawKey("parallel_request_key", e));
        expect(Buffer.from(r.plaintext).toString()).toBe(Buffer.from(pt).toString());
        expect(Buffer.from(r.additionalAuthenticatedData!).toString()).toBe(Buffer.from(aad).toString());
        expect(r.protectedHeader).toEqual({ alg: "dir", enc: e });
      }
    });

    test(`${e}: a JWE made by jose (same key, aad and salt ‖ SEQ IV) opens with ours`, async () => {
      const rsp = mk("responder", e);
      const salt = Buffer.from(vectors.kdf.salts.parallel_request_iv_salt!, "hex");
      const iv = Buffer.concat([salt, Buffer.from([0, 0, 0, 42])]);
      const aad = te.encode(
        '{"metaData":{"n32fContextId":"51b0c7e2aa93f410","messageId":"0b","authorizedIpxId":"NULL"}}',
      );
      const pt = te.encode('{"dataToEncrypt":["Bearer x.y.z"]}');
      const jwe = await new FlattenedEncrypt(pt)
        .setProtectedHeader({ alg: "dir", enc: e })
        .setAdditionalAuthenticatedData(aad)
        .setInitializationVector(iv)
        .encrypt(rawKey("parallel_request_key", e));
      const opened = openJwe(rsp, "request", parseJwe(jwe));
      expect(opened.seq).toBe(42);
      expect(Buffer.from(opened.plaintext).toString()).toBe(Buffer.from(pt).toString());

      // members of the protected header in another order are accepted too (P2), and unknown header members
      const jwe2 = await new FlattenedEncrypt(pt)
        .setProtectedHeader({ enc: e, alg: "dir", kid: "ignored" })
        .setAdditionalAuthenticatedData(aad)
        .setInitializationVector(Buffer.concat([salt, Buffer.from([0, 0, 0, 43])]))
        .encrypt(rawKey("parallel_request_key", e));
      expect(openJwe(rsp, "request", parseJwe(jwe2)).seq).toBe(43);
    });
  }

  test("a jose JWE with the right key but another salt: INTEGRITY_CHECK_FAILED (salt check)", async () => {
    const rsp = mk("responder");
    const iv = Buffer.concat([
      Buffer.from(vectors.kdf.salts.reverse_request_iv_salt!, "hex"),
      Buffer.from([0, 0, 0, 1]),
    ]);
    const jwe = await new FlattenedEncrypt(te.encode('{"dataToEncrypt":[1]}'))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
      .setAdditionalAuthenticatedData(te.encode("{}"))
      .setInitializationVector(iv)
      .encrypt(rawKey("parallel_request_key", "A256GCM"));
    const e = fail(() => openJwe(rsp, "request", parseJwe(jwe)));
    expect(e.errorType).toBe("INTEGRITY_CHECK_FAILED");
    expect(e.message).toContain("salt");
    expect(e.n32fContextId).toBe(RESPONDER_ID);
  });
});

/** A fresh initiator→responder request JWE and the receiving context. */
function fresh(pt = te.encode('{"dataToEncrypt":["secret-ie"]}')) {
  const ini = mk("initiator");
  const rsp = mk("responder");
  const aad = te.encode('{"metaData":{"n32fContextId":"51b0c7e2aa93f410","messageId":"0c","authorizedIpxId":"NULL"}}');
  return { ini, rsp, aad, jwe: protectJwe(ini, "request", aad, pt) };
}
const withHeader = (jwe: ProtectedJwe, header: string): ProtectedJwe => ({
  ...jwe,
  protected: b64u(te.encode(header)),
});
/** Flip one bit of the decoded member and re-encode it. */
function flip(
  jwe: ProtectedJwe,
  member: "protected" | "aad" | "iv" | "ciphertext" | "tag",
  byte: number,
  bit: number,
): ProtectedJwe {
  const b = unb64u(jwe[member]);
  b[byte] = b[byte]! ^ (1 << bit);
  return { ...jwe, [member]: b64u(b) };
}

describe("receive-side failures (exact N32fErrorType, P10)", () => {
  test("a bit flip anywhere in protected → DECIPHERING_FAILED", () => {
    const { rsp, jwe } = fresh();
    const n = unb64u(jwe.protected).length;
    for (let i = 0; i < n; i++)
      for (let bit = 0; bit < 8; bit++) {
        expect(errType(() => openJwe(rsp, "request", parseJwe(flip(jwe, "protected", i, bit))))).toBe(
          "DECIPHERING_FAILED",
        );
      }
    expect(openJwe(rsp, "request", parseJwe(jwe)).seq).toBe(0); // the genuine one still opens afterwards
  });

  test("a bit flip anywhere in aad, iv, ciphertext or tag → INTEGRITY_CHECK_FAILED; the window does not move", () => {
    const { rsp, jwe } = fresh();
    for (const member of ["aad", "iv", "ciphertext", "tag"] as const) {
      const n = unb64u(jwe[member]).length;
      for (let i = 0; i < n; i++)
        for (let bit = 0; bit < 8; bit++) {
          expect(errType(() => openJwe(rsp, "request", parseJwe(flip(jwe, member, i, bit))))).toBe(
            "INTEGRITY_CHECK_FAILED",
          );
        }
    }
    expect(rsp.counters().receivedRequests).toBe(0);
    expect(openJwe(rsp, "request", parseJwe(jwe)).seq).toBe(0);
  });

  test("wrong key (a context from another master) → INTEGRITY_CHECK_FAILED", () => {
    const { jwe } = fresh();
    const other = mk("responder", "A256GCM", { master: new Uint8Array(64).fill(9) });
    expect(errType(() => openJwe(other, "request", parseJwe(jwe)))).toBe("INTEGRITY_CHECK_FAILED");
  });

  test("replayed SEQ → INTEGRITY_CHECK_FAILED 'replayed'", () => {
    const { rsp, jwe } = fresh();
    openJwe(rsp, "request", parseJwe(jwe));
    const e = fail(() => openJwe(rsp, "request", parseJwe(jwe)));
    expect(e.errorType).toBe("INTEGRITY_CHECK_FAILED");
    expect(e.message).toBe("replayed");
  });

  test("out of order within the window: accepted once each; older than 4096: replayed", () => {
    const { ini, rsp, aad, jwe: j0 } = fresh();
    const j1 = protectJwe(ini, "request", aad, EMPTY);
    const j2 = protectJwe(ini, "request", aad, EMPTY);
    expect(openJwe(rsp, "request", parseJwe(j2)).seq).toBe(2);
    expect(openJwe(rsp, "request", parseJwe(j1)).seq).toBe(1);
    expect(fail(() => openJwe(rsp, "request", parseJwe(j1))).message).toBe("replayed");
    ini.advanceSendSeq("request", 4096);
    const jNew = protectJwe(ini, "request", aad, EMPTY); // SEQ 4096: j0 (SEQ 0) is now ≤ highest − 4096
    expect(openJwe(rsp, "request", parseJwe(jNew)).seq).toBe(4096);
    const e = fail(() => openJwe(rsp, "request", parseJwe(j0)));
    expect([e.errorType, e.message]).toEqual(["INTEGRITY_CHECK_FAILED", "replayed"]);
  });

  test("expired or terminated context → ENCRYPTION_KEY_EXPIRED", () => {
    let now = 0;
    const { jwe } = fresh();
    const rsp = mk("responder", "A256GCM", { now: () => now, validUntil: 1000 });
    now = 1000;
    expect(errType(() => openJwe(rsp, "request", parseJwe(jwe)))).toBe("ENCRYPTION_KEY_EXPIRED");
    const rsp2 = mk("responder");
    rsp2.destroy();
    expect(errType(() => openJwe(rsp2, "request", parseJwe(jwe)))).toBe("ENCRYPTION_KEY_EXPIRED");
  });

  test("SEQ exhaustion: nothing is protected after SEQ 2^32-1 → ENCRYPTION_KEY_EXPIRED", () => {
    const ini = mk("initiator");
    ini.advanceSendSeq("request", MAX_SEQ);
    protectJwe(ini, "request", te.encode("{}"), EMPTY);
    expect(errType(() => protectJwe(ini, "request", te.encode("{}"), EMPTY))).toBe("ENCRYPTION_KEY_EXPIRED");
    expect(() => protectJwe(mk("initiator"), "request", EMPTY, EMPTY)).toThrow(RangeError); // no aad: caller bug
  });

  test("protected header: alg other than dir, unknown enc, zip, crit → DECIPHERING_FAILED", () => {
    const { jwe } = fresh();
    for (const h of [
      '{"alg":"A256KW","enc":"A256GCM"}',
      '{"alg":"none","enc":"A256GCM"}',
      '{"enc":"A256GCM"}',
      '{"alg":"dir","enc":"A192GCM"}',
      '{"alg":"dir","enc":"A256CBC-HS512"}',
      '{"alg":"dir"}',
      '{"alg":"dir","enc":"A256GCM","zip":"DEF"}',
      '{"alg":"dir","enc":"A256GCM","crit":["exp"],"exp":1}',
      '["alg","dir"]',
      '"dir"',
      "{not json",
    ]) {
      expect(errType(() => parseJwe(withHeader(jwe, h)))).toBe("DECIPHERING_FAILED");
    }
    expect(errType(() => parseJwe({ ...jwe, protected: b64u(new Uint8Array([0xff, 0xfe, 0x7b])) }))).toBe(
      "DECIPHERING_FAILED",
    );
    expect(errType(() => parseJwe({ ...jwe, protected: "x".repeat(2000) }))).toBe("DECIPHERING_FAILED");
  });

  test("an enc other than the negotiated one → DECIPHERING_FAILED (at open)", () => {
    const ini128 = mk("initiator", "A128GCM");
    const rsp256 = mk("responder", "A256GCM");
    const jwe = protectJwe(ini128, "request", te.encode("{}"), EMPTY);
    const parsed = parseJwe(jwe);
    expect(parsed.enc).toBe("A128GCM");
    expect(errType(() => openJwe(rsp256, "request", parsed))).toBe("DECIPHERING_FAILED");
  });

  test("encrypted_key: empty accepted, anything else DECIPHERING_FAILED; header/unprotected may not carry alg/enc/zip/crit", () => {
    const { rsp, jwe } = fresh();
    expect(errType(() => parseJwe({ ...jwe, encrypted_key: "AAAA" }))).toBe("DECIPHERING_FAILED");
    expect(errType(() => parseJwe({ ...jwe, encrypted_key: 0 }))).toBe("DECIPHERING_FAILED");
    for (const name of ["alg", "enc", "zip", "crit"]) {
      expect(errType(() => parseJwe({ ...jwe, unprotected: { [name]: "x" } }))).toBe("DECIPHERING_FAILED");
      expect(errType(() => parseJwe({ ...jwe, header: { [name]: "x" } }))).toBe("DECIPHERING_FAILED");
    }
    expect(errType(() => parseJwe({ ...jwe, header: "kid" }))).toBe("DECIPHERING_FAILED");
    // members in any order, encrypted_key "", an unprotected kid: accepted
    const reordered = {
      tag: jwe.tag,
      ciphertext: jwe.ciphertext,
      iv: jwe.iv,
      encrypted_key: "",
      aad: jwe.aad,
      protected: jwe.protected,
      unprotected: { kid: "k" },
    };
    expect(openJwe(rsp, "request", parseJwe(reordered)).seq).toBe(0);
  });

  test("bad base64url in each member", () => {
    const { jwe } = fresh();
    const bads = (s: string) => [
      `${s.slice(0, -1)}+`, // standard-alphabet character
      `${s}=`, // padding
      `${s.slice(0, 4)}A${s.slice(4)}`.slice(0, (s.length & ~3) + 1), // length ≡ 1 (mod 4)
      `${s.slice(0, 2)} ${s.slice(3)}`, // space
    ];
    const expected = {
      protected: "DECIPHERING_FAILED",
      iv: "DECIPHERING_FAILED",
      ciphertext: "DECIPHERING_FAILED",
      tag: "INTEGRITY_CHECK_FAILED",
      aad: "INTEGRITY_CHECK_FAILED",
    } as const;
    for (const [member, type] of Object.entries(expected)) {
      for (const bad of bads(jwe[member as keyof typeof expected])) {
        expect([member, errType(() => parseJwe({ ...jwe, [member]: bad }))]).toEqual([member, type]);
      }
    }
    // non-canonical trailing bits: a 16-octet tag is 22 characters whose last one carries 4 unused bits;
    // setting one of them gives a string Buffer decodes to the same octets, which strict base64url refuses
    expect(jwe.tag).toMatch(/^[A-Za-z0-9_-]{21}[AQgw]$/);
    const nonCanonical = jwe.tag.slice(0, -1) + String.fromCharCode(jwe.tag.charCodeAt(21) + 1);
    expect(Buffer.from(nonCanonical, "base64url").equals(Buffer.from(jwe.tag, "base64url"))).toBe(true);
    expect(errType(() => parseJwe({ ...jwe, tag: nonCanonical }))).toBe("INTEGRITY_CHECK_FAILED");
  });

  test("wrong lengths and missing members", () => {
    const { jwe } = fresh();
    const ivb = unb64u(jwe.iv);
    const tagb = unb64u(jwe.tag);
    expect(errType(() => parseJwe({ ...jwe, iv: b64u(ivb.subarray(0, 11)) }))).toBe("DECIPHERING_FAILED");
    expect(errType(() => parseJwe({ ...jwe, iv: b64u(new Uint8Array([...ivb, 0])) }))).toBe("DECIPHERING_FAILED");
    expect(errType(() => parseJwe({ ...jwe, tag: b64u(tagb.subarray(0, 15)) }))).toBe("INTEGRITY_CHECK_FAILED");
    expect(errType(() => parseJwe({ ...jwe, tag: b64u(tagb.subarray(0, 12)) }))).toBe("INTEGRITY_CHECK_FAILED");
    expect(errType(() => parseJwe({ ...jwe, tag: b64u(new Uint8Array([...tagb, 0])) }))).toBe("INTEGRITY_CHECK_FAILED");
    const without = (k: keyof ProtectedJwe) => Object.fromEntries(Object.entries(jwe).filter(([m]) => m !== k));
    expect(errType(() => parseJwe(without("protected")))).toBe("DECIPHERING_FAILED");
    expect(errType(() => parseJwe(without("iv")))).toBe("DECIPHERING_FAILED");
    expect(errType(() => parseJwe(without("ciphertext")))).toBe("DECIPHERING_FAILED");
    expect(errType(() => parseJwe(without("tag")))).toBe("INTEGRITY_CHECK_FAILED");
    expect(errType(() => parseJwe(without("aad")))).toBe("INTEGRITY_CHECK_FAILED");
    expect(errType(() => parseJwe({ ...jwe, aad: "" }))).toBe("INTEGRITY_CHECK_FAILED");
    for (const notObject of [null, [], "jwe", 7, undefined])
      expect(errType(() => parseJwe(notObject))).toBe("DECIPHERING_FAILED");
  });
});

describe("parseCipherBlock (DataToIntegrityProtectAndCipherBlock, P2/P10)", () => {
  test('empty plaintext and {"dataToEncrypt":[]} both mean nothing encrypted; values come back in order', () => {
    expect(parseCipherBlock(EMPTY)).toEqual([]);
    expect(parseCipherBlock(te.encode('{"dataToEncrypt":[]}'))).toEqual([]);
    expect(parseCipherBlock(te.encode('{"dataToEncrypt":["a",{"b":[1,null]},3],"extra":true}'))).toEqual([
      "a",
      { b: [1, null] },
      3,
    ]);
  });

  test("anything else → DECIPHERING_FAILED", () => {
    for (const bad of ["[]", "null", '"x"', "{}", '{"dataToEncrypt":{}}', '{"dataToEncrypt":"a"}', "{bad", " "]) {
      expect(errType(() => parseCipherBlock(te.encode(bad)))).toBe("DECIPHERING_FAILED");
    }
    expect(errType(() => parseCipherBlock(new Uint8Array([0x7b, 0xff, 0x7d])))).toBe("DECIPHERING_FAILED"); // invalid UTF-8
  });
});

describe("properties", () => {
  const members = ["protected", "aad", "iv", "ciphertext", "tag"] as const;

  test("random aad and plaintext round-trip in both directions and both encs", () => {
    for (const e of ["A128GCM", "A256GCM"] as const) {
      const ini = mk("initiator", e);
      const rsp = mk("responder", e);
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 600 }),
          fc.uint8Array({ maxLength: 600 }),
          fc.boolean(),
          (aad, pt, fromInitiator) => {
            const [from, to] = fromInitiator ? [ini, rsp] : [rsp, ini];
            const jwe = protectJwe(from, "request", aad, pt);
            expect(jwe.ciphertext === "").toBe(pt.length === 0);
            const parsed = parseJwe(JSON.parse(JSON.stringify(jwe)));
            expect(Buffer.from(parsed.aad).equals(Buffer.from(aad))).toBe(true);
            const { plaintext } = openJwe(to, "request", parsed);
            expect(Buffer.from(plaintext).equals(Buffer.from(pt))).toBe(true);
          },
        ),
        { numRuns: 150 },
      );
    }
  });

  test("a random single-byte change of any member never opens, and the genuine message still does", () => {
    const ini = mk("initiator");
    const rsp = mk("responder");
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.constantFrom(...members),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (aad, pt, member, pos, x) => {
          const jwe = protectJwe(ini, "request", aad, pt);
          const bytes = unb64u(jwe[member]);
          const i = pos % bytes.length;
          bytes[i] = bytes[i]! ^ x;
          const mutated = { ...jwe, [member]: b64u(bytes) };
          expect(() => openJwe(rsp, "request", parseJwe(mutated))).toThrow(N32fError);
          expect(Buffer.from(openJwe(rsp, "request", parseJwe(jwe)).plaintext).equals(Buffer.from(pt))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
