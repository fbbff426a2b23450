// src/screening/plausibility.ts — GSMA FS.36 category 3, plausibility: a bounded, expiring record of which
// roaming partner serves a SUPI, learned from a successful authentication or registration that went through us.
// A request for that SUPI from another partner within the window is implausible (the subscriber cannot be in
// two visited networks at once). In memory only: a restart forgets (nothing is refused for lack of a record).
export type Clock = () => number; // milliseconds

export class ServingPartnerStore {
  /** SUPI → serving peer and expiry; Map order = insertion order, so the first entry is the oldest learned */
  readonly #m = new Map<string, { peerId: string; until: number }>();
  readonly #now: Clock;
  #windowMs: number;
  #max: number;

  constructor(o: { windowSeconds: number; maxEntries: number; now?: Clock }) {
    this.#windowMs = o.windowSeconds * 1000;
    this.#max = o.maxEntries;
    this.#now = o.now ?? (() => performance.now()); // monotonic: the window is a duration
  }

  reconfigure(windowSeconds: number, maxEntries: number): void {
    this.#windowMs = windowSeconds * 1000;
    this.#max = maxEntries;
    while (this.#m.size > this.#max) this.#evictOldest();
  }

  get size(): number {
    return this.#m.size;
  }

  /** `peerId` now serves `supi` (a successful authentication/registration through us). */
  learn(supi: string, peerId: string): void {
    this.#m.delete(supi); // re-inserted last: the oldest stays first
    while (this.#m.size >= this.#max) this.#evictOldest();
    this.#m.set(supi, { peerId, until: this.#now() + this.#windowMs });
  }

  /** The partner serving `supi` within the window, or null. */
  servingPeer(supi: string): string | null {
    const e = this.#m.get(supi);
    if (!e) return null;
    if (e.until <= this.#now()) {
      this.#m.delete(supi);
      return null;
    }
    return e.peerId;
  }

  /** A request from `peerId` for `supi` is plausible unless another partner serves it within the window. */
  plausible(supi: string, peerId: string): boolean {
    const p = this.servingPeer(supi);
    return p === null || p === peerId;
  }

  /** A peer's records go with the peer (configuration change). */
  forgetPeer(peerId: string): void {
    for (const [k, e] of this.#m) if (e.peerId === peerId) this.#m.delete(k);
  }

  #evictOldest(): void {
    const first = this.#m.keys().next();
    if (!first.done) this.#m.delete(first.value);
  }
}
