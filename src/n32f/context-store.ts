// src/n32f/context-store.ts — the SEPP's live N32-f contexts (TS 33.501 13.2.2.4, N32-PROFILE P7, P10): keyed by
// our own context ID, bounded, IDs drawn from the CSPRNG and reserved until the handshake adds (or releases) them.
import { Buffer } from "node:buffer";
import { SeppError } from "../errors.ts";
import type { N32fContext } from "./context.ts";

export const DEFAULT_MAX_CONTEXTS = 1024;

export class N32fContextStoreError extends SeppError {
  override name = "N32fContextStoreError";
  constructor(detail: string) {
    super("CONTEXT_STORE_REFUSED", detail, { status: 503, problemCause: "INSUFFICIENT_RESOURCES" });
  }
}

export interface N32fContextStoreOptions {
  /** Upper bound of live contexts (default 1024). */
  maxContexts?: number;
}

/**
 * The SEPP's live N32-f contexts, keyed by our own context ID, compared case-insensitively (P10). Bounded.
 * newContextId() also reserves the ID until add() (or releaseContextId()), so two handshakes running at the
 * same time never get the same one; at most maxContexts reservations are kept (the oldest is dropped).
 */
export class N32fContextStore {
  readonly maxContexts: number;
  readonly #byId = new Map<string, N32fContext>();
  readonly #reserved = new Set<string>();

  constructor(opts: N32fContextStoreOptions = {}) {
    const max = opts.maxContexts ?? DEFAULT_MAX_CONTEXTS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError("maxContexts must be a positive integer");
    this.maxContexts = max;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** A fresh context ID (P7): 16 lowercase hex digits from the CSPRNG, unique among live and reserved IDs. */
  newContextId(): string {
    const bytes = new Uint8Array(8);
    for (let attempt = 0; attempt < 16; attempt++) {
      crypto.getRandomValues(bytes);
      const id = Buffer.from(bytes).toString("hex");
      if (this.#byId.has(id) || this.#reserved.has(id)) continue;
      if (this.#reserved.size >= this.maxContexts) {
        const oldest = this.#reserved.values().next().value;
        if (oldest !== undefined) this.#reserved.delete(oldest);
      }
      this.#reserved.add(id);
      return id;
    }
    throw new N32fContextStoreError("could not draw a unique context ID"); // 2^-64 per draw: a broken RNG
  }

  /** Give back a reserved ID that will not be used (failed handshake). */
  releaseContextId(id: string): void {
    this.#reserved.delete(id.toLowerCase());
  }

  /** Add a live context; throws N32fContextStoreError when full or when its ID is already live. */
  add(ctx: N32fContext): void {
    const id = ctx.localContextId.toLowerCase();
    if (this.#byId.has(id)) throw new N32fContextStoreError("an N32-f context with this ID is already live");
    if (this.#byId.size >= this.maxContexts)
      throw new N32fContextStoreError(`N32-f context store full (${this.maxContexts})`);
    this.#reserved.delete(id);
    this.#byId.set(id, ctx);
  }

  /** The context whose local ID is `localContextId` (case-insensitive), if any. */
  get(localContextId: string): N32fContext | undefined {
    return this.#byId.get(localContextId.toLowerCase());
  }

  /** Remove and destroy (wipe) a context. */
  delete(localContextId: string): boolean {
    const id = localContextId.toLowerCase();
    const ctx = this.#byId.get(id);
    if (!ctx) return false;
    this.#byId.delete(id);
    ctx.destroy();
    return true;
  }

  list(): N32fContext[] {
    return [...this.#byId.values()];
  }

  byPeer(peerId: string): N32fContext[] {
    return this.list().filter((c) => c.peerId === peerId);
  }

  /** Remove and destroy every context that is terminated or past its validity; returns how many. */
  purgeExpired(): number {
    let n = 0;
    for (const ctx of this.list()) {
      if (ctx.state === "terminated" || ctx.isExpired()) {
        this.delete(ctx.localContextId);
        n++;
      }
    }
    return n;
  }

  /** Destroy every context (shutdown). */
  clear(): void {
    for (const ctx of this.list()) this.delete(ctx.localContextId);
    this.#reserved.clear();
  }
}
