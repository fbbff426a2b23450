// hw/aead-pkcs11-worker.ts — the pkcs11 N32-f AEAD engine inside a data-path worker (a Bun Worker: a thread of
// the SEPP's process), built by openAeadForWorker() (hw/index.ts) from the main thread's Pkcs11AeadHandoff.
//
// PKCS#11 state is the process's (v2.40 §2.5–2.6): the main thread initialized the module and logged in, so this
// engine borrows the module (Pkcs11Module.borrow: no C_Initialize, never C_Finalize — that would end the main
// thread's sessions), opens its own session on the slot the main thread publishes (already logged in: no PIN
// crosses to the worker), and imports each context's keys, derived here from the master copy the worker received,
// as session objects of that session, destroyed with the context (C_DestroyObject) or with the session. Every call
// runs inside the Cryptoki gate (pkcs11/gate.ts), so the main thread's C_Finalize (a token that comes back is
// reinitialized there) never runs under it, and a handle of an older generation is never used: the keys of a
// reinitialized module say "key lost", and the main thread's re-handshake brings new contexts (src/sepp.ts).
import { AeadKeyError, GCM_IV_LENGTH, GCM_TAG_LENGTH, type AeadEngine, type AeadKey, type SealResult } from "./aead.ts";
import { createAeadKeyObject, gcmOpen, gcmSeal, type Pkcs11AeadHandoff } from "./aead-pkcs11.ts";
import { Pkcs11Error } from "./pkcs11/ffi.ts";
import { detectGcmLayout, GcmMechanism } from "./pkcs11/gcm.ts";
import type { CryptokiGate } from "./pkcs11/gate.ts";
import { Pkcs11Module, type Session } from "./pkcs11/module.ts";
import { UlongOut } from "./pkcs11/structs.ts";
import { SessionAeadKey } from "./pkcs11/session-key.ts";

/** C_DestroyObject inside the gate, when the object's session is still of the current generation. */
function destroyObject(gate: CryptokiGate, session: Session, handle: number): void {
  if (gate.enter() < 0) return; // the module is being finalized: the object goes with its session
  try {
    if (session.alive) session.destroyObject(handle);
  } catch {
    /* the object died with its token or session */
  } finally {
    gate.leave();
  }
}

/** AES-GCM in the token from a data-path worker: same bytes, same interface as the main thread's engine. */
export class Pkcs11WorkerAeadEngine implements AeadEngine {
  readonly name = "pkcs11";
  readonly gate: CryptokiGate;
  readonly #module: Pkcs11Module;
  #session: Session | null = null;
  #gcm: GcmMechanism | null;
  readonly #n = new UlongOut();
  readonly #onFailure: (e: Error) => void;
  /** This worker's number: its session is recorded in the gate under it, for the owner to close if it dies. */
  readonly #borrower: number;
  #closed = false;

  /**
   * No session is opened here (the first importKey() opens it), so a worker starts while the token is absent.
   * `onFailure` hears every failed PKCS#11 call (not a bad tag): the main thread owns the token's health and
   * recovery and probes it then.
   */
  constructor(h: Pkcs11AeadHandoff, onFailure: (e: Error) => void = () => {}, borrower = -1) {
    this.#module = Pkcs11Module.borrow(h.module, h.gate);
    this.gate = this.#module.gate;
    this.#gcm = h.layout ? new GcmMechanism(h.layout) : null;
    this.#onFailure = onFailure;
    this.#borrower = borrower;
  }

  #enter(): void {
    if (this.#closed) throw new AeadKeyError("AEAD engine closed");
    if (this.gate.enter() < 0) throw new AeadKeyError("the PKCS#11 module is being reinitialized; try again");
  }

  /** This worker's live session (inside the gate): the current one, or a new one on the published slot. */
  #ready(): Session {
    if (this.#session?.alive) return this.#session;
    // an older generation's session is only forgotten: its handle number may be another session's now
    this.#session?.close();
    this.#session = null;
    const slot = this.gate.slot();
    if (slot === null) throw new AeadKeyError("cannot import an N32-f key: the PKCS#11 token is unavailable");
    const s = this.#module.openSession(slot);
    if (this.#gcm === null) {
      try {
        this.#gcm = new GcmMechanism(detectGcmLayout(s, (raw) => createAeadKeyObject(s, raw)));
      } catch (e) {
        s.close();
        throw e;
      }
    }
    this.#session = s;
    this.gate.recordSession(this.#borrower, s.handle, s.epoch);
    return s;
  }

  #fail = (fn: string, rv: number): Error => {
    const e = new Pkcs11Error(fn, rv);
    this.#onFailure(e);
    return e;
  };

  /** Is the published token still in its slot? (C_GetTokenInfo; tells a bad tag from a lost token.) */
  #present = (): boolean => {
    const slot = this.gate.slot();
    if (slot === null) return false;
    try {
      this.#module.tokenInfo(slot);
      return true;
    } catch {
      return false;
    }
  };

  importKey(raw: Uint8Array): AeadKey {
    if (raw.length !== 16 && raw.length !== 32)
      throw new AeadKeyError(`AES key must be 16 or 32 octets, got ${raw.length}`);
    this.#enter();
    try {
      const s = this.#ready();
      const handle = createAeadKeyObject(s, raw);
      const gate = this.gate;
      const key = new SessionAeadKey(raw.length === 16 ? 128 : 256, handle, s, this, (session, h) =>
        destroyObject(gate, session, h),
      );
      return key;
    } catch (e) {
      if (e instanceof Pkcs11Error) this.#onFailure(e);
      throw e;
    } finally {
      this.gate.leave();
    }
  }

  #key(key: AeadKey): SessionAeadKey<Pkcs11WorkerAeadEngine> {
    if (!(key instanceof SessionAeadKey) || key.owner !== this)
      throw new AeadKeyError("key belongs to another AEAD engine");
    return key;
  }

  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): SealResult {
    const k = this.#key(key);
    this.#enter();
    try {
      return gcmSeal(k.session, this.#gcm!, this.#n, k.handle, iv, aad, plaintext, this.#fail);
    } finally {
      this.gate.leave();
    }
  }

  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array | null {
    if (tag.length !== GCM_TAG_LENGTH || iv.length !== GCM_IV_LENGTH) return null;
    const k = this.#key(key);
    this.#enter();
    try {
      return gcmOpen(k.session, this.#gcm!, this.#n, k.handle, iv, aad, ciphertext, tag, this.#fail, this.#present);
    } finally {
      this.gate.leave();
    }
  }

  /** Close this worker's session (the token destroys every key imported through it). Never C_Finalize. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#session;
    this.#session = null;
    if (!s || this.gate.enter() < 0) return;
    try {
      // the record goes first: the owner must never close this handle once it may name another session
      this.gate.clearSession(this.#borrower);
      s.close();
    } catch {
      /* the token is gone */
    } finally {
      this.gate.leave();
    }
  }
}
