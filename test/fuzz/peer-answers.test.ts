// Hostile ANSWERS from the peer (TS 33.501 13.1.1.1 topology hiding of responses; TS 29.510 discovery results;
// TS 29.500 5.2.3.2 Location): two real SEPP processes in TLS mode, where the peer's answers travel as plain HTTP/2,
// and a man-in-the-middle N32 proxy that answers the visited SEPP's requests itself with random discovery results
// (fqdn, addresses, services, deep nesting, giant arrays, prototype keys), Location headers and HAL _links. The
// visited SEPP rewrites what it can and refuses what it cannot: the NF gets the rewritten answer or a 502
// ProblemDetails, never a 500; every FQDN it gets back is a telescopic one or relative; it stays healthy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HOME_AUSF, HOME_NRF, VISITED, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import type { N32Proxy } from "../support/n32-proxy.ts";
import { RawH2, deepJson, expectHealthy, type RawResponse, SkipTally } from "../support/fuzz.ts";

const DISC = "/nnrf-disc/v1/nf-instances?target-nf-type=UDM&requester-nf-type=AMF";
const AUTH = "/nausf-auth/v1/ue-authentications";

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constantFrom(
    "udm.5gc.mnc001.mcc262.3gppnetwork.org",
    "udm.5gc.mnc999.mcc999.3gppnetwork.org",
    "127.0.0.1",
    "169.254.169.254",
    "[::1]",
    "a".repeat(300),
    "x..y",
    "-a.b",
    "",
  ),
  fc.integer({ min: 50, max: 2000 }).map((d) => JSON.parse(deepJson(d, "object"))),
  fc.integer({ min: 100, max: 2000 }).map((n) => new Array(n).fill({ fqdn: "udm.5gc.mnc001.mcc262.3gppnetwork.org" })),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')),
  fc.jsonValue({ maxDepth: 3 }),
);
const service = fc.record(
  {
    serviceInstanceId: fc.oneof(fc.string({ maxLength: 8 }), hostile),
    serviceName: fc.constantFrom("nudm-sdm", "nudm-uecm"),
    scheme: fc.oneof(fc.constantFrom("http", "https"), hostile),
    fqdn: hostile,
    ipEndPoints: fc.oneof(
      fc.array(fc.record({ ipv4Address: hostile, port: hostile }, { requiredKeys: [] }), { maxLength: 3 }),
      hostile,
    ),
    apiPrefix: hostile,
  },
  { requiredKeys: [] },
);
const profile = fc.record(
  {
    nfInstanceId: fc.uuid(),
    nfType: fc.constantFrom("UDM", "AUSF"),
    nfStatus: fc.constant("REGISTERED"),
    fqdn: hostile,
    interPlmnFqdn: hostile,
    ipv4Addresses: fc.oneof(fc.array(hostile, { maxLength: 3 }), hostile),
    nfServices: fc.oneof(fc.array(service, { maxLength: 3 }), hostile),
    nfServiceList: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), service, { maxKeys: 3 }), hostile),
  },
  { requiredKeys: ["nfInstanceId", "nfType"] },
);
const searchResult = fc.oneof(
  fc.record(
    {
      validityPeriod: fc.oneof(fc.nat(), hostile),
      nfInstances: fc.oneof(fc.array(profile, { maxLength: 4 }), hostile),
      nrfSupportedFeatures: hostile,
    },
    { requiredKeys: ["nfInstances"] },
  ),
  hostile,
);

describe("fuzz peer answers (TLS mode): hostile discovery results, Location headers and _links", () => {
  let w: TwoSepps<"f">;
  let v: SeppProcess;
  let proxy: N32Proxy;
  let nf: RawH2;
  let vLog0 = 0;
  const answers: Array<{ what: string; r: RawResponse }> = [];

  /** The proxy answers the next request itself; the NF's request through the visited SEPP returns. */
  const answered = async (
    what: string,
    method: string,
    authority: string,
    path: string,
    answer: { status: number; headers?: Record<string, string>; body?: string },
    body?: string,
  ) => {
    let fired = false;
    proxy.onRequest(() => {
      if (fired) return undefined;
      fired = true;
      return { kind: "respond", status: answer.status, headers: answer.headers, body: answer.body };
    });
    const r = await nf.request(
      method,
      path,
      { ":scheme": "http", ...(body ? { "content-type": "application/json" } : {}) },
      body,
      authority,
    );
    proxy.onRequest(null);
    expect(fired).toBe(true);
    answers.push({ what, r });
    return r;
  };
  /** the NF gets a telescopic FQDN of our SEPP, never the peer's topology */
  const ourFqdn = (host: string) => host === VISITED.fqdn || host.endsWith(`.${VISITED.fqdn}`);
  const expectAnswerOr502 = (r: RawResponse, what: string, okStatus: number) => {
    if (r.status === okStatus) return true;
    const pd = r.json();
    if (
      r.status !== 502 ||
      typeof pd?.cause !== "string" ||
      !(r.headers["content-type"] ?? "").startsWith("application/problem+json")
    )
      throw new Error(`${what}: ${r.status} ${r.body.toString().slice(0, 300)}`);
    return false;
  };

  beforeAll(async () => {
    w = await startTwoSepps({
      name: "fuzz-answers",
      capabilities: ["TLS"],
      proxies: { f: { target: "home", via: "n32f" } },
    });
    ({ visited: v } = w);
    proxy = w.proxies.f;
    nf = new RawH2(`http://127.0.0.1:${w.sides.visited.ports.sbi}`);
    vLog0 = v.logs.length;
  }, 60000);

  afterAll(async () => {
    nf?.close();
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("random discovery results: rewritten (only telescopic FQDNs, no addresses) or 502", async () => {
    const tally = new SkipTally("random discovery results", 0.85);
    await fc.assert(
      fc.asyncProperty(searchResult, async (sr) => {
        tally.run();
        const body = JSON.stringify(sr);
        const r = await answered("discovery", "GET", HOME_NRF, DISC, {
          status: 200,
          headers: { "content-type": "application/json" },
          body,
        });
        if (!expectAnswerOr502(r, `discovery ${body.slice(0, 100)}`, 200)) return tally.skip("refused with 502");
        const got = r.json();
        for (const p of Array.isArray(got?.nfInstances) ? got.nfInstances : []) {
          expect(p.ipv4Addresses).toBeUndefined();
          expect(p.ipv6Addresses).toBeUndefined();
          for (const f of [p.fqdn, p.interPlmnFqdn]) if (typeof f === "string") expect(ourFqdn(f)).toBe(true);
          const services = [
            ...(Array.isArray(p.nfServices) ? p.nfServices : []),
            ...Object.values(p.nfServiceList && typeof p.nfServiceList === "object" ? p.nfServiceList : {}),
          ] as any[];
          for (const s of services) if (typeof s?.fqdn === "string") expect(ourFqdn(s.fqdn)).toBe(true);
        }
      }),
      { seed: 0xd15c, numRuns: 60, endOnFailure: true },
    );
    tally.check();
  }, 30000);

  test("an answer over sbi.maxBodyBytes (1 MiB): 502 'too large', not 504 'not reachable'", async () => {
    const body = JSON.stringify({ nfInstances: [], pad: "x".repeat(1_200_000) });
    const r = await answered("too large", "GET", HOME_NRF, DISC, {
      status: 200,
      headers: { "content-type": "application/json" },
      body,
    });
    expect(r.status).toBe(502);
    expect(r.json().detail).toMatch(/too large/);
  });

  test("random Location headers on 201: a telescopic FQDN, a relative reference, or 502", async () => {
    // URI-shaped values as often as printable junk: what a peer could send by mistake or on purpose, and what the
    // rewrite must handle (most junk is refused with 502, and a run of it alone would test little of the rewrite)
    const loc = fc.oneof(
      fc.string({ maxLength: 60 }).filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e]*$/.test(s)),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.webPath().map((p) => p || "/"),
      fc.webPath().map((p) => `http://${HOME_AUSF}${p}`),
      fc.constantFrom(
        `http://${HOME_AUSF}${AUTH}/1`,
        `https://${HOME_AUSF}:8443${AUTH}/1?x=1#f`,
        "http://udm.5gc.mnc999.mcc999.3gppnetwork.org/x",
        "http://127.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://[::1]:80/x",
        "//evil.example/x",
        `${AUTH}/1`,
        "../../x",
        `http://user:pw@${HOME_AUSF}/x`,
        "javascript:alert(1)",
        `http://${"a".repeat(300)}.5gc.mnc001.mcc262.3gppnetwork.org/x`,
        `http://${HOME_AUSF}/${"p".repeat(20000)}`,
        `http://t${"a".repeat(25)}.${VISITED.fqdn}/x`,
      ),
    );
    // a value that starts or ends with whitespace makes the answer malformed (RFC 9113 §8.2.1): 502, not 504
    for (const l of [" 6", "/x\t"]) {
      const r = await answered(
        `Location ${JSON.stringify(l)}`,
        "POST",
        HOME_AUSF,
        AUTH,
        { status: 201, headers: { "content-type": "application/json", location: l }, body: "{}" },
        "{}",
      );
      expect(r.status).toBe(502);
      expect(r.json()).toMatchObject({ cause: "UNSPECIFIED_NF_FAILURE" });
    }
    const tally = new SkipTally("random Location headers on 201", 0.75);
    await fc.assert(
      fc.asyncProperty(loc, async (l) => {
        tally.run();
        const r = await answered(
          `Location ${l.slice(0, 60)}`,
          "POST",
          HOME_AUSF,
          AUTH,
          { status: 201, headers: { "content-type": "application/json", location: l }, body: "{}" },
          "{}",
        );
        if (!expectAnswerOr502(r, `Location ${JSON.stringify(l).slice(0, 100)}`, 201))
          return tally.skip("refused with 502");
        const got = r.headers.location;
        if (got === undefined) return tally.skip("no Location in the answer");
        const m = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(got);
        if (m) expect(ourFqdn(m[1]!.toLowerCase())).toBe(true);
      }),
      { seed: 0x10c, numRuns: 50, endOnFailure: true },
    );
    tally.check();
  }, 30000);

  test("random HAL _links: hrefs rewritten or relative, or 502", async () => {
    // hrefs: hostile JSON values, and URIs (absolute, relative, at the peer's producers)
    // (one bad href refuses the whole answer: the ones the rewrite takes weigh more, so that a run is not mostly 502s)
    const href = fc.oneof(
      { weight: 1, arbitrary: hostile },
      { weight: 1, arbitrary: fc.webUrl() },
      { weight: 2, arbitrary: fc.webPath().map((p) => p || "/") },
      { weight: 3, arbitrary: fc.webPath().map((p) => `http://${HOME_AUSF}${p}`) },
    );
    const links = fc.dictionary(
      fc.constantFrom("self", "5g-aka", "eap-session", "x", "__proto__"),
      fc.oneof(
        { weight: 3, arbitrary: fc.record({ href }, { requiredKeys: [] }) },
        { weight: 2, arbitrary: fc.array(fc.record({ href }), { maxLength: 3 }) },
        { weight: 1, arbitrary: hostile },
      ),
      { maxKeys: 3 },
    );
    const tally = new SkipTally("random HAL _links", 0.6);
    await fc.assert(
      fc.asyncProperty(links, async (ls) => {
        tally.run();
        const body = JSON.stringify({ authType: "5G_AKA", _links: ls });
        const r = await answered(
          "_links",
          "POST",
          HOME_AUSF,
          AUTH,
          {
            status: 201,
            headers: { "content-type": "application/hal+json", location: `http://${HOME_AUSF}${AUTH}/1` },
            body,
          },
          "{}",
        );
        if (!expectAnswerOr502(r, `_links ${body.slice(0, 100)}`, 201)) return tally.skip("refused with 502");
        const text = r.body.toString();
        for (const m of text.matchAll(/"href":"[a-z][a-z0-9+.-]*:\/\/([^/:?#"]+)/gi))
          expect(ourFqdn(m[1]!.toLowerCase())).toBe(true);
      }),
      { seed: 0x11a, numRuns: 40, endOnFailure: true },
    );
    tally.check();
  }, 30000);

  test("no 500 anywhere; the visited SEPP is healthy", async () => {
    expect(answers.length).toBeGreaterThan(100);
    // both outcomes were exercised: answers rewritten and answers refused
    for (const w of ["discovery", "_links"]) {
      expect(answers.filter((a) => a.what === w && a.r.status < 300).length).toBeGreaterThan(5);
      expect(answers.filter((a) => a.what === w && a.r.status === 502).length).toBeGreaterThan(0);
    }
    expect(
      answers
        .filter((a) => a.r.status >= 500 && a.r.status !== 502)
        .map((a) => `${a.what}: ${a.r.status} ${a.r.body.toString().slice(0, 100)}`),
    ).toEqual([]);
    await expectHealthy(v, expect, vLog0);
  });
});
