// hw/pkcs11/session-key.ts — an N32-f AES key held as a session object in the token (TS 33.501 13.2.4.4, P1): the
// one key-handle class of both pkcs11 AEAD engines (the main thread's, hw/aead-pkcs11.ts, and a data-path worker's,
// hw/aead-pkcs11-worker.ts). Its handle is usable only while its session lives; destroy() (or, as a safety net,
// garbage collection) removes the object through the engine's own `dispose` (the worker's runs inside the Cryptoki
// gate). Session objects also vanish when their session closes.
import { AeadKeyError, type AeadKey } from "../aead.ts";
import type { Session } from "./module.ts";

const LOST = "key lost: the PKCS#11 session ended (token removed or reconnected); re-establish the N32-f context";

/** How an engine removes one of its objects: C_DestroyObject on `session` when that is still possible. */
export type DisposeObject = (session: Session, handle: number) => void;

const finalizer = new FinalizationRegistry<{ dispose: DisposeObject; session: Session; handle: number }>(
  ({ dispose, session, handle }) => dispose(session, handle),
);

export class SessionAeadKey<Owner> implements AeadKey {
  #handle: number | null;
  readonly #dispose: DisposeObject;
  constructor(
    readonly bits: 128 | 256,
    handle: number,
    readonly session: Session,
    /** the engine that imported it (a key is used only by its own engine) */
    readonly owner: Owner,
    dispose: DisposeObject,
  ) {
    this.#handle = handle;
    this.#dispose = dispose;
    finalizer.register(this, { dispose, session, handle }, this);
  }
  get destroyed(): boolean {
    return this.#handle === null;
  }
  /** The object handle; refused once destroyed or when its session ended. */
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
    this.#dispose(this.session, h);
  }
}
