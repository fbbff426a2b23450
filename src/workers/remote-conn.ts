// src/workers/remote-conn.ts — an N32-f TLS connection as seen by a worker that serves a request another worker
// handed to it (src/workers/handoff.ts): the protocol, the source address and the peer's certificate chain the
// owning worker read from the socket, and a per-connection scratch space (n32f-sender.ts keeps its verdict on the
// peer there, as it does on a ConnInfo). Kept per (worker, connection) in a bounded table, so that the chain is
// parsed and verified once per connection and not once per request. An entry is reused only when the chain
// received with the request is octet for octet the one it was built from: a connection number the owner reuses
// after its restart never inherits another connection's verdict.
import { X509Certificate } from "node:crypto";
import type { N32fConn } from "../datapath/http.ts";
import type { ConnDescriptor } from "./handoff-codec.ts";

/** Connections of other workers remembered at once (the oldest is forgotten first; forgetting costs one re-parse). */
export const MAX_REMOTE_CONNS = 1024;

export class RemoteConn implements N32fConn {
  readonly protocol: string | null;
  readonly socket: { readonly remoteAddress: string | undefined };
  readonly data = new Map<string, unknown>();
  readonly der: Uint8Array[];
  #chain: X509Certificate[] | undefined;

  constructor(d: ConnDescriptor) {
    this.protocol = d.protocol;
    this.socket = { remoteAddress: d.remoteAddress };
    // the descriptor's views point into a transferred request buffer: keep copies, not the whole request
    this.der = d.chain.map((c) => c.slice());
  }

  peerChain(): X509Certificate[] {
    this.#chain ??= this.der.map((c) => new X509Certificate(c));
    return this.#chain;
  }
}

const sameChain = (a: Uint8Array[], b: Uint8Array[]) =>
  a.length === b.length && a.every((x, i) => Buffer.compare(x, b[i]!) === 0);

export class RemoteConns {
  readonly #max: number;
  readonly #byKey = new Map<string, RemoteConn>();

  constructor(max = MAX_REMOTE_CONNS) {
    this.#max = max;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The connection `d` of worker `worker`, as remembered, or a new entry (the oldest dropped when full). */
  get(worker: number, d: ConnDescriptor): RemoteConn {
    const key = `${worker}:${d.id}`;
    const known = this.#byKey.get(key);
    if (known && known.protocol === d.protocol && sameChain(known.der, d.chain)) return known;
    if (known) this.#byKey.delete(key);
    else if (this.#byKey.size >= this.#max) this.#byKey.delete(this.#byKey.keys().next().value!);
    const c = new RemoteConn(d);
    this.#byKey.set(key, c);
    return c;
  }

  /** A worker ended: its connections went with it. */
  forgetWorker(worker: number): void {
    const prefix = `${worker}:`;
    for (const k of this.#byKey.keys()) if (k.startsWith(prefix)) this.#byKey.delete(k);
  }
}
