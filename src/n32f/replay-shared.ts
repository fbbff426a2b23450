// src/n32f/replay-shared.ts — the anti-replay window of one receiving IV salt in shared memory (N32-PROFILE P1:
// sliding window of 4096 per receiving salt), for the workers of one SEPP (issue 11 §3): a message accepted by
// one worker is refused as replayed by every other. Same acceptance rule as ReplayWindow (replay.ts), which stays
// the single-process implementation.
//
// Algorithm (lock-free; every shared word is read and written with Atomics):
// - SEQs are grouped in blocks of 8: block b = seq >>> 3, bit m = 1 << (seq & 7). The ring has SLOTS = 1024
//   words; block b lives in slot i = b & 1023, and the slot word holds `tag << 8 | bits` with tag = b >>> 10.
//   Slot index and tag together ARE the block number (b = tag << 10 | i; b < 2^29, so tag < 2^19 fits), so a
//   slot word says exactly which block its bits belong to — no clearing step is needed when the window moves,
//   and no stale bit can be mistaken for one of another block. A zero word is block i with no bit: the state
//   of a fresh window.
// - H is the highest accepted SEQ (0 before the first: highest 0 with its bit clear accepts exactly what
//   highest −1 accepts, so the 33rd value is not needed; `highest` reports −1 while `accepted` is 0).
// - accept(seq): if seq + 4096 ≤ H it is too old. Otherwise read the slot word w of its block:
//     tag(w) = tag(seq): the slot holds seq's block. Bit set → replayed. Else compareExchange(w → w | m).
//     tag(w) < tag(seq): the slot holds an older block b − 1024k, whose SEQs are all more than 4096 below seq,
//       so they are out of the window as soon as seq is accepted: compareExchange(w → tag(seq) << 8 | m).
//     tag(w) > tag(seq): a SEQ of a block at least 1024 blocks (8192 SEQs) newer was accepted: too old.
//   A failed compareExchange (another worker changed the slot) starts over. After success, H is raised to
//   max(H, seq) with a compareExchange loop.
// Why it is correct:
// - The same SEQ is never accepted twice, concurrently or not: accepting sets its bit with a compareExchange
//   from a word where the bit is clear, and tags only grow (a slot is only ever re-tagged to a larger tag), so
//   after its bit is set a slot either keeps the bit or moves on to a newer block, after which seq's block is
//   refused for ever. This holds for every SEQ, not only those inside the window.
// - Concurrent accepts of different SEQs do not disturb each other: two SEQs of the same block meet in one
//   word and the compareExchange makes one of them retry; two SEQs whose blocks share a slot are ≥ 8192 apart,
//   so the older is outside the window of the newer in any order.
// - Alone (one thread, or no accept in flight), the decisions are exactly ReplayWindow's (property test in
//   test/n32f/replay-shared.test.ts). While an accept is in flight H may lag by that one accept, so a SEQ just
//   leaving the window may still be accepted once — as if it had arrived just before: never a replay.
// The caller consults it only after the AEAD tag verified (P1), as with ReplayWindow.
import { REPLAY_WINDOW } from "./replay.ts";

const MAX_SEQ = 0xffff_ffff;
const SLOTS = 1024; // ≥ REPLAY_WINDOW / 8 + 1, a power of two
const H = 0;
const ACCEPTED = 1;
const RING = 2;
/** Uint32 words of one shared window: H, accepted, the ring. */
export const SHARED_REPLAY_WORDS = RING + SLOTS;

export class SharedReplayWindow {
  readonly #w: Uint32Array;

  /** A window over SHARED_REPLAY_WORDS words at `offset` of `words` (all zero = a fresh window). */
  constructor(words: Uint32Array, offset: number) {
    if (!(words.buffer instanceof SharedArrayBuffer))
      throw new TypeError("SharedReplayWindow needs a SharedArrayBuffer");
    this.#w = words.subarray(offset, offset + SHARED_REPLAY_WORDS);
    if (this.#w.length !== SHARED_REPLAY_WORDS) throw new RangeError("SharedReplayWindow outside its buffer");
  }

  /** Highest SEQ accepted so far, or −1. */
  get highest(): number {
    return Atomics.load(this.#w, ACCEPTED) === 0 ? -1 : Atomics.load(this.#w, H);
  }

  /** Number of SEQs accepted so far, by every worker. */
  get accepted(): number {
    return Atomics.load(this.#w, ACCEPTED);
  }

  /** Would `seq` be accepted now? Does not change the window. */
  check(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) return false;
    if (seq + REPLAY_WINDOW <= Atomics.load(this.#w, H)) return false;
    const b = seq >>> 3;
    const w = Atomics.load(this.#w, RING + (b & (SLOTS - 1)));
    const tag = w >>> 8;
    const t = b >>> 10;
    return tag < t || (tag === t && (w & (1 << (seq & 7))) === 0);
  }

  /** Record `seq` if acceptable; false for a replayed or too old SEQ. */
  accept(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) return false;
    const a = this.#w;
    const b = seq >>> 3;
    const slot = RING + (b & (SLOTS - 1));
    const t = b >>> 10;
    const m = 1 << (seq & 7);
    for (;;) {
      if (seq + REPLAY_WINDOW <= Atomics.load(a, H)) return false;
      const w = Atomics.load(a, slot);
      const tag = w >>> 8;
      let next: number;
      if (tag === t) {
        if ((w & m) !== 0) return false;
        next = w | m;
      } else if (tag < t) next = (t << 8) | m;
      else return false;
      if (Atomics.compareExchange(a, slot, w, next) === w) break;
    }
    for (;;) {
      const h = Atomics.load(a, H);
      if (h >= seq || Atomics.compareExchange(a, H, h, seq) === h) break;
    }
    Atomics.add(a, ACCEPTED, 1);
    return true;
  }
}
