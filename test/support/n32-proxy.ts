// test/support/n32-proxy.ts — HTTP/2 relays on N32 for tests: real servers over mutual TLS on 127.0.0.1 that
// stand outside the SEPPs (the N32 network between two operators). Two kinds, never mixed up:
//
// - startRiProxy: a Roaming Intermediary (IPX provider, N32-PROFILE P11) with its OWN certificate from an RI CA.
//   It is an HTTP forward proxy: it routes each request by its :authority (the peer's N32-f FQDN:port) to the
//   next hop (another RI or the peer SEPP), on its own TLS connection with its own certificate, and can sign
//   JWS modifications with its key (test/support/ri.ts).
// - startHostilePeerInFront / startN32Proxy with SEPP certificates: a HOSTILE PEER on the wire (a man in the
//   middle holding both SEPPs' keys, which the test generated): the SEPP sees exactly the TLS identity it expects,
//   so attacks by someone who has a peer's key (bit flips in aad / ciphertext / tag, JSON edits, replays, holds,
//   drops, own answers) reach the code under test. It is not an RI: no RI presents a SEPP's certificate.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { HOME, VISITED, type SeppSide } from "../../scripts/lib/pair.ts";
import type { PairPki } from "../../scripts/lib/pair-pki.ts";

export interface ProxyRequest {
  method: string;
  path: string;
  /** :authority as received (a forward proxy routes on it) */
  authority?: string;
  /** request headers without pseudo-headers */
  headers: Record<string, string>;
  body: Buffer;
}

export interface ProxyExchange extends ProxyRequest {
  /** what the hook decided */
  action: ProxyAction["kind"];
  /** the body sent upstream (differs from `body` when modified) */
  forwardedBody?: Buffer;
  /** the answer given to the client (upstream's or the proxy's own) */
  status?: number;
  responseBody?: Buffer;
  /** resolved when the exchange is over */
  done: Promise<void>;
}

export type ProxyAction =
  | {
      kind: "forward";
      body?: Buffer | string;
      delayUntil?: () => boolean | Promise<boolean>;
      /** replace or add request headers upstream (e.g. content-encoding) */
      headers?: Record<string, string>;
      /** change the answer on its way back (an RI modifying a response) */
      editResponse?: (status: number, body: Buffer) => Buffer | string | Promise<Buffer | string>;
    }
  | { kind: "respond"; status: number; headers?: Record<string, string>; body?: string }
  | { kind: "drop" }
  | { kind: "blackhole" };

export type ProxyHook = (r: ProxyRequest) => ProxyAction | undefined | Promise<ProxyAction | undefined>;

export interface N32ProxyOptions {
  /** what the proxy presents to the connecting SEPP (the peer SEPP's certificate chain and key) */
  server: { cert: string; key: string };
  /** what the proxy presents upstream (the connecting SEPP's certificate chain and key) */
  client: { cert: string; key: string };
  /** roots both sides chain to */
  ca: string[];
  /** upstream apiRoot, e.g. https://127.0.0.1:1234 (a fixed upstream; else `route`) */
  upstream?: string;
  /** TLS server name upstream (the peer's N32 FQDN) */
  servername?: string;
  /**
   * Forward proxy: the next hop of a request by its :authority (kept as is upstream). Unknown authority: 502
   * without a ProblemDetailsMsgForwarding (what an IPX answers when it cannot route).
   */
  route?: (authority: string) => { url: string; servername: string; ca: string[] } | undefined;
  /** listen on this port (0: any) */
  port?: number;
  /** per-request upstream timeout (default 10 s) */
  timeoutMs?: number;
}

export interface N32Proxy {
  port: number;
  url: string;
  exchanges: ProxyExchange[];
  /** set (or clear with null) the hook deciding what to do with each request */
  onRequest(hook: ProxyHook | null): void;
  /** send a request upstream on the proxy's own connection (injection, replay) */
  send(
    path: string,
    body: Buffer | string,
    headers?: Record<string, string>,
    method?: string,
    /** forward proxies: the :authority to route on */
    authority?: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }>;
  /** the peer goes down: stop listening and cut every connection; resume() listens again on the same port */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** streams open on the client-facing side and upstream (leak checks) */
  openStreams(): { downstream: number; upstream: number };
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A HOSTILE PEER standing in front of one SEPP of a `writePair` pair: it presents that SEPP's certificate to the
 * other SEPP and connects to it with the other SEPP's certificate (the test made the PKI, so it holds both keys).
 * `via: "n32f"`: it forwards to the SEPP's own N32-f listener where it has one (separateN32f), else to its N32 port.
 */
export function startHostilePeerInFront(
  pair: { visited: SeppSide; home: SeppSide; pki: PairPki },
  target: "home" | "visited",
  port: number,
  extra: Pick<N32ProxyOptions, "timeoutMs"> & { via?: "n32c" | "n32f" } = {},
): Promise<N32Proxy> {
  const [me, other, side, fqdn] =
    target === "home"
      ? [pair.pki.certH, pair.pki.certV, pair.home, HOME.fqdn]
      : [pair.pki.certV, pair.pki.certH, pair.visited, VISITED.fqdn];
  const upstreamPort = extra.via === "n32f" ? (side.ports.n32f ?? side.ports.n32) : side.ports.n32;
  return startN32Proxy({
    timeoutMs: extra.timeoutMs,
    port,
    server: { cert: me.chainPem, key: me.keyPem },
    client: { cert: other.chainPem, key: other.keyPem },
    ca: [pair.pki.rootV.certPem, pair.pki.rootH.certPem],
    upstream: `https://127.0.0.1:${upstreamPort}`,
    servername: fqdn,
  });
}

/** A Roaming Intermediary's options (P11): its own RI certificate, the roots of who may connect, its routes. */
export interface RiProxyOptions {
  /** the RI's certificate and key (an RI CA's, dNSName = its identity) */
  ri: { cert: string; key: string };
  /** roots of the clients it accepts (SEPPs' PLMN roots, other RIs' root) */
  clientCa: string[];
  /** :authority (the peer's N32-f FQDN:port) → next hop: its URL, TLS identity and the roots it chains to */
  routes: Record<string, { url: string; servername: string; ca: string[] }>;
  port?: number;
  timeoutMs?: number;
}

/** An RI's route to one SEPP of a `writePair` pair: that SEPP's N32 authority → its URL, FQDN and root. */
export function routeToSepp(
  sides: { visited: SeppSide; home: SeppSide },
  pki: PairPki,
  target: "home" | "visited",
): RiProxyOptions["routes"] {
  const [side, fqdn, root] =
    target === "home" ? [sides.home, HOME.fqdn, pki.rootH] : [sides.visited, VISITED.fqdn, pki.rootV];
  const url = `https://127.0.0.1:${side.ports.n32}`;
  return { [`${fqdn}:${side.ports.n32}`.toLowerCase()]: { url, servername: fqdn, ca: [root.certPem] } };
}

/** A Roaming Intermediary for tests: its own certificate both ways, an HTTP forward proxy routing on :authority. */
export function startRiProxy(o: RiProxyOptions): Promise<N32Proxy> {
  return startN32Proxy({
    server: o.ri,
    client: o.ri,
    ca: o.clientCa,
    route: (authority) => o.routes[authority.toLowerCase()],
    port: o.port,
    timeoutMs: o.timeoutMs,
  });
}

export async function startN32Proxy(o: N32ProxyOptions): Promise<N32Proxy> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const exchanges: ProxyExchange[] = [];
  let hook: ProxyHook | null = null;
  let down = 0;
  let up = 0;
  const sessions = new Set<http2.ServerHttp2Session>();
  const upstreams = new Map<string, http2.ClientHttp2Session>();

  const hopOf = (authority: string | undefined) =>
    o.route ? o.route(authority ?? "") : { url: o.upstream!, servername: o.servername!, ca: o.ca };

  const upstreamSession = (hop: { url: string; servername: string; ca: string[] }): http2.ClientHttp2Session => {
    const key = `${hop.url}|${hop.servername}`;
    const cur = upstreams.get(key);
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const s = http2.connect(hop.url, {
      key: o.client.key,
      cert: o.client.cert,
      ca: hop.ca,
      servername: hop.servername,
      ALPNProtocols: ["h2"],
    });
    s.on("error", () => {});
    s.on("close", () => {
      if (upstreams.get(key) === s) upstreams.delete(key);
    });
    upstreams.set(key, s);
    return s;
  };

  const forward = (
    path: string,
    method: string,
    headers: Record<string, string>,
    body: Buffer,
    downstream?: http2.ServerHttp2Stream,
    authority?: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const hop = hopOf(authority);
      if (!hop) return resolve({ status: 502, headers: {}, body: Buffer.alloc(0) });
      const s = upstreamSession(hop).request(
        {
          ":method": method,
          ":path": path,
          // a forward proxy keeps the request's :authority (RFC 9110 7.6); the hostile peer names its target
          ":authority": o.route ? authority! : o.servername!,
          ":scheme": "https",
          ...headers,
        },
        { endStream: body.length === 0 },
      );
      up++;
      // the client cancelled (or its connection went): cancel upstream too, as a transparent hop does
      downstream?.once("close", () => {
        if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
      });
      let closed = false;
      s.on("close", () => {
        if (!closed) {
          closed = true;
          up--;
        }
      });
      const t = setTimeout(() => {
        s.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error("proxy: upstream timeout"));
      }, timeoutMs);
      let status = 0;
      const rh: Record<string, string> = {};
      const chunks: Buffer[] = [];
      s.on("response", (h) => {
        status = Number(h[":status"]);
        for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && v !== undefined) rh[k] = String(v);
      });
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => {
        clearTimeout(t);
        resolve({ status, headers: rh, body: Buffer.concat(chunks) });
      });
      s.on("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
      if (body.length) s.end(body);
    });

  const server = http2.createSecureServer({
    key: o.server.key,
    cert: o.server.cert,
    ca: o.ca,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ["h2"],
    allowHTTP1: false,
  });
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
    down++;
    let closed = false;
    stream.on("close", () => {
      if (!closed) {
        closed = true;
        down--;
      }
    });
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 16 << 20) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else chunks.push(c);
    });
    stream.on("end", async () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && v !== undefined) headers[k] = String(v);
      const req: ProxyRequest = {
        method: String(h[":method"]),
        path: String(h[":path"]),
        authority: String(h[":authority"] ?? ""),
        headers,
        body: Buffer.concat(chunks),
      };
      let finish!: () => void;
      const ex: ProxyExchange = { ...req, action: "forward", done: new Promise<void>((r) => (finish = r)) };
      exchanges.push(ex);
      if (exchanges.length > 1000) exchanges.splice(0, 500);
      try {
        const a = (hook ? await hook(req) : undefined) ?? { kind: "forward" as const };
        ex.action = a.kind;
        if (a.kind === "drop") {
          stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          return;
        }
        if (a.kind === "blackhole") return; // never answered: the client's timeout or cancel ends it
        if (a.kind === "respond") {
          ex.status = a.status;
          ex.responseBody = Buffer.from(a.body ?? "");
          if (!stream.closed) {
            stream.respond({ ":status": a.status, ...(a.headers ?? {}) }, { endStream: !a.body });
            if (a.body) stream.end(a.body);
          }
          return;
        }
        const body = a.body === undefined ? req.body : Buffer.from(a.body);
        ex.forwardedBody = body;
        if (a.delayUntil) {
          const end = Date.now() + timeoutMs;
          while (!(await a.delayUntil()) && Date.now() < end) await sleep(1);
        }
        const fwdHeaders = { ...headers, ...a.headers };
        delete fwdHeaders["content-length"];
        const r = await forward(req.path, req.method, fwdHeaders, body, stream, req.authority);
        if (a.editResponse) r.body = Buffer.from(await a.editResponse(r.status, r.body));
        ex.status = r.status;
        ex.responseBody = r.body;
        if (stream.closed || stream.destroyed) return;
        const rh = { ...r.headers };
        delete rh["content-length"];
        stream.respond({ ":status": r.status, ...rh }, { endStream: r.body.length === 0 });
        if (r.body.length) stream.end(r.body);
      } catch {
        if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      } finally {
        finish();
      }
    });
  });

  const listen = (port: number) =>
    new Promise<number>((res, rej) => {
      server.once("error", rej);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", rej);
        res((server.address() as AddressInfo).port);
      });
    });
  const port = await listen(o.port ?? 0);
  const stopListening = () =>
    new Promise<void>((r) => {
      for (const s of sessions) s.destroy();
      if (server.listening) server.close(() => r());
      else r();
    });

  return {
    port,
    url: `https://127.0.0.1:${port}`,
    exchanges,
    onRequest(h) {
      hook = h;
    },
    async send(path, body, headers = { "content-type": "application/json" }, method = "POST", authority?: string) {
      const r = await forward(path, method, headers, Buffer.from(body), undefined, authority);
      return { status: r.status, headers: r.headers, body: r.body };
    },
    async pause() {
      await stopListening();
      for (const u of upstreams.values()) u.destroy();
    },
    async resume() {
      await listen(port);
    },
    openStreams: () => ({ downstream: down, upstream: up }),
    async close() {
      await stopListening();
      for (const u of upstreams.values()) u.destroy();
    },
  };
}

// ---------------------------------------------------------------- wire edits of an n32f-process body

interface Reformatted {
  reformattedData: Record<string, unknown> & { aad?: string; ciphertext?: string; tag?: string };
  modificationsBlock?: unknown[];
}

export function parseN32f(body: Buffer | string): Reformatted {
  return JSON.parse(Buffer.from(body).toString("utf8")) as Reformatted;
}

/** Flip one bit (`mask`) of octet `index` of a base64url member of reformattedData. */
export function flipBit(
  body: Buffer | string,
  member: "aad" | "ciphertext" | "tag" | "iv",
  index = 0,
  mask = 0x01,
): string {
  const m = parseN32f(body);
  const v = m.reformattedData[member];
  if (typeof v !== "string" || v.length === 0) throw new Error(`proxy: no ${member} to flip`);
  const b = Buffer.from(v, "base64url");
  const i = index < 0 ? b.length + index : index;
  b[i] = b[i]! ^ mask;
  m.reformattedData[member] = b.toString("base64url");
  return JSON.stringify(m);
}

/** The decoded aad (DataToIntegrityProtectBlock) of an n32f-process body. */
export function aadOf(body: Buffer | string): any {
  const m = parseN32f(body);
  return JSON.parse(Buffer.from(m.reformattedData.aad ?? "", "base64url").toString("utf8"));
}

/** Edit the decoded aad as JSON (e.g. another n32fContextId) and re-encode it; the JWE is otherwise untouched. */
export function editAad(body: Buffer | string, edit: (block: any) => void): string {
  const m = parseN32f(body);
  const block = JSON.parse(Buffer.from(m.reformattedData.aad ?? "", "base64url").toString("utf8"));
  edit(block);
  m.reformattedData.aad = Buffer.from(JSON.stringify(block)).toString("base64url");
  return JSON.stringify(m);
}

/** Flip one bit inside the aad's requestLine.path text, keeping the aad valid JSON (a redirect attempt). */
export function flipAadPathBit(body: Buffer | string): string {
  const m = parseN32f(body);
  const aad = Buffer.from(m.reformattedData.aad ?? "", "base64url");
  const at = aad.indexOf('"path":"');
  if (at < 0) throw new Error("proxy: no requestLine.path in aad");
  const i = at + '"path":"'.length + 1; // second character of the path
  aad[i] = aad[i]! ^ 0x02; // a printable letter stays a printable letter, JSON stays valid
  m.reformattedData.aad = aad.toString("base64url");
  return JSON.stringify(m);
}
