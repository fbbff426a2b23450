// test/support/n32-proxy.ts — a man-in-the-middle on N32 for tests: a real HTTP/2 server over mutual TLS on
// 127.0.0.1 that a SEPP uses as its peer's N32 endpoint. It presents the PEER SEPP's certificate to the SEPP
// and connects to the peer with the SEPP's own certificate (the test generated the PKI, so it holds both), so
// both SEPPs see exactly the TLS identities they expect. It forwards every request and response and lets a
// test capture, modify (bit flips in aad / ciphertext / tag, JSON edits), replay, hold, drop or answer
// requests itself, or act as a Roaming Intermediary (test/support/ri.ts). It stands outside the SEPPs: the
// N32 network between two operators.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { HOME, VISITED, type PairPki, type SeppSide } from "../../scripts/lib/pair.ts";

export interface ProxyRequest {
  method: string;
  path: string;
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
  | { kind: "forward"; body?: Buffer | string; delayUntil?: () => boolean | Promise<boolean> }
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
  /** upstream apiRoot, e.g. https://127.0.0.1:1234 */
  upstream: string;
  /** TLS server name upstream (the peer's N32 FQDN) */
  servername: string;
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
  ): Promise<{ status: number; body: Buffer }>;
  /** the peer goes down: stop listening and cut every connection; resume() listens again on the same port */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** streams open on the client-facing side and upstream (leak checks) */
  openStreams(): { downstream: number; upstream: number };
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A proxy standing in front of one SEPP of a `writePair` pair: it presents that SEPP's certificate to the other
 * SEPP and connects to it with the other SEPP's certificate (the test made the PKI, so it holds both keys).
 */
export function startProxyInFront(
  pair: { visited: SeppSide; home: SeppSide; pki: PairPki },
  target: "home" | "visited",
  port: number,
  extra: Pick<N32ProxyOptions, "timeoutMs"> = {},
): Promise<N32Proxy> {
  const [me, other, side, fqdn] =
    target === "home"
      ? [pair.pki.certH, pair.pki.certV, pair.home, HOME.fqdn]
      : [pair.pki.certV, pair.pki.certH, pair.visited, VISITED.fqdn];
  return startN32Proxy({
    ...extra,
    port,
    server: { cert: me.chainPem, key: me.keyPem },
    client: { cert: other.chainPem, key: other.keyPem },
    ca: [pair.pki.rootV.certPem, pair.pki.rootH.certPem],
    upstream: `https://127.0.0.1:${side.ports.n32}`,
    servername: fqdn,
  });
}

export async function startN32Proxy(o: N32ProxyOptions): Promise<N32Proxy> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const exchanges: ProxyExchange[] = [];
  let hook: ProxyHook | null = null;
  let down = 0;
  let up = 0;
  const sessions = new Set<http2.ServerHttp2Session>();
  let upstream: http2.ClientHttp2Session | null = null;

  const upstreamSession = (): http2.ClientHttp2Session => {
    if (upstream && !upstream.closed && !upstream.destroyed) return upstream;
    const s = http2.connect(o.upstream, {
      key: o.client.key,
      cert: o.client.cert,
      ca: o.ca,
      servername: o.servername,
      ALPNProtocols: ["h2"],
    });
    s.on("error", () => {});
    s.on("close", () => {
      if (upstream === s) upstream = null;
    });
    upstream = s;
    return s;
  };

  const forward = (
    path: string,
    method: string,
    headers: Record<string, string>,
    body: Buffer,
    downstream?: http2.ServerHttp2Stream,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const s = upstreamSession().request(
        { ":method": method, ":path": path, ":authority": o.servername, ":scheme": "https", ...headers },
        { endStream: body.length === 0 },
      );
      up++;
      // the client cancelled (or its connection went): cancel upstream too, as a transparent hop does
      downstream?.once("close", () => {
        if (!s.closed) s.close(http2.constants.NGHTTP2_CANCEL);
      });
      let closed = false;
      s.on("close", () => {
        if (!closed) (closed = true), up--;
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
      if (!closed) (closed = true), down--;
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
        const fwdHeaders = { ...headers };
        delete fwdHeaders["content-length"];
        const r = await forward(req.path, req.method, fwdHeaders, body, stream);
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
    async send(path, body, headers = { "content-type": "application/json" }, method = "POST") {
      const r = await forward(path, method, headers, Buffer.from(body));
      return { status: r.status, body: r.body };
    },
    async pause() {
      await stopListening();
      upstream?.destroy();
    },
    async resume() {
      await listen(port);
    },
    openStreams: () => ({ downstream: down, upstream: up }),
    async close() {
      await stopListening();
      upstream?.destroy();
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
