// src/n32f/seq.ts — SEQ counters of the N32-f send salts (N32-PROFILE P1: nonce = salt ‖ SEQ, one counter per
// salt, +1 per encryption, "shared by every HTTP/2 connection that uses the context", never past 2^32 − 1).
//
// The single-process context keeps a plain number field (context.ts: the hot path stays as it was); SharedSeq
// is the counter in two 32-bit words of a SharedArrayBuffer, so that the workers of one SEPP (issue 11 §3) share
// one counter per salt and no SEQ is ever handed out twice, whichever worker encrypts.
//
// SharedSeq.take() is an atomic fetch-and-increment built as a compare-and-swap loop, not Atomics.add: a 32-bit
// Atomics.add would wrap from 2^32 − 1 to 0 (nonce reuse) before any worker could notice. The word `next`
// never moves past 2^32 − 1; the last SEQ (2^32 − 1) is handed out by setting the word `exhausted` 0 → 1
// (compareExchange), so exactly one caller gets it and every later one sees the counter exhausted.

/** Largest SEQ: a 32-bit unsigned counter (P1); SEQ 2^32 is never used. */
export const MAX_SEQ = 0xffff_ffff;

function checkTarget(seq: number, now: number): void {
  if (!Number.isInteger(seq) || seq < now || seq > MAX_SEQ + 1) {
    throw new RangeError(`SEQ can only move forward, within 0..2^32 (now ${now})`);
  }
}

/** Words of one SharedSeq in its Uint32Array. */
export const SHARED_SEQ_WORDS = 2;
const NEXT = 0;
const EXHAUSTED = 1;

/** The counter in shared memory (two Uint32 words at `offset` of `words`, zero = a fresh counter). */
export class SharedSeq {
  readonly #w: Uint32Array;
  constructor(words: Uint32Array, offset: number) {
    if (!(words.buffer instanceof SharedArrayBuffer)) throw new TypeError("SharedSeq needs a SharedArrayBuffer");
    this.#w = words.subarray(offset, offset + SHARED_SEQ_WORDS);
    if (this.#w.length !== SHARED_SEQ_WORDS) throw new RangeError("SharedSeq outside its buffer");
  }
  /** The SEQ the next take() returns; 2^32 once exhausted. */
  get next(): number {
    return Atomics.load(this.#w, EXHAUSTED) !== 0 ? MAX_SEQ + 1 : Atomics.load(this.#w, NEXT);
  }
  /** Consume and return the next SEQ, or −1 when the 32-bit space is exhausted. */
  take(): number {
    const w = this.#w;
    for (;;) {
      const v = Atomics.load(w, NEXT);
      if (v === MAX_SEQ) return Atomics.compareExchange(w, EXHAUSTED, 0, 1) === 0 ? MAX_SEQ : -1;
      if (Atomics.compareExchange(w, NEXT, v, v + 1) === v) return v;
      // another worker took v meanwhile: try again with the new value
    }
  }
  /** Move forward to `seq` (0..2^32; 2^32 = exhausted); RangeError if that would move back. */
  advanceTo(seq: number): void {
    checkTarget(seq, this.next);
    // 2^32: `next` goes to 2^32 − 1 first, then the flag takes that last SEQ away (take() reads only `next`)
    const to = Math.min(seq, MAX_SEQ);
    for (;;) {
      const v = Atomics.load(this.#w, NEXT);
      if (v >= to || Atomics.compareExchange(this.#w, NEXT, v, to) === v) break;
    }
    if (seq > MAX_SEQ) Atomics.store(this.#w, EXHAUSTED, 1);
  }
}
