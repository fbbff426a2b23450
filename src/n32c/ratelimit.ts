// src/n32c/ratelimit.ts — token buckets for N32-c requests (TS 33.501 5.9.3.2: rate limiting of
// SEPP-to-SEPP signalling; N32-PROFILE P7: 429 NF_CONGESTION_RISK). One bucket per key (a peer, or a
// connection before the peer is known); capacity = rate (one second of burst). The map is bounded:
// the least recently used bucket is dropped when full.
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly rate: () => number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 4096,
  ) {}

  /** Take one token for `key`; false when the bucket is empty (answer 429). */
  take(key: string): boolean {
    const rate = Math.max(1, this.rate());
    const t = this.now();
    let b = this.#buckets.get(key);
    if (b)
      this.#buckets.delete(key); // re-insert: LRU order
    else {
      if (this.#buckets.size >= this.maxKeys) {
        const oldest = this.#buckets.keys().next().value;
        if (oldest !== undefined) this.#buckets.delete(oldest);
      }
      b = { tokens: rate, at: t };
    }
    // a clock that went back (a wall clock stepped by NTP) earns nothing, and takes nothing: before, an hour back
    // took an hour of tokens, and the peer's N32-c requests were refused 429 for that hour
    b.tokens = Math.min(rate, b.tokens + (Math.max(0, t - b.at) / 1000) * rate);
    b.at = t;
    this.#buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
