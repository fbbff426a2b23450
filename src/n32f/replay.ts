// src/n32f/replay.ts — anti-replay window for received N32-f SEQ numbers (N32-PROFILE P1; TS 33.501
// 13.2.2.4.2 "counters … for replay protection").
//
// One window per receiving IV salt. HTTP/2 streams may be processed out of order, so a sliding window of
// REPLAY_WINDOW SEQs below the highest accepted one is kept as a bitmap (the block technique of RFC 6479):
// check/accept are O(1) apart from clearing at most the whole bitmap when the window jumps, and nothing is
// allocated per message. Accepted: a SEQ above the highest, or within (highest − 4096, highest] and not yet
// seen. Rejected: a repeated SEQ, or one ≤ highest − 4096. The caller consults it only AFTER the AEAD tag
// verified (P1), so a forged message can neither advance nor probe the window.

export const REPLAY_WINDOW = 4096;
const MAX_SEQ = 0xffff_ffff;
// 4096 bits need 128 words; one more word so that the word holding `highest` (partly in the future) never
// aliases a word still inside the window.
const WORDS = REPLAY_WINDOW / 32 + 1;

export class ReplayWindow {
  readonly #bits = new Uint32Array(WORDS);
  #highest = -1; // highest accepted SEQ; -1 before the first
  #accepted = 0;

  /** Highest SEQ accepted so far, or -1. */
  get highest(): number {
    return this.#highest;
  }

  /** Number of SEQs accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** Would `seq` be accepted? Does not change the window. */
  check(seq: number): boolean {
    if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQ) return false;
    if (seq > this.#highest) return true;
    if (seq <= this.#highest - REPLAY_WINDOW) return false;
    const word = (seq >>> 5) % WORDS;
    return (this.#bits[word]! & (1 << (seq & 31))) === 0;
  }

  /** Record `seq` if acceptable; returns false (window unchanged) for a replayed or too old SEQ. */
  accept(seq: number): boolean {
    if (!this.check(seq)) return false;
    if (seq > this.#highest) {
      // Clear the words entered by the move from highest to seq (all of them on a jump of a full window).
      const from = this.#highest < 0 ? -1 : this.#highest >>> 5;
      const to = seq >>> 5;
      if (to - from >= WORDS) this.#bits.fill(0);
      else for (let w = from + 1; w <= to; w++) this.#bits[w % WORDS] = 0;
      this.#highest = seq;
    }
    const word = (seq >>> 5) % WORDS;
    this.#bits[word] = this.#bits[word]! | (1 << (seq & 31));
    this.#accepted++;
    return true;
  }
}
