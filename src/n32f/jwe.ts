// src/n32f/jwe.ts — the PRINS JWE: flattened JWE JSON serialization (RFC 7516 §7.2.2) with alg "dir" and
// AES-GCM, exactly as N32-PROFILE P2 fixes it (TS 33.501 13.2.4.4, TS 29.573 6.2 FlatJweJson).
//
//   protected  = BASE64URL('{"alg":"dir","enc":"A256GCM"}')   (or A128GCM; this exact text)
//   aad        = BASE64URL(UTF-8 JSON of DataToIntegrityProtectBlock)
//   iv         = BASE64URL(salt ‖ SEQ)                        (P1, the context picks salt and SEQ)
//   AEAD AAD   = ASCII(protected ‖ "." ‖ aad)                  (RFC 7516 §5.1 step 14)
//   ciphertext = BASE64URL(AES-GCM(DataToIntegrityProtectAndCipherBlock)), "" when nothing is encrypted
//   tag        = BASE64URL(16-octet GCM tag)
//
// Hand-written rather than through a JOSE library: the IV must be salt ‖ SEQ from the context (jose draws
// random IVs unless told, and its IV override is for tests), the key lives in an AeadEngine (maybe a PKCS#11
// token) and the hot path must stay synchronous. jose is used in the tests as an independent cross-check.
//
// Receive-side error mapping (P10, and our reading where P10 is silent):
//   DECIPHERING_FAILED      protected header unreadable, alg ≠ dir, enc unknown or not the negotiated one, zip
//                           or crit present, non-empty encrypted_key, bad iv or ciphertext encoding or length,
//                           plaintext neither empty nor {"dataToEncrypt":[…]}
//   INTEGRITY_CHECK_FAILED  aad or tag missing / badly encoded / wrong length, iv salt not the expected one,
//                           tag does not verify, SEQ replayed or older than the window (detail "replayed")
//   ENCRYPTION_KEY_EXPIRED  context terminated or past its validity
import type { FlatJweJson } from "../model/n32.ts";
import { GCM_IV_LENGTH, GCM_TAG_LENGTH } from "../../hw/aead.ts";
import { asBuffer } from "../bytes.ts";
import { b64uDecode, b64uEncode, sextet } from "./b64.ts";
import type { N32fContext, N32fMessageKind } from "./context.ts";
import { N32fError } from "./errors.ts";
import type { JweEnc } from "./kdf.ts";

/** The members protectJwe() always emits. */
export interface ProtectedJwe extends FlatJweJson {
  protected: string;
  aad: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** A JWE that passed the schema-level checks of P2/P10; nothing in it is authenticated yet. */
export interface ParsedJwe {
  enc: JweEnc;
  /** The `protected` and `aad` members exactly as received (they form the AEAD additional data). */
  protectedB64: string;
  aadB64: string;
  /**
   * Decoded `aad`: the UTF-8 JSON of DataToIntegrityProtectBlock (read metaData.n32fContextId from it). A view of
   * a reused buffer, valid until the next parseJwe(): read (or copy) it at once.
   */
  aad: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

/** P2: the protected header, this exact text and member order. */
export const PROTECTED_HEADER: Readonly<Record<JweEnc, string>> = Object.freeze({
  A128GCM: '{"alg":"dir","enc":"A128GCM"}',
  A256GCM: '{"alg":"dir","enc":"A256GCM"}',
});
const PROTECTED_B64: Readonly<Record<JweEnc, string>> = Object.freeze({
  A128GCM: Buffer.from(PROTECTED_HEADER.A128GCM, "utf8").toString("base64url"),
  A256GCM: Buffer.from(PROTECTED_HEADER.A256GCM, "utf8").toString("base64url"),
});
/** Bound on a received protected header (ours is 39 characters). */
const MAX_PROTECTED_B64 = 1024;

/** Reused for the AEAD additional data of messages up to this size (larger ones get their own buffer). */
const SCRATCH_MAX = 64 * 1024;
let scratch = Buffer.allocUnsafe(8 * 1024);

/**
 * RFC 7516 §5.1 step 14: the octets given to AES-GCM as additional data. Returns a view of a module-level
 * scratch buffer, valid until the next call: both callers hand it straight to the synchronous AEAD engine
 * (which copies or consumes it before returning) and keep no reference. Saves a 4-30 KB allocation per
 * message, whose GC cost showed in the profile. Nothing secret goes in it (protected header and aad are clear).
 */
function additionalData(protectedB64: string, aadB64: string): Buffer {
  const n = protectedB64.length + 1 + aadB64.length;
  let out: Buffer;
  if (n <= SCRATCH_MAX) {
    if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(n, scratch.length * 2)));
    out = scratch.subarray(0, n);
  } else out = Buffer.allocUnsafe(n);
  let o = out.write(protectedB64, 0, "latin1");
  out[o++] = 0x2e; // "."
  out.write(aadB64, o, "latin1");
  return out;
}

/**
 * Protect one N32-f message (TS 33.501 13.2.4.4): `aad` is the UTF-8 JSON of DataToIntegrityProtectBlock,
 * `plaintext` the UTF-8 JSON of DataToIntegrityProtectAndCipherBlock or zero octets when nothing is
 * encrypted. Uses our send key/salt for `kind` and the next SEQ. Throws N32fError ENCRYPTION_KEY_EXPIRED on a
 * terminated or expired context or an exhausted SEQ space; RangeError on an empty `aad`.
 */
export function protectJwe(
  ctx: N32fContext,
  kind: N32fMessageKind,
  aad: Uint8Array,
  plaintext: Uint8Array,
): ProtectedJwe {
  // Every N32-f message has a DataToIntegrityProtectBlock (it carries metaData); an empty one is a caller bug.
  if (aad.length === 0) throw new RangeError("protectJwe: aad (DataToIntegrityProtectBlock) must not be empty");
  const protectedB64 = PROTECTED_B64[ctx.enc];
  const aadB64 = b64uEncode(aad);
  const { iv, ciphertext, tag } = ctx.sealNext(kind, additionalData(protectedB64, aadB64), plaintext);
  return {
    protected: protectedB64,
    aad: aadB64,
    iv: b64uEncode(iv),
    ciphertext: ciphertext.length === 0 ? "" : b64uEncode(ciphertext),
    tag: b64uEncode(tag),
  };
}

/**
 * Strict base64url decode for the JWE members, with the same acceptance as b64uDecode (canonical, unpadded)
 * but without its regex scan (~1 ns per character, 3 µs on a 4 KB aad). Buffer's decoder turns each of the 64
 * base64url characters and "+" "/" into 6 bits and skips or stops at anything else, so: the decoded length is
 * the one the string's length implies only when every character counted; "+" and "/" are then the only
 * foreign ones left; and the unused low bits of the last character must be zero. Checked against b64uDecode
 * on 2M random strings (alphabet, padding, whitespace, NUL, non-latin1). Where the runtime has
 * Uint8Array.prototype.setFromBase64 (TC39; JavaScriptCore does), it decodes instead of Buffer and refuses "+" and
 * "/" itself (two scans of the string less: ~0.7 µs on a 4 KB aad); test/n32f/jwe-b64.test.ts holds both to
 * b64uDecode.
 */
function decodeMember(s: string, into?: (n: number) => Buffer, tc39 = setFromBase64 !== undefined): Buffer | null {
  const rem = s.length & 3;
  if (rem === 1) return null;
  const n = (s.length >> 2) * 3 + (rem === 0 ? 0 : rem - 1);
  let bytes: Buffer;
  if (tc39) {
    // the TC39 decoder with the base64url alphabet throws at "+", "/", a misplaced "=" or any other character and
    // skips ASCII whitespace: all n octets are written only when every character counted
    const buf = into && n <= SCRATCH_MAX ? into(n) : Buffer.allocUnsafe(n);
    // a view only where the buffer is longer: subarray() of a small pooled Buffer costs ~0.12 µs (it gives the
    // pool slice an ArrayBuffer of its own), three times per message for iv, ciphertext and tag
    bytes = buf.length === n ? buf : buf.subarray(0, n);
    try {
      if (setFromBase64!.call(bytes, s, URL_LOOSE).written !== n) return null;
    } catch {
      return null;
    }
  } else {
    if (into && n <= SCRATCH_MAX) {
      // decoded in place: write() stops at the same characters Buffer.from() skips, so it writes fewer than n octets
      const buf = into(n);
      bytes = buf.subarray(0, buf.write(s, 0, n, "base64url"));
    } else bytes = Buffer.from(s, "base64url");
    if (bytes.length !== n) return null;
    if (s.indexOf("+") >= 0 || s.indexOf("/") >= 0) return null;
  }
  if (rem !== 0) {
    const last = sextet(s.charCodeAt(s.length - 1));
    // 2 characters carry 8 bits (4 unused), 3 carry 16 (2 unused)
    if (last < 0 || (rem === 2 ? last & 0x0f : last & 0x03) !== 0) return null;
  }
  return bytes;
}

type SetFromBase64 = (s: string, o: { alphabet: "base64url"; lastChunkHandling: "loose" }) => { written: number };
/** Uint8Array.prototype.setFromBase64 (TC39, in JavaScriptCore): rejects "+" and "/" itself, no scan for them. */
const setFromBase64 = (Uint8Array.prototype as unknown as { setFromBase64?: SetFromBase64 }).setFromBase64;
const URL_LOOSE = { alphabet: "base64url", lastChunkHandling: "loose" } as const;

/**
 * decodeMember() without a scratch buffer, by the runtime's TC39 decoder or (`decoder: "buffer"`) by Buffer's, the
 * one for a runtime without it (tests: both with the same acceptance as b64uDecode).
 */
export function decodeJweMember(s: string, decoder: "tc39" | "buffer" = "tc39"): Buffer | null {
  return decodeMember(s, undefined, decoder === "tc39" && setFromBase64 !== undefined);
}

/** The decoded aad of the last parseJwe() (the engine turns it into text at once; saves a 1-30 KB Buffer). */
let aadScratch = Buffer.allocUnsafe(4 * 1024);
function aadBuffer(n: number): Buffer {
  if (aadScratch.length < n) aadScratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(n, aadScratch.length * 2)));
  return aadScratch;
}

/** Stateless in one-shot use (no `stream`), so one decoder serves every message. */
const UTF8_FATAL = new TextDecoder("utf-8", { fatal: true });

const decipher = (detail: string) => new N32fError("DECIPHERING_FAILED", detail);
const integrity = (detail: string) => new N32fError("INTEGRITY_CHECK_FAILED", detail);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validate the JOSE header (protected part) and return its enc. */
function checkProtected(protectedB64: unknown): JweEnc {
  if (typeof protectedB64 !== "string" || protectedB64.length === 0) throw decipher("JWE protected header missing");
  // Fast path: the two exact headers of P2.
  if (protectedB64 === PROTECTED_B64.A256GCM) return "A256GCM";
  if (protectedB64 === PROTECTED_B64.A128GCM) return "A128GCM";
  if (protectedB64.length > MAX_PROTECTED_B64) throw decipher("JWE protected header too long");
  const raw = b64uDecode(protectedB64);
  if (!raw) throw decipher("JWE protected header is not base64url");
  let header: unknown;
  try {
    header = JSON.parse(UTF8_FATAL.decode(raw));
  } catch {
    throw decipher("JWE protected header is not UTF-8 JSON");
  }
  if (!isObject(header)) throw decipher("JWE protected header is not a JSON object");
  if (header.alg !== "dir") throw decipher("JWE alg is not dir");
  if ("zip" in header) throw decipher("JWE zip is not allowed");
  if ("crit" in header) throw decipher("JWE crit is not allowed");
  if (header.enc !== "A128GCM" && header.enc !== "A256GCM") throw decipher("JWE enc is not A128GCM or A256GCM");
  return header.enc;
}

/** RFC 7516 §4: header parameter names must be disjoint; P2: alg/enc only in the protected header, no zip/crit. */
function checkUnprotected(v: unknown, member: string): void {
  if (v === undefined) return;
  if (!isObject(v)) throw decipher(`JWE ${member} is not a JSON object`);
  for (const name of ["alg", "enc", "zip", "crit"]) {
    if (name in v) throw decipher(`JWE ${member} carries ${name}`);
  }
}

/**
 * Schema-level checks of a received FlatJweJson (P2, P10) before any key is known; returns the decoded
 * members. The decoded `aad` tells the caller which context (metaData.n32fContextId) to open it with.
 */
export function parseJwe(jwe: unknown): ParsedJwe {
  if (!isObject(jwe)) throw decipher("JWE is not a JSON object");
  const enc = checkProtected(jwe.protected);
  checkUnprotected(jwe.unprotected, "unprotected");
  checkUnprotected(jwe.header, "header");
  if (jwe.encrypted_key !== undefined && jwe.encrypted_key !== "")
    throw decipher("JWE encrypted_key must be absent or empty with alg dir");

  if (typeof jwe.iv !== "string") throw decipher("JWE iv missing");
  const iv = decodeMember(jwe.iv);
  if (!iv) throw decipher("JWE iv is not base64url");
  if (iv.length !== GCM_IV_LENGTH) throw decipher("JWE iv is not 12 octets");

  if (typeof jwe.ciphertext !== "string") throw decipher("JWE ciphertext missing");
  const ciphertext = decodeMember(jwe.ciphertext);
  if (!ciphertext) throw decipher("JWE ciphertext is not base64url");

  if (typeof jwe.tag !== "string") throw integrity("JWE tag missing");
  const tag = decodeMember(jwe.tag);
  if (!tag) throw integrity("JWE tag is not base64url");
  if (tag.length !== GCM_TAG_LENGTH) throw integrity("JWE tag is not 16 octets");

  if (typeof jwe.aad !== "string" || jwe.aad.length === 0)
    throw integrity("JWE aad (DataToIntegrityProtectBlock) missing");
  const aad = decodeMember(jwe.aad, aadBuffer);
  if (!aad) throw integrity("JWE aad is not base64url");

  return { enc, protectedB64: jwe.protected as string, aadB64: jwe.aad, aad, iv, ciphertext, tag };
}

/**
 * Open a parsed JWE with `ctx` (TS 33.501 13.2.4.7): `kind` says whether we receive a request or a response.
 * Checks, in order: context usable (ENCRYPTION_KEY_EXPIRED), enc = negotiated (DECIPHERING_FAILED), iv salt,
 * tag, replay window (INTEGRITY_CHECK_FAILED). No plaintext is released unless all pass. Errors carry
 * `n32fContextId` = ctx.localContextId.
 */
export function openJwe(
  ctx: N32fContext,
  kind: N32fMessageKind,
  parsed: ParsedJwe,
): { plaintext: Uint8Array; seq: number } {
  ctx.assertUsable();
  if (parsed.enc !== ctx.enc) {
    throw new N32fError("DECIPHERING_FAILED", `JWE enc ${parsed.enc} is not the negotiated ${ctx.enc}`, {
      n32fContextId: ctx.localContextId,
    });
  }
  return ctx.openReceived(
    kind,
    parsed.iv,
    additionalData(parsed.protectedB64, parsed.aadB64),
    parsed.ciphertext,
    parsed.tag,
  );
}

/**
 * Parse a decrypted plaintext as DataToIntegrityProtectAndCipherBlock (P2, P10): zero octets → [];
 * otherwise UTF-8 JSON `{"dataToEncrypt":[…]}` (an empty array is accepted, unknown extra members are
 * ignored). Anything else → DECIPHERING_FAILED. Returns the dataToEncrypt array.
 */
export function parseCipherBlock(plaintext: Uint8Array): unknown[] {
  if (plaintext.length === 0) return [];
  let block: unknown;
  try {
    block = JSON.parse(UTF8_FATAL.decode(asBuffer(plaintext)));
  } catch {
    throw decipher("JWE plaintext is not UTF-8 JSON");
  }
  if (!isObject(block) || !Array.isArray(block.dataToEncrypt)) {
    throw decipher('JWE plaintext is not {"dataToEncrypt":[…]}');
  }
  return block.dataToEncrypt;
}
