// src/datapath/upstream.ts — what every HTTP/2 client of the data path shares (TS 29.500 5.2; N32-PROFILE P8,
// P11): the failure kinds (UpstreamError: connect, timeout, reset, malformed, too large, cancelled, refused
// address) with the ProblemDetails each stands for, the request and response shapes, and `requestOn`, one bounded request on an
// HTTP/2 connection (time, response size, cancellation when the NF's stream goes away). The connections themselves
// are producer-clients.ts (pSEPP → our producers) and n32f-clients.ts (cSEPP → a peer over N32-f, next hops by
// n32f-hops.ts).
import { H2ConnectError, type CancelSignal } from "../transport/h2client.ts";
import type { H2Conn, H2StreamError } from "../transport/h2/conn.ts";
import { exchange } from "../transport/h2/exchange.ts";
import { SeppError } from "../errors.ts";
import { asBuffer } from "../bytes.ts";

export interface UpstreamResponse {
  status: number;
  /** lowercased names, in order, repeats kept; no pseudo-headers */
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export type UpstreamFailure =
  | "connect"
  | "timeout"
  | "reset"
  | "malformed"
  | "too-large"
  | "cancelled"
  | "refused-address"
  /** not sent: its header fields are over the upstream's SETTINGS_MAX_HEADER_LIST_SIZE */
  | "fields-too-large";

/** How each failure answers when nothing more specific is known (the data path words its own details). */
const UPSTREAM_PROBLEM: Record<UpstreamFailure, [status: number, cause: string]> = {
  connect: [504, "TARGET_NF_NOT_REACHABLE"],
  timeout: [504, "TARGET_NF_NOT_REACHABLE"],
  reset: [504, "TARGET_NF_NOT_REACHABLE"],
  // it answered, with what HTTP/2 calls malformed (RFC 9113 §8.1.1): an invalid response, 502 (RFC 9110 §15.6.3)
  malformed: [502, "UNSPECIFIED_NF_FAILURE"],
  "too-large": [502, "UNSPECIFIED_NF_FAILURE"],
  cancelled: [499, "CANCELLED"],
  "refused-address": [403, "TARGET_NOT_ALLOWED"],
  // the NF's request, as it would leave, is more than the next hop takes: what our own SBI listener answers to a
  // header list over its limit (requests.ts), not a failure of the upstream
  "fields-too-large": [431, "MANDATORY_IE_INCORRECT"],
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

/**
 * A failure that is not "did not answer" (504), with the ProblemDetails its kind stands for (UPSTREAM_PROBLEM), from
 * a producer's connection or a peer SEPP's (the N32 client's H2ConnectError): the upstream answered with nothing
 * usable, a malformed message (RFC 9113 §8.1.1) or a producer's answer over the size limit (502, RFC 9110 §15.6.3:
 * an invalid response); or the request was not sent, its header fields over what the next hop announced it takes
 * (SETTINGS_MAX_HEADER_LIST_SIZE: 431, as our own listener answers such a request). `outcome`: as the delivery to a
 * producer counts it. null otherwise.
 */
export function notUnreachable(
  e: unknown,
  what: string,
): { status: number; cause: string; detail: string; outcome: "producer-invalid-answer" | "refused" } | null {
  const kind = e instanceof UpstreamError ? e.kind : e instanceof H2ConnectError ? e.failure : undefined;
  let detail: string;
  if (kind === "malformed") detail = `${what} answered with a malformed HTTP/2 message`;
  else if (kind === "too-large" && e instanceof UpstreamError)
    detail = `${what} answered over the size limit (body or header fields)`;
  else if (kind === "fields-too-large")
    detail = `request header fields over what ${what} takes: ${(e as Error).message}`;
  else return null;
  const [status, cause] = UPSTREAM_PROBLEM[kind];
  return { status, cause, detail, outcome: kind === "fields-too-large" ? "refused" : "producer-invalid-answer" };
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

/**
 * Send one request on a connection (src/transport/h2/conn.ts) and collect the response: within `timeoutMs`, a body
 * of at most `maxBodyBytes` (the stream is reset above it), given up (RST_STREAM CANCEL) when `signal` aborts.
 * Refused unprocessed (RFC 9113 §8.7: REFUSED_STREAM, or the server's GOAWAY before it took the request, as when a
 * producer shuts down): handed to `resend` if given (the pool sends it once more, on a connection that takes it).
 */
export function requestOn(
  conn: H2Conn,
  scheme: string,
  r: UpstreamRequest,
  resend?: (r: UpstreamRequest) => Promise<UpstreamResponse>,
): Promise<UpstreamResponse> {
  const fields = [":method", r.method, ":scheme", scheme, ":authority", r.authority, ":path", r.path];
  for (const [n, v] of r.headers) fields.push(n, v);
  const body = r.body?.length ? asBuffer(r.body) : null;
  const started = resend ? performance.now() : 0;
  return new Promise((resolve, reject) =>
    exchange(conn, fields, body, r, (err, f, rb) => {
      if (resend && err?.kind === "refused" && !r.signal?.aborted) {
        // sent again within the time the request had, not a second one
        const left = Math.floor(r.timeoutMs - (performance.now() - started));
        if (left >= 1) return void resend({ ...r, timeoutMs: left }).then(resolve, reject);
      }
      if (err) return reject(new UpstreamError(FAILURE[err.kind], err.message));
      const headers: Array<[string, string]> = [];
      for (let i = 2; i < f.length; i += 2) headers.push([f[i]!, f[i + 1]!]);
      resolve({ status: Number(f[1]), headers, body: rb ?? EMPTY });
    }),
  );
}

const EMPTY = new Uint8Array(0);
/** how a failure of the HTTP/2 layer reads to the data path */
const FAILURE: Record<H2StreamError["kind"], UpstreamFailure> = {
  closed: "reset",
  reset: "reset",
  refused: "reset",
  malformed: "malformed",
  cancelled: "cancelled",
  timeout: "timeout",
  "too-large": "too-large",
  "fields-too-large": "fields-too-large",
};
