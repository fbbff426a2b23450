// src/transport/h2/fields.ts — when an HTTP/2 field section is malformed (RFC 9113 §8.1.1, §8.2, §8.3): a malformed
// request or response is a stream error PROTOCOL_ERROR and is never forwarded (a proxy must not pass on what the
// peer's parser may read otherwise, §8.2.1). Pure: [name, value, …] in, the reason or null out.

// field-name octets: tchar (RFC 9110 §5.6.2) without upper case (§8.2.1); ":" only as the first octet
const NAME_OK = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_OK[c.charCodeAt(0)] = 1;

/** connection-specific fields (§8.2.2); `te` is allowed with the value "trailers" only */
const CONNECTION_SPECIFIC = new Set(["connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"]);
/** the pseudo-header fields of a request, each with its bit (seen once each: no Set per request) */
const REQUEST_PSEUDO = new Map([
  [":method", 1],
  [":scheme", 2],
  [":authority", 4],
  [":path", 8],
]);
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // a token (RFC 9110 §9.1)

function badName(n: string): boolean {
  if (n.length === 0) return true;
  for (let i = n.charCodeAt(0) === 58 ? 1 : 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c >= 128 || NAME_OK[c] === 0) return true;
  }
  return n === ":";
}

/** §8.2.1: no NUL, CR or LF anywhere, no leading or trailing space or tab */
const FORBIDDEN = /[\0\n\r]/;
function badValue(v: string): boolean {
  if (v.length === 0) return false;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  return first === 32 || first === 9 || last === 32 || last === 9 || FORBIDDEN.test(v);
}

/** The regular fields from `from` on: names, values, connection-specific fields, content-length. */
function badRegular(f: readonly string[], from: number): string | null {
  let length: string | undefined;
  for (let i = from; i < f.length; i += 2) {
    const n = f[i]!;
    const v = f[i + 1]!;
    if (n.charCodeAt(0) === 58) return `pseudo-header field ${n} after a regular field`;
    if (badName(n)) return "invalid field name";
    if (badValue(v)) return `invalid value of ${n}`;
    if (CONNECTION_SPECIFIC.has(n)) return `connection-specific field ${n}`;
    if (n === "te" && v !== "trailers") return "te other than trailers";
    if (n === "content-length") {
      if (!/^\d{1,15}$/.test(v) || (length !== undefined && length !== v)) return "invalid content-length";
      length = v;
    }
  }
  return null;
}

/** A request's field section (§8.3.1): the four pseudo-header fields once each, before the others; no CONNECT. */
export function malformedRequest(f: readonly string[]): string | null {
  let i = 0;
  let method = "";
  let scheme = "";
  let path = "";
  let seen = 0;
  for (; i < f.length && f[i]!.charCodeAt(0) === 58; i += 2) {
    const n = f[i]!;
    const bit = REQUEST_PSEUDO.get(n);
    if (bit === undefined) return `pseudo-header field ${n} not allowed in a request`;
    if (seen & bit) return `${n} repeated`;
    seen |= bit;
    if (badValue(f[i + 1]!)) return `invalid value of ${n}`;
    if (n === ":method") method = f[i + 1]!;
    else if (n === ":scheme") scheme = f[i + 1]!;
    else if (n === ":path") path = f[i + 1]!;
  }
  if (!METHOD.test(method)) return "missing or invalid :method";
  if (method === "CONNECT") return "CONNECT is not served";
  if (!scheme || !path) return ":scheme and :path are required";
  return badRegular(f, i);
}

/** A response's field section (§8.3.2): :status (three digits) first and alone among pseudo-header fields. */
export function malformedResponse(f: readonly string[]): string | null {
  if (f[0] !== ":status" || !/^[1-5]\d\d$/.test(f[1] ?? "")) return "missing or invalid :status";
  return badRegular(f, 2);
}

/** A trailer section (§8.1): no pseudo-header fields (§8.3), the regular fields as in a header section. */
export function malformedTrailers(f: readonly string[]): string | null {
  return f.length && f[0]!.charCodeAt(0) === 58 ? `pseudo-header field ${f[0]} in trailers` : badRegular(f, 0);
}

/** The content-length a field section declares, or -1 (checked against the body, §8.1.1). */
export function declaredLength(f: readonly string[]): number {
  for (let i = 0; i < f.length; i += 2) if (f[i] === "content-length") return Number(f[i + 1]);
  return -1;
}
