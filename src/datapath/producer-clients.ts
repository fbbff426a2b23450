// src/datapath/producer-clients.ts — the pSEPP's HTTP/2 connections to producers in its own network (TS 29.500
// 5.2: h2c with prior knowledge or TLS), one per origin, bounded in number (the oldest is closed) and closed when
// idle. HTTP/2 is src/transport/h2/ on a node:net / node:tls socket. The address is resolved here (sbi.staticHosts first) and checked against the peer's egress policy before
// connecting, so that DNS cannot lead around the allow-list (DNS rebinding; N32-PROFILE P8). Requests go through
// upstream.ts requestOn (bounded in time and size, cancellable).
import net from "node:net";
import tls from "node:tls";
import { lookup } from "node:dns/promises";
import { armTimer, disarmTimer } from "../timers.ts";
import type { H2Conn } from "../transport/h2/conn.ts";
import { attachNodeSocket } from "../transport/h2/node-socket.ts";
import { requestOn, UpstreamError, type UpstreamRequest, type UpstreamResponse } from "./upstream.ts";

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
  readonly #sessions = new Map<string, H2Conn>();
  readonly #connecting = new Map<string, Promise<H2Conn>>();
  constructor(private readonly opts: ProducerClientsOptions) {}

  get size(): number {
    return this.#sessions.size;
  }

  request(
    target: { scheme: "http" | "https"; host: string; port: number },
    check: AddressCheck,
    r: UpstreamRequest,
    again = false,
  ): Promise<UpstreamResponse> {
    // an open session to the origin: send at once (no extra promise turn on the hot path)
    const s = this.#sessions.get(`${target.scheme}://${target.host}:${target.port}`);
    // refused unprocessed (a producer shutting down: GOAWAY, REFUSED_STREAM): sent once more, on a new session
    const resend = again ? undefined : (x: UpstreamRequest) => this.request(target, check, x, true);
    if (s?.takesRequests) return requestOn(s, target.scheme, r, resend);
    return this.#session(target, check).then((session) => requestOn(session, target.scheme, r, resend));
  }

  #session(t: { scheme: "http" | "https"; host: string; port: number }, check: AddressCheck): Promise<H2Conn> {
    const key = `${t.scheme}://${t.host}:${t.port}`;
    const s = this.#sessions.get(key);
    // a session either side began to end (GOAWAY, RFC 9113 6.8) takes no new request: a new one replaces it
    if (s?.takesRequests) return Promise.resolve(s);
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
  ): Promise<H2Conn> {
    if (this.#sessions.size >= this.opts.maxSessions) {
      // evict the oldest idle-looking session to stay bounded
      const [oldKey, old] = this.#sessions.entries().next().value as [string, H2Conn];
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
        socket.destroy();
        reject(new UpstreamError("connect", msg));
      };
      const timer = armTimer(() => fail(`connect to ${t.host}:${t.port} timed out`), this.opts.connectTimeoutMs);
      const socket =
        t.scheme === "http"
          ? net.connect({ host: address, port: t.port })
          : tls.connect({
              host: address,
              port: t.port,
              servername: net.isIP(t.host) ? undefined : t.host,
              ALPNProtocols: ["h2"],
              ca: this.opts.ca?.length ? this.opts.ca : undefined,
              minVersion: "TLSv1.2",
            });
      socket.once("error", (e) => fail(`${t.host}:${t.port}: ${e.message}`));
      socket.once(t.scheme === "http" ? "connect" : "secureConnect", () => {
        if (done) return;
        if (t.scheme === "https" && (socket as tls.TLSSocket).alpnProtocol !== "h2")
          return fail(`${t.host}:${t.port} did not negotiate HTTP/2 (ALPN h2)`);
        done = true;
        disarmTimer(timer);
        socket.setNoDelay(true);
        const conn = attachNodeSocket(socket, "client");
        conn.onEnd = () => {
          if (this.#sessions.get(key) === conn) this.#sessions.delete(key);
        };
        // closed when nothing was read or written this long (node:http2's session timeout did the same)
        socket.setTimeout(this.opts.idleMs ?? 60_000, () => conn.close());
        this.#sessions.set(key, conn);
        resolve(conn);
      });
    });
  }

  close(): void {
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}
