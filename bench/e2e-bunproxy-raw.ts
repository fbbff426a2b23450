// bench/e2e-bunproxy-raw.ts — the "bun-raw-chain" hops of bench:e2e: the same plain forwarding proxy as
// bench/e2e-bunproxy.ts, but with HTTP/2 done in JavaScript directly on Bun's sockets (Bun.listen/Bun.connect,
// TLS 1.3 with a required client certificate like N32) instead of node:http2. It measures what
// an HTTP/2 layer of our own (src/transport/h2/, not yet the SEPP's data path) costs on this runtime, a layer that, unlike Bun.serve, keeps a per-connection
// hook (certificate admission, quotas, the TLS exporter) and the message as received. No SEPP logic; not part of
// the SEPP.
//   bun bench/e2e-bunproxy-raw.ts '<json options>'   → prints {"port":N} once listening
import type { Socket } from "bun";
import { readFileSync } from "node:fs";
import { H2Conn } from "../src/transport/h2/conn.ts";
import { forwarder, proxyOptions } from "./e2e/proxy-opts.ts";

const o = proxyOptions();
const up = new URL(o.upstream);
const scheme = up.protocol === "https:" ? "https" : "http";

type Sock = Socket<H2Conn | undefined>;
const handlers = {
  data: (s: Sock, d: Buffer) => s.data?.onData(d),
  drain: (s: Sock) => s.data?.onDrain(),
  close: (s: Sock) => s.data?.onClose(),
  error: (s: Sock) => s.data?.onClose(),
};

let upstream: H2Conn | null = null;
let connecting: Promise<H2Conn> | null = null;
function upstreamConn(): Promise<H2Conn> | H2Conn {
  if (upstream && !upstream.closed) return upstream;
  connecting ??= Bun.connect<H2Conn | undefined>({
    hostname: up.hostname,
    port: Number(up.port),
    ...(o.client
      ? {
          tls: {
            key: readFileSync(o.client.key, "utf8"),
            cert: readFileSync(o.client.cert, "utf8"),
            ca: readFileSync(o.client.ca, "utf8"),
            serverName: o.client.servername,
            ALPNProtocols: "h2",
          },
        }
      : {}),
    socket: {
      ...handlers,
      open: (s) => {
        s.data ??= new H2Conn(s as Socket<unknown>, "client");
      },
    },
  }).then((s) => {
    connecting = null;
    // with TLS the promise may settle before `open` ran
    upstream = s.data ??= new H2Conn(s as Socket<unknown>, "client");
    return upstream;
  });
  return connecting;
}

const forward = forwarder(scheme, upstreamConn);

const server = Bun.listen<H2Conn | undefined>({
  hostname: "127.0.0.1",
  port: 0,
  ...(o.server
    ? {
        tls: {
          key: readFileSync(o.server.key, "utf8"),
          cert: readFileSync(o.server.cert, "utf8"),
          ca: readFileSync(o.server.clientCa, "utf8"),
          requestCert: true,
          rejectUnauthorized: true,
          ALPNProtocols: "h2",
        },
      }
    : {}),
  socket: {
    ...handlers,
    open: (s) => {
      s.data = new H2Conn(s as Socket<unknown>, "server", forward);
    },
  },
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
