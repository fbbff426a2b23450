// src/transport/h2server.ts — the N32 listener: node:http2 secure server, mutual TLS (client certificate
// required), TLS 1.3 by default (1.2 only where allowed), HTTP/2 only (ALPN h2, no HTTP/1.1 fallback;
// TS 33.501 13.1.0, TS 33.210 6.2), and a small adapter that hands a fetch `Request` to a hono app with
// the connection (peer certificate chain, TLS exporter) in `c.env.conn`.
//
// Bounds: request bodies are read up to `maxBodyBytes` (413 before reading more), header list size and
// concurrent streams are capped in the HTTP/2 SETTINGS, sessions are capped and time out when idle.
// N32-f can be mounted on the same hono app (same port) or served by a second startN32Server (separate port).
import http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import type { X509Certificate } from "node:crypto";
import type { Logger } from "../log.ts";
import { peerChainOf, type TrustStore } from "../pki/trust.ts";
import { readBody, sendProblem } from "./h2stream.ts";

/** What a handler knows about the TLS connection that carried its request (hono `c.env.conn`). */
export interface ConnInfo {
  /** process-unique connection number (rate limiting, "the connection that carried the cipher-suite round") */
  readonly id: number;
  readonly socket: TLSSocket;
  /** negotiated TLS version ("TLSv1.3", "TLSv1.2") */
  readonly protocol: string | null;
  /** peer chain, leaf first (parsed once) */
  peerChain(): X509Certificate[];
  /** RFC 5705 / RFC 8446 7.5 exporter on this connection; context undefined = "no context" (TLS 1.2 only differs) */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array;
  /** whether the connection is closed already */
  readonly closed: boolean;
  /** called once when the connection closes */
  onClose(cb: () => void): void;
  /** close the connection (GOAWAY, then socket end) */
  close(): void;
  /** per-connection scratch space for the application (bounded by the app) */
  readonly data: Map<string, unknown>;
}

export interface N32Env {
  conn: ConnInfo;
}

export interface N32ServerLimits {
  /** request body cap in octets (413 above) */
  maxBodyBytes: number;
  maxConcurrentStreams?: number;
  maxHeaderListSize?: number;
  /** close a session idle this long */
  idleTimeoutMs?: number;
  /** body read / TLS handshake timeout */
  requestTimeoutMs?: number;
  maxSessions?: number;
}

export interface FetchApp {
  fetch(request: Request, env: N32Env): Response | Promise<Response>;
}

export interface N32ServerOptions {
  host: string;
  port: number;
  /** minVersion: TLSv1.3 unless some peer may use TLS 1.2 (P1; the per-peer check runs per request);
   *  maxVersion: for interop tests only */
  tls: { key: string; cert: string; minVersion?: "TLSv1.2" | "TLSv1.3"; maxVersion?: "TLSv1.2" | "TLSv1.3" };
  trust: TrustStore;
  app: FetchApp;
  limits: N32ServerLimits;
  log: Logger;
  /**
   * Takes a stream before the hono adapter (the N32-f data path: no fetch Request/Response on the hot path).
   * Returns true when it took the stream; it then owns reading, limits and the answer.
   */
  streamHandler?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, conn: ConnInfo) => boolean;
}

export interface N32Server {
  port: number;
  close(): Promise<void>;
  /** open sessions (tests, status) */
  sessions(): number;
}

let nextConnId = 1;
const EXPORT_LIMIT = 1024;

function makeConnInfo(session: http2.ServerHttp2Session): ConnInfo {
  const socket = session.socket as unknown as TLSSocket;
  const closeCbs: (() => void)[] = [];
  let closed = false;
  let chain: X509Certificate[] | undefined;
  const info: ConnInfo = {
    id: nextConnId++,
    socket,
    protocol: socket.getProtocol?.() ?? null,
    peerChain: () => (chain ??= peerChainOf(socket)),
    exportKeyingMaterial(length, label, context) {
      if (length < 1 || length > EXPORT_LIMIT) throw new RangeError("exporter length out of range");
      // node types make the context mandatory; at run time undefined means "no context" (RFC 5705)
      const ekm = socket.exportKeyingMaterial as (l: number, lb: string, c?: Buffer) => Buffer;
      return new Uint8Array(ekm.call(socket, length, label, context === undefined ? undefined : Buffer.from(context)));
    },
    get closed() {
      return closed;
    },
    onClose(cb) {
      if (closed) queueMicrotask(cb);
      else if (closeCbs.length < 64) closeCbs.push(cb);
    },
    close() {
      if (!session.closed && !session.destroyed) session.close();
    },
    data: new Map(),
  };
  session.once("close", () => {
    closed = true;
    for (const cb of closeCbs.splice(0)) {
      try {
        cb();
      } catch {
        /* a close hook must not break the server */
      }
    }
  });
  return info;
}

/** Start the N32 listener. Resolves once it listens (port 0 = any free port). */
export function startN32Server(opts: N32ServerOptions): Promise<N32Server> {
  const { limits, log } = opts;
  const maxBody = limits.maxBodyBytes;
  const reqTimeout = limits.requestTimeoutMs ?? 10_000;
  const sessions = new Set<http2.ServerHttp2Session>();
  const conns = new WeakMap<http2.ServerHttp2Session, ConnInfo>();

  const server = http2.createSecureServer({
    key: opts.tls.key,
    cert: opts.tls.cert,
    // N32 roots and the RI roots: an RI relays PRINS N32-f (P11); who may do what is decided per connection
    // (the data path: src/datapath/psepp.ts n32fSenderOf; N32-c admits SEPP certificates only)
    ca: [...opts.trust.tlsCaPem(), ...opts.trust.riRoots.map((r) => r.toString())],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: opts.tls.minVersion ?? "TLSv1.3",
    maxVersion: opts.tls.maxVersion ?? "TLSv1.3",
    allowHTTP1: false,
    ALPNProtocols: ["h2"],
    handshakeTimeout: reqTimeout,
    maxHeaderListPairs: 128,
    maxSessionMemory: 10,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams ?? 100,
      maxHeaderListSize: limits.maxHeaderListSize ?? 16_384,
    },
  });
  server.maxConnections = limits.maxSessions ?? 256;
  if (limits.idleTimeoutMs) server.setTimeout(limits.idleTimeoutMs);

  server.on("session", (session) => {
    sessions.add(session);
    conns.set(session, makeConnInfo(session));
    session.on("close", () => sessions.delete(session));
    session.on("error", (e) => log.every("n32-session-error", 10_000, "debug", "N32 session error", { error: e }));
  });
  server.on("tlsClientError", (e) =>
    log.every("n32-tls-error", 10_000, "warn", "N32 TLS handshake refused", { error: e }),
  );

  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const session = stream.session;
    const conn = session ? conns.get(session as http2.ServerHttp2Session) : undefined;
    if (!conn) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.on("error", () => {});
    if (opts.streamHandler?.(stream, headers, conn)) return;
    const method = String(headers[":method"] ?? "GET");
    const path = String(headers[":path"] ?? "/");
    const authority = String(headers[":authority"] ?? "localhost");
    readBody(stream, headers["content-length"], { maxBodyBytes: maxBody, timeoutMs: reqTimeout }, (reqBody) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(headers)) {
        if (k.startsWith(":") || v === undefined) continue;
        for (const x of Array.isArray(v) ? v : [v]) h.append(k, String(x));
      }
      let url: URL;
      try {
        url = new URL(path, `https://${authority}`);
      } catch {
        sendProblem(stream, 400, "MANDATORY_IE_INCORRECT", "invalid :path or :authority");
        return;
      }
      const hasBody = method !== "GET" && method !== "HEAD";
      const request = new Request(url.href, {
        method,
        headers: h,
        body: hasBody && reqBody.length > 0 ? new Uint8Array(reqBody) : undefined,
      });
      Promise.resolve()
        .then(() => opts.app.fetch(request, { conn }))
        .then(async (res) => {
          const body = new Uint8Array(await res.arrayBuffer());
          if (stream.destroyed || stream.closed) return;
          const out: http2.OutgoingHttpHeaders = { ":status": res.status };
          res.headers.forEach((val, key) => {
            if (key !== "content-length" && key !== "connection" && key !== "transfer-encoding") out[key] = val;
          });
          stream.respond(out, { endStream: body.length === 0 });
          if (body.length) stream.end(body);
        })
        .catch((e) => {
          log.error("N32 handler failed", { error: e, path: url.pathname });
          sendProblem(stream, 500, "SYSTEM_FAILURE", "internal error");
        });
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : opts.port;
      resolve({
        port,
        sessions: () => sessions.size,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            for (const s of sessions) {
              s.close();
              const t = setTimeout(() => s.destroy(), 1000);
              t.unref?.();
            }
            if (sessions.size === 0) setTimeout(res, 0);
          }),
      });
    });
  });
}
