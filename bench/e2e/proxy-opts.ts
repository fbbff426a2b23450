// bench/e2e/proxy-opts.ts — what the plain forwarding proxies of bench:e2e (bench/e2e-bunproxy*.ts) share: their
// options (one JSON argument) and the hop-by-hop fields they drop; and, for the two on our HTTP/2 layer, the
// forwarding of one whole request over an upstream connection. Not part of the SEPP.
import { readFileSync } from "node:fs";
import type { ConnectionOptions, TlsOptions } from "node:tls";
import type { H2Conn } from "../../src/transport/h2/conn.ts";

export interface ProxyOptions {
  /** TLS server side: PEM file paths; clientCa: require a client certificate chaining to it */
  server?: { key: string; cert: string; clientCa: string };
  /** upstream: http://host:port (h2c) or https://host:port with a client certificate and a CA */
  upstream: string;
  client?: { key: string; cert: string; ca: string; servername: string };
}

export const proxyOptions = (): ProxyOptions => JSON.parse(process.argv[2] ?? "{}") as ProxyOptions;

/** node:tls server options of the node-socket proxies: TLS 1.3, a client certificate required */
export const serverTls = (s: NonNullable<ProxyOptions["server"]>): TlsOptions => ({
  key: readFileSync(s.key),
  cert: readFileSync(s.cert),
  ca: readFileSync(s.clientCa),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: "TLSv1.3",
});

/** node:tls client options of the node-socket proxies toward an https upstream (ALPN h2, TLS 1.3) */
export const clientTls = (c: NonNullable<ProxyOptions["client"]>, upstream: URL): ConnectionOptions => ({
  host: upstream.hostname,
  port: Number(upstream.port),
  key: readFileSync(c.key),
  cert: readFileSync(c.cert),
  ca: readFileSync(c.ca),
  servername: c.servername,
  ALPNProtocols: ["h2"],
  minVersion: "TLSv1.3",
});

/** connection-specific fields (RFC 9113 §8.2.2) and the ones the next hop recomputes */
export const HOP = new Set([
  "connection",
  "host",
  "content-length",
  "te",
  "transfer-encoding",
  "keep-alive",
  "upgrade",
]);

/** A server-role onRequest (src/transport/h2/conn.ts) that forwards the request whole and answers with the reply. */
export function forwarder(scheme: string, upstream: () => H2Conn | Promise<H2Conn>) {
  return (c: H2Conn, id: number, f: string[], body: Buffer | null): void => {
    const out = [":method", "GET", ":scheme", scheme, ":authority", "", ":path", "/"];
    for (let i = 0; i < f.length; i += 2) {
      const n = f[i]!;
      if (n === ":method") out[1] = f[i + 1]!;
      else if (n === ":authority") out[5] = f[i + 1]!;
      else if (n === ":path") out[7] = f[i + 1]!;
      else if (n[0] !== ":" && !HOP.has(n)) out.push(n, f[i + 1]!);
    }
    const send = (u: H2Conn) =>
      u.request(out, body, (err, rf, rb) => {
        if (err) return c.reset(id);
        const rsp: string[] = [];
        for (let i = 0; i < rf.length; i += 2)
          if (rf[i] === ":status" || !HOP.has(rf[i]!)) rsp.push(rf[i]!, rf[i + 1]!);
        c.respond(id, rsp, rb);
      });
    const u = upstream();
    if (u instanceof Promise) u.then(send, () => c.reset(id));
    else send(u);
  };
}
