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
import { problem, PROBLEM_JSON } from "../problem.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { DEFAULT_GUARD, type ConnGuardLimits } from "../transport/conn-limits.ts";
import type { H2Conn } from "../transport/h2/conn.ts";
import { declaredLength } from "../transport/h2/fields.ts";
import { startH2Listener } from "../transport/h2/listener.ts";
import { HOP_BY_HOP, type InboundRequest, type OutboundResponse } from "./http.ts";
import { StreamCancel, type ReadLimits } from "./stream.ts";

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
  /** per connection: the requests read and not yet answered, by stream (cancelled when the client leaves) */
  const open = new WeakMap<
    H2Conn,
    Map<number, { cancel: StreamCancel | null; timer: ReturnType<typeof armTimer> | null }>
  >();
  const entry = (c: H2Conn, id: number) => {
    let m = open.get(c);
    if (!m) {
      m = new Map();
      open.set(c, m);
    }
    let e = m.get(id);
    if (!e) {
      e = { cancel: null, timer: null };
      m.set(id, e);
    }
    return e;
  };
  const forget = (c: H2Conn, id: number) => {
    const m = open.get(c);
    const e = m?.get(id);
    if (!e) return;
    if (e.timer) disarmTimer(e.timer);
    m!.delete(id);
  };
  const answer = (c: H2Conn, id: number, r: OutboundResponse) => {
    forget(c, id);
    const fields = [":status", String(r.status)];
    let dated = false;
    for (const [n, v] of r.headers)
      if (!HOP_BY_HOP.has(n)) {
        fields.push(n, v);
        dated ||= n === "date";
      }
    // RFC 9110 §6.6.1: our own answers carry a Date, and so does a forwarded one that had none
    if (!dated) fields.push("date", httpDate());
    const b = r.body;
    c.respond(
      id,
      fields,
      !b || b.length === 0
        ? null
        : typeof b === "string"
          ? Buffer.from(b)
          : Buffer.from(b.buffer, b.byteOffset, b.length),
    );
  };
  const problemAnswer = (c: H2Conn, id: number, status: number, cause: string, detail: string) =>
    answer(c, id, {
      status,
      headers: [["content-type", PROBLEM_JSON]],
      body: JSON.stringify(problem(status, cause, detail)),
    });

  const onRequest = (c: H2Conn, id: number, f: string[], body: Buffer | null) => {
    const e = open.get(c)?.get(id);
    if (e?.timer) {
      disarmTimer(e.timer);
      e.timer = null;
    }
    let method = "";
    let path = "";
    let authority = "";
    let reqScheme = scheme;
    let host = "";
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < f.length; i += 2) {
      const n = f[i]!;
      const v = f[i + 1]!;
      if (n.charCodeAt(0) !== 58) {
        headers.push([n, v]);
        if (n === "host") host = v;
      } else if (n === ":method") method = v;
      else if (n === ":path") path = v;
      else if (n === ":authority") authority = v;
      else if (n === ":scheme") reqScheme = v;
    }
    authority ||= host;
    if (!path.startsWith("/") || !authority)
      return problemAnswer(c, id, 400, "MANDATORY_IE_MISSING", ":method, :path and :authority are required");
    if (headers.length > o.limits.maxHeaders)
      return problemAnswer(c, id, 431, "MANDATORY_IE_INCORRECT", `more than ${o.limits.maxHeaders} headers`);
    const cancel = new StreamCancel();
    entry(c, id).cancel = cancel;
    const req: InboundRequest = {
      method,
      scheme: reqScheme,
      authority,
      path,
      headers,
      body: body ?? EMPTY,
      signal: cancel,
    };
    setImmediate(dispatch, c, id, req);
  };

  /** Hand the request on, unless its client reset it meanwhile (nothing is forwarded for a reset stream). */
  const dispatch = (c: H2Conn, id: number, req: InboundRequest) => {
    if (req.signal.aborted || !c.isOpen(id)) return forget(c, id);
    inflight++;
    o.handle(req).then(
      (r) => {
        inflight--;
        answer(c, id, r);
      },
      (e) => {
        inflight--;
        o.log.error("SBI request failed", { error: e, path: req.path.split("?")[0] });
        problemAnswer(c, id, 500, "SYSTEM_FAILURE", "internal error");
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
    onRequest,
    onConnection(c) {
      // a declared content-length over the cap: 413 before the body is read; else the body must arrive in time
      c.onBodyStart = (id, f) => {
        if (declaredLength(f) > o.limits.maxBodyBytes)
          return problemAnswer(c, id, 413, "PAYLOAD_TOO_LARGE", `body over ${o.limits.maxBodyBytes} octets`);
        entry(c, id).timer = armTimer(
          () => problemAnswer(c, id, 408, "TIMED_OUT_REQUEST", "request body not received in time"),
          o.limits.timeoutMs,
        );
      };
      c.onTooLarge = (id) =>
        problemAnswer(c, id, 413, "PAYLOAD_TOO_LARGE", `body over ${o.limits.maxBodyBytes} octets`);
      // the client went away before the answer: cancel the request upstream
      c.onPeerReset = (id) => {
        open.get(c)?.get(id)?.cancel?.abort();
        forget(c, id);
      };
      c.onEnd = () => {
        const m = open.get(c);
        if (!m) return;
        for (const [id, e] of m) {
          e.cancel?.abort();
          forget(c, id);
        }
      };
    },
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

const EMPTY = new Uint8Array(0);

let dateSecond = 0;
let dateText = "";
/** The IMF-fixdate of now (RFC 9110 §5.6.7), made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
