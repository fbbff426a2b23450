// src/n32f/reformat.ts — HTTP/2 message → DataToIntegrityProtectBlock (JWE aad) + dataToEncrypt (JWE plaintext)
// (TS 33.501 13.2.4.2–13.2.4.3, TS 29.573 6.2.5; N32-PROFILE P3, P4, P10). Pure: no I/O, no crypto.
import type {
  DataToIntegrityProtectBlock,
  HttpHeader,
  HttpMethod,
  IndexToEncryptedValue,
  MetaData,
  RequestLine,
} from "../model/n32.ts";
import {
  CALLBACK_HEADER,
  CONNECTION_HEADERS,
  HTTP_METHODS,
  TARGET_API_ROOT_HEADER,
  callbackTypeOf,
  headerValue,
  type HttpMessage,
} from "./message.ts";
import { ReformatError } from "./errors.ts";
import { reformatBody, type Enc } from "./reformat-body.ts";
import { iesToEncrypt, type EffectivePolicy, type MessageIes } from "./policy.ts";

export interface ReformatOptions {
  metaData: MetaData;
  policy: EffectivePolicy;
  /** for responses: the request it answers, to find the mapping */
  request?: { method: HttpMethod; path: string; callbackType?: string };
}

export interface ReformatResult {
  block: DataToIntegrityProtectBlock;
  dataToEncrypt: unknown[];
}

/** RFC 3986 path-abempty (non-empty) and query. `{` and `}` are not allowed, so `{encBlockIndex:N}` is unambiguous. */
export const PATH_RE = /^(?:\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*)+$/;
export const QUERY_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
/**
 * Longest request query carried (sender and receiver): producers refuse a :path much over this (it lies in the
 * HTTP/2 header list); refused with 400 here, not failing later at the producer as "not reachable".
 */
export const MAX_QUERY_LENGTH = 16_384;

export function reformat(msg: HttpMessage, opts: ReformatOptions): ReformatResult {
  const { block, dataToEncrypt, plan, enc } = reformatHead(msg, opts);
  if (msg.body && msg.body.byteLength > 0) {
    const payload = reformatBody(msg, plan, enc);
    if (payload.length > 0) block.payload = payload;
  }
  return { block, dataToEncrypt };
}

/** What reformat() builds before the body: the block without `payload`, the IEs to encrypt, the index allocator. */
export interface ReformatHead extends ReformatResult {
  plan: MessageIes;
  enc: Enc;
}

/** reformat() without the body (the text engine, src/n32f/text/, carries JSON bodies itself). */
export function reformatHead(msg: HttpMessage, opts: ReformatOptions): ReformatHead {
  const dataToEncrypt: unknown[] = [];
  const enc = (v: unknown): IndexToEncryptedValue => ({ encBlockIndex: dataToEncrypt.push(v) - 1 });
  const block: DataToIntegrityProtectBlock = { metaData: opts.metaData };

  let plan: MessageIes;
  if (msg.kind === "request") {
    const { method, scheme, authority, path } = msg;
    if (!method || !scheme || !authority || path === undefined)
      throw new ReformatError(400, "MANDATORY_IE_MISSING", "request without method, scheme, authority or path");
    // RequestLine.method is an HttpMethod (TS 29.573 6.1.5.3.2): the receiver refuses any other
    if (!HTTP_METHODS.has(method))
      throw new ReformatError(405, "METHOD_NOT_ALLOWED", "request method is not an HTTP method of TS 29.573");
    if (!PATH_RE.test(path))
      throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "request path is not an RFC 3986 path");
    if (msg.query !== undefined && msg.query.length > MAX_QUERY_LENGTH)
      throw new ReformatError(400, "INVALID_QUERY_PARAM", `request query over ${MAX_QUERY_LENGTH} characters`);
    if (msg.query !== undefined && !QUERY_RE.test(msg.query))
      throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "request query is not an RFC 3986 query");
    plan = iesToEncrypt(opts.policy, "request", method, path, callbackTypeOf(headerValue(msg, CALLBACK_HEADER)));
    const line: RequestLine = {
      method,
      scheme,
      authority,
      path: protectPath(path, plan, enc),
      protocolVersion: "HTTP/2",
    };
    if (msg.query) line.queryFragment = protectQuery(msg.query, plan, enc);
    block.requestLine = line;
  } else {
    const s = msg.status;
    if (s === undefined || !Number.isInteger(s) || s < 100 || s > 599)
      throw new ReformatError(500, "SYSTEM_FAILURE", "response without a valid status code");
    const r = opts.request;
    plan = iesToEncrypt(opts.policy, "response", r?.method ?? "GET", r?.path ?? "/", r?.callbackType);
    block.statusLine = String(s);
  }

  // headers (P3): connection-specific and pseudo-headers are regenerated; the target apiRoot lives in requestLine
  const headers: HttpHeader[] = [];
  for (const [rawName, value] of msg.headers) {
    const name = rawName.toLowerCase();
    if (name.startsWith(":") || CONNECTION_HEADERS.has(name) || name === TARGET_API_ROOT_HEADER) continue;
    headers.push({ header: name, value: plan.headers.has(name) ? enc(value) : value });
  }
  if (headers.length > 0) block.headers = headers;
  return { block, dataToEncrypt, plan, enc };
}

/**
 * Each path variable of the plan replaced by its reference, in place: the segments are read from the end of the path
 * (`fromEnd` places before the last; `path` starts with "/", PATH_RE) without cutting it into its segments. A variable
 * beyond the first segment, or on an empty one, stays as it is. References are numbered in path order.
 */
function protectPath(path: string, plan: MessageIes, enc: Enc): string {
  const vars = plan.pathVars;
  if (vars.length === 0) return path;
  // path order is the deepest variable first (mergePlans keeps one variable per fromEnd)
  const order = vars.length === 1 ? vars : [...vars].sort((a, b) => b.fromEnd - a.fromEnd);
  let out = "";
  let copied = 0; // path[0, copied) is in `out`
  for (const v of order) {
    const end = segmentEnd(path, v.fromEnd);
    if (end < 0) continue;
    const start = path.lastIndexOf("/", end - 1) + 1;
    if (start === end) continue;
    out += `${path.slice(copied, start)}{encBlockIndex:${enc(path.slice(start, end)).encBlockIndex}}`;
    copied = end;
  }
  return copied === 0 ? path : out + path.slice(copied);
}

/** Where the segment `fromEnd` places before the last ends, or -1 when the path has fewer segments. */
function segmentEnd(path: string, fromEnd: number): number {
  let end = path.length;
  for (let k = 0; k < fromEnd; k++) {
    const slash = path.lastIndexOf("/", end - 1);
    if (slash <= 0) return -1;
    end = slash;
  }
  return end;
}

/** A query parameter's name decoded (`+` a space, percent-encoding); a name without "%" or "+" is its own decoding. */
function decodeName(raw: string): string {
  if (!raw.includes("%") && !raw.includes("+")) return raw;
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return raw;
  }
}

/** Each `name=value` of the query whose decoded name the plan lists: its value replaced by its reference (in place). */
function protectQuery(query: string, plan: MessageIes, enc: Enc): string {
  if (plan.queryParams.size === 0) return query;
  let out = "";
  let copied = 0; // query[0, copied) is in `out`
  for (let start = 0; start <= query.length; ) {
    let amp = query.indexOf("&", start);
    if (amp < 0) amp = query.length;
    const eq = query.indexOf("=", start);
    if (eq >= 0 && eq < amp) {
      if (plan.queryParams.has(decodeName(query.slice(start, eq)))) {
        out += `${query.slice(copied, eq + 1)}{encBlockIndex:${enc(query.slice(eq + 1, amp)).encBlockIndex}}`;
        copied = amp;
      }
    }
    start = amp + 1;
  }
  return copied === 0 ? query : out + query.slice(copied);
}
