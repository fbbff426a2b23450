// Target resolution at the cSEPP (src/sbi/target.ts): ABNF of 3gpp-Sbi-Target-apiRoot, telescopic
// precedence (TS 33.517 4.2.2.9), strict host parsing against hostile inputs.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  formatApiRoot,
  parseApiRoot,
  parseAuthority,
  parseHost,
  plmnOfHost,
  TargetError,
} from "../../src/sbi/api-root.ts";
import { formatIPv6, parseIPv4, parseIPv6 } from "../../src/sbi/ip.ts";
import { resolveTarget, telescopicLabelOf, type TargetContext, type TelescopicTarget } from "../../src/sbi/target.ts";

const DOMAIN = "sepp.5gc.mnc001.mcc001.3gppnetwork.org";
const table = new Map<string, TelescopicTarget>([
  ["tabc", { foreignHost: "udm1.5gc.mnc002.mcc262.3gppnetwork.org", scheme: "https", port: null }],
  ["tport", { foreignHost: "smf.5gc.mnc002.mcc262.3gppnetwork.org", scheme: "http", port: 8080 }],
  ["tnoscheme", { foreignHost: "ausf.5gc.mnc002.mcc262.3gppnetwork.org", scheme: null, port: null }],
  ["tv6", { foreignHost: "2001:db8::1", scheme: "https", port: 8443 }],
]);
const ctx: TargetContext = {
  seppDomain: DOMAIN,
  ownHosts: ["sepp-sbi.local.example"],
  resolveLabel: (l) => table.get(l) ?? null,
};

function err(f: () => unknown): TargetError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TargetError);
    return e as TargetError;
  }
  throw new Error("expected a TargetError");
}

describe("parseApiRoot (TS 29.500 ABNF sbi-scheme :// sbi-authority [prefix])", () => {
  test("scheme, host, port and prefix", () => {
    const r = parseApiRoot("https://UDM1.5gc.mnc002.mcc262.3gppnetwork.org:8443/op1/");
    expect(r).toEqual({
      scheme: "https",
      authority: "udm1.5gc.mnc002.mcc262.3gppnetwork.org:8443",
      host: "udm1.5gc.mnc002.mcc262.3gppnetwork.org",
      hostKind: "dns",
      port: 8443,
      pathPrefix: "/op1",
    });
    expect(formatApiRoot(r)).toBe("https://udm1.5gc.mnc002.mcc262.3gppnetwork.org:8443/op1");
  });
  test("OWS around the value, HTTP scheme in any case, no prefix, root prefix", () => {
    expect(parseApiRoot(" \tHTTP://nf.example.org \t")).toMatchObject({ scheme: "http", port: null, pathPrefix: "" });
    expect(parseApiRoot("https://nf.example.org/").pathPrefix).toBe("");
  });
  test("IPv4 and bracketed IPv6 literals", () => {
    expect(parseApiRoot("http://192.0.2.10:80")).toMatchObject({
      hostKind: "ipv4",
      host: "192.0.2.10",
      port: 80,
      authority: "192.0.2.10:80",
    });
    expect(parseApiRoot("https://[2001:DB8:0:0::1]:8443/p")).toMatchObject({
      hostKind: "ipv6",
      host: "2001:db8::1",
      authority: "[2001:db8::1]:8443",
    });
  });
  test("empty port is the default port (RFC 3986 port = *DIGIT)", () => {
    expect(parseApiRoot("https://nf.example.org:/x").port).toBeNull();
  });
  const bad: Array<[string, RegExp]> = [
    ["ftp://nf.example.org", /scheme ftp not allowed/],
    ["javascript://nf.example.org", /scheme/],
    ["nf.example.org/path", /scheme:\/\/authority/],
    ["https:/nf.example.org", /scheme:\/\/authority/],
    ["https://user:pw@nf.example.org", /userinfo/],
    ["https://evil.example.org@nf.example.org", /userinfo/],
    ["https://nf.example.org/a#frag", /fragment/],
    ["https://nf.example.org?x=1", /query/],
    ["https://nf.example.org/a?x=1", /query/],
    ["https://nf.example.org:0", /port out of range/],
    ["https://nf.example.org:65536", /port out of range/],
    ["https://nf.example.org:123456", /1 to 5 digits/],
    ["https://nf.example.org:-1", /1 to 5 digits/],
    ["https://nf.example.org:8o", /1 to 5 digits/],
    ["https://", /empty authority/],
    ["https://nf.example.org//x", /empty path segment/],
    ["https://nf.example.org/a/../b", /dot segment/],
    ["https://nf.example.org/./b", /dot segment/],
    ["https://nf.example.org/a b", /control character|invalid character/],
    ["https://nf.example.org/a\\b", /invalid character/],
    ["https://nf.example.org/a%zz", /invalid character/],
    ["https://nf.example.org/a\r\nx: y", /control character/],
    ["https://nf_x.example.org", /valid DNS name/],
    ["https://nf%2eexample.org", /percent-encoded/],
    ["https://-nf.example.org", /valid DNS name/],
    [`https://${"a".repeat(64)}.example.org`, /valid DNS name/],
    [`https://${"a.".repeat(130)}org`, /too long/],
    [`https://${"x".repeat(2100)}`, /apiRoot too long/],
    ["https://[::1", /unterminated/],
    ["https://[v1.x]", /IPvFuture/],
    ["https://[fe80::1%25eth0]", /zone/],
    ["https://[1:2:3]", /invalid IPv6/],
    ["https://::1", /brackets/],
    ["https://[::1]x", /garbage/],
  ];
  for (const [v, re] of bad)
    test(`refuses ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`, () => {
      const e = err(() => parseApiRoot(v));
      expect(e.message).toMatch(re);
      expect(e.status).toBe(400);
    });
});

describe("hosts: non-canonical IPv4 tricks are refused, not reinterpreted", () => {
  for (const h of [
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "0177.0.0.1",
    "127.1",
    "127.0.1",
    "1.2.3.0x4",
    "01.2.3.4",
    "256.1.1.1",
    "1.2.3.4.5",
    "127.0.0.1.",
    "0",
    "example.0x10",
    "example.123",
  ])
    test(`refuses ${h}`, () => {
      expect(err(() => parseHost(h)).message).toMatch(/non-canonical IPv4/);
    });
  test("canonical dotted quad and DNS names are accepted; trailing dot dropped; case folded", () => {
    expect(parseHost("127.0.0.1")).toMatchObject({ kind: "ipv4", host: "127.0.0.1" });
    expect(parseHost("NF.Example.ORG.")).toEqual({ kind: "dns", host: "nf.example.org" });
    expect(parseHost("0x7f.example.org")).toEqual({ kind: "dns", host: "0x7f.example.org" });
  });
  test("IPv6 parse/format: RFC 5952 canonical form, embedded IPv4", () => {
    expect(formatIPv6(parseIPv6("2001:0DB8:0000:0000:0000:0000:0000:0001")!)).toBe("2001:db8::1");
    expect(formatIPv6(parseIPv6("::ffff:127.0.0.1")!)).toBe("::ffff:7f00:1");
    expect(formatIPv6(parseIPv6("::")!)).toBe("::");
    expect(formatIPv6(parseIPv6("1:0:0:2:0:0:0:3")!)).toBe("1:0:0:2::3");
    expect(formatIPv6(parseIPv6("1:0:2:3:4:5:6:7")!)).toBe("1:0:2:3:4:5:6:7");
    expect(parseIPv6("::1.2.3.4")!.slice(12)).toEqual(new Uint8Array([1, 2, 3, 4]));
    for (const bad of [
      "1::2::3",
      ":1::",
      "1::2:",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1.2.3.4",
      ":1.2.3.4",
      "::1.2.3",
      "g::1",
      "1:2:3:4:5:6:7",
    ])
      expect(parseIPv6(bad)).toBeNull();
  });
  test("property: format(parse(x)) is a fixed point for any 16 bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const s = formatIPv6(b);
        expect(parseIPv6(s)).toEqual(b);
        expect(formatIPv6(parseIPv6(s)!)).toBe(s);
      }),
    );
  });
  test("property: parseIPv4 accepts exactly the canonical dotted quads", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (xs) => {
        expect(parseIPv4(xs.join("."))).toEqual(new Uint8Array(xs));
        expect(parseIPv4(xs.map((x) => `0${x}`).join("."))).toBeNull();
      }),
    );
  });
  test("parseAuthority", () => {
    expect(parseAuthority("[::1]:80")).toEqual({ host: "::1", kind: "ipv6", port: 80, authority: "[::1]:80" });
    expect(err(() => parseAuthority("a.example.org:80:80")).message).toMatch(/brackets/);
    expect(err(() => parseAuthority("a.example.org/x")).message).toMatch(/invalid character/);
  });
});

describe("plmnOfHost", () => {
  test("reads mncXXX.mccYYY.3gppnetwork.org at the end only", () => {
    expect(plmnOfHost("udm.5gc.mnc002.mcc262.3gppnetwork.org")).toEqual({ mcc: "262", mnc: "002" });
    expect(plmnOfHost("UDM.5GC.MNC002.MCC262.3GPPNETWORK.ORG.")).toEqual({ mcc: "262", mnc: "002" });
    expect(plmnOfHost("mnc002.mcc262.3gppnetwork.org")).toEqual({ mcc: "262", mnc: "002" });
    expect(plmnOfHost("udm.mnc002.mcc262.3gppnetwork.org.evil.example")).toBeNull();
    expect(plmnOfHost("udm.mnc02.mcc262.3gppnetwork.org")).toBeNull();
    expect(plmnOfHost("xmnc002.mcc262.3gppnetwork.org")).toBeNull();
    expect(plmnOfHost("nf.example.org")).toBeNull();
  });
});

describe("resolveTarget", () => {
  test("telescopic FQDN in :authority wins over 3gpp-Sbi-Target-apiRoot naming a third PLMN (TS 33.517 4.2.2.9)", () => {
    const r = resolveTarget(
      {
        scheme: "https",
        authority: `tabc.${DOMAIN}:8443`,
        targetApiRoot: "https://udm.5gc.mnc099.mcc999.3gppnetwork.org",
      },
      ctx,
    );
    expect(r).toMatchObject({
      via: "telescopic",
      telescopicLabel: "tabc",
      scheme: "https",
      host: "udm1.5gc.mnc002.mcc262.3gppnetwork.org",
      authority: "udm1.5gc.mnc002.mcc262.3gppnetwork.org",
      port: null,
      pathPrefix: "",
      plmn: { mcc: "262", mnc: "002" },
    });
  });
  test("telescopic label carries the foreign scheme and port; the NF's :scheme and port towards us do not matter", () => {
    expect(resolveTarget({ scheme: "https", authority: `TPORT.${DOMAIN.toUpperCase()}.` }, ctx)).toMatchObject({
      scheme: "http",
      authority: "smf.5gc.mnc002.mcc262.3gppnetwork.org:8080",
      port: 8080,
    });
    expect(resolveTarget({ scheme: "http", authority: `tnoscheme.${DOMAIN}` }, ctx)).toMatchObject({
      scheme: "http",
      plmn: { mcc: "262", mnc: "002" },
    });
    expect(resolveTarget({ scheme: "https", authority: `tv6.${DOMAIN}` }, ctx)).toMatchObject({
      hostKind: "ipv6",
      authority: "[2001:db8::1]:8443",
      plmn: null,
    });
  });
  test("an altered telescopic FQDN is not forwarded: 404, even with a valid header", () => {
    const e = err(() =>
      resolveTarget(
        {
          scheme: "https",
          authority: `tabd.${DOMAIN}`,
          targetApiRoot: "https://udm.5gc.mnc002.mcc262.3gppnetwork.org",
        },
        ctx,
      ),
    );
    expect(e.code).toBe("UNKNOWN_TELESCOPIC_LABEL");
    expect(e.status).toBe(404);
  });
  test("a telescopic FQDN in the header is mapped back too, keeping the header's prefix", () => {
    const r = resolveTarget(
      { scheme: "http", authority: DOMAIN, targetApiRoot: `http://tport.${DOMAIN}:9443/pre` },
      ctx,
    );
    expect(r).toMatchObject({
      via: "telescopic",
      scheme: "http",
      authority: "smf.5gc.mnc002.mcc262.3gppnetwork.org:8080",
      pathPrefix: "/pre",
      telescopicLabel: "tport",
    });
    const e = err(() =>
      resolveTarget({ scheme: "http", authority: DOMAIN, targetApiRoot: `https://tnope.${DOMAIN}` }, ctx),
    );
    expect(e).toMatchObject({ code: "UNKNOWN_TELESCOPIC_LABEL", status: 404, param: "3gpp-Sbi-Target-apiRoot" });
  });
  test("header when :authority is this SEPP", () => {
    for (const authority of [DOMAIN, `${DOMAIN}:443`, "sepp-sbi.local.example:8080"]) {
      const r = resolveTarget(
        { scheme: "http", authority, targetApiRoot: ["https://udm.5gc.mnc002.mcc262.3gppnetwork.org:443/pre"] },
        ctx,
      );
      expect(r).toMatchObject({
        via: "header",
        scheme: "https",
        port: 443,
        pathPrefix: "/pre",
        plmn: { mcc: "262", mnc: "002" },
      });
    }
  });
  test("header wins over a foreign :authority (the authority is the next hop)", () => {
    const r = resolveTarget(
      { scheme: "https", authority: "scp.example.org", targetApiRoot: "https://udm.5gc.mnc002.mcc262.3gppnetwork.org" },
      ctx,
    );
    expect(r.via).toBe("header");
  });
  test("two labels under our domain is not a telescopic FQDN", () => {
    expect(telescopicLabelOf(`a.b.${DOMAIN}`, DOMAIN)).toBeNull();
    expect(telescopicLabelOf(DOMAIN, DOMAIN)).toBeNull();
    expect(telescopicLabelOf(`x${DOMAIN}`, DOMAIN)).toBeNull();
    const r = resolveTarget({ scheme: "https", authority: `a.b.${DOMAIN}` }, ctx);
    expect(r.via).toBe("authority");
  });
  test(":authority as target when it names another host and no header (proxy use)", () => {
    expect(
      resolveTarget({ scheme: "https", authority: "udm.5gc.mnc002.mcc262.3gppnetwork.org:29503" }, ctx),
    ).toMatchObject({
      via: "authority",
      port: 29503,
      plmn: { mcc: "262", mnc: "002" },
    });
  });
  test("no target at all", () => {
    expect(err(() => resolveTarget({ scheme: "https", authority: DOMAIN }, ctx))).toMatchObject({
      code: "NO_TARGET",
      status: 400,
      problemCause: "MANDATORY_IE_MISSING",
    });
    expect(err(() => resolveTarget({ scheme: "https", authority: DOMAIN, targetApiRoot: [] }, ctx)).code).toBe(
      "NO_TARGET",
    );
  });
  test("repeated or hostile header values are refused", () => {
    expect(
      err(() =>
        resolveTarget(
          { scheme: "https", authority: DOMAIN, targetApiRoot: ["https://a.example.org", "https://b.example.org"] },
          ctx,
        ),
      ).message,
    ).toMatch(/more than one/);
    expect(
      err(() => resolveTarget({ scheme: "https", authority: DOMAIN, targetApiRoot: "https://a@b.example.org" }, ctx))
        .message,
    ).toMatch(/userinfo/);
    expect(err(() => resolveTarget({ scheme: "gopher", authority: "a.example.org" }, ctx)).param).toBe(":scheme");
    expect(err(() => resolveTarget({ scheme: "https", authority: "a@b.example.org" }, ctx))).toMatchObject({
      message: expect.stringMatching(/userinfo/),
      param: ":authority",
      status: 400,
    });
  });
});

describe("fuzz: hostile input only ever yields a TargetError", () => {
  const chars = fc.constantFrom(..."abcxyz019.:/[]@%?#-_~!$&'()*+,;=\\ \t\r\n\u0000\u00e9ffFF".split(""));
  const junk = fc.array(chars, { maxLength: 80 }).map((a) => a.join(""));
  test("parseApiRoot / resolveTarget", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("", "http://", "https://", "https://[", "https://a.example.org"),
        junk,
        junk,
        (pre, a, b) => {
          for (const f of [
            () => parseApiRoot(pre + a),
            () => resolveTarget({ scheme: "https", authority: a, targetApiRoot: pre + b }, ctx),
          ]) {
            try {
              const r = f();
              // whatever is accepted is canonical and re-parses to itself
              expect(parseApiRoot(formatApiRoot(r))).toMatchObject({
                scheme: r.scheme,
                authority: r.authority,
                pathPrefix: r.pathPrefix,
              });
            } catch (e) {
              expect(e).toBeInstanceOf(TargetError);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
