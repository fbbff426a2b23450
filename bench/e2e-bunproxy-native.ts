// bench/e2e-bunproxy-native.ts — the "bun-native-chain" hops of bench:e2e (issue 11 §1): the same plain forwarding
// proxy as bench/e2e-bunproxy.ts, but on Bun's native HTTP/2: the server is Bun.serve({http2: true}) (h2c by
// prior knowledge, or TLS 1.3 with a client certificate required and verified in the handshake) and the TLS
// upstream is fetch(…, {protocol: "http2"}) with a client certificate. Bun's fetch speaks HTTP/2 over TLS only
// (`protocol` "requires https"), so an h2c upstream (the last hop, to the NF) stays on node:http2 as in
// bun-chain. No SEPP logic; not part of the SEPP.
//   bun bench/e2e-bunproxy-native.ts '<json options>'   → prints {"port":N} once listening
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { HOP, proxyOptions } from "./e2e/proxy-opts.ts";

const o = proxyOptions();
const up = new URL(o.upstream);

const clientTls = o.client && {
  key: readFileSync(o.client.key, "utf8"),
  cert: readFileSync(o.client.cert, "utf8"),
  ca: readFileSync(o.client.ca, "utf8"),
  serverName: o.client.servername,
};

/** TLS upstream: native fetch over HTTP/2. */
async function viaFetch(req: Request, url: URL): Promise<Response> {
  const headers = new Headers();
  req.headers.forEach((v, k) => {
    if (!HOP.has(k)) headers.append(k, v);
  });
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const r = await fetch(`${o.upstream}${url.pathname}${url.search}`, {
    method: req.method,
    headers,
    body: hasBody ? await req.arrayBuffer() : undefined,
    protocol: "http2",
    tls: clientTls,
    decompress: false,
  } as RequestInit);
  const out = new Headers();
  r.headers.forEach((v, k) => {
    if (!HOP.has(k)) out.append(k, v);
  });
  return new Response(await r.arrayBuffer(), { status: r.status, headers: out });
}

/** h2c upstream: node:http2 (fetch has no HTTP/2 without TLS). */
let session: http2.ClientHttp2Session | null = null;
function viaNodeH2(req: Request, url: URL): Promise<Response> {
  if (!session || session.closed || session.destroyed) {
    session = http2.connect(o.upstream);
    session.on("error", () => {});
  }
  const h: http2.OutgoingHttpHeaders = {
    ":method": req.method,
    ":path": url.pathname + url.search,
    ":authority": req.headers.get("host") ?? up.host,
  };
  req.headers.forEach((v, k) => {
    if (!HOP.has(k)) h[k] = v;
  });
  return new Promise((resolve, reject) => {
    const s = session!.request(h, { endStream: true });
    const chunks: Buffer[] = [];
    let rh: http2.IncomingHttpHeaders = {};
    s.on("response", (x) => (rh = x));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", reject);
    s.on("end", () => {
      const out = new Headers();
      for (const k in rh) if (k[0] !== ":" && !HOP.has(k)) out.append(k, String(rh[k]));
      resolve(new Response(Buffer.concat(chunks), { status: Number(rh[":status"]), headers: out }));
    });
  });
}

const forward = up.protocol === "https:" ? viaFetch : viaNodeH2;
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  http2: true,
  ...(o.server
    ? {
        tls: {
          key: readFileSync(o.server.key, "utf8"),
          cert: readFileSync(o.server.cert, "utf8"),
          ca: readFileSync(o.server.clientCa, "utf8"),
          requestCert: true,
          rejectUnauthorized: true,
        },
      }
    : {}),
  fetch(req) {
    return forward(req, new URL(req.url)).catch(() => new Response(null, { status: 502 }));
  },
} as Parameters<typeof Bun.serve>[0]);
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
