// src/datapath/http.ts — the plain request/response the data path moves between the HTTP/2 servers
// (SBI side, N32-f side) and its handlers, and small helpers shared by the cSEPP and the pSEPP.
import type { ProblemDetails } from "../model/n32.ts";
import type { WholeRequest, WholeResponse } from "../transport/h2/requests.ts";
import type { ConnInfo } from "../transport/h2server.ts";
import { PROBLEM_JSON } from "../problem.ts";
import { congestionProblem } from "../sbi/limits.ts";
import { CONNECTION_HEADERS } from "../n32f/message.ts";

/**
 * A request as read whole by a listener (src/transport/h2/requests.ts: fields in order, body bounded, `signal`
 * aborted when the client leaves), and the answer the data path gives back.
 */
export type InboundRequest = WholeRequest;
export type OutboundResponse = WholeResponse;

/** Which data-path handler takes a request (src/workers/handoff.ts moves requests between workers by it). */
export type HandlerKind = "n32f-process" | "tls-relay" | "sbi";

/**
 * Where a request is handled: `here` on this thread, or on a less loaded data-path worker (src/workers/handoff.ts).
 * `conn` is the N32-f TLS connection that carried it (undefined on the SBI side).
 */
export type Dispatch = (
  kind: HandlerKind,
  req: InboundRequest,
  conn: N32fConn | undefined,
  here: () => Promise<OutboundResponse>,
) => Promise<OutboundResponse>;

/**
 * What the pSEPP's handlers read of the N32-f TLS connection that carried a request: a ConnInfo in the worker that
 * owns the connection, a RemoteConn (src/workers/remote-conn.ts) in a worker it handed the request to.
 */
export type N32fConn = Pick<ConnInfo, "protocol" | "peerChain" | "data"> & {
  readonly socket: { readonly remoteAddress?: string | undefined };
};

/** RFC 9113 8.2.2 connection-specific headers and the ones the transport regenerates (n32f/message.ts), and
 *  HTTP2-Settings (an h2c upgrade header, never end to end). */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([...CONNECTION_HEADERS, "http2-settings"]);

export function headerOf(headers: ReadonlyArray<[string, string]>, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

export function headersOf(headers: ReadonlyArray<[string, string]>, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of headers) if (n === name) out.push(v);
  return out;
}

export function endToEnd(
  headers: ReadonlyArray<[string, string]>,
  drop?: ReadonlySet<string>,
): Array<[string, string]> {
  return headers.filter(([n]) => !HOP_BY_HOP.has(n) && !drop?.has(n));
}

/** 429 NF_CONGESTION_RISK with retry-after, for a request the per-peer limits refused. */
export function congestionResponse(r: { reason: string; retryAfterSeconds: number }): OutboundResponse {
  const c = congestionProblem(r);
  return problemOut(c.problem, Object.entries(c.headers));
}

export function problemOut(p: ProblemDetails, extra: Array<[string, string]> = []): OutboundResponse {
  return { status: p.status ?? 500, headers: [["content-type", PROBLEM_JSON], ...extra], body: JSON.stringify(p) };
}

/** Split a :path into path and raw query (without "?"). */
export function splitPath(p: string): { path: string; query: string | undefined } {
  const q = p.indexOf("?");
  return q < 0 ? { path: p, query: undefined } : { path: p.slice(0, q), query: p.slice(q + 1) };
}
