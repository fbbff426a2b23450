// src/transport/h2/requests.ts — whole requests on a server-role connection (conn.ts), the one reader the SBI and
// N32 listeners share: a declared content-length over the path's cap is answered 413 before the body is read, a
// body over it 413 as it arrives, a body not complete in time 408, more header fields than the bound 431, no
// :path/:authority 400 (ProblemDetails, TS 29.500 5.2.7). A request is handed on only after the I/O events already
// received are processed (setImmediate, once per loop turn for all of them), so a stream reset in the same read as its HEADERS (rapid reset,
// CVE-2023-44487) is never handed on; a client that resets its stream or leaves cancels the request (`signal`).
import type { AsciiText } from "../../ascii-text.ts";
import { problem, PROBLEM_JSON } from "../../problem.ts";
import { armTimer, disarmTimer } from "../../timers.ts";
import { type CancelSignal, StreamCancel } from "./cancel.ts";
import type { H2Conn } from "./conn.ts";
import { declaredLength } from "./fields.ts";
import { IdTable } from "./id-table.ts";
import { outBodyOf } from "./stream.ts";

/** A request as read (the data path's InboundRequest). */
export interface WholeRequest {
  method: string;
  scheme: string;
  authority: string;
  /** :path as received: path and query */
  path: string;
  /** lowercased names in order, repeats kept, no pseudo-headers */
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** aborted when the client cancels the stream or the connection closes */
  signal: CancelSignal;
}

/** An answer (the data path's OutboundResponse). */
export interface WholeResponse {
  status: number;
  headers: Array<[string, string]>;
  body?: Uint8Array | string | AsciiText;
}

/** What one request may be. */
export interface PathLimits {
  /** body cap (413 above it) */
  maxBodyBytes: number;
  /** the whole body must have arrived within this (408 after) */
  timeoutMs: number;
  /** header fields (431 above) */
  maxHeaders: number;
}

/** The bounds of a request to `path` (the N32 listener's differ between N32-c and N32-f). */
export type RequestLimits = (path: string) => PathLimits;

/** fields never sent in an answer: connection-specific (RFC 9113 §8.2.2), and the ones the layer writes itself */
const NOT_SENT = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "host",
  "http2-settings",
  "content-length",
]);
const EMPTY = new Uint8Array(0);

/** Reads whole requests on `c`, hands each to `handle` with the function that answers it (once; later: ignored). */
export function serveRequests(
  c: H2Conn,
  scheme: string,
  limits: RequestLimits,
  handle: (req: WholeRequest, answer: (r: WholeResponse) => void) => void,
): void {
  // not a Map: id-table.ts
  const open = new IdTable<{ cancel: StreamCancel | null; timer: ReturnType<typeof armTimer> | null }>();
  const forget = (id: number) => {
    const e = open.get(id);
    if (e?.timer) disarmTimer(e.timer);
    open.delete(id);
  };
  const answer = (id: number, r: WholeResponse) => {
    forget(id);
    const fields = responseFields(r);
    // an answer over what the client announced it takes (an upstream's header fields): the client would reset the
    // stream or end the connection (§10.5.1), so it gets a ProblemDetails in its place
    const over = c.fieldsOverPeerLimit(fields);
    if (over) {
      const p = problem(
        502,
        "UNSPECIFIED_NF_FAILURE",
        `answer header fields of ${over} octets, over this client's SETTINGS_MAX_HEADER_LIST_SIZE ${c.peerMaxHeaderList}`,
      );
      return c.respond(
        id,
        responseFields({ status: 502, headers: [["content-type", PROBLEM_JSON]], body: "" }),
        outBodyOf(JSON.stringify(p)),
      );
    }
    c.respond(id, fields, outBodyOf(r.body)); // text: written into the connection's buffer as UTF-8
  };
  const refuse = (id: number, status: number, cause: string, detail: string) =>
    answer(id, {
      status,
      headers: [["content-type", PROBLEM_JSON]],
      body: JSON.stringify(problem(status, cause, detail)),
    });
  const pathOf = (f: string[]) => {
    for (let i = 0; i < f.length; i += 2) if (f[i] === ":path") return f[i + 1]!;
    return "";
  };

  c.onBodyStart = (id, f) => {
    const l = limits(pathOf(f));
    if (declaredLength(f) > l.maxBodyBytes)
      return refuse(id, 413, "PAYLOAD_TOO_LARGE", `body over ${l.maxBodyBytes} octets`);
    const late = () => refuse(id, 408, "TIMED_OUT_REQUEST", "request body not received in time");
    open.set(id, { cancel: null, timer: armTimer(late, l.timeoutMs) });
  };
  c.onTooLarge = (id) => refuse(id, 413, "PAYLOAD_TOO_LARGE", "body over the limit");
  // RFC 9113 §10.5.1, TS 29.500 5.2.7.2: the request's fields over our SETTINGS_MAX_HEADER_LIST_SIZE
  c.onFieldsTooLarge = (id) => refuse(id, 431, "MANDATORY_IE_INCORRECT", "request header fields over the limit");
  // the client went away before the answer: the request is cancelled upstream
  const reset = c.onPeerReset; // a guard's count (listener.ts guardConnection), whichever was set first
  c.onPeerReset = (id) => {
    reset?.(id);
    open.get(id)?.cancel?.abort();
    forget(id);
  };
  const ended = c.onEnd;
  c.onEnd = () => {
    ended?.();
    for (const [id, e] of open.entries()) {
      e.cancel?.abort();
      forget(id);
    }
  };

  c.onRequest = (_c, id, f, body) => {
    const e = open.get(id);
    if (e?.timer) {
      disarmTimer(e.timer);
      e.timer = null;
    }
    let method = "";
    let path = "";
    let authority = "";
    let reqScheme = scheme;
    let host = "";
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < f.length; i += 2) {
      const n = f[i]!;
      const v = f[i + 1]!;
      if (n.charCodeAt(0) !== 58) {
        headers.push([n, v]);
        if (n === "host") host = v;
      } else if (n === ":method") method = v;
      else if (n === ":path") path = v;
      else if (n === ":authority") authority = v;
      else if (n === ":scheme") reqScheme = v;
    }
    authority ||= host;
    if (!path.startsWith("/") || !authority)
      return refuse(id, 400, "MANDATORY_IE_MISSING", ":method, :path and :authority are required");
    const l = limits(path);
    if (headers.length > l.maxHeaders)
      return refuse(id, 431, "MANDATORY_IE_INCORRECT", `more than ${l.maxHeaders} headers`);
    if ((body?.length ?? 0) > l.maxBodyBytes)
      return refuse(id, 413, "PAYLOAD_TOO_LARGE", `body over ${l.maxBodyBytes} octets`);
    const cancel = new StreamCancel();
    if (e) e.cancel = cancel;
    else open.set(id, { cancel, timer: null });
    const req: WholeRequest = {
      method,
      scheme: reqScheme,
      authority,
      path,
      headers,
      body: body ?? EMPTY,
      signal: cancel,
    };
    startSoon(() => {
      if (cancel.aborted || !c.isOpen(id)) return forget(id);
      handle(req, (r) => answer(id, r));
    });
  };
}

/** the requests read in this loop turn, handed on together in its check phase (one setImmediate, not one each) */
let starting: Array<() => void> = [];
function startSoon(start: () => void): void {
  if (starting.length === 0) setImmediate(startAll);
  starting.push(start);
}
function startAll(): void {
  const now = starting;
  starting = [];
  let failed: unknown = null;
  for (const start of now)
    try {
      start();
    } catch (e) {
      failed ??= e; // the others still start; the first failure surfaces as it did with one setImmediate each
    }
  if (failed !== null) throw failed;
}

/** :status, the answer's fields without connection-specific ones, and a Date when it has none (RFC 9110 §6.6.1) */
function responseFields(r: WholeResponse): string[] {
  const fields = [":status", String(r.status)];
  let dated = false;
  for (const [n, v] of r.headers)
    if (!NOT_SENT.has(n)) {
      fields.push(n, v);
      dated ||= n === "date";
    }
  if (!dated) fields.push("date", httpDate());
  return fields;
}

let dateSecond = 0;
let dateText = "";
/** The IMF-fixdate of now (RFC 9110 §5.6.7), made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
