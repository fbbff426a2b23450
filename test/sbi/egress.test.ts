// pSEPP egress allow-list (src/sbi/egress.ts): never an open relay (N32-PROFILE P8). Hostile targets:
// other hosts, ports, schemes, paths; loopback/link-local/private/metadata addresses in every spelling.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { EgressConfigError, EgressPolicy, normalizePath, PathError, pathHasPrefix } from "../../src/sbi/egress.ts";
import { embeddedIPv4, specialAddressReason } from "../../src/sbi/special-addresses.ts";
import { parseIPv4, parseIPv6 } from "../../src/sbi/ip.ts";
import { parseApiRoot } from "../../src/sbi/api-root.ts";

const UDM = "udm.5gc.mnc001.mcc001.3gppnetwork.org";
const policy = new EgressPolicy([
  { host: UDM, apiPrefixes: ["/nudm-sdm/v2", "/nudm-uecm/v1/"] },
  { host: "*.ausf.mnc001.mcc001.3gppnetwork.org", port: 8443 },
  { host: "smf.5gc.mnc001.mcc001.3gppnetwork.org", scheme: "http", port: 8080 },
  { host: "203.0.113.7", scheme: "http", port: 80 },
  { host: "10.10.0.0/24", scheme: "http", port: 7777, apiPrefixes: ["/nudm-ueau/v1"] },
  { host: "[fd00::5]", port: 443 },
]);

const ok = (t: { scheme?: string; host: string; port?: number | null; path?: string }) =>
  policy.check({
    scheme: t.scheme ?? "https",
    host: t.host,
    port: t.port ?? null,
    path: t.path ?? "/nudm-sdm/v2/imsi-001010000000001/am-data",
  });

describe("allowed targets", () => {
  test("exact host, default https port, allowed prefix; the normalised path is returned", () => {
    const d = ok({ host: UDM, path: "/nudm-sdm/v2/imsi-1/am-data" });
    expect(d).toEqual({ ok: true, path: "/nudm-sdm/v2/imsi-1/am-data", entry: 0 });
    expect(ok({ host: UDM, port: 443, path: "/nudm-sdm/v2" }).ok).toBe(true);
    expect(ok({ host: UDM, path: "/nudm-uecm/v1/imsi-1/registrations" }).ok).toBe(true);
    expect(ok({ host: UDM.toUpperCase(), path: "/nudm-sdm/v2/x" }).ok).toBe(true);
  });
  test("unreserved percent-encodings are decoded before prefix matching", () => {
    expect(ok({ host: UDM, path: "/nudm%2Dsdm/v2/imsi-1" })).toEqual({
      ok: true,
      path: "/nudm-sdm/v2/imsi-1",
      entry: 0,
    });
    expect(ok({ host: UDM, path: "/nudm-sdm/v2/a%3ab" })).toEqual({ ok: true, path: "/nudm-sdm/v2/a%3Ab", entry: 0 });
  });
  test("domain pattern matches names strictly below the domain", () => {
    expect(ok({ host: "a.ausf.mnc001.mcc001.3gppnetwork.org", port: 8443 }).ok).toBe(true);
    expect(ok({ host: "x.y.ausf.mnc001.mcc001.3gppnetwork.org", port: 8443 }).ok).toBe(true);
    expect(ok({ host: "ausf.mnc001.mcc001.3gppnetwork.org", port: 8443 })).toMatchObject({
      ok: false,
      reason: "HOST_NOT_ALLOWED",
    });
    expect(ok({ host: "evilausf.mnc001.mcc001.3gppnetwork.org", port: 8443 })).toMatchObject({
      ok: false,
      reason: "HOST_NOT_ALLOWED",
    });
  });
  test("explicit IP literal and CIDR (special addresses allowed only this way)", () => {
    expect(ok({ scheme: "http", host: "203.0.113.7" }).ok).toBe(true);
    expect(ok({ scheme: "http", host: "10.10.0.9", port: 7777, path: "/nudm-ueau/v1/x" }).ok).toBe(true);
    expect(ok({ host: "fd00::5" }).ok).toBe(true);
    expect(ok({ host: "[fd00:0::5]" }).ok).toBe(true);
  });
});

describe("refused targets", () => {
  test("other hosts", () => {
    expect(ok({ host: "udm.5gc.mnc002.mcc001.3gppnetwork.org" })).toMatchObject({
      ok: false,
      reason: "HOST_NOT_ALLOWED",
    });
    expect(ok({ host: `${UDM}.evil.example` })).toMatchObject({ ok: false, reason: "HOST_NOT_ALLOWED" });
    expect(ok({ host: "8.8.8.8" })).toMatchObject({ ok: false, reason: "HOST_NOT_ALLOWED" });
  });
  test("other ports: unset port means the scheme's default only", () => {
    expect(ok({ host: UDM, port: 8443 })).toMatchObject({ ok: false, reason: "PORT_NOT_ALLOWED" });
    expect(ok({ host: "a.ausf.mnc001.mcc001.3gppnetwork.org" })).toMatchObject({
      ok: false,
      reason: "PORT_NOT_ALLOWED",
    });
    expect(ok({ scheme: "http", host: "smf.5gc.mnc001.mcc001.3gppnetwork.org", port: 80 })).toMatchObject({
      ok: false,
      reason: "PORT_NOT_ALLOWED",
    });
  });
  test("other schemes: unset scheme means https only", () => {
    expect(ok({ scheme: "http", host: UDM })).toMatchObject({ ok: false, reason: "SCHEME_NOT_ALLOWED" });
    expect(ok({ scheme: "https", host: "smf.5gc.mnc001.mcc001.3gppnetwork.org", port: 8080 })).toMatchObject({
      ok: false,
      reason: "SCHEME_NOT_ALLOWED",
    });
    expect(ok({ scheme: "file", host: UDM })).toMatchObject({ ok: false, reason: "SCHEME_NOT_ALLOWED" });
    expect(ok({ scheme: "ftp", host: UDM })).toMatchObject({ ok: false, reason: "SCHEME_NOT_ALLOWED" });
  });
  test("paths outside the prefixes, at segment boundaries", () => {
    for (const path of ["/nudm-sdm/v2x/a", "/nudm-sdm", "/nudm-ueau/v1/x", "/", "/admin", "/nudm-sdm/v20"])
      expect(ok({ host: UDM, path })).toMatchObject({ ok: false, reason: "PATH_NOT_ALLOWED" });
  });
  test("path games are refused before matching", () => {
    const games = [
      "/nudm-sdm/v2/../../admin",
      "/nudm-sdm/v2/%2e%2e/%2e%2e/admin",
      "/nudm-sdm/v2/%2E%2E/admin",
      "/nudm-sdm/v2/.%2e/admin",
      "/nudm-sdm/v2/./x",
      "/nudm-sdm/v2%2F..%2Fadmin",
      "/nudm-sdm/v2/%2fadmin",
      "/nudm-sdm/v2/%5c..%5cadmin",
      "/nudm-sdm/v2/..\\admin",
      "/nudm-sdm/v2/%252e%252e/admin",
      "/nudm-sdm/v2/%00",
      "/nudm-sdm//v2/x",
      "//nudm-sdm/v2/x",
      "nudm-sdm/v2/x",
      "/nudm-sdm/v2/x?y=1",
      "/nudm-sdm/v2/x#f",
      "/nudm-sdm/v2/a b",
      "/nudm-sdm/v2/\u00e9",
      "/nudm-sdm/v2/%zz",
      `/nudm-sdm/v2/${"a".repeat(5000)}`,
    ];
    for (const path of games) expect(ok({ host: UDM, path })).toMatchObject({ ok: false, reason: "INVALID_PATH" });
  });
  test("loopback, link-local, private, metadata, unspecified, multicast in every spelling", () => {
    const open = new EgressPolicy([{ host: "nf.example.org" }]);
    const special = [
      "127.0.0.1",
      "127.255.255.254",
      "0.0.0.0",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.100.100.200",
      "168.63.129.16",
      "192.0.0.192",
      "224.0.0.1",
      "255.255.255.255",
      "::1",
      "::",
      "fe80::1",
      "fc00::1",
      "fd00:ec2::254",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:169.254.169.254",
      "::ffff:a9fe:a9fe",
      "::127.0.0.1",
      "::8.8.8.8",
      "::ffff:0:127.0.0.1",
      "64:ff9b::127.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "64:ff9b:1::10.0.0.1",
      "2002:7f00:1::",
      "2002:a9fe:a9fe::1",
      "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo client 127.0.0.1 (obfuscated)
    ];
    for (const host of special) {
      const d = open.check({ scheme: "https", host, port: null, path: "/x" });
      expect({ host, d }).toMatchObject({ host, d: { ok: false, reason: "SPECIAL_ADDRESS" } });
    }
  });
  test("numeric tricks never reach the allow-list as another address", () => {
    const open = new EgressPolicy([{ host: "nf.example.org" }]);
    for (const host of [
      "2130706433",
      "0x7f000001",
      "0177.0.0.1",
      "127.1",
      "0x7f.0.0.1",
      "017700000001",
      "127.0.0.1.",
      "[::ffff:127.0.0.1",
    ])
      expect(open.check({ scheme: "https", host, port: null, path: "/x" })).toMatchObject({
        ok: false,
        reason: "INVALID_TARGET",
      });
  });
  test("local and metadata host names are refused unless named exactly", () => {
    const p = new EgressPolicy([{ host: "*.example.org" }, { host: "*.google.internal" }]);
    for (const host of [
      "localhost",
      "LOCALHOST.",
      "a.localhost",
      "metadata.google.internal",
      "metadata",
      "instance-data",
      "printer.local",
      "udm",
    ])
      expect(p.check({ scheme: "https", host, port: null, path: "/x" })).toMatchObject({
        ok: false,
        reason: "SPECIAL_ADDRESS",
      });
    const explicit = new EgressPolicy([{ host: "localhost", scheme: "http", port: 8080 }]);
    expect(explicit.check({ scheme: "http", host: "localhost", port: 8080, path: "/x" }).ok).toBe(true);
  });
  test("an explicit entry allows only the address it names", () => {
    const p = new EgressPolicy([{ host: "127.0.0.1", scheme: "http", port: 9000 }]);
    expect(p.check({ scheme: "http", host: "127.0.0.1", port: 9000, path: "/x" }).ok).toBe(true);
    expect(p.check({ scheme: "http", host: "127.0.0.2", port: 9000, path: "/x" })).toMatchObject({
      ok: false,
      reason: "SPECIAL_ADDRESS",
    });
    expect(p.check({ scheme: "http", host: "127.0.0.1", port: 9001, path: "/x" })).toMatchObject({
      ok: false,
      reason: "PORT_NOT_ALLOWED",
    });
    // the IPv4-mapped spelling of an explicitly allowed IPv4 address is still a different host literal
    expect(p.check({ scheme: "http", host: "::ffff:127.0.0.1", port: 9000, path: "/x" })).toMatchObject({
      ok: false,
      reason: "SPECIAL_ADDRESS",
    });
  });
  test("an out-of-range port is an invalid target", () => {
    for (const port of [0, -1, 65536, 443.5, Number.NaN])
      expect(ok({ host: UDM, port })).toMatchObject({ ok: false, reason: "INVALID_TARGET" });
  });
  test("works on what target.ts resolved (end to end over parseApiRoot)", () => {
    const r = parseApiRoot("https://[::ffff:169.254.169.254]/latest/meta-data");
    expect(policy.check({ scheme: r.scheme, host: r.host, port: r.port, path: r.pathPrefix })).toMatchObject({
      ok: false,
      reason: "SPECIAL_ADDRESS",
    });
  });
});

describe("configuration", () => {
  test("wildcards that would allow everything, bad CIDRs and prefixes are refused", () => {
    for (const a of [
      { host: "*" },
      { host: "*." },
      { host: "" },
      { host: "0.0.0.0/0" },
      { host: "::/0" },
      { host: "10.0.0.0/4" },
      { host: "fd00::/32" },
      { host: "*.org" },
      { host: "1.2.3.4/33" },
      { host: "a b" },
    ])
      expect(() => new EgressPolicy([a])).toThrow(EgressConfigError);
    expect(() => new EgressPolicy([{ host: "a.example.org", apiPrefixes: ["/a/../b"] }])).toThrow(/invalid API prefix/);
    expect(() => new EgressPolicy([{ host: "a.example.org", port: 0 }])).toThrow(/invalid port/);
    expect(() => new EgressPolicy([{ host: "a.example.org", scheme: "ftp" as "http" }])).toThrow(/scheme/);
  });
  test("an empty allow-list refuses everything", () => {
    const p = new EgressPolicy([]);
    expect(p.check({ scheme: "https", host: UDM, port: null, path: "/x" })).toMatchObject({
      ok: false,
      reason: "HOST_NOT_ALLOWED",
    });
  });
  test("trailing slash in a configured prefix is ignored; '/' allows any path", () => {
    const p = new EgressPolicy([{ host: "a.example.org", apiPrefixes: ["/"] }]);
    expect(p.check({ scheme: "https", host: "a.example.org", port: null, path: "/anything/x" }).ok).toBe(true);
  });
});

describe("resolved addresses (DNS rebinding)", () => {
  test("loopback/link-local/metadata refused; private-use accepted for allow-listed names", () => {
    expect(policy.checkResolvedAddress("10.20.30.40")).toEqual({ ok: true });
    expect(policy.checkResolvedAddress("fd12::1")).toEqual({ ok: true });
    expect(policy.checkResolvedAddress("::ffff:192.168.1.1")).toEqual({ ok: true });
    expect(policy.checkResolvedAddress("8.8.8.8")).toEqual({ ok: true });
    for (const a of [
      "127.0.0.1",
      "169.254.169.254",
      "::1",
      "fe80::1",
      "fd00:ec2::254",
      "0.0.0.0",
      "::ffff:127.0.0.1",
      "224.0.0.1",
      "bogus",
    ])
      expect(policy.checkResolvedAddress(a).ok).toBe(false);
  });
});

describe("helpers", () => {
  test("normalizePath", () => {
    expect(normalizePath("/")).toBe("/");
    expect(normalizePath("/a/b/")).toBe("/a/b/");
    expect(normalizePath("/%7euser/%41")).toBe("/~user/A");
    expect(normalizePath("/a%3a")).toBe("/a%3A");
    expect(() => normalizePath("/a/%2F")).toThrow(PathError);
  });
  test("property: normalizePath is idempotent and never yields dot segments or '//'", () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9\-._~%:@!$&'()*+,;=]{0,8}$/);
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 6 }), (segs) => {
        const raw = `/${segs.join("/")}`;
        let n: string;
        try {
          n = normalizePath(raw);
        } catch (e) {
          expect(e).toBeInstanceOf(PathError);
          return;
        }
        expect(normalizePath(n)).toBe(n);
        const parts = n.slice(1).split("/");
        expect(parts.slice(0, -1).includes("")).toBe(false);
        expect(parts.some((p) => p === "." || p === "..")).toBe(false);
        expect(/%2[fF]|%5[cC]|%2[eE]|%25/.test(n)).toBe(false);
      }),
    );
  });
  test("pathHasPrefix at segment boundaries", () => {
    expect(pathHasPrefix("/a/b", "/a")).toBe(true);
    expect(pathHasPrefix("/a", "/a")).toBe(true);
    expect(pathHasPrefix("/ab", "/a")).toBe(false);
    expect(pathHasPrefix("/x", "")).toBe(true);
  });
  test("embedded IPv4 and special reasons", () => {
    expect(embeddedIPv4(parseIPv6("::ffff:1.2.3.4")!)).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(embeddedIPv4(parseIPv6("2001:db8::1")!)).toBeNull();
    expect(specialAddressReason(parseIPv4("8.8.8.8")!)).toBeNull();
    expect(specialAddressReason(parseIPv6("2a00:1450::1")!)).toBeNull();
    expect(specialAddressReason(parseIPv4("169.254.169.254")!)).toMatch(/link-local/);
  });
  test("property: every IPv4-mapped form of a special IPv4 address is special", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), (xs) => {
        const v4 = new Uint8Array(xs);
        const mapped = new Uint8Array(16);
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped.set(v4, 12);
        expect(specialAddressReason(mapped) !== null).toBe(specialAddressReason(v4) !== null);
      }),
    );
  });
});

describe("fuzz: check() never throws and never allows what the list does not name", () => {
  test("random hosts, ports, schemes, paths", () => {
    const chars = fc.constantFrom(..."abc019.:/[]@%?#-_~\\ \u0000\u00e9fF".split(""));
    const junk = fc.array(chars, { maxLength: 40 }).map((a) => a.join(""));
    const p = new EgressPolicy([{ host: "nf.example.org", apiPrefixes: ["/api"] }]);
    fc.assert(
      fc.property(
        fc.constantFrom("http", "https", "HTTPS", "ftp", ""),
        junk,
        fc.option(fc.integer({ min: -1, max: 70000 })),
        junk,
        (scheme, host, port, path) => {
          const d = p.check({ scheme, host, port, path });
          if (d.ok) {
            expect(host.toLowerCase().replace(/\.$/, "")).toBe("nf.example.org");
            expect(d.path === "/api" || d.path.startsWith("/api/")).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
