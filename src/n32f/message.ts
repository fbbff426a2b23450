// src/n32f/message.ts — the plain HTTP/2 message the N32-f engine reformats (TS 33.501 13.2.4.2,
// N32-PROFILE P3) and rebuilds. The data path fills it from the HTTP/2 layer; the engine never touches sockets.
import type { HttpMethod } from "../model/n32.ts";

export type { HttpMethod };

export interface HttpMessage {
  kind: "request" | "response";
  /** request: the resolved TARGET (apiRoot scheme/authority; path = apiRoot path prefix + request path, no query) */
  method?: HttpMethod;
  scheme?: "http" | "https";
  authority?: string;
  path?: string;
  /** raw query, without "?" */
  query?: string;
  /** response */
  status?: number;
  /** lowercased end-to-end headers in order (repeats allowed), no pseudo-headers */
  headers: Array<[name: string, value: string]>;
  /** raw body bytes; absent/empty = no body */
  body?: Uint8Array;
}

export const HTTP_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "PUT",
  "POST",
  "DELETE",
  "PATCH",
  "HEAD",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);

/** Connection-specific headers (RFC 9113 8.2.2) and the ones the transport regenerates (P3). */
export const CONNECTION_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** TS 29.500 5.2.3.2.x: removed under PRINS, its content lives in requestLine (P3). */
export const TARGET_API_ROOT_HEADER = "3gpp-sbi-target-apiroot";
/** TS 29.500 5.2.3.3.x: names the callback type of a notification request. */
export const CALLBACK_HEADER = "3gpp-sbi-callback";

export type BodyKind = "json" | "multipart" | "form";

export interface ContentType {
  /** lowercased type/subtype */
  readonly mediaType: string;
  /** parameters, names lowercased, quotes removed */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The last few values parsed and their results (shared, read-only): a message's content-type is parsed by the
 * reformatting, the rebuild and the screening, and a SEPP sees few distinct values (issue 11: 2 × 0.1–0.2 µs per
 * message). Keyed by the whole text, so a value is never answered for another.
 */
const CT_MEMO_SIZE = 8;
const ctMemoKeys: string[] = [];
const ctMemoValues: (ContentType | null)[] = [];
let ctMemoNext = 0;
/** Longest value remembered (longer ones, e.g. with a long boundary, are parsed each time). */
const CT_MEMO_MAX_LENGTH = 128;

/** RFC 9110 8.3.1 media type; null when malformed. */
export function parseContentType(value: string): ContentType | null {
  for (let i = 0; i < ctMemoKeys.length; i++) if (ctMemoKeys[i] === value) return ctMemoValues[i]!;
  const parsed = parseContentTypeText(value);
  if (value.length <= CT_MEMO_MAX_LENGTH) {
    ctMemoKeys[ctMemoNext] = value;
    ctMemoValues[ctMemoNext] = parsed === null ? null : Object.freeze(parsed);
    ctMemoNext = (ctMemoNext + 1) % CT_MEMO_SIZE;
  }
  return parsed;
}

function parseContentTypeText(value: string): ContentType | null {
  const semi = value.indexOf(";");
  const mediaType = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const slash = mediaType.indexOf("/");
  if (slash <= 0 || !TOKEN.test(mediaType.slice(0, slash)) || !TOKEN.test(mediaType.slice(slash + 1))) return null;
  const params = new Map<string, string>();
  let rest = semi < 0 ? "" : value.slice(semi + 1);
  while (rest.trim() !== "") {
    const eq = rest.indexOf("=");
    if (eq < 0) return null;
    const name = rest.slice(0, eq).trim().toLowerCase();
    if (!TOKEN.test(name)) return null;
    rest = rest.slice(eq + 1).trimStart();
    let v: string;
    if (rest.startsWith('"')) {
      let i = 1;
      v = "";
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === "\\" && i + 1 < rest.length) i++;
        v += rest[i];
      }
      if (i >= rest.length) return null;
      rest = rest.slice(i + 1).trimStart();
      if (rest !== "" && !rest.startsWith(";")) return null;
      rest = rest.slice(1);
    } else {
      const end = rest.indexOf(";");
      v = (end < 0 ? rest : rest.slice(0, end)).trim();
      rest = end < 0 ? "" : rest.slice(end + 1);
      // lenient: unquoted values with "/" (type=application/json) are common among NFs
      if (!/^[^\s";\\]+$/.test(v)) return null;
    }
    params.set(name, v);
  }
  return { mediaType, params };
}

/** Which P3/P10 carriage a media type gets; null = refused (415). */
export function bodyKind(mediaType: string): BodyKind | null {
  if (mediaType === "application/json" || mediaType === "application/problem+json" || mediaType.endsWith("+json"))
    return "json";
  if (mediaType === "multipart/related") return "multipart";
  if (mediaType === "application/x-www-form-urlencoded") return "form";
  return null;
}

/** Whether the message's content-type names a JSON media type (bodyKind "json"); false without one. */
export function hasJsonContentType(msg: HttpMessage): boolean {
  const ct = headerValue(msg, "content-type");
  const parsed = ct === undefined ? null : parseContentType(ct);
  return parsed !== null && bodyKind(parsed.mediaType) === "json";
}

/** First value of a header (names are lowercase in HttpMessage). */
export function headerValue(msg: HttpMessage, name: string): string | undefined {
  for (const [n, v] of msg.headers) if (n === name) return v;
  return undefined;
}

/** The callback type of a `3gpp-Sbi-Callback` header value (TS 29.500 ABNF: cbtype *1(";" apiversion)). */
export function callbackTypeOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const semi = value.indexOf(";");
  const t = (semi < 0 ? value : value.slice(0, semi)).trim();
  return t === "" ? undefined : t;
}
