// src/datapath/n32f-clients.ts — the cSEPP's mutually authenticated TLS sessions toward a peer on N32-f
// (TS 33.501 13.2.4.1; N32-PROFILE P1, P11): per peer and next hop (n32f-hops.ts) a pool of up to maxConnections
// sessions, a new one when each has streamsPerConnection in flight (all share the context's counters: the context
// is per peer, not per connection). RI next hops are tried in order and one that fails is skipped for the
// back-off (sbi.n32fNextHopBackoffMs). N32-f follows the peer's TLS settings (TLS 1.2 only where allowed), and an
// n32f-process body is gzipped toward a next hop that announced gzip (n32f-encoding.ts). Built on
// src/transport/h2client.ts (trust per PLMN or RI roots, expected dNSName).
import type { AsciiText } from "../ascii-text.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { TrustStore } from "../pki/trust.ts";
import { H2Client, H2ConnectError, type CancelSignal, type H2Response } from "../transport/h2client.ts";
import { isRiFailure, n32fHopsOf, type N32fHop } from "./n32f-hops.ts";
import type { N32fEndpoint } from "../n32c/n32f-endpoint.ts";
import { acceptsGzip, gzipBody } from "./n32f-encoding.ts";
import { UpstreamError } from "./upstream.ts";

type PeerRequestInit = {
  headers?: Record<string, string>;
  body?: string | Uint8Array | AsciiText;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: CancelSignal;
  /** an n32f-process body: gzipped toward a next hop that announced gzip, from sbi.n32fGzipMinBytes on (P11) */
  compressible?: boolean;
};

interface RequestOptions {
  /** TLS mode: to the peer's N32-f endpoint, never through an RI (P11) */
  direct?: boolean;
  /** the second sending of a request refused unprocessed (#send): not sent a third time */
  again?: boolean;
}

/** A pool's bounds (docs/CONFIG.md sbi.*N32fConnections*): connections per hop at most / kept, streams before another. */
interface PoolBounds {
  max: number;
  streams: number;
  min: number;
}

/**
 * sbi.minN32fConnectionsPerPeer "auto" is 1 here: in a data-path worker the configuration is its share, where "auto"
 * became 2 (src/workers/share-limits.ts). `min` never exceeds `max`.
 */
const poolBounds = (sbi: SeppConfig["sbi"]): PoolBounds => {
  const max = sbi.maxN32fConnectionsPerPeer;
  const min = sbi.minN32fConnectionsPerPeer === "auto" ? 1 : sbi.minN32fConnectionsPerPeer;
  return { max, streams: sbi.streamsPerN32fConnection, min: Math.min(min, max) };
};

/** Where the next hop announces the content codings it accepts for n32f-process (P11). */
const N32F_PROCESS = "/n32f-forward/v1/n32f-process";

interface PooledClient {
  client: H2Client;
  inflight: number;
  /** the next hop announced gzip on this connection (OPTIONS, asked once per connection) */
  gzip: boolean;
}

interface Pool {
  hop: N32fHop;
  clients: PooledClient[];
  connecting: Promise<PooledClient> | null;
  /** P11: an RI that failed is skipped until then (epoch ms) */
  backoffUntil: number;
  /** spare connections (below minConnections) opened in the current back-off window, and its end (epoch ms) */
  spares: number;
  sparesUntil: number;
}

/**
 * N32-f sessions per peer (cSEPP side), per next hop: up to `maxConnections` per hop, a new one when every one has
 * `streamsPerConnection` in flight. RI next hops are tried in order; a failed one is skipped for the back-off.
 */
export class PeerN32fClients {
  readonly #pools = new Map<string, Pool[]>();

  constructor(
    private readonly opts: {
      config: () => SeppConfig;
      tls: () => { key: string; cert: string };
      trust: () => TrustStore;
      /** default: n32c.requestTimeoutMs of the configuration in force */
      connectTimeoutMs?: number;
      /** the peer's N32-f endpoint (N32cService.n32fEndpointOf, P11); absent: the configured n32fUri */
      endpointOf?: (peer: PeerConfig) => N32fEndpoint | undefined;
      /** an RI next hop could not be used (logged by the caller, rate-limited) */
      onHopFailure?: (peerId: string, hop: N32fHop, detail: string) => void;
      /** ms, monotonic (back-off and spare-connection windows: a step of the wall clock must not stretch them) */
      now?: () => number;
    },
  ) {}

  #boundsOf: SeppConfig["sbi"] | null = null;
  #bounds: PoolBounds = { max: 1, streams: 1, min: 1 };

  /** The pool bounds of the configuration in force (a change applies from the next request on; no restart). */
  #b(): PoolBounds {
    const sbi = this.opts.config().sbi;
    if (sbi !== this.#boundsOf) {
      this.#boundsOf = sbi;
      this.#bounds = poolBounds(sbi);
    }
    return this.#bounds;
  }

  #connectTimeoutMs(cfg: SeppConfig): number {
    return this.opts.connectTimeoutMs ?? cfg.n32c.requestTimeoutMs;
  }

  connections(peerId: string): number {
    return (this.#pools.get(peerId) ?? []).reduce((n, p) => n + p.clients.length, 0);
  }

  /** The RI next hops of a peer currently in back-off (status, tests). */
  backedOff(peerId: string): string[] {
    const now = this.#now();
    return (this.#pools.get(peerId) ?? []).filter((p) => p.backoffUntil > now).map((p) => p.hop.url);
  }

  #now(): number {
    return this.opts.now?.() ?? performance.now();
  }

  /**
   * One request to the peer: on the first usable hop. A hop that cannot be connected, or an RI answering
   * 502/503/504 without a ProblemDetailsMsgForwarding, is put in back-off and the next hop is tried with the same
   * message (at most once delivered: the peer's replay window refuses a second copy of one SEQ, P1).
   */
  request(
    peer: PeerConfig,
    method: string,
    path: string,
    init: PeerRequestInit,
    o: RequestOptions = {},
  ): Promise<H2Response> {
    const cfg = this.opts.config();
    const ep = this.opts.endpointOf?.(peer);
    const pools = this.#poolsOf(peer.id, n32fHopsOf(cfg, peer, this.opts.trust(), o.direct, ep));
    // the hot path (one hop, a ready client): no async frame
    if (pools.length === 1) {
      const b = this.#b();
      const pc = this.#ready(pools[0]!, b);
      if (pc) {
        this.#spare(pools[0]!, peer, b);
        return this.#send(pc, method, path, init, peer, o);
      }
      if (pools[0]!.hop.kind === "peer")
        return this.#pick(pools[0]!, peer).then((p) => this.#send(p, method, path, init, peer, o));
    }
    return this.#viaHops(pools, peer, method, path, init, o);
  }

  async #viaHops(
    pools: Pool[],
    peer: PeerConfig,
    method: string,
    path: string,
    init: PeerRequestInit,
    o: RequestOptions,
  ) {
    const now = this.#now();
    let order = pools.filter((p) => p.backoffUntil <= now);
    // every hop in back-off: try the one whose back-off ends first rather than none
    if (order.length === 0) order = [pools.reduce((a, b) => (b.backoffUntil < a.backoffUntil ? b : a))];
    const backoffMs = this.opts.config().sbi.n32fNextHopBackoffMs;
    let lastErr: unknown;
    for (let i = 0; i < order.length; i++) {
      const pool = order[i]!;
      const last = i === order.length - 1;
      let pc: PooledClient;
      try {
        pc = this.#ready(pool, this.#b()) ?? (await this.#pick(pool, peer));
      } catch (e) {
        lastErr = e;
        if (pool.hop.kind === "ri") {
          pool.backoffUntil = this.#now() + backoffMs;
          this.opts.onHopFailure?.(peer.id, pool.hop, (e as Error).message);
        }
        continue;
      }
      if (init.signal?.aborted) throw new UpstreamError("cancelled", "cancelled by the client");
      this.#spare(pool, peer);
      const rsp = await this.#send(pc, method, path, init, peer, o);
      if (pool.hop.kind === "ri" && isRiFailure(rsp)) {
        pool.backoffUntil = this.#now() + backoffMs;
        this.opts.onHopFailure?.(peer.id, pool.hop, `answered ${rsp.status} without ProblemDetailsMsgForwarding`);
        if (!last) continue;
      }
      return rsp;
    }
    throw lastErr instanceof UpstreamError
      ? lastErr
      : new UpstreamError("connect", String((lastErr as Error)?.message));
  }

  /** The pools of a peer for these hops (a changed hop list starts over; the old sessions are closed). */
  #poolsOf(peerId: string, hops: N32fHop[]): Pool[] {
    let pools = this.#pools.get(peerId);
    if (pools && pools.length === hops.length && pools.every((p, i) => p.hop === hops[i])) return pools;
    const old = pools ?? [];
    pools = hops.map((hop) => {
      const same = old.find((p) => p.hop.url === hop.url && p.hop.expectDnsName === hop.expectDnsName);
      if (same) {
        same.hop = hop;
        return same;
      }
      return { hop, clients: [], connecting: null, backoffUntil: 0, spares: 0, sparesUntil: 0 };
    });
    for (const p of old) if (!pools.includes(p)) for (const c of p.clients) void c.client.close();
    this.#pools.set(peerId, pools);
    return pools;
  }

  /**
   * One request on a pooled client, counted in flight until it settles. Refused unprocessed (RFC 9113 §8.7: the
   * peer's REFUSED_STREAM, or its GOAWAY before the request was taken, as when it restarts): sent again once, on a
   * connection that takes it (the pool replaces one going away). The same N32-f message: the peer never saw it.
   */
  #send(
    pc: PooledClient,
    method: string,
    path: string,
    init: PeerRequestInit,
    peer: PeerConfig,
    o: RequestOptions,
  ): Promise<H2Response> {
    if (init.signal?.aborted) return Promise.reject(new UpstreamError("cancelled", "cancelled by the client"));
    if (pc.gzip && init.compressible && init.body !== undefined && !init.headers?.["content-encoding"]) {
      const z = gzipBody(init.body, this.opts.config().sbi.n32fGzipMinBytes);
      if (z) init = { ...init, body: z, headers: { ...init.headers, "content-encoding": "gzip" } };
    }
    pc.inflight++;
    const sent = init;
    const started = performance.now();
    return pc.client.request(method, path, init).then(
      (r) => {
        pc.inflight--;
        return r;
      },
      (e) => {
        pc.inflight--;
        if (o.again || !(e instanceof H2ConnectError && e.failure === "refused") || sent.signal?.aborted) throw e;
        // within the time the request had (the NF's 3gpp-Sbi-Max-Rsp-Time, or ours), not a second one
        const left = Math.floor(sent.timeoutMs - (performance.now() - started));
        if (left < 1) throw e;
        return this.request(peer, method, path, { ...sent, timeoutMs: left }, { ...o, again: true });
      },
    );
  }

  /** The hot path: an open client of the pool with room (least loaded), without a promise or an allocation. */
  #ready(pool: Pool, b: PoolBounds): PooledClient | undefined {
    let best: PooledClient | undefined;
    for (const c of pool.clients) {
      if (c.client.closed) return undefined; // #pick drops it
      if (!best || c.inflight < best.inflight) best = c;
    }
    return best && (best.inflight < b.streams || pool.clients.length >= b.max) ? best : undefined;
  }

  async #pick(pool: Pool, peer: PeerConfig): Promise<PooledClient> {
    pool.clients = pool.clients.filter((c) => !c.client.closed);
    let best: PooledClient | undefined;
    for (const c of pool.clients) if (!best || c.inflight < best.inflight) best = c;
    const b = this.#b();
    if (best && (best.inflight < b.streams || pool.clients.length >= b.max)) return best;
    if (pool.connecting) return pool.connecting;
    return this.#connect(pool, peer);
  }

  /**
   * Open another connection in the background while the hop has fewer than `min` (requests meanwhile go to the open
   * ones). At most min − 1 of them per n32fNextHopBackoffMs, whether they open or not: a peer that refuses or
   * closes them (its per-peer bound) gets no connection storm, and the requests are not affected.
   */
  #spare(pool: Pool, peer: PeerConfig, b: PoolBounds = this.#b()): void {
    if (pool.clients.length >= b.min || pool.connecting) return;
    const now = this.#now();
    if (now >= pool.sparesUntil) {
      pool.sparesUntil = now + this.opts.config().sbi.n32fNextHopBackoffMs;
      pool.spares = 0;
    }
    if (pool.spares >= b.min - 1) return;
    pool.spares++;
    this.#connect(pool, peer).catch(() => {});
  }

  #connect(pool: Pool, peer: PeerConfig): Promise<PooledClient> {
    const cfg = this.opts.config();
    // P11: N32-f follows the peer's TLS settings (TLS 1.2 only with a peer that allows it), toward RIs too
    const p = pool;
    p.connecting = H2Client.connect({
      url: p.hop.url,
      tls: this.opts.tls(),
      trust: this.opts.trust(),
      expectDnsName: p.hop.expectDnsName,
      riRoots: p.hop.riRoots,
      authority: p.hop.authority,
      minVersion: peer.profile.allowTls12 ? "TLSv1.2" : "TLSv1.3",
      maxVersion: cfg.tls.maxVersion,
      timeoutMs: this.#connectTimeoutMs(cfg),
    })
      .then((client) => {
        const pc: PooledClient = { client, inflight: 0, gzip: false };
        p.clients.push(pc);
        this.#learnEncoding(pc, cfg);
        return pc;
      })
      .catch((e) => {
        throw new UpstreamError("connect", (e as Error).message);
      })
      .finally(() => (p.connecting = null));
    // the next spare right after this one, up to `min`, so that a hop has them from its first request on
    p.connecting.then(
      () => this.#spare(p, peer),
      () => {},
    );
    return p.connecting;
  }

  /**
   * P11: ask the next hop on a new connection which content codings n32f-process accepts (OPTIONS, in the
   * background; bodies go uncompressed until it answered). Not asked when compression is off.
   */
  #learnEncoding(pc: PooledClient, cfg: SeppConfig): void {
    if (cfg.sbi.n32fGzipMinBytes <= 0) return;
    pc.client
      .request("OPTIONS", N32F_PROCESS, {
        timeoutMs: this.#connectTimeoutMs(cfg),
        maxBodyBytes: 4096,
      })
      .then(
        (r) => {
          pc.gzip = r.status >= 200 && r.status <= 299 && acceptsGzip(r.headers["accept-encoding"]);
        },
        () => {},
      );
  }

  /** Close the sessions of one peer (association ended) or of all. */
  async close(peerId?: string): Promise<void> {
    const ids = peerId ? [peerId] : [...this.#pools.keys()];
    await Promise.all(
      ids.map(async (id) => {
        const pools = this.#pools.get(id) ?? [];
        this.#pools.delete(id);
        await Promise.all(pools.flatMap((p) => p.clients.map((c) => c.client.close())));
      }),
    );
  }
}
