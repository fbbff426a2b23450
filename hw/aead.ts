// hw/aead.ts — the AEAD engine interface used by the N32-f engine (TS 33.501 13.2.4.4: JWE with AES-GCM).
//
// The N32-f hot path calls these synchronously: one AES-GCM per message, no await. A software engine
// (node:crypto, in process) is the default; a PKCS#11 engine (hw/pkcs11/) does the same work in a token.
// Keys are opaque handles: the raw session key never leaves the engine after importKey(), and
// destroy() wipes (software) or destroys (PKCS#11) it when the N32-f context ends.
import { createCipheriv, createDecipheriv, type KeyObject, createSecretKey } from "node:crypto";

export const GCM_TAG_LENGTH = 16;
export const GCM_IV_LENGTH = 12;

/** An AES key held by an engine. Opaque to callers. */
export interface AeadKey {
  /** 128 (A128GCM) or 256 (A256GCM). */
  readonly bits: 128 | 256;
  /** True once destroy() ran; a destroyed key refuses every operation. */
  readonly destroyed: boolean;
  /** Wipe / destroy the key material. Idempotent. */
  destroy(): void;
}

export interface SealResult {
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

/**
 * AES-GCM for the N32-f PRINS JWE (TS 33.501 13.2.4.4): software (in process) or pkcs11 (in the token), the same
 * bytes either way. Synchronous by design: the hot path seals and opens without an await. Built by
 * openHardware() (hw/index.ts); src/n32f/ only sees this interface.
 *
 * @example One N32-f key: import, seal, open, destroy
 * ```ts
 * const { aead } = await openHardware(hwConfig, log);
 * const key = aead.importKey(rawKey); // the engine keeps its own copy (a token object for pkcs11)
 * rawKey.fill(0);
 * const { ciphertext, tag } = aead.seal(key, iv, aad, plaintext); // iv: 12 octets (salt ‖ SEQ, P2)
 * const clear = aead.open(key, iv, aad, ciphertext, tag); // null when the tag does not verify
 * aead.onKeysLost?.(() => reestablishContexts()); // pkcs11: the token reconnected, its keys are gone
 * key.destroy(); // when the N32-f context ends
 * ```
 */
export interface AeadEngine {
  readonly name: string;
  /**
   * Import a raw AES key (16 or 32 octets). The engine copies what it needs; the caller should wipe
   * `raw` afterwards (rawKey.fill(0)).
   */
  importKey(raw: Uint8Array): AeadKey;
  /** AES-GCM encrypt with a 12-octet IV and a 16-octet tag. */
  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): SealResult;
  /** AES-GCM decrypt; returns the plaintext, or null when the tag does not verify. Never throws on a bad tag. */
  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | null;
  /**
   * `fn` is called (asynchronously) when keys imported earlier were lost outside the caller's control: the
   * PKCS#11 token was removed and reconnected, which ends the session holding them. Every N32-f context on this
   * engine is then unusable (its keys throw AeadKeyError "key lost") and must be re-established by a new N32-c
   * handshake. Returns an unsubscribe function. Engines that cannot lose keys (software) leave it out.
   */
  onKeysLost?(fn: () => void): () => void;
}

export class AeadKeyError extends Error {
  override name = "AeadKeyError";
}

class SoftwareAeadKey implements AeadKey {
  #key: KeyObject | null;
  readonly bits: 128 | 256;
  readonly algorithm: "aes-128-gcm" | "aes-256-gcm";
  constructor(raw: Uint8Array) {
    if (raw.length !== 16 && raw.length !== 32)
      throw new AeadKeyError(`AES key must be 16 or 32 octets, got ${raw.length}`);
    this.bits = raw.length === 16 ? 128 : 256;
    this.algorithm = raw.length === 16 ? "aes-128-gcm" : "aes-256-gcm";
    // A KeyObject keeps the secret outside the JS heap's copyable objects; `raw` is left for the caller to wipe.
    this.#key = createSecretKey(raw);
  }
  get destroyed(): boolean {
    return this.#key === null;
  }
  get keyObject(): KeyObject {
    if (this.#key === null) throw new AeadKeyError("key destroyed");
    return this.#key;
  }
  destroy(): void {
    this.#key = null;
  }
}

/** In-process AES-GCM through node:crypto (BoringSSL in Bun). The embedded default. */
export class SoftwareAeadEngine implements AeadEngine {
  readonly name = "software";

  importKey(raw: Uint8Array): AeadKey {
    return new SoftwareAeadKey(raw);
  }

  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): SealResult {
    const k = asSoftware(key);
    const cipher = createCipheriv(k.algorithm, k.keyObject, iv, { authTagLength: GCM_TAG_LENGTH });
    cipher.setAAD(aad);
    const head = plaintext.length > 0 ? cipher.update(plaintext) : EMPTY;
    const tail = cipher.final();
    const ciphertext = tail.length === 0 ? head : concat(head, tail);
    return { ciphertext, tag: cipher.getAuthTag() };
  }

  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | null {
    if (tag.length !== GCM_TAG_LENGTH || iv.length !== GCM_IV_LENGTH) return null;
    const k = asSoftware(key);
    const decipher = createDecipheriv(k.algorithm, k.keyObject, iv, { authTagLength: GCM_TAG_LENGTH });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const head = ciphertext.length > 0 ? decipher.update(ciphertext) : EMPTY;
    try {
      const tail = decipher.final();
      return tail.length === 0 ? head : concat(head, tail);
    } catch {
      head.fill(0); // never release unverified plaintext
      return null;
    }
  }
}

const EMPTY = Buffer.alloc(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function asSoftware(key: AeadKey): SoftwareAeadKey {
  if (!(key instanceof SoftwareAeadKey)) throw new AeadKeyError("key belongs to another AEAD engine");
  return key;
}
