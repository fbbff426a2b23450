// src/datapath/upstream.ts — HTTP/2 client sessions the data path sends on:
// - ProducerClients: the pSEPP's sessions to producers in its own network (h2c prior knowledge or TLS,
//   TS 29.500 5.2), one per origin. The address is resolved here and checked against the peer's egress
//   policy before connecting (no DNS-rebinding way around the allow-list, N32-PROFILE P8).
// - PeerN32fClients: the cSEPP's mutually authenticated TLS sessions toward a peer on N32-f, several per hop
//   when load asks for it (all sharing the context's counters: the context is per peer, not per connection).
//   The next hop is the peer's N32-f endpoint or one of our RI next hops (N32-PROFILE P11, n32fHopsOf: the one
//   place where it is chosen). Built on src/transport/h2client.ts (trust per PLMN or RI roots, expected dNSName).
// Every request is bounded in time and response size, and can be cancelled (the NF's stream went away).
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { lookup } from "node:dns/promises";
import { H2Client, type CancelSignal, type H2Response } from "../transport/h2client.ts";
import type { X509Certificate } from "node:crypto";
import { parsePemCerts, type TrustStore } from "../pki/trust.ts";
import { resolvePem } from "../config/pem.ts";
import type { PeerConfig, SeppConfig } from "../config/schema.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { SeppError } from "../errors.ts";
import { acceptsGzip, gzipBody } from "./n32f-encoding.ts";

export interface UpstreamResponse {
  status: number;
  /** lowercased names, in order, repeats kept; no pseudo-headers */
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export type UpstreamFailure = "connect" | "timeout" | "reset" | "too-large" | "cancelled" | "refused-address";

/** How each failure answers when nothing more specific is known (the data path words its own details). */
const UPSTREAM_PROBLEM: Record<UpstreamFailure, [status: number, cause: string]> = {
  connect: [504, "TARGET_NF_NOT_REACHABLE"],
  timeout: [504, "TARGET_NF_NOT_REACHABLE"],
  reset: [504, "TARGET_NF_NOT_REACHABLE"],
  "too-large": [502, "UNSPECIFIED_NF_FAILURE"],
  cancelled: [499, "CANCELLED"],
  "refused-address": [403, "TARGET_NOT_ALLOWED"],
};

/** `code` is UPSTREAM_<KIND> (UPSTREAM_TOO_LARGE, …). */
export class UpstreamError extends SeppError {
  override name = "UpstreamError";
  readonly kind: UpstreamFailure;
  constructor(kind: UpstreamFailure, detail: string) {
    const [status, problemCause] = UPSTREAM_PROBLEM[kind];
    super(`UPSTREAM_${kind.toUpperCase().replace("-", "_")}`, detail, { status, problemCause });
    this.kind = kind;
  }
}

export interface UpstreamRequest {
  method: string;
  /** path with query */
  path: string;
  authority: string;
  headers: Array<[string, string]>;
  body?: Uint8Array;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: CancelSignal;
}

/** Send one request on a session and collect the response (bounded). */
export function requestOn(session: http2.ClientHttp2Session, r: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (r.signal?.aborted) return reject(new UpstreamError("cancelled", "cancelled by the client"));
    const out: http2.OutgoingHttpHeaders = { ":method": r.method, ":path": r.path, ":authority": r.authority };
    for (const [n, v] of r.headers) {
      const prev = out[n];
      out[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(out, { endStream: !r.body || r.body.length === 0 });
    } catch (e) {
      return reject(new UpstreamError("connect", `request failed: ${(e as Error).message}`));
    }
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    let status = 0;
    const headers: Array<[string, string]> = [];
    const onAbort = () => finish(new UpstreamError("cancelled", "cancelled by the client"));
    const finish = (err: UpstreamError | null) => {
      if (settled) return;
      settled = true;
      disarmTimer(timer);
      r.signal?.removeEventListener("abort", onAbort);
      if (err) {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(err);
      } else resolve({ status, headers, body: size === 0 ? new Uint8Array(0) : Buffer.concat(chunks, size) });
    };
    const timer = armTimer(
      () => finish(new UpstreamError("timeout", `no answer within ${r.timeoutMs} ms`)),
      r.timeoutMs,
    );
    r.signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      for (const k in h) {
        const v = h[k];
        if (k.charCodeAt(0) === 58 /* ":" */ || v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) headers.push([k, x]);
        else headers.push([k, String(v)]);
      }
    });
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > r.maxBodyBytes)
        return finish(new UpstreamError("too-large", `response body over ${r.maxBodyBytes} octets`));
      chunks.push(c);
    });
    // a stream reset before any :status ends without a response: that is a reset, not an answer
    stream.on("end", () => finish(status ? null : new UpstreamError("reset", "stream ended without a response")));
    // no Error (stack capture) is built for the close that follows every completed response
    stream.on("error", (e) => settled || finish(new UpstreamError("reset", e.message)));
    stream.on("close", () => settled || finish(new UpstreamError("reset", "stream closed before the response ended")));
    if (r.body?.length) stream.end(r.body);
  });
}

export interface ProducerClientsOptions {
  /** extra CA certificates (PEM) for https producers; default: the system store */
  ca?: string[];
  connectTimeoutMs: number;
  /** at most this many producer sessions at once (bounded) */
  maxSessions: number;
  /** close a session idle this long */
  idleMs?: number;
  /** static host → address resolution (config sbi.staticHosts) */
  staticHosts?: () => Record<string, string>;
}

/** A resolved and checked address for `host`, or a refusal. */
export type AddressCheck = (address: string) => { ok: true } | { ok: false; detail: string };

export class ProducerClients {
  readonly #sessions = new Map<string, http2.ClientHttp2Session>();
  readonly #connecting = new Map<string, Promise<http2.ClientHttp2Session>>();
  constructor(private readonly opts: ProducerClientsOptions) {}

  get size(): number {
    return this.#sessions.size;
  }

  request(
    target: { scheme: "http" | "https"; host: string; port: number },
    check: AddressCheck,
    r: UpstreamRequest,
  ): Promise<UpstreamResponse> {
    // an open session to the origin: send at once (no extra promise turn on the hot path)
    const s = this.#sessions.get(`${target.scheme}://${target.host}:${target.port}`);
    if (s && !s.closed && !s.destroyed) return requestOn(s, r);
    return this.#session(target, check).then((session) => requestOn(session, r));
  }

  #session(
    t: { scheme: "http" | "https"; host: string; port: number },
    check: AddressCheck,
  ): Promise<http2.ClientHttp2Session> {
    const key = `${t.scheme}://${t.host}:${t.port}`;
    const s = this.#sessions.get(key);
    if (s && !s.closed && !s.destroyed) return Promise.resolve(s);
    let p = this.#connecting.get(key);
    if (!p) {
      p = this.#connect(key, t, check).finally(() => this.#connecting.delete(key));
      this.#connecting.set(key, p);
    }
    return p;
  }

  async #connect(
    key: string,
    t: { scheme: "http" | "https"; host: string; port: number },
    check: AddressCheck,
  ): Promise<http2.ClientHttp2Session> {
    if (this.#sessions.size >= this.opts.maxSessions) {
      // evict the oldest idle-looking session to stay bounded
      const [oldKey, old] = this.#sessions.entries().next().value as [string, http2.ClientHttp2Session];
      this.#sessions.delete(oldKey);
      old.close();
    }
    let address = this.opts.staticHosts?.()[t.host.toLowerCase()] ?? t.host;
    if (net.isIP(address) === 0) {
      try {
        address = (await lookup(t.host)).address;
      } catch (e) {
        throw new UpstreamError("connect", `cannot resolve ${t.host}: ${(e as Error).message}`);
      }
    }
    const verdict = check(address);
    if (!verdict.ok) throw new UpstreamError("refused-address", verdict.detail);
    return new Promise((resolve, reject) => {
      let done = false;
      const fail = (msg: string) => {
        if (done) return;
        done = true;
        disarmTimer(timer);
        session.destroy();
        reject(new UpstreamError("connect", msg));
      };
      const timer = armTimer(() => fail(`connect to ${t.host}:${t.port} timed out`), this.opts.connectTimeoutMs);
      const session =
        t.scheme === "http"
          ? http2.connect(`http://${t.host}:${t.port}`, {
              createConnection: () => net.connect({ host: address, port: t.port }),
            })
          : http2.connect(`https://${t.host}:${t.port}`, {
              createConnection: () =>
                tls.connect({
                  host: address,
                  port: t.port,
                  servername: net.isIP(t.host) ? undefined : t.host,
                  ALPNProtocols: ["h2"],
                  ca: this.opts.ca?.length ? this.opts.ca : undefined,
                  minVersion: "TLSv1.2",
                }),
            });
      session.once("error", (e) => fail(`${t.host}:${t.port}: ${e.message}`));
      session.once("connect", () => {
        if (done) return;
        done = true;
        disarmTimer(timer);
        session.on("error", () => this.#sessions.get(key) === session && this.#sessions.delete(key));
        session.on("close", () => this.#sessions.get(key) === session && this.#sessions.delete(key));
        session.setTimeout(this.opts.idleMs ?? 60_000, () => session.close());
        this.#sessions.set(key, session);
        resolve(session);
      });
    });
  }

  close(): void {
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}

/**
 * One hop of N32-f toward a peer (N32-PROFILE P11, TS 33.501 13.2.1): the peer SEPP's N32-f endpoint, or one of
 * our own RI next hops (forward proxy: hop-by-hop TLS with the RI, :authority = the peer's N32-f FQDN:port).
 */
export interface N32fHop {
  kind: "peer" | "ri";
  /** https://host:port: where the TLS connection goes (the pool key) */
  url: string;
  /** dNSName the server certificate must carry: the peer's N32 FQDN, or the RI's identity */
  expectDnsName: string;
  /** :authority on this hop; absent: the URL's host:port */
  authority?: string;
  /** RI hops: the roots the RI's certificate must chain to (the RI trust store, never the PLMN anchors) */
  riRoots?: X509Certificate[];
}

/** The peer's N32-f endpoint: the configured n32fUri (else n32cUri) and the peer's FQDN with that port. */
export function peerN32fEndpoint(peer: PeerConfig): { url: string; fqdn: string; port: number } {
  const url = peer.n32fUri ?? peer.n32cUri;
  const u = new URL(url);
  return { url, fqdn: peer.n32Fqdn, port: Number(u.port || 443) };
}

/** Per configuration version: the hops of each peer (PEM trust anchors parsed once). */
const routes = new WeakMap<PeerConfig, { cfg: SeppConfig; hops: N32fHop[] | null; direct: N32fHop[] }>();

/**
 * The ordered next hops toward a peer: the one place where the N32-f endpoint is chosen (P11). With RIs
 * configured (peer.n32fNextHops) they are the only hops (TLS mode never goes through an RI, so `direct` asks for
 * the peer's endpoint alone); else the peer's N32-f endpoint.
 */
export function n32fHopsOf(cfg: SeppConfig, peer: PeerConfig, trust: TrustStore, direct = false): N32fHop[] {
  let cached = routes.get(peer);
  if (cached?.cfg !== cfg) {
    const ep = peerN32fEndpoint(peer);
    cached = { cfg, direct: [{ kind: "peer", url: ep.url, expectDnsName: peer.n32Fqdn }], hops: null };
    routes.set(peer, cached);
  }
  if (direct || peer.n32fNextHops.length === 0) return cached.direct;
  if (!cached.hops) {
    const ep = peerN32fEndpoint(peer);
    const authority = `${ep.fqdn}:${ep.port}`;
    cached.hops = peer.n32fNextHops.map((h) => ({
      kind: "ri",
      url: h.uri,
      expectDnsName: h.ipxProviderId,
      authority,
      riRoots: h.trustAnchors?.length
        ? h.trustAnchors.flatMap((r) => parsePemCerts(resolvePem(r, cfg.storage.dir)))
        : [...trust.riRoots],
    }));
  }
  return cached.hops;
}

type PeerRequestInit = {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: CancelSignal;
  /** an n32f-process body: gzipped toward a next hop that announced gzip, from sbi.n32fGzipMinBytes on (P11) */
  compressible?: boolean;
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
}

/** Whether an RI's answer means "this RI cannot carry it" (P11): 502/503/504 without a ProblemDetailsMsgForwarding. */
export function isRiFailure(r: H2Response): boolean {
  if (r.status !== 502 && r.status !== 503 && r.status !== 504) return false;
  try {
    const p = JSON.parse(r.text()) as { cause?: unknown; suggestedStatusCode?: unknown } | null;
    // ProblemDetailsMsgForwarding (TS 29.573 6.2.5.2.3) = a ProblemDetails of an N32-f peer: a cause is required
    return !(p && typeof p === "object" && typeof p.cause === "string");
  } catch {
    return true;
  }
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
      connectTimeoutMs: number;
      maxConnections: number;
      streamsPerConnection: number;
      /** an RI next hop could not be used (logged by the caller, rate-limited) */
      onHopFailure?: (peerId: string, hop: N32fHop, detail: string) => void;
      now?: () => number;
    },
  ) {}

  connections(peerId: string): number {
    return (this.#pools.get(peerId) ?? []).reduce((n, p) => n + p.clients.length, 0);
  }

  /** The RI next hops of a peer currently in back-off (status, tests). */
  backedOff(peerId: string): string[] {
    const now = this.#now();
    return (this.#pools.get(peerId) ?? []).filter((p) => p.backoffUntil > now).map((p) => p.hop.url);
  }

  #now(): number {
    return this.opts.now?.() ?? Date.now();
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
    o: { direct?: boolean } = {},
  ): Promise<H2Response> {
    const cfg = this.opts.config();
    const pools = this.#poolsOf(peer.id, n32fHopsOf(cfg, peer, this.opts.trust(), o.direct));
    // the hot path (one hop, a ready client): no async frame
    if (pools.length === 1) {
      const pc = this.#ready(pools[0]!);
      if (pc) return this.#send(pc, method, path, init);
      if (pools[0]!.hop.kind === "peer")
        return this.#pick(pools[0]!, peer).then((p) => this.#send(p, method, path, init));
    }
    return this.#viaHops(pools, peer, method, path, init);
  }

  async #viaHops(pools: Pool[], peer: PeerConfig, method: string, path: string, init: PeerRequestInit) {
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
        pc = this.#ready(pool) ?? (await this.#pick(pool, peer));
      } catch (e) {
        lastErr = e;
        if (pool.hop.kind === "ri") {
          pool.backoffUntil = this.#now() + backoffMs;
          this.opts.onHopFailure?.(peer.id, pool.hop, (e as Error).message);
        }
        continue;
      }
      if (init.signal?.aborted) throw new UpstreamError("cancelled", "cancelled by the client");
      const rsp = await this.#send(pc, method, path, init);
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
      return { hop, clients: [], connecting: null, backoffUntil: 0 };
    });
    for (const p of old) if (!pools.includes(p)) for (const c of p.clients) void c.client.close();
    this.#pools.set(peerId, pools);
    return pools;
  }

  /** One request on a pooled client, counted in flight until it settles. */
  #send(pc: PooledClient, method: string, path: string, init: PeerRequestInit): Promise<H2Response> {
    if (init.signal?.aborted) return Promise.reject(new UpstreamError("cancelled", "cancelled by the client"));
    if (pc.gzip && init.compressible && init.body !== undefined && !init.headers?.["content-encoding"]) {
      const z = gzipBody(init.body, this.opts.config().sbi.n32fGzipMinBytes);
      if (z) init = { ...init, body: z, headers: { ...init.headers, "content-encoding": "gzip" } };
    }
    pc.inflight++;
    const p = pc.client.request(method, path, init);
    const settled = () => {
      pc.inflight--;
    };
    p.then(settled, settled);
    return p;
  }

  /** The hot path: an open client of the pool with room (least loaded), without a promise or an allocation. */
  #ready(pool: Pool): PooledClient | undefined {
    let best: PooledClient | undefined;
    for (const c of pool.clients) {
      if (c.client.closed) return undefined; // #pick drops it
      if (!best || c.inflight < best.inflight) best = c;
    }
    return best && (best.inflight < this.opts.streamsPerConnection || pool.clients.length >= this.opts.maxConnections)
      ? best
      : undefined;
  }

  async #pick(pool: Pool, peer: PeerConfig): Promise<PooledClient> {
    pool.clients = pool.clients.filter((c) => !c.client.closed);
    let best: PooledClient | undefined;
    for (const c of pool.clients) if (!best || c.inflight < best.inflight) best = c;
    if (best && (best.inflight < this.opts.streamsPerConnection || pool.clients.length >= this.opts.maxConnections))
      return best;
    if (pool.connecting) return pool.connecting;
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
      timeoutMs: this.opts.connectTimeoutMs,
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
    return p.connecting;
  }

  /**
   * P11: ask the next hop on a new connection which content codings n32f-process accepts (OPTIONS, in the
   * background; bodies go uncompressed until it answered). Not asked when compression is off.
   */
  #learnEncoding(pc: PooledClient, cfg: SeppConfig): void {
    if (cfg.sbi.n32fGzipMinBytes <= 0) return;
    pc.client.request("OPTIONS", N32F_PROCESS, { timeoutMs: this.opts.connectTimeoutMs, maxBodyBytes: 4096 }).then(
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
