// src/transport/h2server.ts — the N32 listener: a node:tls server, mutual TLS (client certificate required), TLS 1.3
// by default (1.2 only where allowed), HTTP/2 only (ALPN h2, no HTTP/1.1 fallback; TS 33.501 13.1.0, TS 33.210
// 6.2) on our HTTP/2 layer (h2/), and a small adapter that hands a fetch `Request` to a hono app with the
// connection (peer certificate chain, TLS exporter) in `c.env.conn`; N32-f requests go to the data path whole.
//
// Bounds: request bodies are read up to the path's cap (413, h2/requests.ts), header list size and concurrent
// streams are capped by the HTTP/2 layer.
// Connection set-up (issue 10 §1, N32-PROFILE P11 "Trust", TS 33.517 4.2.5): the TLS stack checks the client chain
// against the union of our roots; then, before the HTTP/2 session exists, `admit` decides from the chain who the
// client is (a configured peer whose PLMN anchor the chain leads to, or a listed RI); anyone else is disconnected at
// once (no HTTP answer; no TLS alert either: the handshake is complete by then and the runtime has no API to send
// one). A partner over its connection quota gets GOAWAY ENHANCE_YOUR_CALM "N32 connection quota reached" before
// any stream, and is disconnected when it closes (at most 1 s later). Each admitted connection has a preface and an
// idle timeout and bounds on client stream resets and PING/SETTINGS (h2/listener.ts guardConnection).
// N32-f can be mounted on the same hono app (same port) or served by a second startN32Server (separate port).
import tls, { type TLSSocket } from "node:tls";
import type { X509Certificate } from "node:crypto";
import type { Logger } from "../log.ts";
import { peerChainOf, type TrustStore } from "../pki/trust.ts";
import { N32_LIMITS } from "../sbi/limits.ts";
import { admitAnyN32Chain, type Admission, type ConnIdentity } from "../pki/admission.ts";
import { ConnQuota, DEFAULT_GUARD, type GuardEvent } from "./conn-limits.ts";
import { DEFAULT_H2_LIMITS, type H2Conn, bodyBudget } from "./h2/conn.ts";
import { ENHANCE_YOUR_CALM } from "./h2/frames.ts";
import { closeListener, guardConnection } from "./h2/listener.ts";
import { attachNodeSocket } from "./h2/node-socket.ts";
import { serveRequests, type PathLimits, type WholeRequest, type WholeResponse } from "./h2/requests.ts";
import { problem, PROBLEM_JSON } from "../problem.ts";

export type { ConnIdentity } from "../pki/admission.ts";

/** How long a connection refused over its quota may take to read our GOAWAY and close. */
const REFUSED_LINGER_MS = 1000;

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
  /** Takes N32-f requests before the hono adapter (the data path: no fetch Request/Response on the hot path). */
  streamHandler?: N32fRequestHandler;
}

export interface N32fRequestHandler {
  /** the bounds of a request to `path` it takes; undefined: an N32-c path (the listener's own bounds) */
  limits(path: string): PathLimits | undefined;
  /** its largest cap (what a connection may receive of one body before the path's cap is applied) */
  maxBodyBytes(): number;
  /** true when it took the request: it answers through `answer` */
  handle(req: WholeRequest, conn: ConnInfo, answer: (r: WholeResponse) => void): boolean;
}

export interface N32Server {
  port: number;
  close(): Promise<void>;
  /** open sessions (tests, status) */
  sessions(): number;
}

let nextConnId = 1;
const EXPORT_LIMIT = 1024;
function makeConnInfo(conn: H2Conn, socket: TLSSocket, identity: ConnIdentity): ConnInfo {
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
      conn.close();
    },
    data: new Map(),
    identity,
  };
  const ended = conn.onEnd;
  conn.onEnd = () => {
    ended?.();
    closed = true;
    for (const cb of closeCbs.splice(0)) {
      try {
        cb();
      } catch {
        /* a close hook must not break the server */
      }
    }
  };
  return info;
}

/** the release of a connection's set-up slot (per source address), on the socket */
const PENDING = Symbol("sepp.pendingSlot");

/** Start the N32 listener. Resolves once it listens (port 0 = any free port). */
export function startN32Server(opts: N32ServerOptions): Promise<N32Server> {
  const { limits, log } = opts;
  const maxBody = limits.maxBodyBytes;
  const conns = new Set<H2Conn>();
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
  const n32cLimits: PathLimits = {
    maxBodyBytes: maxBody,
    timeoutMs: limits.requestTimeoutMs ?? 10_000,
    maxHeaders: N32_LIMITS.maxHeaders,
  };
  // N32-f paths: the data path's bounds, never more header fields than N32 carries
  const requestLimits = (path: string): PathLimits => {
    const l = opts.streamHandler?.limits(path);
    if (!l) return n32cLimits;
    return l.maxHeaders <= N32_LIMITS.maxHeaders ? l : { ...l, maxHeaders: N32_LIMITS.maxHeaders };
  };
  const quota = new ConnQuota(() => limits.maxSessionsPerPeer ?? 16, maxSessions);
  // the incomplete request bodies all N32 connections hold together (each alone: its receive window)
  const budget = bodyBudget();
  const caOf = (t: TrustStore) => [...t.tlsCaPem(), ...(opts.acceptRiClients ? t.riCaPem() : [])];
  let caTrust = trustOf();

  const server = tls.createServer({
    key: opts.tls.key,
    cert: opts.tls.cert,
    ca: caOf(caTrust),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: opts.tls.minVersion ?? "TLSv1.3",
    maxVersion: opts.tls.maxVersion ?? "TLSv1.3",
    ALPNProtocols: ["h2"],
    handshakeTimeout: guard.prefaceTimeoutMs,
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
    // the TLS handshake within the preface timeout (a TCP connection that never starts TLS holds a slot otherwise)
    const handshake = setTimeout(() => socket.destroy(), guard.prefaceTimeoutMs);
    handshake.unref?.();
    socket.once("close", () => {
      clearTimeout(handshake);
      release();
    });
    (socket as unknown as Record<symbol, () => void>)[PENDING] = () => {
      clearTimeout(handshake);
      release();
    };
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

  const onGuard = (conn: ConnIdentity) => (e: GuardEvent) =>
    log.every(`n32-guard-${e}-${conn.id}`, 10_000, e === "idle" ? "debug" : "warn", `N32 connection closed: ${e}`, {
      [conn.kind]: conn.id,
    });

  // Admission at connection set-up, before any HTTP/2 frame is read (P11 "Trust"): who the client is, from its chain
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol !== "h2") {
      socket.destroy(); // HTTP/2 only: a client without ALPN h2 gets no HTTP/1.1 (TS 29.500 5.2)
      return;
    }
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
      // A known partner is told why (RFC 9113 6.8: our SETTINGS, then GOAWAY with no stream processed), so that
      // its logs say "quota" rather than "connection reset". Until it closes (at most REFUSED_LINGER_MS) the socket
      // keeps its set-up slot of this source address: refused connections stay bounded like those in set-up.
      attachNodeSocket(socket, "server").goaway(ENHANCE_YOUR_CALM, "N32 connection quota reached");
      setTimeout(() => socket.destroy(), Math.min(REFUSED_LINGER_MS, guard.prefaceTimeoutMs)).unref?.();
      return;
    }
    (socket as unknown as Record<symbol, (() => void) | undefined>)[PENDING]?.();
    socket.once("close", release);
    const identity: ConnIdentity = { kind: adm.kind, id: adm.id, plmnIds: adm.plmnIds };
    socket.setNoDelay(true);
    const conn = attachNodeSocket(socket, "server", undefined, {
      ...DEFAULT_H2_LIMITS,
      maxConcurrentStreams: limits.maxConcurrentStreams ?? 100,
      maxHeaderList: limits.maxHeaderListSize ?? N32_LIMITS.maxTlsHeaderListSize,
      maxBody: Math.max(maxBody, opts.streamHandler?.maxBodyBytes() ?? 0),
      bodyBudget: budget,
    });
    conns.add(conn);
    const info = makeConnInfo(conn, socket, identity);
    serveRequests(conn, "https", requestLimits, (req, answer) => {
      if (opts.streamHandler?.handle(req, info, answer)) return;
      toApp(req, info, answer);
    });
    guardConnection(conn, socket, guard, onGuard(identity));
    const ended = conn.onEnd;
    conn.onEnd = () => {
      ended?.();
      conns.delete(conn);
    };
  });
  server.on("tlsClientError", (e) =>
    log.every("n32-tls-error", 10_000, "warn", "N32 TLS handshake refused", { error: e }),
  );

  /** N32-c: the request as a fetch Request to the hono app, its Response back */
  const toApp = (req: WholeRequest, conn: ConnInfo, answer: (r: WholeResponse) => void) => {
    const h = new Headers();
    for (const [k, v] of req.headers) h.append(k, v);
    let url: URL;
    try {
      url = new URL(req.path, `https://${req.authority}`);
    } catch {
      answer(problemAnswer(400, "MANDATORY_IE_INCORRECT", "invalid :path or :authority"));
      return;
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(url.href, {
      method: req.method,
      headers: h,
      body: hasBody && req.body.length > 0 ? req.body : undefined,
    });
    Promise.resolve()
      .then(() => opts.app.fetch(request, { conn }))
      .then(async (res) => {
        const body = new Uint8Array(await res.arrayBuffer());
        const headers: Array<[string, string]> = [];
        res.headers.forEach((val, key) => {
          headers.push([key, val]);
        });
        answer({ status: res.status, headers, body });
      })
      .catch((e) => {
        log.error("N32 handler failed", { error: e, path: url.pathname });
        answer(problemAnswer(500, "SYSTEM_FAILURE", "internal error"));
      });
  };

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // reusePort: data-path workers share the port (SO_REUSEPORT, docs/ARCHITECTURE.md "Worker model")
    server.listen({ port: opts.port, host: opts.host, reusePort: opts.reusePort === true }, () => {
      server.off("error", reject);
      server.on("error", (e) => log.every("n32-server-error", 10_000, "warn", "N32 listener error", { error: e }));
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : opts.port;
      resolve({
        port,
        sessions: () => conns.size,
        close: () => closeListener(server, conns),
      });
    });
  });
}

function problemAnswer(status: number, cause: string, detail: string): WholeResponse {
  return {
    status,
    headers: [["content-type", PROBLEM_JSON]],
    body: JSON.stringify(problem(status, cause, detail)),
  };
}
