// bench/e2e-bunproxy-nodesock.ts — the "bun-nodesock-chain" hops of bench:e2e: the plain forwarding proxy of
// bench/e2e-bunproxy-raw.ts (our HTTP/2 layer, src/transport/h2/) on node:net / node:tls sockets instead of Bun's
// own (attachNodeSocket), the way the SEPP's clients now run it: what keeping node:tls (its certificate checks,
// exporter and tunnels) costs against Bun.listen/Bun.connect. No SEPP logic; not part of the SEPP.
//   bun bench/e2e-bunproxy-nodesock.ts '<json options>'   → prints {"port":N} once listening
import net from "node:net";
import tls from "node:tls";
import type { H2Conn } from "../src/transport/h2/conn.ts";
import { attachNodeSocket } from "../src/transport/h2/node-socket.ts";
import { clientTls, forwarder, proxyOptions, serverTls } from "./e2e/proxy-opts.ts";

const o = proxyOptions();
const up = new URL(o.upstream);
const scheme = up.protocol === "https:" ? "https" : "http";

let upstream: H2Conn | null = null;
function upstreamConn(): H2Conn {
  if (upstream && !upstream.closed) return upstream;
  const s = o.client ? tls.connect(clientTls(o.client, up)) : net.connect({ host: up.hostname, port: Number(up.port) });
  s.setNoDelay(true);
  upstream = attachNodeSocket(s, "client");
  return upstream;
}

const forward = forwarder(scheme, upstreamConn);

const accept = (s: net.Socket) => {
  s.setNoDelay(true);
  attachNodeSocket(s, "server", forward);
};
const server = o.server
  ? tls.createServer({ ...serverTls(o.server), ALPNProtocols: ["h2"] }, accept)
  : net.createServer(accept);
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`${JSON.stringify({ port: (server.address() as net.AddressInfo).port })}\n`),
);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
