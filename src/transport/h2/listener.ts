// src/transport/h2/listener.ts — an HTTP/2 listener on our layer (conn.ts) over a node:net (h2c, prior knowledge) or
// node:tls server (ALPN h2 only), with the connection bounds of issue 10 §1 (RFC 9113 §10.5; their limits in
// src/transport/conn-limits.ts): connection slots per source address under a total cap, taken at accept; the TLS handshake and then the client's SETTINGS each within the preface timeout; a
// connection without an open stream closed after the idle timeout (PINGs do not count); GOAWAY ENHANCE_YOUR_CALM
// for a client that resets unanswered streams, or sends PING/SETTINGS, faster than the bounds.
import net from "node:net";
import tls from "node:tls";
import { ConnQuota, type ConnGuardLimits, type GuardEvent } from "../conn-limits.ts";
import { DEFAULT_H2_LIMITS, type H2Conn, type H2Limits, bodyBudget } from "./conn.ts";
import { ENHANCE_YOUR_CALM, NO_ERROR } from "./frames.ts";
import { attachNodeSocket } from "./node-socket.ts";

export interface H2ListenerOptions {
  host: string;
  port: number;
  reusePort?: boolean;
  /** TLS server options (ALPN h2 is required and set here); absent: h2c */
  tls?: tls.TlsOptions;
  h2: Partial<H2Limits>;
  guard: ConnGuardLimits;
  maxConnections: number;
  maxConnectionsPerSource: number;
  /** a new connection, before any frame: the caller sets what it does with requests (requests.ts serveRequests) */
  onConnection(conn: H2Conn, socket: net.Socket): void;
  /** a guard closed a connection, or a source was over its share */
  onEvent(e: GuardEvent | "source-quota", source: string): void;
}

export interface H2Listener {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

export function startH2Listener(o: H2ListenerOptions): Promise<H2Listener> {
  const limits: H2Limits = { ...DEFAULT_H2_LIMITS, ...o.h2 };
  limits.bodyBudget ??= bodyBudget(limits.connectionWindow);
  const perSource = new ConnQuota(() => o.maxConnectionsPerSource, o.maxConnections);
  const conns = new Set<H2Conn>();
  const g = o.guard;

  const serve = (socket: net.Socket, release: () => void) => {
    const source = socket.remoteAddress ?? "?";
    socket.setNoDelay(true);
    const conn = attachNodeSocket(socket, "server", undefined, limits);
    conns.add(conn);
    o.onConnection(conn, socket);
    guardConnection(conn, socket, g, (e) => o.onEvent(e, source));
    const end = conn.onEnd;
    conn.onEnd = () => {
      end?.();
      conns.delete(conn);
    };
    socket.once("close", () => {
      release();
      conn.onClose();
    });
  };

  const accept = (socket: net.Socket): (() => void) | null => {
    const source = socket.remoteAddress ?? "?";
    const release = perSource.tryAcquire(source);
    if (!release) {
      o.onEvent("source-quota", source);
      socket.destroy();
    }
    return release;
  };

  let server: net.Server;
  if (o.tls) {
    server = tls.createServer({ ...o.tls, ALPNProtocols: ["h2"], handshakeTimeout: g.prefaceTimeoutMs });
    // the slot is taken at TCP accept (before the handshake), like the node:http2 listeners
    const HANDSHAKE = Symbol("handshake");
    server.on("connection", (raw: net.Socket) => {
      const release = accept(raw);
      if (!release) return;
      // the TLS handshake within the preface timeout
      const t = setTimeout(() => raw.destroy(), g.prefaceTimeoutMs);
      t.unref?.();
      (raw as unknown as Record<symbol, unknown>)[HANDSHAKE] = t;
      raw.once("close", () => {
        clearTimeout(t);
        release();
      });
    });
    server.on("secureConnection", (s: tls.TLSSocket) => {
      clearTimeout((s as unknown as Record<symbol, ReturnType<typeof setTimeout>>)[HANDSHAKE]);
      if (s.alpnProtocol !== "h2") return void s.destroy(); // HTTP/2 only (TS 29.500 5.2)
      serve(s, () => {});
    });
    server.on("tlsClientError", () => {});
  } else {
    server = net.createServer((s) => {
      const release = accept(s);
      if (release) serve(s, release);
    });
  }
  server.maxConnections = o.maxConnections + 64;
  server.on("error", () => {});

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: o.port, host: o.host, reusePort: o.reusePort === true }, () => {
      server.off("error", reject);
      const a = server.address();
      resolve({
        port: typeof a === "object" && a ? a.port : o.port,
        connections: () => conns.size,
        close: () => closeListener(server, conns),
      });
    });
  });
}

/**
 * The guards of one accepted connection (issue 10 §1, RFC 9113 §10.5): the client's SETTINGS within the preface
 * timeout (else a TCP RST), closed (GOAWAY NO_ERROR) after `idleTimeoutMs` without an open stream, GOAWAY
 * ENHANCE_YOUR_CALM when the client resets unanswered streams, or sends PING/SETTINGS, faster than the bounds.
 */
export function guardConnection(
  conn: H2Conn,
  socket: net.Socket,
  g: ConnGuardLimits,
  onEvent: (e: GuardEvent) => void,
): void {
  let settings = false;
  const preface = setTimeout(() => {
    if (settings || conn.closed) return;
    onEvent("preface-timeout");
    // a TCP RST: a client that never sent its preface may not read either (our SETTINGS would keep its close)
    const raw = socket as net.Socket & { resetAndDestroy?: () => void };
    if (raw.resetAndDestroy) raw.resetAndDestroy();
    else socket.destroy();
  }, g.prefaceTimeoutMs);
  let idle: ReturnType<typeof setTimeout> | null = null;
  const armIdle = (ms: number) => {
    idle = setTimeout(() => {
      if (conn.closed) return;
      const quiet = performance.now() - conn.lastActive;
      if (conn.streams > 0 || quiet < g.idleTimeoutMs)
        return armIdle(g.idleTimeoutMs - Math.min(quiet, g.idleTimeoutMs) + 1);
      onEvent("idle");
      conn.close();
    }, ms);
    idle.unref?.();
  };
  armIdle(g.idleTimeoutMs);
  // counted per window of resetWindowMs: [resets, control frames], and when the window started
  let resets = 0;
  let control = 0;
  let resetStart = 0;
  let controlStart = 0;
  const calm = (e: GuardEvent) => {
    onEvent(e);
    conn.goaway(ENHANCE_YOUR_CALM);
    setTimeout(() => socket.destroy(), 50).unref?.();
  };
  const peerReset = conn.onPeerReset;
  conn.onPeerReset = (id) => {
    peerReset?.(id);
    const now = performance.now();
    if (now - resetStart > g.resetWindowMs) {
      resetStart = now;
      resets = 0;
    }
    if (++resets > g.maxResetsPerWindow) calm("reset-flood");
  };
  conn.onControl = (kind) => {
    if (kind === "settings" && !settings) {
      settings = true;
      clearTimeout(preface);
    }
    const now = performance.now();
    if (now - controlStart > g.resetWindowMs) {
      controlStart = now;
      control = 0;
    }
    if (++control > g.maxControlFramesPerWindow) calm("control-flood");
  };
  const end = conn.onEnd;
  conn.onEnd = () => {
    end?.();
    clearTimeout(preface);
    if (idle) clearTimeout(idle);
  };
}

/**
 * Stops accepting and ends every connection gracefully (GOAWAY NO_ERROR, the open streams finish), at once after
 * 1 s. Resolves when the server has closed.
 */
export function closeListener(server: net.Server, conns: ReadonlySet<H2Conn>): Promise<void> {
  return new Promise<void>((res) => {
    server.close(() => res());
    for (const c of conns) c.close();
    setTimeout(() => {
      for (const c of conns) c.goaway(NO_ERROR);
    }, 1000).unref?.();
    if (conns.size === 0) setTimeout(res, 0);
  });
}
