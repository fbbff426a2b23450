// bench/nf-h2.ts — a minimal, fast h2c producer for the end-to-end benchmark (a stand-in for the home UDM):
// HTTP/2 with prior knowledge (TS 29.500 5.2) on 127.0.0.1, one fixed Nudm_SDM AccessAndMobilitySubscriptionData
// answer (TS 29.503) for GET …/am-data, 404 ProblemDetails otherwise; the answer is built once. Not part of the SEPP.
// Two engines: "serve" (default): Bun.serve with native HTTP/2 (the fastest HTTP/2 server available here, a few µs
// of CPU per request; it normalises :path and merges repeated headers, which is fine for a benchmark NF but is why
// the SEPP itself does not use it); "node": node:http2 (what the SEPP's own servers run on).
//   bun bench/nf-h2.ts [port] [serve|node] [header]   → prints {"port":N} on stdout once listening; SIGTERM/SIGINT
//   stop it. With `header`, every answer carries that header with a value of its own (an etag per answer). With
//   BENCH_NF_PAD=N in its environment, the answer carries a member `pad` of N octets more (larger answers).
import http2 from "node:http2";

/** A typical am-data answer (a few hundred octets, like a real UDM's). */
export const AM_DATA = {
  gpsis: ["msisdn-491700000001"],
  subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" },
  nssai: { defaultSingleNssais: [{ sst: 1 }, { sst: 2, sd: "000001" }], singleNssais: [{ sst: 3, sd: "abcdef" }] },
  ratRestrictions: ["NR_REDCAP"],
  rfspIndex: 1,
  subsRegTimer: 3600,
  ueUsageType: 1,
  mpsPriority: false,
  mcsPriority: false,
  activeTime: 60,
  sorInfo: { ackInd: false, provisioningTime: "2026-01-01T00:00:00Z" },
  micoAllowed: true,
  sharedAmDataIds: ["262-01-amdata1"],
  odbPacketServices: "ALL_PACKET_SERVICES",
};

/** the `pad` member's length of the answer (BENCH_NF_PAD; bench:e2e --nf-pad) */
export const NF_PAD = Number(process.env.BENCH_NF_PAD ?? 0);
/** the answer's value: AM_DATA, with a `pad` member of `pad` octets when asked for */
export const amDataPadded = (pad: number) => (pad > 0 ? { ...AM_DATA, pad: "x".repeat(pad) } : AM_DATA);
const body = Buffer.from(JSON.stringify(amDataPadded(NF_PAD)));
const okHeaders = { ":status": 200, "content-type": "application/json", "content-length": String(body.length) };
const notFound = Buffer.from(JSON.stringify({ status: 404, cause: "USER_NOT_FOUND" }));
const nfHeaders = {
  ":status": 404,
  "content-type": "application/problem+json",
  "content-length": String(notFound.length),
};

/** A value of its own for each answer, as long as a typical etag. */
let answers = 0;
const varying = () => `"${(++answers).toString(16).padStart(8, "0")}-5f0e3c2a9b7d41e6"`;

/** Bun.serve with native HTTP/2 (h2c by prior knowledge, no HTTP/1.1). */
export function startServeNf(port = 0, vary?: string): { port: number; close(): Promise<void> } {
  const ok = { status: 200, headers: { "content-type": "application/json" } };
  const nf = { status: 404, headers: { "content-type": "application/problem+json" } };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    http2: true,
    http1: false,
    fetch(req) {
      if (!(req.method === "GET" && req.url.includes("/am-data"))) return new Response(notFound, nf);
      return vary
        ? new Response(body, { status: 200, headers: { ...ok.headers, [vary]: varying() } })
        : new Response(body, ok);
    },
  });
  return { port: server.port!, close: async () => void (await server.stop(true)) };
}

/** node:http2 h2c server. */
export function startBenchNf(port = 0, vary?: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on("session", (s) => s.on("error", () => {}));
  server.on("stream", (stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
    stream.on("error", () => {});
    const ok = h[":method"] === "GET" && String(h[":path"]).includes("/am-data");
    // the request has no body (GET); answer at once, drain anything else
    stream.respond(ok ? (vary ? { ...okHeaders, [vary]: varying() } : okHeaders) : nfHeaders);
    stream.end(ok ? body : notFound);
    stream.resume();
  });
  return new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(port, "127.0.0.1", () =>
      res({
        port: (server.address() as { port: number }).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
  });
}

if (import.meta.main) {
  const engine = process.argv[3] ?? "serve";
  if (engine !== "serve" && engine !== "node") throw new Error("engine: serve or node");
  const vary = process.argv[4];
  const port = Number(process.argv[2] ?? 0);
  const nf = engine === "serve" ? startServeNf(port, vary) : await startBenchNf(port, vary);
  process.stdout.write(`${JSON.stringify({ port: nf.port })}\n`);
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
