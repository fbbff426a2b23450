// hw/aead-pkcs11.ts — the N32-f AEAD engine (hw/aead.ts) doing AES-GCM inside a PKCS#11 token.
//
// TS 33.501 13.2.4.4 / N32-PROFILE P1: the session keys of an N32-f context are imported as session objects
// (CKA_TOKEN false) that are sensitive and non-extractable, AES-GCM runs in the token (CKM_AES_GCM, 96-bit IV,
// 128-bit tag), and destroy() removes the object (C_DestroyObject) when the context ends. Results equal the
// software engine byte for byte (tests). The CK_GCM_PARAMS layout is picked once by a known-answer test
// (hw/pkcs11/gcm.ts). Calls are synchronous, like the software engine's.
import { AeadKeyError, GCM_IV_LENGTH, GCM_TAG_LENGTH, type AeadEngine, type AeadKey, type SealResult } from "./aead.ts";
import { CKA, CKK, CKO, CKR } from "./pkcs11/constants.ts";
import { Pkcs11Error } from "./pkcs11/ffi.ts";
import { UlongOut } from "./pkcs11/structs.ts";
import { detectGcmLayout, GcmMechanism, isTagFailure, type GcmLayout } from "./pkcs11/gcm.ts";
import type { Session } from "./pkcs11/module.ts";
import { type DisposeObject, SessionAeadKey } from "./pkcs11/session-key.ts";
import { TokenUnavailableError, type Pkcs11Token } from "./pkcs11/token.ts";

const SCRATCH = new Uint8Array(1);

/**
 * What a data-path worker needs to run the pkcs11 engine in its own thread (a structured clone, postMessage): the
 * module path, the process's Cryptoki gate (pkcs11/gate.ts, shared memory) and the CK_GCM_PARAMS layout when the
 * main thread's engine knows it already.
 */
export interface Pkcs11AeadHandoff {
  engine: "pkcs11";
  module: string;
  gate: SharedArrayBuffer;
  layout: GcmLayout | null;
}

/** An N32-f key as a session object (CKA_TOKEN false): sensitive, never extractable, AES-GCM only (P1). */
export function createAeadKeyObject(session: Session, raw: Uint8Array): number {
  return session.createObject([
    [CKA.CLASS, CKO.SECRET_KEY],
    [CKA.KEY_TYPE, CKK.AES],
    [CKA.TOKEN, false],
    [CKA.PRIVATE, true],
    [CKA.SENSITIVE, true],
    [CKA.EXTRACTABLE, false],
    [CKA.ENCRYPT, true],
    [CKA.DECRYPT, true],
    [CKA.WRAP, false],
    [CKA.UNWRAP, false],
    [CKA.DERIVE, false],
    [CKA.VALUE, raw],
  ]);
}
/** Largest message the engine accepts (N32-f bodies are bounded far below this). */
const MAX_DATA = 16 * 1024 * 1024;

/** C_DestroyObject while the session lives (the object died with its token or session otherwise). */
const disposeObject: DisposeObject = (session, handle) => {
  if (!session.alive) return;
  try {
    session.destroyObject(handle);
  } catch {
    /* the object died with its token or session */
  }
};

/**
 * AES-GCM in the token for N32-f. Built by openHardware() (hw/index.ts) from the pkcs11 keystore's token when
 * HwConfig.aead is "pkcs11"; the benchmarks and hw tests build it on a token directly.
 */
export class Pkcs11AeadEngine implements AeadEngine {
  readonly name = "pkcs11";
  readonly #token: Pkcs11Token;
  /** The engine's own session (outside the keystore's pool); null until the token was first reached. */
  #session: Session | null = null;
  #layout: GcmLayout | null = null;
  /** Set with the layout, before the first key can exist: seal/open (which need a key) always find it. */
  #gcm: GcmMechanism | null = null;
  readonly #n = new UlongOut();
  readonly #lostListeners = new Set<() => void>();
  readonly #unsubscribe: () => void;

  /**
   * With the token present, the session is opened and the CK_GCM_PARAMS layout picked now (a module without
   * AES-GCM fails here, at start). With the token absent (it may appear later: issue 5, "token absent at start")
   * that waits for the token; importKey() fails with a clear AeadKeyError meanwhile.
   */
  constructor(token: Pkcs11Token) {
    this.#token = token;
    if (token.healthy) this.#ready();
    // The token came back: if the reconnect ended our session (C_Finalize/C_Initialize), every key imported
    // through it is gone. Open a fresh session now and tell the owners of the N32-f contexts.
    this.#unsubscribe = token.onHealth((healthy) => {
      if (!healthy) {
        token.module.gate.publish(null); // the workers' engines refuse new keys until the token is back
        return;
      }
      const lost = this.#session !== null && !this.#session.alive;
      try {
        this.#ready();
      } catch {
        /* importKey() retries */
      }
      if (!lost) return;
      for (const fn of this.#lostListeners)
        queueMicrotask(() => {
          try {
            fn();
          } catch {
            /* a listener's failure is its own */
          }
        });
    });
  }

  /** The CK_GCM_PARAMS layout of the module (known once the token was reached). */
  get layout(): GcmLayout {
    if (this.#layout === null)
      throw new AeadKeyError("the PKCS#11 token was not reached yet: CK_GCM_PARAMS layout unknown");
    return this.#layout;
  }

  onKeysLost(fn: () => void): () => void {
    this.#lostListeners.add(fn);
    return () => this.#lostListeners.delete(fn);
  }

  /**
   * A live session of the engine: the current one, or a new one (first use, or after the token came back; keys of
   * the old session are lost). Picks the CK_GCM_PARAMS layout by known answer on first contact.
   */
  #ready(): Session {
    if (this.#session?.alive) return this.#session;
    const s = this.#token.openDedicatedSession();
    if (this.#layout === null) {
      try {
        this.#layout = detectGcmLayout(s, (raw) => this.#create(s, raw));
      } catch (e) {
        s.close();
        throw e;
      }
      this.#gcm = new GcmMechanism(this.#layout);
    }
    this.#session = s;
    // the data-path workers' engines (aead-pkcs11-worker.ts) open their sessions on this slot
    this.#token.module.gate.publish(s.slot);
    return s;
  }

  /**
   * What a data-path worker needs to run this engine in its own thread (openAeadForWorker, hw/index.ts): the
   * module path, the process's Cryptoki gate (shared memory) and the CK_GCM_PARAMS layout once known. No PIN: the
   * login state is the process's, so the worker's sessions are logged in already.
   */
  workerHandoff(): Pkcs11AeadHandoff {
    const m = this.#token.module;
    return { engine: "pkcs11", module: m.path, gate: m.gate.buffer, layout: this.#layout };
  }

  /**
   * Close the session that data-path worker `index` left open when it died (Pkcs11WorkerAeadEngine records it in
   * the gate; a terminated Worker closes nothing): the token destroys the worker's N32-f keys with it. Only a
   * session of the current generation is closed — an older one died with its C_Finalize, and its handle number may
   * be another session's now. True when one was closed. Call it after the worker ended, before its replacement
   * starts (the replacement records a session under the same number).
   */
  closeBorrowerSession(index: number): boolean {
    const m = this.#token.module;
    const r = m.gate.takeSession(index);
    if (r === null || r.generation !== m.epoch) return false;
    return m.fns.C_CloseSession(r.handle) === CKR.OK;
  }

  /**
   * The N32-f keys in the token now: the secret-key session objects this process holds (PKCS#11: the session
   * objects of every session of the application, the workers' included, are visible to each of its sessions).
   * Null while the token is not usable.
   */
  sessionKeys(): number | null {
    try {
      return this.#token.withSession(
        (s) =>
          s.findObjects([
            [CKA.CLASS, CKO.SECRET_KEY],
            [CKA.TOKEN, false],
          ]).length,
      );
    } catch {
      return null;
    }
  }

  #create(session: Session, raw: Uint8Array): number {
    return createAeadKeyObject(session, raw);
  }

  importKey(raw: Uint8Array): AeadKey {
    if (raw.length !== 16 && raw.length !== 32)
      throw new AeadKeyError(`AES key must be 16 or 32 octets, got ${raw.length}`);
    let session: Session;
    try {
      session = this.#ready();
    } catch (e) {
      if (e instanceof TokenUnavailableError) throw new AeadKeyError(`cannot import an N32-f key: ${e.message}`);
      throw e;
    }
    let handle: number;
    try {
      handle = this.#create(session, raw);
    } catch (e) {
      this.#token.reportFailure(e);
      throw e;
    }
    const key = new SessionAeadKey(raw.length === 16 ? 128 : 256, handle, session, this, disposeObject);
    return key;
  }

  #key(key: AeadKey): SessionAeadKey<Pkcs11AeadEngine> {
    if (!(key instanceof SessionAeadKey) || key.owner !== this)
      throw new AeadKeyError("key belongs to another AEAD engine");
    return key;
  }

  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): SealResult {
    const k = this.#key(key);
    return gcmSeal(k.session, this.#gcm!, this.#n, k.handle, iv, aad, plaintext, this.#failFn);
  }

  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | null {
    if (tag.length !== GCM_TAG_LENGTH || iv.length !== GCM_IV_LENGTH) return null;
    const k = this.#key(key);
    return gcmOpen(k.session, this.#gcm!, this.#n, k.handle, iv, aad, ciphertext, tag, this.#failFn, this.#present);
  }

  readonly #failFn = (fn: string, rv: number): Error => this.#fail(fn, rv);
  readonly #present = (): boolean => this.#token.probe();

  #fail(fn: string, rv: number): Error {
    const e = new Pkcs11Error(fn, rv);
    this.#token.reportFailure(e);
    return e;
  }

  /** Close the engine's session: every key imported through it is destroyed by the token. */
  close(): void {
    this.#unsubscribe();
    this.#lostListeners.clear();
    this.#session?.close();
  }
}

/**
 * One AES-GCM encryption (CKM_AES_GCM, 96-bit IV, 128-bit tag) with key object `handle` in session `s`; the main
 * thread's engine and a worker's (aead-pkcs11-worker.ts) share it. `fail` builds (and reports) the error of a
 * failed call.
 */
export function gcmSeal(
  s: Session,
  gcm: GcmMechanism,
  n: UlongOut,
  handle: number,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  fail: (fn: string, rv: number) => Error,
): SealResult {
  if (iv.length !== GCM_IV_LENGTH) throw new AeadKeyError(`IV must be ${GCM_IV_LENGTH} octets`);
  if (plaintext.length > MAX_DATA || aad.length > MAX_DATA) throw new AeadKeyError("message too large");
  const f = s.fns;
  let rv = f.C_EncryptInit(s.handle, gcm.set(iv, aad, GCM_TAG_LENGTH * 8).buf, handle);
  if (rv !== CKR.OK) throw fail("C_EncryptInit", rv);
  const out = new Uint8Array(plaintext.length + GCM_TAG_LENGTH);
  n.set(out.length);
  rv = f.C_Encrypt(s.handle, plaintext.length ? plaintext : SCRATCH, plaintext.length, out, n.buf);
  if (rv !== CKR.OK) throw fail("C_Encrypt", rv);
  const len = n.value;
  if (len !== out.length) throw new Pkcs11Error("C_Encrypt", CKR.FUNCTION_FAILED, `unexpected output length ${len}`);
  return { ciphertext: out.subarray(0, plaintext.length), tag: out.subarray(plaintext.length) };
}

/**
 * One AES-GCM decryption; null when the tag does not verify (never unverified plaintext). `present` tells an
 * ambiguous failure (SoftHSM's CKR_GENERAL_ERROR) from a lost token (gcm.ts isTagFailure).
 */
export function gcmOpen(
  s: Session,
  gcm: GcmMechanism,
  n: UlongOut,
  handle: number,
  iv: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  fail: (fn: string, rv: number) => Error,
  present: () => boolean,
): Uint8Array | null {
  if (tag.length !== GCM_TAG_LENGTH || iv.length !== GCM_IV_LENGTH) return null;
  if (ciphertext.length > MAX_DATA || aad.length > MAX_DATA) return null;
  const f = s.fns;
  const input = new Uint8Array(ciphertext.length + GCM_TAG_LENGTH);
  input.set(ciphertext, 0);
  input.set(tag, ciphertext.length);
  let rv = f.C_DecryptInit(s.handle, gcm.set(iv, aad, GCM_TAG_LENGTH * 8).buf, handle);
  if (rv !== CKR.OK) throw fail("C_DecryptInit", rv);
  const out = new Uint8Array(input.length);
  n.set(out.length);
  rv = f.C_Decrypt(s.handle, input, input.length, out, n.buf);
  if (rv !== CKR.OK) {
    out.fill(0); // never release unverified plaintext
    if (isTagFailure(rv, present)) return null;
    throw fail("C_Decrypt", rv);
  }
  return out.subarray(0, n.value);
}
