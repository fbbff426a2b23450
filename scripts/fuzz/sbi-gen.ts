// scripts/fuzz/sbi-gen.ts — the SBI input generator of `npm run fuzz` (requests of our NFs for the home UDM through
// the visited SEPP). Most inputs (about 93 %) are well-formed at the HTTP/2 level (RFC 9113 8.1–8.3: lowercase
// token names, no connection-specific fields, values without CR/LF/NUL and without leading or trailing whitespace,
// an origin-form :path, a host[:port] :authority, a content-length equal to the body, a header list under the
// listener's SETTINGS_MAX_HEADER_LIST_SIZE), so that they reach the SEPP's own checks, and hostile at the SEPP's
// level: 3GPP headers with wrong values, foreign and own PLMNs, forged telescopic labels, odd but legal paths and
// percent-encodings, sizes on either side of the SEPP's limits, wrong content types, malformed JSON. The rest (about
// 7 %, `h2Invalid` names the breakage) is one such request broken at the HTTP/2 level on purpose, so that the
// HTTP/2 layer's refusals (RFC 9113 8.1.1 malformed requests) stay exercised. Nothing here is part of the SEPP.
import fc from "fast-check";
import { VISITED } from "../lib/pair.ts";
import { type FuzzInput, hostile, mutatedJson } from "./gen.ts";
import {
  bigHeaders,
  CONNECTION_SPECIFIC,
  H2_HEADER_LIST,
  hosts,
  MAX_BODY,
  paths,
  sbiHeaderPair,
  tokenOf,
} from "./sbi-values.ts";

/** Is `x` well-formed at the HTTP/2 level as this generator defines it (the test checks the generator with it)? */
export function h2WellFormed(x: FuzzInput): boolean {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(x.method)) return false;
  if (!/^\/[\x21-\x7e]*$/.test(x.path)) return false;
  if (x.authority !== undefined && !/^(?:[A-Za-z0-9\-._~!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::\d*)?$/.test(x.authority))
    return false;
  for (const [k, v] of Object.entries(x.headers)) {
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(k) || CONNECTION_SPECIFIC.includes(k)) return false;
    if (k === "te" && v !== "trailers") return false;
    if (k === "host" && v !== x.authority) return false;
    if (/[\0\r\n]/.test(v) || /^[ \t]|[ \t]$/.test(v)) return false;
    if (k === "content-length" && v !== String(Buffer.byteLength(x.body ?? ""))) return false;
  }
  return headerListSize(x) <= H2_HEADER_LIST;
}

/** The header list size the listener's SETTINGS bound (RFC 9113 6.5.2: name + value + 32 per field, pseudo-headers
 *  included; :scheme counted at its longest, "https"). */
export function headerListSize(x: FuzzInput): number {
  let size = 4 * 32 + 7 + 5 + 5 + 6 + 10 + x.method.length + x.path.length + (x.authority?.length ?? 0);
  for (const [k, v] of Object.entries(x.headers)) size += k.length + Buffer.byteLength(v) + 32;
  return size;
}

/** JSON bodies: SBI-shaped resources mutated (foreign PLMN IEs, SSRF callbacks, encBlockIndex members …). */
function jsonBodies(supi: string): fc.Arbitrary<string> {
  const bases: Array<Record<string, unknown>> = [
    {
      nfInstanceId: "54804518-4191-46b3-955c-ac631f953ed8",
      callbackReference: "http://amf.5gc.mnc015.mcc234.3gppnetwork.org/cb",
      monitoredResourceUris: [`http://udm.5gc.mnc001.mcc262.3gppnetwork.org/nudm-sdm/v2/${supi}/am-data`],
      plmnId: { mcc: "234", mnc: "15" },
    },
    {
      amfInstanceId: "54804518-4191-46b3-955c-ac631f953ed8",
      deregCallbackUri: "http://amf.5gc.mnc015.mcc234.3gppnetwork.org/dereg",
      guami: { plmnId: { mcc: "234", mnc: "15" }, amfId: "cafe00" },
      ratType: "NR",
    },
    { supiOrSuci: supi, servingNetworkName: "5G:mnc015.mcc234.3gppnetwork.org" },
    {
      supi,
      vsmfPduSessionUri: "http://smf.5gc.mnc015.mcc234.3gppnetwork.org/pdu",
      servingNetwork: { mcc: "234", mnc: "15" },
    },
  ];
  const ieValues = fc.constantFrom<unknown>(
    { mcc: "999", mnc: "99" },
    { mcc: "262", mnc: "01" },
    { mcc: "234", mnc: "015" },
    "5G:mnc001.mcc262.3gppnetwork.org",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:1/",
    "http://udm.5gc.mnc001.mcc262.3gppnetwork.org/cb",
    `http://s${"a".repeat(61)}.${VISITED.fqdn}/cb`,
    { encBlockIndex: 0 },
    [{ encBlockIndex: 1 }],
  );
  const withIe = fc.tuple(fc.constantFrom(...bases), fc.integer({ min: 0, max: 5 }), ieValues).map(([b, k, v]) => {
    const o: Record<string, unknown> = structuredClone(b);
    const keys = Object.keys(o);
    o[keys[k % keys.length]!] = v;
    return JSON.stringify(o);
  });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...bases).chain((b) => mutatedJson(b)) },
    { weight: 3, arbitrary: withIe },
    { weight: 1, arbitrary: hostile.map((x) => JSON.stringify(x) ?? "null") },
  );
}

/** Malformed JSON and other non-JSON bodies. */
const badBodies: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "{",
    '{"a":1,}',
    "{'a':1}",
    '{"a":NaN}',
    '{"a":1}{"b":2}',
    '\uFEFF{"a":1}',
    '{"a":"\\ud800"}',
    '{"a":1,"a":2}',
    '{"__proto__":{"x":1}}',
    '{"encBlockIndex":0}',
    "null",
    "[]",
    "--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--",
    '--b\r\nContent-Type: application/json\r\n\r\n{"encBlockIndex":0}\r\n--b--',
    "\u0000\u0001",
  ),
  fc.string({ maxLength: 200 }),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => "[".repeat(n)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v).slice(0, -1)),
);

/** Bodies on either side of sbi.maxBodyBytes (413 above it). */
const hugeBodies: fc.Arbitrary<string> = fc
  .integer({ min: MAX_BODY - 8, max: MAX_BODY + 8 })
  .map((n) => `{"x":"${"a".repeat(n - 8)}"}`);

/** One HTTP/2-legal request, hostile at the SEPP's level. */
function wellFormed(udmAuthority: string, supi: string): fc.Arbitrary<FuzzInput> {
  return fc
    .record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant("GET") },
        { weight: 6, arbitrary: fc.constantFrom("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD") },
        { weight: 1, arbitrary: fc.constantFrom("get", "TRACE", "M-SEARCH", "PROPFIND", "PRI", "Get") },
        { weight: 1, arbitrary: tokenOf(1, 12).map((t) => t.toUpperCase()) },
      ),
      authority: hosts(udmAuthority),
      path: paths(supi),
      headers: fc.oneof(
        { weight: 40, arbitrary: fc.array(sbiHeaderPair(udmAuthority), { maxLength: 6 }).map(Object.fromEntries) },
        { weight: 1, arbitrary: bigHeaders },
      ),
      body: fc.oneof(
        { weight: 200, arbitrary: fc.constant(undefined) },
        { weight: 120, arbitrary: jsonBodies(supi) },
        { weight: 60, arbitrary: badBodies },
        { weight: 1, arbitrary: hugeBodies },
      ),
      ct: fc.oneof(
        { weight: 6, arbitrary: fc.constant("application/json") },
        { weight: 2, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: fc.constantFrom("application/problem+json", "text/plain", "multipart/related; boundary=b"),
        },
      ),
      contentLength: fc.boolean(),
    })
    .map(({ method, authority, path, headers, body, ct, contentLength }) => {
      const h: Record<string, string> = { ...(headers as Record<string, string>) };
      if (body !== undefined && ct && !("content-type" in h)) h["content-type"] = ct;
      if (body !== undefined && contentLength) h["content-length"] = String(Buffer.byteLength(body));
      else delete h["content-length"];
      const x: FuzzInput = { method, authority, path, headers: h, body };
      // a long query and a big header value together could pass the listener's bound: keep under it
      const over = headerListSize(x) - (H2_HEADER_LIST - 64);
      if (over > 0 && h["x-big"]) h["x-big"] = h["x-big"].slice(0, Math.max(1, h["x-big"].length - over));
      return x;
    });
}

/** One breakage at the HTTP/2 level (RFC 9113 8.1.1, 8.2.1, 8.2.2, 8.3.1) of a well-formed request. */
type Breakage = [string, (x: FuzzInput) => FuzzInput];
const breakages: fc.Arbitrary<Breakage> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("\r\nx-injected: 1", "\n", "\r", "\0", "a\r\n\r\nGET / HTTP/1.1"),
      fc.constantFrom("accept", "3gpp-sbi-target-apiroot", "authorization"),
    )
    .map(([bad, k]): Breakage => ["crlf-nul-value", (x) => ({ ...x, headers: { ...x.headers, [k]: `a${bad}` } })]),
  fc
    .tuple(
      fc.constantFrom(" ", "\t", "  "),
      fc.boolean(),
      fc.constantFrom("accept", "3gpp-sbi-originating-network-id", "content-type"),
    )
    .map(
      ([ws, lead, k]): Breakage => [
        "whitespace-value",
        (x) => ({ ...x, headers: { ...x.headers, [k]: lead ? `${ws}234-15` : `234-15${ws}` } }),
      ],
    ),
  fc
    .tuple(
      fc.constantFrom(...CONNECTION_SPECIFIC, "te"),
      fc.constantFrom("close", "keep-alive", "chunked", "h2c", "gzip"),
    )
    .map(([k, v]): Breakage => ["connection-specific", (x) => ({ ...x, headers: { ...x.headers, [k]: v } })]),
  fc
    .constantFrom("X-Upper", "x foo", "x-é", "x:y", "x\u0000")
    .map((k): Breakage => ["bad-name", (x) => ({ ...x, headers: { ...x.headers, [k]: "1" } })]),
  fc
    .constantFrom(":foo", ":scheme", ":protocol", ":status")
    .map((k): Breakage => ["pseudo-header", (x) => ({ ...x, headers: { ...x.headers, [k]: "ftp" } })]),
  fc.constantFrom(-1, 1, 99_999_999, "abc", "-1", "10, 10").map(
    (n): Breakage => [
      "content-length",
      (x) => {
        const body = x.body ?? "{}";
        // a number: off by n from the body's length; a string: not a length at all
        const len = Buffer.byteLength(body);
        const cl = typeof n === "number" ? String(len + n >= 0 ? len + n : len + 1) : n;
        return { ...x, body, headers: { ...x.headers, "content-length": cl } };
      },
    ],
  ),
  fc
    .constantFrom("", "nudm-sdm/v2", "http://udm/x", "/a b", "/a\tb", "*", "/é")
    .map((p): Breakage => ["path", (x) => ({ ...x, path: p })]),
  fc
    .constantFrom(".evil.example", ".169.254.169.254.nip.io")
    .map((h): Breakage => ["host-differs", (x) => ({ ...x, headers: { ...x.headers, host: `${x.authority}${h}` } })]),
  fc.constantFrom("GE T", "GET\t", "").map((m): Breakage => ["method", (x) => ({ ...x, method: m })]),
  fc
    .constantFrom("user@udm.5gc.mnc001.mcc262.3gppnetwork.org", "a b", "udm/x", "[::1", "udm?x")
    .map((a): Breakage => ["authority", (x) => ({ ...x, authority: a })]),
  fc
    .integer({ min: 1, max: 4000 })
    .map(
      (over): Breakage => [
        "header-list-over-settings",
        (x) => ({ ...x, headers: { "x-big": "b".repeat(H2_HEADER_LIST + over) } }),
      ],
    ),
);

/** SBI (our NFs toward a partner, TS 29.500): requests for the home UDM through the visited SEPP, about 7 % of them
 *  broken at the HTTP/2 level on purpose (`h2Invalid`). */
export function sbiInputs(udmAuthority: string, supi: string): fc.Arbitrary<FuzzInput> {
  const ok = wellFormed(udmAuthority, supi);
  return fc.oneof(
    { weight: 93, arbitrary: ok },
    {
      weight: 7,
      arbitrary: fc.tuple(ok, breakages).map(([x, [kind, f]]) => ({ ...f(x), h2Invalid: kind })),
    },
  );
}
