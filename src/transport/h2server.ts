// src/transport/h2server.ts — the N32 listener: node:http2 secure server, mutual TLS (client certificate
// required), TLS 1.3 by default (1.2 only where allowed), HTTP/2 only (ALPN h2, no HTTP/1.1 fallback;
// TS 33.501 13.1.0, TS 33.210 6.2), and a small adapter that hands a fetch `Request` to a hono app with
// the connection (peer certificate chain, TLS exporter) in `c.env.conn`.
//
// Bounds: request bodies are read up to `maxBodyBytes` (413 before reading more), header list size and
// concurrent streams are capped in the HTTP/2 SETTINGS.
// Connection set-up (issue 10 §1, N32-PROFILE P11 "Trust", TS 33.517 4.2.5): the TLS stack checks the client chain
// against the union of our roots; then, before the HTTP/2 session exists, `admit` decides from the chain who the
// client is (a configured peer whose PLMN anchor the chain leads to, or a listed RI); anyone else, and anyone over
// their connection quota, is disconnected at once (no HTTP answer; no TLS alert either: the handshake is complete
// by then and the runtime has no API to send one). Each admitted connection has a preface and an idle timeout and
// a bound on client stream resets (conn-limits.ts).
// N32-f can be mounted on the same hono app (same port) or served by a second startN32Server (separate port).
import http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import type { X509Certificate } from "node:crypto";
import type { Logger } from "../log.ts";
import { peerChainOf, type TrustStore } from "../pki/trust.ts";
import { N32_LIMITS } from "../sbi/limits.ts";
import { readBody, sendProblem } from "./h2stream.ts";
import { admitAnyN32Chain, type Admission, type ConnIdentity } from "../pki/admission.ts";
import { ConnQuota, DEFAULT_GUARD, markRawSocket, SessionGuard, type GuardEvent } from "./conn-limits.ts";

export type { ConnIdentity } from "../pki/admission.ts";

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
  /** who the client is, decided at connection set-up (a configured peer SEPP or a listed RI) */
  readonly identity: ConnIdentity;
}

export interface N32Env {
  conn: ConnInfo;
}

export interface N32ServerLimits {
  /** request body cap in octets (413 above) */
  maxBodyBytes: number;
  maxConcurrentStreams?: number;
  maxHeaderListSize?: number;
  /** close a session without an open stream this long (PINGs do not count); default 120 s */
  idleTimeoutMs?: number;
  /** body read timeout */
  requestTimeoutMs?: number;
  /** connections all clients together may hold (default 256) */
  maxSessions?: number;
  /** connections one peer (or RI) may hold (default 16) */
  maxSessionsPerPeer?: number;
  /** TLS handshake, then the client's HTTP/2 SETTINGS, each within this (default 10 s) */
  prefaceTimeoutMs?: number;
  /**
   * connections one source IP address may have in set-up at once (TCP accepted, not yet admitted: TLS handshake,
   * certificate check); one more is closed at accept (default 32). Admitted connections count per peer instead.
   */
  maxPendingPerSource?: number;
  /** client resets of unanswered streams per 10 s before GOAWAY ENHANCE_YOUR_CALM (default 200) */
  maxResetsPer10s?: number;
}

export interface FetchApp {
  fetch(request: Request, env: N32Env): Response | Promise<Response>;
}

export interface N32ServerOptions {
  host: string;
  port: number;
  /** share the port with the other data-path workers (SO_REUSEPORT) */
  reusePort?: boolean;
  /** minVersion: TLSv1.3 unless some peer may use TLS 1.2 (P1; the per-peer check runs per request);
   *  maxVersion: for interop tests only */
  tls: { key: string; cert: string; minVersion?: "TLSv1.2" | "TLSv1.3"; maxVersion?: "TLSv1.2" | "TLSv1.3" };
  /** the trust store in force (a function: it follows configuration changes, CRLs included) */
  trust: TrustStore | (() => TrustStore);
  /**
   * Who may hold a connection (src/pki/admission.ts admitN32Client). Default: any chain that leads to the anchor of
   * the PLMN IDs it names.
   */
  admit?: (chain: X509Certificate[], trust: TrustStore) => Admission;
  /** accept TLS client chains to the RI trust store as well (an N32-f listener with RIs as hops, P11) */
  acceptRiClients?: boolean;
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
/** set on an admitted TLS socket (a property: node hands the session a proxy of the socket, not the socket) */
const ADMITTED = Symbol("sepp.admitted");
/** the release of a connection's set-up slot (per source address), on the socket */
const PENDING = Symbol("sepp.pendingSlot");

function makeConnInfo(session: http2.ServerHttp2Session, identity: ConnIdentity): ConnInfo {
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
    identity,
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
  const trustOf = typeof opts.trust === "function" ? opts.trust : () => opts.trust as TrustStore;
  const admit = opts.admit ?? admitAnyN32Chain;
  const maxSessions = limits.maxSessions ?? 256;
  const guard = {
    prefaceTimeoutMs: limits.prefaceTimeoutMs ?? DEFAULT_GUARD.prefaceTimeoutMs,
    idleTimeoutMs: limits.idleTimeoutMs ?? DEFAULT_GUARD.idleTimeoutMs,
    maxResetsPerWindow: limits.maxResetsPer10s ?? DEFAULT_GUARD.maxResetsPerWindow,
    resetWindowMs: 10_000,
    maxControlFramesPerWindow: DEFAULT_GUARD.maxControlFramesPerWindow,
  };
  const quota = new ConnQuota(() => limits.maxSessionsPerPeer ?? 16, maxSessions);
  const caOf = (t: TrustStore) => [...t.tlsCaPem(), ...(opts.acceptRiClients ? t.riCaPem() : [])];
  let caTrust = trustOf();

  const server = http2.createSecureServer({
    key: opts.tls.key,
    cert: opts.tls.cert,
    ca: caOf(caTrust),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: opts.tls.minVersion ?? "TLSv1.3",
    maxVersion: opts.tls.maxVersion ?? "TLSv1.3",
    allowHTTP1: false,
    ALPNProtocols: ["h2"],
    handshakeTimeout: guard.prefaceTimeoutMs,
    maxHeaderListPairs: N32_LIMITS.maxHeaders,
    maxSessionMemory: 10,
    settings: {
      maxConcurrentStreams: limits.maxConcurrentStreams ?? 100,
      maxHeaderListSize: limits.maxHeaderListSize ?? N32_LIMITS.maxTlsHeaderListSize,
    },
  });
  // TCP slots: the admitted connections' cap plus room for handshakes in progress (each bounded in time)
  server.maxConnections = maxSessions + 64;

  // Connections in set-up per source address (issue 10: slow TLS, idle TCP): without this bound one address that
  // never completes a handshake holds every TCP slot above, and a partner's new connection is refused. The slot is
  // given back once the connection is admitted (or closes). Bun hands 'connection' and 'secureConnection' the
  // same socket object.
  const pending = new ConnQuota(() => limits.maxPendingPerSource ?? 32, Number.MAX_SAFE_INTEGER);
  server.on("connection", (socket: TLSSocket) => {
    const src = socket.remoteAddress ?? "?";
    const release = pending.tryAcquire(src);
    if (!release) {
      log.every(`n32-pending-${src}`, 10_000, "warn", "N32 connection refused: too many in set-up from this source", {
        source: src,
        held: pending.held(src),
      });
      socket.destroy();
      return;
    }
    socket.once("close", release);
    (socket as unknown as Record<symbol, () => void>)[PENDING] = release;
  });

  // A configuration change brings new roots: new connections are checked against them (the admission check below
  // always uses the store in force, CRLs included).
  server.on("connection", () => {
    const t = trustOf();
    if (t === caTrust) return;
    caTrust = t;
    try {
      server.setSecureContext({ key: opts.tls.key, cert: opts.tls.cert, ca: caOf(t) });
    } catch (e) {
      log.error("N32 listener: new trust anchors not applied", { error: e });
    }
  });

  // Admission at connection set-up, before the HTTP/2 session exists: the built-in listener that creates the
  // session runs only for an admitted connection (P11 "Trust": before any HTTP/2 frame is processed).
  const sessionFactories = server.listeners("secureConnection") as Array<(s: TLSSocket) => void>;
  server.removeAllListeners("secureConnection");
  server.on("secureConnection", (socket: TLSSocket) => {
    (socket as unknown as Record<symbol, (() => void) | undefined>)[PENDING]?.();
    let adm: Admission;
    try {
      adm = admit(peerChainOf(socket), trustOf());
    } catch (e) {
      adm = { ok: false, reason: `certificate check failed: ${(e as Error).message}` };
    }
    if (!adm.ok) {
      // a security event (TS 33.117 4.2.3.6.1); at most one line per 10 s
      log.every("n32-conn-refused", 10_000, "warn", "N32 connection refused at set-up", {
        category: "security",
        event: "n32-admission-refused",
        reason: adm.reason,
        remote: socket.remoteAddress,
      });
      socket.destroy();
      return;
    }
    const release = quota.tryAcquire(`${adm.kind}:${adm.id}`);
    if (!release) {
      log.every(`n32-quota-${adm.id}`, 10_000, "warn", "N32 connection refused: connection quota reached", {
        [adm.kind]: adm.id,
        held: quota.held(`${adm.kind}:${adm.id}`),
        total: quota.total,
      });
      socket.destroy();
      return;
    }
    socket.once("close", release);
    markRawSocket(socket);
    (socket as unknown as Record<symbol, ConnIdentity>)[ADMITTED] = {
      kind: adm.kind,
      id: adm.id,
      plmnIds: adm.plmnIds,
    };
    for (const f of sessionFactories) f.call(server, socket);
  });

  const onGuard = (conn: ConnIdentity) => (e: GuardEvent) =>
    log.every(`n32-guard-${e}-${conn.id}`, 10_000, e === "idle" ? "debug" : "warn", `N32 connection closed: ${e}`, {
      [conn.kind]: conn.id,
    });

  server.on("session", (session) => {
    const identity = (session.socket as unknown as Record<symbol, ConnIdentity | undefined>)[ADMITTED];
    if (!identity) {
      // not through the admission above (cannot happen unless the runtime creates sessions elsewhere): refuse
      session.destroy();
      return;
    }
    sessions.add(session);
    const info = makeConnInfo(session, identity);
    conns.set(session, info);
    guards.set(session, new SessionGuard(session, guard, onGuard(identity)));
    session.on("close", () => sessions.delete(session));
    session.on("error", (e) => log.every("n32-session-error", 10_000, "debug", "N32 session error", { error: e }));
  });
  const guards = new WeakMap<http2.ServerHttp2Session, SessionGuard>();
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
    guards.get(session as http2.ServerHttp2Session)?.stream(stream);
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
    // reusePort: data-path workers share the port (SO_REUSEPORT, docs/ARCHITECTURE.md "Worker model")
    server.listen({ port: opts.port, host: opts.host, reusePort: opts.reusePort === true }, () => {
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
