// test/support/nf.ts — small real HTTP/2 NFs for the end-to-end tests: an h2c producer that records what it
// received and answers through a handler, and an h2c consumer client (the way open5gs-style NFs talk).
import http2 from "node:http2";

export interface ReceivedRequest {
  method: string;
  path: string;
  authority: string;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface NfAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** answer after this many ms (slow producer) */
  delayMs?: number;
  /** no answer: reset the stream (RST_STREAM INTERNAL_ERROR) instead */
  reset?: boolean;
}

export interface TestNf {
  port: number;
  received: ReceivedRequest[];
  /** streams currently open on the server (leak checks) */
  openStreams(): number;
  close(): Promise<void>;
}

/**
 * The home UDM of most end-to-end suites: `amData` (200, JSON) for Nudm_SDM am-data of `supi`, a 404 USER_NOT_FOUND
 * ProblemDetails (TS 29.503) for any other path.
 */
export const amDataAnswer =
  (supi: string, amData: unknown) =>
  (r: ReceivedRequest): NfAnswer =>
    r.path.startsWith(`/nudm-sdm/v2/${supi}/am-data`)
      ? { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(amData) }
      : {
          status: 404,
          headers: { "content-type": "application/problem+json" },
          body: JSON.stringify({ status: 404, cause: "USER_NOT_FOUND" }),
        };

/** An NF answering with amDataAnswer(supi, amData). */
export const startAmDataUdm = (supi: string, amData: unknown): Promise<TestNf> => startNf(amDataAnswer(supi, amData));

export function startNf(
  handler: (r: ReceivedRequest) => NfAnswer | Promise<NfAnswer>,
  o: { maxHeaderListSize?: number } = {},
): Promise<TestNf> {
  // 512 pairs: more than a SEPP forwards (N32_LIMITS.maxHeaders). The header list limit it enforces anyway (65 535),
  // announced as Node's servers do (Bun's node:http2 sends an empty SETTINGS unless told)
  const settings = { maxHeaderListSize: o.maxHeaderListSize ?? 65535 };
  const server = http2.createServer({ maxHeaderListPairs: 512, settings });
  const received: ReceivedRequest[] = [];
  let open = 0;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
    open++;
    stream.on("close", () => open--);
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", async () => {
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(h))
        if (!k.startsWith(":") && v !== undefined) headers[k] = v as string | string[];
      const r: ReceivedRequest = {
        method: String(h[":method"]),
        path: String(h[":path"]),
        authority: String(h[":authority"]),
        headers,
        body: Buffer.concat(chunks),
      };
      received.push(r);
      const a = await handler(r);
      if (a.delayMs) await Bun.sleep(a.delayMs);
      if (stream.closed || stream.destroyed) return;
      if (a.reset) return stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      const body = a.body === undefined ? undefined : typeof a.body === "string" ? Buffer.from(a.body) : a.body;
      stream.respond({ ":status": a.status, ...(a.headers ?? {}) }, { endStream: !body?.length });
      if (body?.length) stream.end(body);
    });
  });
  return new Promise((res) =>
    server.listen(0, "127.0.0.1", () =>
      res({
        port: (server.address() as { port: number }).port,
        received,
        openStreams: () => open,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sessions) s.destroy();
            server.close(() => r());
          }),
      }),
    ),
  );
}

export interface NfResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  json<T = any>(): T;
}

/** An h2c client (prior knowledge) towards a SEPP's SBI port; over TLS when `tls` is given (SBI over TLS). */
export class NfClient {
  readonly #session: http2.ClientHttp2Session;
  readonly #scheme: "http" | "https";
  constructor(port: number, tls?: { ca: string; servername: string; cert?: string; key?: string }) {
    this.#scheme = tls ? "https" : "http";
    this.#session = tls
      ? http2.connect(`https://127.0.0.1:${port}`, {
          ca: tls.ca,
          servername: tls.servername,
          cert: tls.cert,
          key: tls.key,
          ALPNProtocols: ["h2"],
        })
      : http2.connect(`http://127.0.0.1:${port}`);
    this.#session.on("error", () => {});
  }
  /** resolves once connected (TLS: after the handshake), rejects on a connection error */
  connected(): Promise<void> {
    if (!this.#session.connecting)
      return this.#session.destroyed ? Promise.reject(new Error("session closed")) : Promise.resolve();
    return new Promise((res, rej) => {
      this.#session.once("connect", () => res());
      this.#session.once("error", rej);
    });
  }
  request(
    method: string,
    authority: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string | Uint8Array,
    opts: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<NfResponse> {
    return new Promise((resolve, reject) => {
      const s = this.#session.request(
        { ":method": method, ":path": path, ":authority": authority, ":scheme": this.#scheme, ...headers },
        { endStream: body === undefined, signal: opts.signal },
      );
      const chunks: Buffer[] = [];
      let status = 0;
      let rh: Record<string, string | string[]> = {};
      const t = setTimeout(() => {
        s.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error(`${method} ${path}: no answer`));
      }, opts.timeoutMs ?? 15000);
      s.on("response", (h) => {
        status = Number(h[":status"]);
        rh = {};
        for (const [k, v] of Object.entries(h))
          if (!k.startsWith(":") && v !== undefined) rh[k] = v as string | string[];
      });
      s.on("data", (c: Buffer) => chunks.push(c));
      s.on("end", () => {
        clearTimeout(t);
        const b = Buffer.concat(chunks);
        resolve({ status, headers: rh, body: b, json: () => JSON.parse(b.toString()) });
      });
      s.on("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
      if (body !== undefined) s.end(body);
    });
  }
  close(): void {
    this.#session.close();
  }
}
