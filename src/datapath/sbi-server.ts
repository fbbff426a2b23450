// src/datapath/sbi-server.ts — the SBI side towards our own NFs and SCP (TS 29.500 5.2): HTTP/2 with prior
// knowledge (h2c) or over TLS (client certificates requested when configured). Every request goes to the
// cSEPP, except the SEPP's own Nsepp_Telescopic_FQDN_Mapping service.
//
// Connection bounds (issue 10 §1; TS 33.501 5.9.3.2; RFC 9113 10.5): connections in all and per source IP
// address (a source over its share is disconnected at accept), the TLS handshake and the client's HTTP/2 SETTINGS
// each within the preface timeout, a connection without an open stream closed after the idle timeout (PINGs do not
// count), and a connection whose client resets unanswered streams faster than the bound ended with GOAWAY
// ENHANCE_YOUR_CALM (conn-limits.ts). A request is handed to the cSEPP only after the I/O events already received
// are processed (setImmediate), so a stream reset in the same read as its HEADERS (rapid reset) is never forwarded.
import http2 from "node:http2";
import type { Socket } from "node:net";
import type { Logger } from "../log.ts";
import {
  ConnQuota,
  DEFAULT_GUARD,
  markRawSocket,
  SessionGuard,
  type ConnGuardLimits,
} from "../transport/conn-limits.ts";
import { respond, type InboundRequest, type OutboundResponse } from "./http.ts";
import { readInbound, sendProblem, type ReadLimits } from "./stream.ts";

export interface SbiConnLimits {
  /** connections all clients together may hold (default 1024) */
  maxSessions?: number;
  /** connections one source IP address may hold (default 64) */
  maxSessionsPerSource?: number;
  /** TLS handshake, then the client's SETTINGS, each within this (default 5 s) */
  prefaceTimeoutMs?: number;
  /** default 120 s */
  idleTimeoutMs?: number;
  /** client resets of unanswered streams per 10 s before GOAWAY ENHANCE_YOUR_CALM (default 200) */
  maxResetsPer10s?: number;
}

export interface SbiServerOptions {
  host: string;
  port: number;
  /** share the port with the other data-path workers (SO_REUSEPORT) */
  reusePort?: boolean;
  tls?: { key: string; cert: string; ca?: string[]; requestCert?: boolean };
  limits: ReadLimits & { maxConcurrentStreams: number } & SbiConnLimits;
  handle(req: InboundRequest): Promise<OutboundResponse>;
  log: Logger;
}

export interface SbiServer {
  port: number;
  sessions(): number;
  /** requests being handled (tests check nothing leaks) */
  inflight(): number;
  close(): Promise<void>;
}

export function startSbiServer(o: SbiServerOptions): Promise<SbiServer> {
  const settings = { maxConcurrentStreams: o.limits.maxConcurrentStreams, maxHeaderListSize: 65536 };
  const guard: ConnGuardLimits = {
    prefaceTimeoutMs: o.limits.prefaceTimeoutMs ?? 5000,
    idleTimeoutMs: o.limits.idleTimeoutMs ?? DEFAULT_GUARD.idleTimeoutMs,
    maxResetsPerWindow: o.limits.maxResetsPer10s ?? DEFAULT_GUARD.maxResetsPerWindow,
    resetWindowMs: 10_000,
    maxControlFramesPerWindow: DEFAULT_GUARD.maxControlFramesPerWindow,
  };
  const maxSessions = o.limits.maxSessions ?? 1024;
  const perSource = new ConnQuota(() => o.limits.maxSessionsPerSource ?? 64, maxSessions);
  const server = o.tls
    ? http2.createSecureServer({
        key: o.tls.key,
        cert: o.tls.cert,
        ca: o.tls.ca,
        requestCert: !!o.tls.requestCert,
        rejectUnauthorized: !!o.tls.requestCert,
        allowHTTP1: false,
        ALPNProtocols: ["h2"],
        minVersion: "TLSv1.2",
        handshakeTimeout: guard.prefaceTimeoutMs,
        settings,
      })
    : http2.createServer({ settings });
  // the TCP cap sits above the sum of the per-source shares' cap so that refusing is ours (a clean close), not the runtime's
  server.maxConnections = maxSessions + 64;
  server.on("connection", (socket: Socket) => {
    const src = socket.remoteAddress ?? "?";
    const release = perSource.tryAcquire(src);
    if (!release) {
      o.log.every(`sbi-source-${src}`, 10_000, "warn", "SBI connection refused: too many from this source", {
        source: src,
        held: perSource.held(src),
      });
      socket.destroy();
      return;
    }
    socket.once("close", release);
    markRawSocket(socket);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  const guards = new WeakMap<http2.ServerHttp2Session, SessionGuard>();
  let inflight = 0;
  server.on("session", (s) => {
    sessions.add(s);
    guards.set(
      s,
      new SessionGuard(s, guard, (e) =>
        o.log.every(`sbi-guard-${e}`, 10_000, e === "idle" ? "debug" : "warn", `SBI connection closed: ${e}`, {
          source: s.socket?.remoteAddress,
        }),
      ),
    );
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
  const scheme = o.tls ? "https" : "http";
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    guards.get(stream.session as http2.ServerHttp2Session)?.stream(stream);
    readInbound(stream, headers, scheme, o.limits, (req) => setImmediate(dispatch, stream, req));
  });
  /** Hand the request on, unless its client reset it meanwhile (nothing is forwarded for a reset stream). */
  const dispatch = (stream: http2.ServerHttp2Stream, req: InboundRequest) => {
    if (req.signal.aborted || stream.closed || stream.destroyed) return;
    inflight++;
    o.handle(req).then(
      (r) => {
        inflight--;
        respond(stream, r);
      },
      (e) => {
        inflight--;
        o.log.error("SBI request failed", { error: e, path: req.path.split("?")[0] });
        sendProblem(stream, 500, "SYSTEM_FAILURE", "internal error");
      },
    );
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // reusePort: data-path workers share the port (SO_REUSEPORT, docs/ARCHITECTURE.md "Worker model")
    server.listen({ port: o.port, host: o.host, reusePort: o.reusePort === true }, () => {
      server.off("error", reject);
      const a = server.address();
      resolve({
        port: typeof a === "object" && a ? a.port : o.port,
        sessions: () => sessions.size,
        inflight: () => inflight,
        close: () =>
          new Promise<void>((res) => {
            server.close(() => res());
            for (const s of sessions) {
              s.close();
              setTimeout(() => s.destroy(), 1000).unref?.();
            }
            if (sessions.size === 0) setTimeout(res, 0);
          }),
      });
    });
  });
}
