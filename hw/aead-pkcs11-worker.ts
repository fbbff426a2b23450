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

const LOST = "key lost: the PKCS#11 session ended (token removed or reconnected); re-establish the N32-f context";

class WorkerAeadKey implements AeadKey {
  #handle: number | null;
  constructor(
    readonly bits: 128 | 256,
    handle: number,
    readonly session: Session,
    readonly owner: Pkcs11WorkerAeadEngine,
  ) {
    this.#handle = handle;
  }
  get destroyed(): boolean {
    return this.#handle === null;
  }
  /** The object handle (inside the gate only). */
  get handle(): number {
    if (this.#handle === null) throw new AeadKeyError("key destroyed");
    if (!this.session.alive) throw new AeadKeyError(LOST);
    return this.#handle;
  }
  destroy(): void {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    finalizer.unregister(this);
    destroyObject(this.owner.gate, this.session, h);
  }
}

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

// destroy() is the rule; a key dropped without it still leaves the token when garbage-collected.
const finalizer = new FinalizationRegistry<{ gate: CryptokiGate; session: Session; handle: number }>(
  ({ gate, session, handle }) => destroyObject(gate, session, handle),
);

/** AES-GCM in the token from a data-path worker: same bytes, same interface as the main thread's engine. */
export class Pkcs11WorkerAeadEngine implements AeadEngine {
  readonly name = "pkcs11";
  readonly gate: CryptokiGate;
  readonly #module: Pkcs11Module;
  #session: Session | null = null;
  #gcm: GcmMechanism | null;
  readonly #n = new UlongOut();
  readonly #onFailure: (e: Error) => void;
  #closed = false;

  /**
   * No session is opened here (the first importKey() opens it), so a worker starts while the token is absent.
   * `onFailure` hears every failed PKCS#11 call (not a bad tag): the main thread owns the token's health and
   * recovery and probes it then.
   */
  constructor(h: Pkcs11AeadHandoff, onFailure: (e: Error) => void = () => {}) {
    this.#module = Pkcs11Module.borrow(h.module, h.gate);
    this.gate = this.#module.gate;
    this.#gcm = h.layout ? new GcmMechanism(h.layout) : null;
    this.#onFailure = onFailure;
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
      const key = new WorkerAeadKey(raw.length === 16 ? 128 : 256, handle, s, this);
      finalizer.register(key, { gate: this.gate, session: s, handle }, key);
      return key;
    } catch (e) {
      if (e instanceof Pkcs11Error) this.#onFailure(e);
      throw e;
    } finally {
      this.gate.leave();
    }
  }

  #key(key: AeadKey): WorkerAeadKey {
    if (!(key instanceof WorkerAeadKey) || key.owner !== this)
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
      s.close();
    } catch {
      /* the token is gone */
    } finally {
      this.gate.leave();
    }
  }
}
