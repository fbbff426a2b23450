// hw/pkcs11/gate.ts — the Cryptoki state of the process, in shared memory, for the threads that share it.
//
// Cryptoki is per application, and an application is the process (PKCS#11 v2.40 §2.5–2.6: C_Initialize and
// C_Finalize, the login state and the session objects are the process's). Bun Workers are threads of one process
// with their own JavaScript state, so hw/pkcs11/module.ts's per-path registry is per thread. The thread that
// initialized a module (the main thread) owns it; a data-path worker only borrows it (Pkcs11Module.borrow) and
// must never C_Initialize or C_Finalize. The gate tells every thread:
// - `generation`: bumped at each C_Initialize and before each C_Finalize; a session or object handle of an older
//   generation is dead (a reinitialized module reuses handle numbers: a stale handle could name another thread's
//   new session);
// - `enter`/`leave` around a borrower's calls and `quiesce` before the owner's C_Finalize: the owner waits
//   (bounded) until no borrower is inside a call, and a borrower refuses to start one while a C_Finalize is coming
//   (both sides write, then read the other's flag, sequentially consistent: one of them sees the other);
// - the slot of the token the AEAD engine uses, and whether it is usable now (published by the owner);
// - each borrower's open session (handle and generation), so that the owner can close the session of a borrower
//   that died without closing it (a terminated Worker runs no clean-up): its N32-f keys would otherwise stay in the
//   token, and a token's sessions and objects are few (`takeSession`).
const GEN = 0;
const ACTIVE = 1;
const FINALIZING = 2;
const HEALTHY = 3;
const SLOT_LO = 4;
const SLOT_HI = 5;
const SESSIONS = 6;
/** Borrowers with a session record (data-path workers are numbered from 0; the configuration allows fewer). */
export const MAX_BORROWERS = 256;
/** A record: handle (low, high 32 bits), generation + 1 (0: no session). */
const RECORD = 3;
const SLOTS = SESSIONS + MAX_BORROWERS * RECORD;

/** How long the owner waits for borrowers to leave their calls before C_Finalize (calls take microseconds). */
const QUIESCE_MS = 2000;

export class CryptokiGate {
  readonly #a: Int32Array;
  private constructor(readonly buffer: SharedArrayBuffer) {
    this.#a = new Int32Array(buffer);
  }

  /** A new gate (the owner's, one per module path in the process). */
  static create(): CryptokiGate {
    return new CryptokiGate(new SharedArrayBuffer(SLOTS * 4));
  }

  /** The same gate in another thread (the buffer crossed by postMessage). */
  static of(buffer: SharedArrayBuffer): CryptokiGate {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== SLOTS * 4)
      throw new TypeError("not a Cryptoki gate");
    return new CryptokiGate(buffer);
  }

  get generation(): number {
    return Atomics.load(this.#a, GEN);
  }

  /** Owner: a C_Initialize or C_Finalize ends every handle of the current generation. */
  bump(): void {
    Atomics.add(this.#a, GEN, 1);
  }

  /**
   * Borrower: start a call sequence. Returns the generation it may use, or -1 while a C_Finalize is coming (then
   * nothing was entered). Every successful enter() is paired with leave().
   */
  enter(): number {
    Atomics.add(this.#a, ACTIVE, 1);
    if (Atomics.load(this.#a, FINALIZING) !== 0) {
      this.leave();
      return -1;
    }
    return Atomics.load(this.#a, GEN);
  }

  leave(): void {
    if (Atomics.sub(this.#a, ACTIVE, 1) === 1) Atomics.notify(this.#a, ACTIVE);
  }

  /**
   * Owner, before C_Finalize: no borrower starts a call from now on, and the ones inside finish (bounded wait).
   * Returns false when some did not finish in time (a hung module); the caller finalizes anyway. Pair with open().
   */
  quiesce(maxMs = QUIESCE_MS): boolean {
    Atomics.store(this.#a, FINALIZING, 1);
    Atomics.store(this.#a, HEALTHY, 0);
    const until = performance.now() + maxMs;
    for (;;) {
      const n = Atomics.load(this.#a, ACTIVE);
      if (n === 0) return true;
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.#a, ACTIVE, n, Math.min(left, 50));
    }
  }

  /** Owner, after C_Finalize (+ C_Initialize): borrowers may enter again, on the new generation. */
  open(): void {
    Atomics.store(this.#a, FINALIZING, 0);
  }

  /** Owner: the AEAD token's slot and that it is usable, or null while it is not. */
  publish(slot: number | null): void {
    if (slot === null) {
      Atomics.store(this.#a, HEALTHY, 0);
      return;
    }
    Atomics.store(this.#a, SLOT_LO, (slot % 2 ** 32) | 0);
    Atomics.store(this.#a, SLOT_HI, Math.floor(slot / 2 ** 32) | 0);
    Atomics.store(this.#a, HEALTHY, 1);
  }

  /** Where borrower `index`'s session record starts, or -1 for a number without one. */
  #recordAt(index: number): number {
    return Number.isInteger(index) && index >= 0 && index < MAX_BORROWERS ? SESSIONS + index * RECORD : -1;
  }

  /** Borrower `index`: its session `handle`, opened in `generation` (replaces an earlier record). */
  recordSession(index: number, handle: number, generation: number): void {
    const i = this.#recordAt(index);
    if (i < 0) return;
    Atomics.store(this.#a, i + 2, 0);
    Atomics.store(this.#a, i, (handle % 2 ** 32) | 0);
    Atomics.store(this.#a, i + 1, Math.floor(handle / 2 ** 32) | 0);
    Atomics.store(this.#a, i + 2, generation + 1);
  }

  /** Borrower `index` closed its session itself. */
  clearSession(index: number): void {
    const i = this.#recordAt(index);
    if (i >= 0) Atomics.store(this.#a, i + 2, 0);
  }

  /** Owner: the session borrower `index` left open (and forget it), or null. */
  takeSession(index: number): { handle: number; generation: number } | null {
    const i = this.#recordAt(index);
    if (i < 0) return null;
    const g = Atomics.exchange(this.#a, i + 2, 0);
    if (g === 0) return null;
    return {
      handle: (Atomics.load(this.#a, i) >>> 0) + (Atomics.load(this.#a, i + 1) >>> 0) * 2 ** 32,
      generation: g - 1,
    };
  }

  /** The published slot, or null while the token is not usable. */
  slot(): number | null {
    if (Atomics.load(this.#a, HEALTHY) === 0) return null;
    return (Atomics.load(this.#a, SLOT_LO) >>> 0) + (Atomics.load(this.#a, SLOT_HI) >>> 0) * 2 ** 32;
  }
}
