// src/n32f/kdf.ts — N32-KDF and the N32-f session keys and IV salts (TS 33.501 13.2.4.4.1, N32-PROFILE P1).
//
//   N32-KDF(label, L) = HKDF-Expand(PRK = N32-f master key, info = "N32" ‖ N32-Context-ID ‖ label, L)
//
// with HMAC-SHA-256 and Expand only: the 64-octet TLS exporter output is used directly as the PRK.
// Hand-written because both WebCrypto `deriveBits({name: "HKDF"})` and node:crypto `hkdfSync` always run
// HKDF-Extract first (RFC 5869 §2.2) and offer no Expand-only mode; the Expand loop of RFC 5869 §2.3 is
// a few lines over node:crypto createHmac.
import { createHmac } from "node:crypto";

export type JweEnc = "A128GCM" | "A256GCM";

const HASH = "sha256";
const HASH_LEN = 32;
/** RFC 5869 §2.3: L ≤ 255 · HashLen. */
export const HKDF_MAX_LENGTH = 255 * HASH_LEN;

/** The session-key labels of TS 33.501 13.2.4.4.1 (exact wire spelling). */
export const PARALLEL_REQUEST_KEY = "parallel_request_key";
export const PARALLEL_RESPONSE_KEY = "parallel_response_key";
export const REVERSE_REQUEST_KEY = "reverse_request_key";
export const REVERSE_RESPONSE_KEY = "reverse_response_key";
/** The IV-salt labels of TS 33.501 13.2.4.4.1. */
export const PARALLEL_REQUEST_IV_SALT = "parallel_request_iv_salt";
export const PARALLEL_RESPONSE_IV_SALT = "parallel_response_iv_salt";
export const REVERSE_REQUEST_IV_SALT = "reverse_request_iv_salt";
export const REVERSE_RESPONSE_IV_SALT = "reverse_response_iv_salt";

export const KEY_LABELS = [
  PARALLEL_REQUEST_KEY,
  PARALLEL_RESPONSE_KEY,
  REVERSE_REQUEST_KEY,
  REVERSE_RESPONSE_KEY,
] as const;
export const SALT_LABELS = [
  PARALLEL_REQUEST_IV_SALT,
  PARALLEL_RESPONSE_IV_SALT,
  REVERSE_REQUEST_IV_SALT,
  REVERSE_RESPONSE_IV_SALT,
] as const;
export type N32fKeyLabel = (typeof KEY_LABELS)[number];
export type N32fSaltLabel = (typeof SALT_LABELS)[number];

/** IV salt length (P1: the fixed field of the 96-bit nonce, NIST SP 800-38D §8.2.1). */
export const IV_SALT_LENGTH = 8;
/** P1: the TLS exporter output length. */
export const MASTER_KEY_LENGTH = 64;

/** AES key length in octets for a negotiated JWE `enc` (P1). */
export function keyLengthFor(enc: JweEnc): 16 | 32 {
  if (enc === "A128GCM") return 16;
  if (enc === "A256GCM") return 32;
  throw new RangeError(`unsupported JWE enc ${String(enc)}`);
}

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * N32-KDF (TS 33.501 13.2.4.4.1): HKDF-Expand with HMAC-SHA-256, PRK = `master`,
 * info = ASCII("N32") ‖ ASCII(ctxId) ‖ ASCII(label). Returns `length` octets (the caller wipes them).
 */
export function n32Kdf(master: Uint8Array, ctxId: string, label: string, length: number): Uint8Array {
  // RFC 5869 §2.3: the PRK must be at least HashLen octets.
  if (master.length < HASH_LEN) throw new RangeError(`N32-KDF master key must be at least ${HASH_LEN} octets`);
  // ASCII only, so that the octets fed to HMAC are unambiguous (no UTF-8 choice to make).
  if (!PRINTABLE_ASCII.test(ctxId)) throw new RangeError("N32-KDF context ID must be printable ASCII");
  if (!PRINTABLE_ASCII.test(label)) throw new RangeError("N32-KDF label must be printable ASCII");
  return hkdfExpandSha256(master, Buffer.from(`N32${ctxId}${label}`, "latin1"), length);
}

/**
 * HKDF-Expand of RFC 5869 §2.3 with HMAC-SHA-256 (no Extract): T(0) = empty,
 * T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), OKM = the first `length` octets of T(1) ‖ T(2) ‖ …
 */
export function hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > HKDF_MAX_LENGTH) {
    throw new RangeError(`HKDF-Expand length must be 1..${HKDF_MAX_LENGTH}`);
  }
  const okm = new Uint8Array(length);
  const counter = new Uint8Array(1);
  let prev: Buffer | null = null;
  let filled = 0;
  for (let i = 1; filled < length; i++) {
    const h = createHmac(HASH, prk);
    if (prev) h.update(prev);
    h.update(info);
    counter[0] = i;
    h.update(counter);
    const t = h.digest();
    prev?.fill(0);
    const take = Math.min(t.length, length - filled);
    okm.set(t.subarray(0, take), filled);
    filled += take;
    prev = t;
  }
  prev?.fill(0);
  return okm;
}

/** The four session keys and four IV salts of one N32-f context. Secret: wipe with wipeKeyMaterial(). */
export interface N32fKeyMaterial {
  enc: JweEnc;
  keys: Record<N32fKeyLabel, Uint8Array>;
  salts: Record<N32fSaltLabel, Uint8Array>;
}

/**
 * Derive all key material of an N32-f context (P1): keys of 16 (A128GCM) or 32 (A256GCM) octets and
 * 8-octet salts. `kdfCtxId` is the context ID chosen by the per-peer `kdfContextId` setting (default: the
 * initiator's, exactly as it was sent). Does not wipe `master`.
 */
export function deriveN32fKeyMaterial(master: Uint8Array, kdfCtxId: string, enc: JweEnc): N32fKeyMaterial {
  const keyLen = keyLengthFor(enc);
  const k = (label: N32fKeyLabel) => n32Kdf(master, kdfCtxId, label, keyLen);
  const s = (label: N32fSaltLabel) => n32Kdf(master, kdfCtxId, label, IV_SALT_LENGTH);
  return {
    enc,
    keys: {
      parallel_request_key: k(PARALLEL_REQUEST_KEY),
      parallel_response_key: k(PARALLEL_RESPONSE_KEY),
      reverse_request_key: k(REVERSE_REQUEST_KEY),
      reverse_response_key: k(REVERSE_RESPONSE_KEY),
    },
    salts: {
      parallel_request_iv_salt: s(PARALLEL_REQUEST_IV_SALT),
      parallel_response_iv_salt: s(PARALLEL_RESPONSE_IV_SALT),
      reverse_request_iv_salt: s(REVERSE_REQUEST_IV_SALT),
      reverse_response_iv_salt: s(REVERSE_RESPONSE_IV_SALT),
    },
  };
}

/** Overwrite every key and salt with zeros. */
export function wipeKeyMaterial(m: N32fKeyMaterial): void {
  for (const l of KEY_LABELS) m.keys[l].fill(0);
  for (const l of SALT_LABELS) m.salts[l].fill(0);
}
