// src/datapath/sbi-server.ts — the SBI side towards our own NFs and SCP (TS 29.500 5.2): HTTP/2 with prior
// knowledge (h2c) or over TLS (client certificates requested when configured). Every request goes to the
// cSEPP, except the SEPP's own Nsepp_Telescopic_FQDN_Mapping service.
import http2 from "node:http2";
import type { Logger } from "../log.ts";
import { respond, type InboundRequest, type OutboundResponse } from "./http.ts";
import { readInbound, sendProblem, type ReadLimits } from "./stream.ts";

export interface SbiServerOptions {
  host: string;
  port: number;
  tls?: { key: string; cert: string; ca?: string[]; requestCert?: boolean };
  limits: ReadLimits & { maxConcurrentStreams: number; maxSessions?: number };
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
        settings,
      })
    : http2.createServer({ settings });
  server.maxConnections = o.limits.maxSessions ?? 1024;
  const sessions = new Set<http2.ServerHttp2Session>();
  let inflight = 0;
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
  const scheme = o.tls ? "https" : "http";
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    readInbound(stream, headers, scheme, o.limits, (req) => {
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
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
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
