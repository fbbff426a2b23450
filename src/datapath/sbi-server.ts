// src/datapath/sbi-server.ts — the SBI side towards our own NFs and SCP (TS 29.500 5.2): HTTP/2 with prior
// knowledge (h2c) or over TLS (client certificates requested when configured), on our HTTP/2 layer
// (src/transport/h2/listener.ts; docs/PERFORMANCE.md "HTTP/2 on our own layer"). Every request goes to the cSEPP,
// except the SEPP's own Nsepp_Telescopic_FQDN_Mapping service.
//
// Connection bounds (issue 10 §1; TS 33.501 5.9.3.2; RFC 9113 10.5): connections in all and per source IP
// address (a source over its share is disconnected at accept), the TLS handshake and the client's HTTP/2 SETTINGS
// each within the preface timeout, a connection without an open stream closed after the idle timeout (PINGs do not
// count), and a connection whose client resets unanswered streams (or sends PING/SETTINGS) faster than the bound
// ended with GOAWAY ENHANCE_YOUR_CALM (listener.ts). Request bounds: malformed messages are stream errors
// (transport/h2/fields.ts), a declared or streamed body over sbi.maxBodyBytes is answered 413 and a body not
// complete within the request timeout 408, more than sbi.maxHeaders fields 431. A request is handed to the cSEPP
// only after the I/O events already received are processed (setImmediate), so a stream reset in the same read as
// its HEADERS (rapid reset) is never forwarded.
import type { Logger } from "../log.ts";
import { problem } from "../problem.ts";
import { DEFAULT_GUARD, type ConnGuardLimits } from "../transport/conn-limits.ts";
import { startH2Listener } from "../transport/h2/listener.ts";
import { serveRequests } from "../transport/h2/requests.ts";
import { problemOut, type InboundRequest, type OutboundResponse } from "./http.ts";

/** request bounds of the SBI listener (sbi.*) */
export interface ReadLimits {
  /** request body cap in octets (413 above) */
  maxBodyBytes: number;
  /** the whole body must have arrived within this (408 after) */
  timeoutMs: number;
  /** header fields (431 above) */
  maxHeaders: number;
}

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
  const guard: ConnGuardLimits = {
    prefaceTimeoutMs: o.limits.prefaceTimeoutMs ?? 5000,
    idleTimeoutMs: o.limits.idleTimeoutMs ?? DEFAULT_GUARD.idleTimeoutMs,
    maxResetsPerWindow: o.limits.maxResetsPer10s ?? DEFAULT_GUARD.maxResetsPerWindow,
    resetWindowMs: 10_000,
    maxControlFramesPerWindow: DEFAULT_GUARD.maxControlFramesPerWindow,
  };
  const scheme = o.tls ? "https" : "http";
  let inflight = 0;
  const bounds = {
    maxBodyBytes: o.limits.maxBodyBytes,
    timeoutMs: o.limits.timeoutMs,
    maxHeaders: o.limits.maxHeaders,
  };
  const limits = () => bounds;
  const handle = (req: InboundRequest, answer: (r: OutboundResponse) => void) => {
    inflight++;
    o.handle(req).then(
      (r) => {
        inflight--;
        answer(r);
      },
      (e) => {
        inflight--;
        o.log.error("SBI request failed", { error: e, path: req.path.split("?")[0] });
        answer(problemOut(problem(500, "SYSTEM_FAILURE", "internal error")));
      },
    );
  };

  return startH2Listener({
    host: o.host,
    port: o.port,
    reusePort: o.reusePort,
    tls: o.tls && {
      key: o.tls.key,
      cert: o.tls.cert,
      ca: o.tls.ca,
      requestCert: !!o.tls.requestCert,
      rejectUnauthorized: !!o.tls.requestCert,
      minVersion: "TLSv1.2",
    },
    h2: { maxConcurrentStreams: o.limits.maxConcurrentStreams, maxBody: o.limits.maxBodyBytes },
    guard,
    maxConnections: o.limits.maxSessions ?? 1024,
    maxConnectionsPerSource: o.limits.maxSessionsPerSource ?? 64,
    onConnection: (c) => serveRequests(c, scheme, limits, handle),
    onEvent: (e, source) =>
      e === "source-quota"
        ? o.log.every(`sbi-source-${source}`, 10_000, "warn", "SBI connection refused: too many from this source", {
            source,
          })
        : o.log.every(`sbi-guard-${e}`, 10_000, e === "idle" ? "debug" : "warn", `SBI connection closed: ${e}`, {
            source,
          }),
  }).then((l) => ({
    port: l.port,
    sessions: () => l.connections(),
    inflight: () => inflight,
    close: () => l.close(),
  }));
}
