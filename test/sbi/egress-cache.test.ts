// test/sbi/egress-cache.test.ts — the egress check's shortcuts (plain-path fast path of normalizePath, per-host
// verdict cache of EgressPolicy) give the same answers as the full algorithm.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { EgressPolicy, normalizePath, PathError } from "../../src/sbi/egress.ts";

/** The full normalisation, segment by segment (RFC 3986 6.2.2), as egress.ts does it for every path it cannot take the shortcut for. */
function reference(raw: string): string {
  if (!raw.startsWith("/")) throw new PathError("path must start with /");
  if (raw.length > 4096) throw new PathError("path too long");
  if (raw.includes("?") || raw.includes("#")) throw new PathError("query");
  if (raw === "/") return "/";
  const segs = raw.slice(1).split("/");
  return (
    "/" +
    segs
      .map((seg, i) => {
        if (seg === "" && i !== segs.length - 1) throw new PathError("empty");
        if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/.test(seg)) throw new PathError("char");
        const norm = seg.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => {
          const c = String.fromCharCode(parseInt(h, 16));
          if (c === "/" || c === "\\" || c === "%" || c === "\0" || c === ".") throw new PathError("enc");
          return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${h.toUpperCase()}`;
        });
        if (norm === "." || norm === "..") throw new PathError("dot");
        return norm;
      })
      .join("/")
  );
}

const outcome = (f: () => string) => {
  try {
    return f();
  } catch (e) {
    return e instanceof PathError ? "refused" : `other ${(e as Error).message}`;
  }
};

describe("egress shortcuts", () => {
  test("normalizePath = the full algorithm on paths made of tricky pieces", () => {
    const piece = fc.constantFrom(
      "/",
      "a",
      "nudm-sdm",
      "v2",
      ".",
      "..",
      "...",
      "%2e",
      "%2F",
      "%41",
      "%7e",
      "%20",
      "%",
      "%zz",
      "?",
      "#",
      "imsi-1",
      ":",
      "@",
      "é",
      " ",
      "\\",
      "//",
      "~",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const raw = `/${parts.join("")}`;
        expect(outcome(() => normalizePath(raw))).toBe(outcome(() => reference(raw)));
      }),
      { numRuns: 20_000 },
    );
    for (const raw of [
      "/",
      "/a/",
      "/a//b",
      "/./a",
      "/a/..",
      "/a/.../b",
      "/nudm-sdm/v2/imsi-262010000000001/am-data",
      "/a/%2e%2e/b",
    ])
      expect(outcome(() => normalizePath(raw))).toBe(outcome(() => reference(raw)));
  });

  test("a long allow-list decides as its entries tried in order: the first that allows, else the most specific refusal", () => {
    // which allowed host (exact, *.domain, CIDR, IP literal) each target host meets, written out
    const MEETS: Record<string, readonly string[]> = {
      "udm1.example.org": ["udm1.example.org", "*.example.org"],
      "udm2.example.org": ["udm2.example.org", "*.example.org"],
      "x.b.example.org": ["*.example.org", "*.b.example.org"],
      "93.184.216.34": ["93.184.216.0/24", "93.184.216.34"],
      "2606:4700::1111": ["2606:4700::/64"],
    };
    const allowed = [...new Set(Object.values(MEETS).flat()), "other.example.net"];
    let seed = 3;
    const pick = <T>(xs: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return xs[(seed >>> 12) % xs.length]!;
    };
    const defaultPort = (scheme: string) => (scheme === "https" ? 443 : 80);
    const seen = new Set<string>();
    for (let round = 0; round < 60; round++) {
      const entries = Array.from({ length: pick([1, 2, 3, 8, 50, 200]) }, () => ({
        host: pick(allowed),
        scheme: pick(["http", "https"] as const),
        ...(pick([true, false]) ? { port: pick([443, 8443, 80]) } : {}),
        ...(pick([true, false]) ? { apiPrefixes: [pick(["/nudm-sdm", "/nudm-uecm", "/"])] } : {}),
      }));
      const policy = new EgressPolicy(entries);
      for (let q = 0; q < 60; q++) {
        const target = {
          scheme: pick(["http", "https"]),
          host: pick(Object.keys(MEETS)),
          port: pick([null, 443, 8443, 80]),
          path: pick(["/nudm-sdm/v2/x", "/nudm-uecm/v1/y", "/napi/v1/z"]),
        };
        // the reference: every entry in order, the refusal of the furthest step reached (host, scheme, port, path)
        let want = "HOST_NOT_ALLOWED";
        const rank = ["HOST_NOT_ALLOWED", "SCHEME_NOT_ALLOWED", "PORT_NOT_ALLOWED", "PATH_NOT_ALLOWED"];
        const worse = (r: string) => (rank.indexOf(r) > rank.indexOf(want) ? r : want);
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          if (!MEETS[target.host]!.includes(e.host)) continue;
          if (e.scheme !== target.scheme) want = worse("SCHEME_NOT_ALLOWED");
          else if ((e.port ?? defaultPort(e.scheme)) !== (target.port ?? defaultPort(target.scheme)))
            want = worse("PORT_NOT_ALLOWED");
          else if (e.apiPrefixes && !e.apiPrefixes.some((p) => p === "/" || target.path.startsWith(`${p}/`)))
            want = worse("PATH_NOT_ALLOWED");
          else {
            want = `ok ${i}`;
            break;
          }
        }
        const got = policy.check(target);
        expect([target, got.ok ? `ok ${got.entry}` : got.reason]).toEqual([target, want]);
        expect(policy.check(target)).toEqual(got); // the kept verdict answers the same again
        seen.add(want.startsWith("ok") ? "ok" : want);
      }
    }
    expect([...seen].sort()).toEqual([
      "HOST_NOT_ALLOWED",
      "PATH_NOT_ALLOWED",
      "PORT_NOT_ALLOWED",
      "SCHEME_NOT_ALLOWED",
      "ok",
    ]);
  });

  test("the per-host verdict does not leak between hosts or change repeated answers", () => {
    const p = new EgressPolicy([
      { host: "udm.example.org", port: 8443, apiPrefixes: ["/nudm-sdm"] },
      { host: "localhost", scheme: "http", port: 80 },
      { host: "10.1.2.3", scheme: "http" },
    ]);
    const cases: Array<[string, string, number | null, string, boolean | string]> = [
      ["https", "udm.example.org", 8443, "/nudm-sdm/v2/x", true],
      ["https", "udm.example.org", 8443, "/nudm-uecm/v1/x", "PATH_NOT_ALLOWED"],
      ["https", "udm.example.org", 8443, "/nudm-sdm/../x", "INVALID_PATH"],
      ["https", "udm.example.org", 443, "/nudm-sdm/v2/x", "PORT_NOT_ALLOWED"],
      ["http", "localhost", null, "/x", true],
      ["http", "foo.localhost", null, "/x", "SPECIAL_ADDRESS"],
      ["http", "10.1.2.3", null, "/x", true],
      ["http", "10.1.2.4", null, "/x", "SPECIAL_ADDRESS"],
      ["http", "10.1.2.4", null, "//x", "INVALID_PATH"],
      ["http", "exa mple", null, "/x", "INVALID_TARGET"],
      ["http", "::1", null, "/x", "SPECIAL_ADDRESS"],
    ];
    for (let round = 0; round < 3; round++)
      for (const [scheme, host, port, path, want] of cases) {
        const d = p.check({ scheme, host, port, path });
        expect<boolean | string>(d.ok ? true : d.reason).toBe(want);
      }
  });
});
