// bench/e2e-bunproxy.ts — the floor of the runtime for bench:e2e: a plain HTTP/2 forwarding proxy on Bun's
// node:http2 with no SEPP logic at all (no target resolution, no PRINS, no checks, no metrics), in the same
// shape as one SEPP: server side (h2c, or TLS 1.3 with a required client certificate) → one client session
// (h2c, or TLS 1.3 with a client certificate). Two of them in a row are the "bun-chain" scenario: what any
// SEPP written on this runtime and HTTP/2 stack can reach at best. Not part of the SEPP.
//   bun bench/e2e-bunproxy.ts '<json options>'   → prints {"port":N} once listening
import http2 from "node:http2";
import tls from "node:tls";
import { clientTls, HOP, proxyOptions, serverTls } from "./e2e/proxy-opts.ts";

const o = proxyOptions();
let session: http2.ClientHttp2Session | null = null;
function upstream(): http2.ClientHttp2Session {
  if (session && !session.closed && !session.destroyed) return session;
  const u = new URL(o.upstream);
  session = o.client
    ? http2.connect(o.upstream, {
        createConnection: () => tls.connect(clientTls(o.client!, u)),
      })
    : http2.connect(o.upstream);
  session.on("error", () => {});
  return session;
}

const server = o.server
  ? http2.createSecureServer({ ...serverTls(o.server), settings: { maxConcurrentStreams: 1000 } })
  : http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on("session", (s) => s.on("error", () => {}));
server.on("stream", (stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
  stream.on("error", () => {});
  const out: http2.OutgoingHttpHeaders = {
    ":method": h[":method"],
    ":path": h[":path"],
    ":authority": h[":authority"],
  };
  for (const k in h) if (k[0] !== ":" && !HOP.has(k)) out[k] = h[k];
  const chunks: Buffer[] = [];
  const forward = () => {
    const body = chunks.length ? Buffer.concat(chunks) : null;
    const up = upstream().request(out, { endStream: !body });
    up.on("error", () => stream.destroyed || stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    const rsp: Buffer[] = [];
    let rh: http2.IncomingHttpHeaders = {};
    up.on("response", (x) => (rh = x));
    up.on("data", (c: Buffer) => rsp.push(c));
    up.on("end", () => {
      if (stream.destroyed) return;
      const headers: http2.OutgoingHttpHeaders = { ":status": rh[":status"] };
      for (const k in rh) if (k[0] !== ":" && !HOP.has(k)) headers[k] = rh[k];
      const b = Buffer.concat(rsp);
      stream.respond(headers, { endStream: b.length === 0 });
      if (b.length) stream.end(b);
    });
    if (body) up.end(body);
  };
  if (stream.endAfterHeaders) return forward();
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("end", forward);
});
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`),
);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
