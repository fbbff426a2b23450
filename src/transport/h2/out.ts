// src/transport/h2/out.ts — a connection's way out: frames queued in its FrameOut leave in one socket write per
// event-loop turn (the batching node:http2 on Bun lacks, docs/PERFORMANCE.md), or at once when a TLS record's worth
// is queued, and what the socket does not take now waits for its drain event, in order.
import { FrameOut } from "./frames.ts";

/** What a connection needs of its socket: write (how much it took now) and end. A Bun socket is one as it is. */
export interface H2Socket {
  write(b: Uint8Array): number;
  end(): void;
}

// The connections with frames queued this turn: an array and a flag on each, not a Set. Bun 1.4.5's Set.clear() makes
// a new table, and the runtime keeps every replaced one reachable until a full collection (id-table.ts): one per
// event-loop turn added ~2 MB of garbage to the old generation per 10 000 turns.
const dirty: Array<SocketOut | null> = [];
let dirtyCount = 0;
let scheduled = false;

/** Writes what every connection has queued. */
export function flushAll(): void {
  scheduled = false;
  // by index: a connection queued during the flush is flushed in it too
  for (let i = 0; i < dirtyCount; i++) {
    const o = dirty[i]!;
    dirty[i] = null;
    if (!o.queued) continue; // forgotten (its connection closed) after it was queued
    o.queued = false;
    o.flush();
  }
  dirtyCount = 0;
}

/**
 * Queued frames leave in the event loop's check phase (setImmediate), after every socket read of the current
 * poll: what all the reads of one loop turn cause on one connection — requests arriving on several connections
 * and forwarded on one, responses to several streams of one connection — leaves in one write. Flushing at the end
 * of each read instead cost the SEPPs 10–14 µs more per request in TLS mode (docs/PERFORMANCE.md "Writes per loop
 * turn"): most of that is the TLS record and the syscall per write.
 */
export function schedule(o: SocketOut): void {
  o.dirty();
  flushSoon();
}

/** the end of a read on `o`'s connection: what it queued anywhere leaves with the next flush */
export function afterRead(o: SocketOut): void {
  if (o.len) o.dirty();
  if (dirtyCount) flushSoon();
}

/**
 * A TLS record's largest plaintext (RFC 8446 5.1: 2^14 octets). Once a turn has queued this much on a connection,
 * what is queued is written at once instead of after the turn: a turn that forwards many requests (PRINS: ~4.4 KB
 * each for the bench's GET) would otherwise hold the next process back until its last request is done, so that the
 * hops of a pipeline could not work at the same time. Through two SEPPs: +9-17 % PRINS req/s for 3-5 µs more CPU per
 * request and SEPP; TLS mode, whose turns seldom reach it, unchanged (docs/PERFORMANCE.md "A write per TLS record's
 * worth"). 8 and 32 KB gave the same; a write of at least a full record adds at most one partial record.
 */
export const EARLY_WRITE_OCTETS = 16_384;

function flushSoon(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushAll);
}

export class SocketOut extends FrameOut {
  #backlog: Buffer | null = null;
  /** in the turn's list of connections to flush */
  queued = false;

  constructor(readonly socket: H2Socket) {
    super();
  }

  /**
   * queued frames: written now once a TLS record's worth is queued, else at the next flushAll. Not while the socket
   * holds a backlog: it would gain nothing and copy the backlog again for every 16 KB (a peer that stops reading).
   */
  dirty(): void {
    if (this.len >= EARLY_WRITE_OCTETS && this.#backlog === null) this.flush();
    if (this.queued) return;
    this.queued = true;
    dirty[dirtyCount++] = this;
  }

  forget(): void {
    this.queued = false;
    this.len = 0;
    this.#backlog = null;
  }

  flush(): void {
    if (this.len === 0) return;
    const chunk = this.buf.subarray(0, this.len);
    if (this.#backlog) this.#backlog = Buffer.concat([this.#backlog, chunk]);
    else {
      const n = this.socket.write(chunk);
      if (n < chunk.length) this.#backlog = Buffer.from(chunk.subarray(Math.max(n, 0)));
    }
    this.len = 0;
  }

  drain(): void {
    const b = this.#backlog;
    if (!b) return;
    const n = this.socket.write(b);
    this.#backlog = n < b.length ? Buffer.from(b.subarray(Math.max(n, 0))) : null;
  }
}
