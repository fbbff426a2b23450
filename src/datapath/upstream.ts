// src/datapath/upstream.ts — HTTP/2 client sessions the data path sends on:
// - ProducerClients: the pSEPP's sessions to producers in its own network (h2c prior knowledge or TLS,
//   TS 29.500 5.2), one per origin. The address is resolved here and checked against the peer's egress
//   policy before connecting (no DNS-rebinding way around the allow-list, N32-PROFILE P8).
// - PeerN32fClients: the cSEPP's mutually authenticated TLS sessions to a peer's N32-f endpoint, several
//   per peer when load asks for it (all sharing the context's counters: the context is per peer, not per
//   connection). Built on src/transport/h2client.ts (trust per PLMN, expected dNSName).
// Every request is bounded in time and response size, and can be cancelled (the NF's stream went away).
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { lookup } from "node:dns/promises";
import { H2Client, type CancelSignal, type H2Response } from "../transport/h2client.ts";
import type { TrustStore } from "../pki/trust.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { SeppError } from "../errors.ts";

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

export interface PeerN32fTarget {
  peerId: string;
  url: string;
  expectDnsName: string;
}

type PeerRequestInit = {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: CancelSignal;
};

interface PooledClient {
  client: H2Client;
  inflight: number;
}

/** N32-f sessions per peer (cSEPP side): up to `maxConnections`, a new one when every one has `streamsPerConnection` in flight. */
export class PeerN32fClients {
  readonly #pools = new Map<
    string,
    { url: string; clients: PooledClient[]; connecting: Promise<PooledClient> | null }
  >();

  constructor(
    private readonly opts: {
      tls: () => { key: string; cert: string };
      trust: () => TrustStore;
      connectTimeoutMs: number;
      maxConnections: number;
      streamsPerConnection: number;
    },
  ) {}

  connections(peerId: string): number {
    return this.#pools.get(peerId)?.clients.length ?? 0;
  }

  request(t: PeerN32fTarget, method: string, path: string, init: PeerRequestInit): Promise<H2Response> {
    // the hot path sends at once: no async frame, no await around the client's own promise
    const pc = this.#ready(t);
    return pc ? this.#send(pc, method, path, init) : this.#pick(t).then((p) => this.#send(p, method, path, init));
  }

  /** One request on a pooled client, counted in flight until it settles. */
  #send(pc: PooledClient, method: string, path: string, init: PeerRequestInit): Promise<H2Response> {
    if (init.signal?.aborted) return Promise.reject(new UpstreamError("cancelled", "cancelled by the client"));
    pc.inflight++;
    const p = pc.client.request(method, path, init);
    const settled = () => {
      pc.inflight--;
    };
    p.then(settled, settled);
    return p;
  }

  /** The hot path: an open client of the current pool with room (least loaded), without a promise or an allocation. */
  #ready(t: PeerN32fTarget): PooledClient | undefined {
    const pool = this.#pools.get(t.peerId);
    if (!pool || pool.url !== t.url) return undefined;
    let best: PooledClient | undefined;
    for (const c of pool.clients) {
      if (c.client.closed) return undefined; // #pick drops it
      if (!best || c.inflight < best.inflight) best = c;
    }
    return best && (best.inflight < this.opts.streamsPerConnection || pool.clients.length >= this.opts.maxConnections)
      ? best
      : undefined;
  }

  async #pick(t: PeerN32fTarget): Promise<PooledClient> {
    let pool = this.#pools.get(t.peerId);
    if (!pool || pool.url !== t.url) {
      if (pool) for (const c of pool.clients) void c.client.close();
      pool = { url: t.url, clients: [], connecting: null };
      this.#pools.set(t.peerId, pool);
    }
    pool.clients = pool.clients.filter((c) => !c.client.closed);
    let best: PooledClient | undefined;
    for (const c of pool.clients) if (!best || c.inflight < best.inflight) best = c;
    if (best && (best.inflight < this.opts.streamsPerConnection || pool.clients.length >= this.opts.maxConnections))
      return best;
    if (pool.connecting) return pool.connecting;
    const p = pool;
    p.connecting = H2Client.connect({
      url: t.url,
      tls: this.opts.tls(),
      trust: this.opts.trust(),
      expectDnsName: t.expectDnsName,
      timeoutMs: this.opts.connectTimeoutMs,
    })
      .then((client) => {
        const pc = { client, inflight: 0 };
        p.clients.push(pc);
        return pc;
      })
      .catch((e) => {
        throw new UpstreamError("connect", (e as Error).message);
      })
      .finally(() => (p.connecting = null));
    return p.connecting;
  }

  /** Close the sessions of one peer (association ended) or of all. */
  async close(peerId?: string): Promise<void> {
    const ids = peerId ? [peerId] : [...this.#pools.keys()];
    await Promise.all(
      ids.map(async (id) => {
        const pool = this.#pools.get(id);
        this.#pools.delete(id);
        await Promise.all((pool?.clients ?? []).map((c) => c.client.close()));
      }),
    );
  }
}
