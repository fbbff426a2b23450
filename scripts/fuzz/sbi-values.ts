// scripts/fuzz/sbi-values.ts — the pieces of the SBI fuzz inputs (scripts/fuzz/sbi-gen.ts), each legal at the
// HTTP/2 level and hostile at the SEPP's: hosts (foreign and own PLMNs, forged telescopic labels, IP literals, long
// FQDNs), paths (3GPP APIs, SUPI variants, dot segments, percent-encodings, queries around the SEPP's bound), 3GPP
// and ordinary headers with right and wrong values, header lists around the SEPP's bounds. Not part of the SEPP.
import fc from "fast-check";
import { HOME, VISITED } from "../lib/pair.ts";

/** The listener's SETTINGS_MAX_HEADER_LIST_SIZE (src/datapath/sbi-server.ts) and the SEPP's own bounds. */
export const H2_HEADER_LIST = 65_536;
export const MAX_HEADERS = 128; // sbi.maxHeaders, N32_LIMITS.maxHeaders
export const MAX_NAME = 256; // N32_LIMITS.maxHeaderName
export const MAX_QUERY = 16_384; // MAX_QUERY_LENGTH (src/n32f/reformat.ts)
export const MAX_BODY = 1 << 20; // sbi.maxBodyBytes

/** RFC 9110 5.6.2 tchar, lowercase (RFC 9113 8.2.1). */
export const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
export const CONNECTION_SPECIFIC = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

export const tokenOf = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...TCHAR), minLength: min, maxLength: max });
/** A field value: visible ASCII, inner spaces, never whitespace at either end. */
export const vchars = (max: number) =>
  fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: max,
  });
export const fieldValue = fc.oneof(
  { weight: 3, arbitrary: vchars(40) },
  { weight: 1, arbitrary: fc.tuple(vchars(20), vchars(20)).map(([a, b]) => `${a} ${b}`) },
);
export const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
export const b32 = (n: number) =>
  fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz234567"), minLength: n, maxLength: n });
export const plmnHost = (nf: string, mcc: string, mnc: string) =>
  `${nf}.5gc.mnc${mnc.padStart(3, "0")}.mcc${mcc}.3gppnetwork.org`;

/** Hosts: the home UDM, foreign and own PLMNs, forged telescopic labels under our own SEPP domain, IP literals. */
export function hosts(udmAuthority: string): fc.Arbitrary<string> {
  const seppDomain = VISITED.fqdn;
  const [udmHost, udmPort] = udmAuthority.split(":") as [string, string];
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant(udmAuthority) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        udmHost,
        `${udmHost.toUpperCase()}:${udmPort}`,
        `${udmHost}.:${udmPort}`,
        `${udmHost}:0`,
        `${udmHost}:65535`,
        `${udmHost}:65536`,
        `${udmHost}:`,
        `${udmHost}:0${udmPort}`,
        plmnHost("udm", HOME.plmn.mcc, "1"), // a 2-digit MNC written as 1 digit
        `udm.5gc.mnc01.mcc262.3gppnetwork.org:${udmPort}`,
        `udm.mnc001.mcc262.3gppnetwork.org:${udmPort}`,
      ),
    },
    // foreign PLMNs without a partner, our own PLMN, the peer SEPP itself
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.constantFrom("udm", "ausf", "nrf", "smf", "amf", "pcf", "sepp", "scp"),
          fc.constantFrom(["999", "99"], ["208", "01"], ["234", "15"], ["262", "001"], ["001", "01"], ["310", "260"]),
        )
        .map(([nf, [mcc, mnc]]) => plmnHost(nf, mcc!, mnc!)),
    },
    { weight: 1, arbitrary: fc.constantFrom(HOME.fqdn, VISITED.fqdn, `${HOME.fqdn}:443`) },
    // telescopic FQDN-looking authorities: forged stateless ("s" + 61 base32) and table ("t…") labels, several labels
    {
      weight: 4,
      arbitrary: fc
        .oneof(
          b32(61).map((s) => `s${s}`),
          b32(61).map((s) => `S${s.toUpperCase()}`),
          label.map((l) => `t${l}`.slice(0, 63)),
          label,
          fc.tuple(label, label).map(([a, b]) => `${a}.${b}`),
          fc.constant("a".repeat(64)),
        )
        .map((l) => `${l}.${seppDomain}`),
    },
    // IP literals and odd hosts
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "127.0.0.1:1",
        "127.0.0.1",
        "[::1]",
        "[::1]:80",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "169.254.169.254",
        "0x7f.1",
        "2130706433",
        "0.0.0.0:80",
        "localhost",
        "xn--e1afmkfd.5gc.mnc001.mcc262.3gppnetwork.org",
      ),
    },
    // very long FQDNs: 63-character labels up to the 253-character DNS limit and past it
    {
      weight: 1,
      arbitrary: fc.integer({ min: 2, max: 5 }).map((n) => `${Array(n).fill("a".repeat(63)).join(".")}.${HOME.fqdn}`),
    },
    { weight: 1, arbitrary: fc.domain() },
  );
}

/** Paths: 3GPP API paths with SUPI/SUCI/GPSI variants, dot segments, percent-encodings, queries near the limit. */
export function paths(supi: string): fc.Arbitrary<string> {
  const ue = fc.constantFrom(
    supi,
    "imsi-262010000000002",
    "imsi-99999000000001",
    "imsi-",
    "nai-user@example.org",
    "suci-0-262-01-0-0-0-0000000001",
    "suci-0-999-99-0000-1-1-abcdef",
    "msisdn-491700000001",
    "IMSI-262010000000001",
    "imsi-262010000000001%00",
    "{encBlockIndex:0}",
    "%7BencBlockIndex%3A0%7D",
  );
  const seg = fc.oneof(
    { weight: 3, arbitrary: fc.webSegment() },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "..",
        ".",
        "",
        "%2e%2e",
        "%2E%2E",
        "%2F",
        "%2f..%2f",
        "%252e%252e",
        "%00",
        "%0d%0a",
        "%C0%AF",
        "%E2%80%AE",
        "%ZZ",
        "%",
        ";jsessionid=1",
        "am-data;x=y",
        "~",
        "*",
        "@",
        "'",
      ),
    },
  );
  const query = fc.oneof(
    fc.webQueryParameters(),
    fc.constantFrom(
      "supported-features=0",
      "dataset-names=AM,SMF_SEL",
      "plmn-id=%7B%22mcc%22%3A%22999%22%2C%22mnc%22%3A%2299%22%7D",
      'plmn-id={"mcc":"262","mnc":"01"}',
      "target-nf-type=UDM&requester-nf-type=AMF&target-plmn-list=%5B%7B%22mcc%22%3A%22208%22%2C%22mnc%22%3A%2201%22%7D%5D",
      "foreign-fqdn=udm.5gc.mnc001.mcc262.3gppnetwork.org",
      "foreign-fqdn=169.254.169.254",
      "telescopic-label=sabc",
      "a=%ZZ",
      "a=b#frag",
      "?",
      "&&&=",
    ),
    // the SEPP's query bound: on either side of it
    fc.integer({ min: MAX_QUERY - 4, max: MAX_QUERY + 4 }).map((n) => `q=${"a".repeat(n - 2)}`),
  );
  const api = fc.tuple(
    fc.constantFrom(
      "/nudm-sdm/v2/{ue}/am-data",
      "/nudm-sdm/v2/{ue}/nssai",
      "/nudm-sdm/v2/{ue}/sdm-subscriptions",
      "/nudm-sdm/v2/{ue}/smf-select-data",
      "/nudm-uecm/v1/{ue}/registrations/amf-3gpp-access",
      "/nudm-ueau/v1/{ue}/security-information/generate-auth-data",
      "/nausf-auth/v1/ue-authentications",
      "/nausf-auth/v1/ue-authentications/{ue}/5g-aka-confirmation",
      "/nnrf-disc/v1/nf-instances",
      "/nnrf-nfm/v1/nf-instances/{ue}",
      "/nsmf-pdusession/v1/pdu-sessions",
      "/npcf-ue-policy-control/v1/policies",
      "/nsepp-telescopic/v1/mapping",
      "/n32f-forward/v1/n32f-process",
      "/n32c-handshake/v1/exchange-capability",
      "/nudm-sdm/v2/{ue}/am-data/../../../nudm-uecm/v1/{ue}",
      "/nudm-sdm/v2//{ue}/am-data",
      "/NUDM-SDM/V2/{ue}/AM-DATA",
    ),
    ue,
  );
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(`/nudm-sdm/v2/${supi}/am-data`) },
    { weight: 5, arbitrary: api.map(([p, u]) => p.replaceAll("{ue}", u)) },
    { weight: 3, arbitrary: fc.array(fc.oneof(seg, ue), { maxLength: 7 }).map((s) => `/${s.join("/")}`) },
    {
      weight: 3,
      arbitrary: fc.tuple(api, query).map(([[p, u], q]) => `${p.replaceAll("{ue}", u)}?${q}`),
    },
  );
}

/** A JWT-looking bearer token whose claims name a PLMN (foreign or ours) and a target. */
export const jwtLike = fc
  .record({
    consumerPlmnId: fc.constantFrom({ mcc: "234", mnc: "15" }, { mcc: "999", mnc: "99" }, { mcc: "262", mnc: "01" }),
    aud: fc.constantFrom("UDM", "nudm-sdm", "*", ""),
    scope: fc.constantFrom("nudm-sdm", "nudm-sdm nudm-uecm", ""),
  })
  .chain((claims) =>
    fc.tuple(fc.constant(claims), fc.string({ unit: fc.constantFrom(..."ABCDEFabcdef0123456789-_"), maxLength: 86 })),
  )
  .map(
    ([c, sig]) =>
      `${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify(c)).toString("base64url")}.${sig}`,
  );

/** 3GPP headers (TS 29.500 5.2.3) and ordinary ones, each with right and wrong values (all HTTP/2-legal). */
export function sbiHeaderPair(udmAuthority: string): fc.Arbitrary<[string, string]> {
  const byName: Array<[string, fc.Arbitrary<string>]> = [
    [
      "3gpp-sbi-target-apiroot",
      fc.oneof(
        fc.constantFrom(
          `http://${udmAuthority}`,
          `https://${udmAuthority}`,
          `http://${udmAuthority}/prefix/v1`,
          `ftp://${udmAuthority}`,
          `http://user:pw@${udmAuthority}`,
          `http://${udmAuthority}?x=1`,
          "http://udm.5gc.mnc099.mcc999.3gppnetwork.org",
          "http://amf.5gc.mnc015.mcc234.3gppnetwork.org",
          "http://169.254.169.254",
          "http://[::1]:1",
          "http://127.0.0.1:1",
          `http://${udmAuthority}, http://169.254.169.254`,
          "udm.5gc.mnc001.mcc262.3gppnetwork.org",
          "//udm.5gc.mnc001.mcc262.3gppnetwork.org",
          "http://",
          "http:",
        ),
        hosts(udmAuthority).map((h) => `http://${h}`),
        fieldValue,
      ),
    ],
    [
      "3gpp-sbi-originating-network-id",
      fc.oneof(
        fc.constantFrom(
          "234-15",
          "234-015",
          "262-01",
          "999-99",
          "234-15; src: SEPP-sepp.5gc.mnc015.mcc234.3gppnetwork.org",
          "234-15; src: SEPP-evil.example",
          "234-15, 262-01",
          "234-1",
          "23415",
          "2345-15",
          "234-15;",
          "-",
        ),
        fieldValue,
      ),
    ],
    [
      "3gpp-sbi-max-rsp-time",
      fc.oneof(
        fc.constantFrom("0", "1", "-1", "4294967296", "1e3", "10000", "99999999999999999999", "0x10", "1.5"),
        fieldValue,
      ),
    ],
    [
      "3gpp-sbi-callback",
      fc.oneof(
        fc.constantFrom("Nudm_SDM_Notification", "Nudm_SDM_Notification; apiversion=2", "x; apiversion=x"),
        fieldValue,
      ),
    ],
    [
      "3gpp-sbi-routing-binding",
      fc.constantFrom("bl=nfinstance; nfinst=54804518-4191-46b3-955c-ac631f953ed8", "bl=nfset; nfset=x", "bl="),
    ],
    [
      "3gpp-sbi-discovery-target-plmn-list",
      fc.constantFrom('[{"mcc":"999","mnc":"99"}]', '[{"mcc":"262","mnc":"01"}]', "[", "null"),
    ],
    ["3gpp-sbi-message-priority", fc.constantFrom("0", "31", "32", "-1", "x")],
    ["3gpp-sbi-sender-timestamp", fc.constantFrom("Tue, 04 Feb 2020 08:49:37.845 GMT", "0", "x")],
    ["3gpp-sbi-source-nf-id", fc.oneof(fc.uuid(), fieldValue)],
    ["3gpp-sbi-client-credentials", fc.oneof(jwtLike, fieldValue)],
    [
      "authorization",
      fc.oneof(
        jwtLike.map((t) => `Bearer ${t}`),
        fc.constantFrom("Bearer", "Basic YTpi", "bearer x", "Bearer a.b.c"),
        // long tokens, up to about 16 kB (the TLS-mode N32 header bound)
        fc.integer({ min: 4000, max: 16_300 }).map((n) => `Bearer ${"A".repeat(n)}`),
        fieldValue,
      ),
    ],
    [
      "content-type",
      fc.oneof(
        fc.constantFrom(
          "application/json",
          "application/json",
          "application/problem+json",
          "application/merge-patch+json",
          "application/json-patch+json",
          "application/3gppHal+json",
          "multipart/related; boundary=b",
          "multipart/related",
          "application/json; charset=utf-16",
          "APPLICATION/JSON",
          "text/plain",
          "application/x-www-form-urlencoded",
          "application/vnd.3gpp.5gnas",
          "*/*",
        ),
        fieldValue,
      ),
    ],
    ["content-encoding", fc.constantFrom("gzip", "deflate", "br", "identity", "x-unknown", "gzip, gzip")],
    [
      "accept",
      fc.constantFrom("application/json", "application/problem+json", "*/*", "text/html", "application/json;q=0"),
    ],
    ["accept-encoding", fc.constantFrom("gzip", "br", "identity;q=0", "*")],
    ["user-agent", fc.constantFrom("AMF-amf.5gc.mnc015.mcc234.3gppnetwork.org", "UDM-x", "SEPP-evil")],
    ["via", fc.constantFrom("2.0 sepp.5gc.mnc015.mcc234.3gppnetwork.org", "HTTP/2.0 scp-1")],
    ["forwarded", fc.constantFrom("for=169.254.169.254", "by=127.0.0.1;host=udm")],
    ["x-forwarded-for", fc.constantFrom("127.0.0.1", "169.254.169.254")],
    ["te", fc.constant("trailers")],
    ["location", fc.constantFrom("http://169.254.169.254/", "/x")],
    ["cookie", fieldValue],
  ];
  return fc.oneof(
    { weight: 8, arbitrary: fc.oneof(...byName.map(([k, v]) => v.map((x): [string, string] => [k, x]))) },
    {
      weight: 2,
      arbitrary: fc.tuple(
        tokenOf(1, 24).map((t) => `x-${t}`),
        fieldValue,
      ),
    },
    {
      weight: 1,
      // a random name that happens to be te or connection-specific would break the request at the HTTP/2 level
      // (RFC 9113 8.2.2) without saying so; those breakages are generated on purpose (sbi-gen.ts) and tagged
      arbitrary: fc.tuple(
        tokenOf(1, 12).filter((t) => t !== "te" && !CONNECTION_SPECIFIC.includes(t)),
        fieldValue,
      ),
    },
  );
}

/** Header lists near the SEPP's bounds: count (maxHeaders), name length, total size (the HTTP/2 SETTINGS). */
export const bigHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.integer({ min: MAX_HEADERS - 3, max: MAX_HEADERS + 3 }).map((n) => {
    const h: Record<string, string> = {};
    for (let i = 0; i < n; i++) h[`x-h${i}`] = "v";
    return h;
  }),
  fc.integer({ min: MAX_NAME - 2, max: MAX_NAME + 2 }).map((n) => ({ [`x-${"n".repeat(n - 2)}`]: "v" })),
  // one value that brings the list within a few hundred octets of the listener's limit (still under it)
  fc.integer({ min: 900, max: 5000 }).map((gap) => ({ "x-big": "b".repeat(H2_HEADER_LIST - gap) })),
);
