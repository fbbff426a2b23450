// src/datapath/upstream.ts — what every HTTP/2 client of the data path shares (TS 29.500 5.2; N32-PROFILE P8,
// P11): the failure kinds (UpstreamError: connect, timeout, reset, too large, cancelled, refused address) with the
// ProblemDetails each stands for, the request and response shapes, and `requestOn`, one bounded request on a
// node:http2 session (time, response size, cancellation when the NF's stream goes away). The sessions themselves
// are producer-clients.ts (pSEPP → our producers) and n32f-clients.ts (cSEPP → a peer over N32-f, next hops by
// n32f-hops.ts).
import http2 from "node:http2";
import type { CancelSignal } from "../transport/h2client.ts";
import { armTimer, disarmTimer } from "../timers.ts";
import { SeppError } from "../errors.ts";

export interface UpstreamResponse {
  status: number;
  /** lowercased names, in order, repeats kept; no pseudo-headers */
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export type UpstreamFailure = "connect" | "timeout" | "reset" | "too-large" | "cancelled" | "refused-address";

/** How each failure answers when nothing more specific is known (the data path words its own details). */
const UPSTREAM_PROBLEM: Record<UpstreamFailure, [status: number, cause: string]> = {
  connect: [504, "TARGET_NF_NOT_REACHABLE"],
  timeout: [504, "TARGET_NF_NOT_REACHABLE"],
  reset: [504, "TARGET_NF_NOT_REACHABLE"],
  "too-large": [502, "UNSPECIFIED_NF_FAILURE"],
  cancelled: [499, "CANCELLED"],
  "refused-address": [403, "TARGET_NOT_ALLOWED"],
};

/** `code` is UPSTREAM_<KIND> (UPSTREAM_TOO_LARGE, …). */
export class UpstreamError extends SeppError {
  override name = "UpstreamError";
  readonly kind: UpstreamFailure;
  constructor(kind: UpstreamFailure, detail: string) {
    const [status, problemCause] = UPSTREAM_PROBLEM[kind];
    super(`UPSTREAM_${kind.toUpperCase().replace("-", "_")}`, detail, { status, problemCause });
    this.kind = kind;
  }
}

export interface UpstreamRequest {
  method: string;
  /** path with query */
  path: string;
  authority: string;
  headers: Array<[string, string]>;
  body?: Uint8Array;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: CancelSignal;
}

/** Send one request on a session and collect the response (bounded). */
export function requestOn(session: http2.ClientHttp2Session, r: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (r.signal?.aborted) return reject(new UpstreamError("cancelled", "cancelled by the client"));
    const out: http2.OutgoingHttpHeaders = { ":method": r.method, ":path": r.path, ":authority": r.authority };
    for (const [n, v] of r.headers) {
      const prev = out[n];
      out[n] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(out, { endStream: !r.body || r.body.length === 0 });
    } catch (e) {
      return reject(new UpstreamError("connect", `request failed: ${(e as Error).message}`));
    }
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    let status = 0;
    const headers: Array<[string, string]> = [];
    const onAbort = () => finish(new UpstreamError("cancelled", "cancelled by the client"));
    const finish = (err: UpstreamError | null) => {
      if (settled) return;
      settled = true;
      disarmTimer(timer);
      r.signal?.removeEventListener("abort", onAbort);
      if (err) {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(err);
      } else resolve({ status, headers, body: size === 0 ? new Uint8Array(0) : Buffer.concat(chunks, size) });
    };
    const timer = armTimer(
      () => finish(new UpstreamError("timeout", `no answer within ${r.timeoutMs} ms`)),
      r.timeoutMs,
    );
    r.signal?.addEventListener("abort", onAbort, { once: true });
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      for (const k in h) {
        const v = h[k];
        if (k.charCodeAt(0) === 58 /* ":" */ || v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) headers.push([k, x]);
        else headers.push([k, String(v)]);
      }
    });
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > r.maxBodyBytes)
        return finish(new UpstreamError("too-large", `response body over ${r.maxBodyBytes} octets`));
      chunks.push(c);
    });
    // a stream reset before any :status ends without a response: that is a reset, not an answer
    stream.on("end", () => finish(status ? null : new UpstreamError("reset", "stream ended without a response")));
    // no Error (stack capture) is built for the close that follows every completed response
    stream.on("error", (e) => settled || finish(new UpstreamError("reset", e.message)));
    stream.on("close", () => settled || finish(new UpstreamError("reset", "stream closed before the response ended")));
    if (r.body?.length) stream.end(r.body);
  });
}
