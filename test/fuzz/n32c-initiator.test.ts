// Hostile N32-c ANSWERS to the initiator (TS 29.573 5.2, 6.1; TS 33.501 13.2.2, 13.5; Rel-18 307 redirect): two real
// SEPP processes; the visited SEPP reaches the home SEPP's N32-c through a man-in-the-middle proxy holding the
// home SEPP's certificate (the peer as the initiator sees it), which answers exchange-capability or
// exchange-params itself with random statuses, bodies (wrong types, deep nesting, huge strings, prototype keys,
// unoffered selections) and redirect Locations. Each handshake must fail cleanly (a bounded answer, a cause in the
// status, no context left behind); once the peer answers properly the association comes back; the SEPP stays healthy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HOME, HOME_UDM, VISITED, waitForState, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import type { N32Proxy } from "../support/n32-proxy.ts";
import { deepJson, expectHealthy, metricSum, hostileValue } from "../support/fuzz.ts";
import { validateBody } from "../../src/openapi/validate.ts";

const SUPI = "imsi-262010000000001";

const hostile: fc.Arbitrary<unknown> = hostileValue({
  doubles: false,
  huge: [1000, 30000],
  deep: [50, 3000],
  deepKinds: ["object"],
  jsonDepth: 3,
  extra: [fc.integer({ min: 100, max: 3000 }).map((n) => new Array(n).fill("PRINS"))],
});

describe("fuzz N32-c initiator: hostile answers from the peer's side", () => {
  let w: TwoSepps<"c">;
  let udm: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
  let proxy: N32Proxy;
  let amf: NfClient;
  let status0: any;
  let vLog0 = 0;
  const results: Array<{ what: string; status: number; ms: number }> = [];

  /** What the proxy answers to `op` now (every attempt, also the SEPP's own retries); everything else is forwarded. */
  let current: { op: string; status: number; headers?: Record<string, string>; body?: string } | null = null;
  let fired = 0;
  /** The proxy answers `op` with `answer`; a handshake is asked for and must fail with a cause, in bounded time. */
  const handshakeAgainst = async (
    what: string,
    op: "exchange-capability" | "exchange-params",
    answer: { status: number; headers?: Record<string, string>; body?: string },
  ) => {
    current = { op, ...answer };
    const fired0 = fired;
    const t0 = Date.now();
    const r = await v.admin("/v1/peers/home/n32/handshake", { method: "POST" });
    const ms = Date.now() - t0;
    results.push({ what, status: r.status, ms });
    // the handshake action answers the peer's status (200) or an error (502); never an active association here
    const body = (await r.json()) as {
      error?: string;
      state?: string;
      lastError?: { cause?: unknown };
      localContextId?: unknown;
    };
    const failed =
      r.status === 502
        ? typeof body.error === "string"
        : r.status === 200 &&
          body.state !== "active-prins" &&
          typeof body.lastError?.cause === "string" &&
          body.localContextId === null;
    if (!failed) throw new Error(`${what}: handshake ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
    expect(fired).toBeGreaterThan(fired0);
  };

  beforeAll(async () => {
    udm = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ gpsis: ["msisdn-491700000001"] }),
    }));
    w = await startTwoSepps({
      name: "fuzz-n32c-init",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      proxies: { c: { target: "home", via: "n32c" } },
      edit: (_side, c) => {
        c.n32c = { ...c.n32c, maxRequestsPerSecond: 100_000, requestTimeoutMs: 3000 };
      },
    });
    ({ visited: v, home: h, amf } = w);
    proxy = w.proxies.c;
    status0 = await waitForState(v, "home", "active-prins");
    // from now on the proxy plays the hostile peer for the operation under test; the association is torn down
    // first (a handshake asked for while one is active just reports it)
    proxy.onRequest((r) => {
      if (!current || !r.path.endsWith(`/${current.op}`)) return undefined;
      fired++;
      return { kind: "respond", status: current.status, headers: current.headers, body: current.body };
    });
    await v.admin("/v1/peers/home/n32/terminate", { method: "POST" });
    await waitForState(v, "home", "terminated");
    vLog0 = v.logs.length;
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("exchange-capability answered with garbage: the handshake fails with a cause, quickly", async () => {
    const good = { sender: HOME.fqdn, selectedSecCapability: "PRINS", plmnIdList: [HOME.plmn], supportedFeatures: "1" };
    const answer = fc.oneof(
      fc.record({
        status: fc.constantFrom(200, 201, 400, 403, 404, 500, 503, 204),
        ct: fc.constantFrom("application/json", "application/problem+json", "text/plain"),
        body: fc.oneof(
          hostile.map((x) => JSON.stringify(x)),
          fc.string({ maxLength: 30 }),
          fc.constant(deepJson(20000)),
        ),
      }),
      fc
        .tuple(
          fc.constantFrom(
            "sender",
            "selectedSecCapability",
            "plmnIdList",
            "supportedFeatures",
            "senderN32fFqdn",
            "senderN32fPortList",
          ),
          hostile,
        )
        // a value that leaves the answer valid ("" or hex features, a port list, a member left out as undefined) is
        // no garbage: the handshake may succeed on it (seen with another seed); sender and senderN32fFqdn stay, a valid
        // name other than the peer's must still be refused
        .filter(
          ([k, x]) =>
            k === "sender" ||
            k === "senderN32fFqdn" ||
            validateBody("SecNegotiateRspData", JSON.parse(JSON.stringify({ ...good, [k]: x }))) !== null,
        )
        .map(([k, x]) => ({ status: 200, ct: "application/json", body: JSON.stringify({ ...good, [k]: x }) })),
      fc.constantFrom("TLS", "NONE", "ALL", "prins").map((c) => ({
        status: 200,
        ct: "application/json",
        body: JSON.stringify({ ...good, selectedSecCapability: c }),
      })),
      fc
        .constantFrom(VISITED.fqdn, "evil.example", "sepp.5gc.mnc999.mcc999.3gppnetwork.org")
        .map((s) => ({ status: 200, ct: "application/json", body: JSON.stringify({ ...good, sender: s }) })),
    );
    await fc.assert(
      fc.asyncProperty(answer, async (a) =>
        handshakeAgainst(`capability ${a.status} ${a.body.slice(0, 60)}`, "exchange-capability", {
          status: a.status,
          headers: { "content-type": a.ct },
          body: a.body,
        }),
      ),
      { seed: 0xcab, numRuns: 40, endOnFailure: true },
    );
  }, 60000);

  test("307 redirects with hostile Locations are not followed", async () => {
    const loc = fc.oneof(
      fc.string({ maxLength: 50 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
      fc.constantFrom(
        "https://evil.example/n32c-handshake/v1/exchange-capability",
        "https://127.0.0.1:1/n32c-handshake/v1/exchange-capability",
        "https://[::1]/n32c-handshake/v1/exchange-capability",
        `https://user@${HOME.fqdn}/n32c-handshake/v1/exchange-capability`,
        `https://${HOME.fqdn}/n32c-handshake/v1/exchange-capability?x=1`,
        `http://${HOME.fqdn}/n32c-handshake/v1/exchange-capability`,
        "https://sepp.5gc.mnc999.mcc999.3gppnetwork.org/n32c-handshake/v1/exchange-capability",
        `https://${HOME.fqdn}/other`,
        `https://${"a".repeat(300)}.5gc.mnc001.mcc262.3gppnetwork.org/n32c-handshake/v1/exchange-capability`,
        "/n32c-handshake/v1/exchange-capability",
      ),
    );
    await fc.assert(
      fc.asyncProperty(loc, async (l) =>
        handshakeAgainst(`307 ${l.slice(0, 60)}`, "exchange-capability", { status: 307, headers: { location: l } }),
      ),
      { seed: 0x307, numRuns: 25, endOnFailure: true },
    );
  }, 60000);

  test("exchange-params answered with garbage: the handshake fails, no context is left behind", async () => {
    expect(await metricSum(v, "sepp_n32f_contexts_active")).toBe(0);
    const good = {
      n32fContextId: "0123456789abcdef",
      selectedJweCipherSuite: "A256GCM",
      selectedJwsCipherSuite: "ES256",
      sender: HOME.fqdn,
    };
    const answer = fc.oneof(
      fc.record({
        status: fc.constantFrom(200, 400, 403, 404, 500),
        body: fc.oneof(
          hostile.map((x) => JSON.stringify(x)),
          fc.constant(deepJson(20000)),
        ),
      }),
      fc
        .tuple(
          fc.constantFrom(
            "n32fContextId",
            "selectedJweCipherSuite",
            "selectedJwsCipherSuite",
            "sender",
            "ipxProviderSecInfoList",
            "selProtectionPolicyInfo",
          ),
          hostile,
        )
        .map(([k, x]) => ({ status: 200, body: JSON.stringify({ ...good, [k]: x }) })),
      fc
        .constantFrom("A128GCM-unoffered", "none", "A256GCMKW")
        .map((s) => ({ status: 200, body: JSON.stringify({ ...good, selectedJweCipherSuite: s }) })),
      fc.constant({ status: 200, body: JSON.stringify({ ...good, selectedJwsCipherSuite: "none" }) }),
      fc.constant({
        status: 200,
        body: JSON.stringify({
          ...good,
          ipxProviderSecInfoList: [{ ipxProviderId: "ipx.example", ipxProviderCertificateList: ["AAAA"] }],
        }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(answer, async (a) =>
        handshakeAgainst(`params ${a.status} ${a.body.slice(0, 60)}`, "exchange-params", {
          status: a.status,
          headers: { "content-type": "application/json" },
          body: a.body,
        }),
      ),
      { seed: 0x9a5, numRuns: 40, endOnFailure: true },
    );
    expect(await metricSum(v, "sepp_n32f_contexts_active")).toBe(0); // nothing left behind
  }, 60000);

  test("every failure was quick; once the peer answers properly a context is made (useless through a man in the middle); the SEPP is healthy", async () => {
    expect(results.length).toBeGreaterThan(90);
    expect(results.filter((r) => r.ms > 5000).map((r) => `${r.what}: ${r.ms} ms`)).toEqual([]);
    const failed = (await (await v.admin("/v1/peers/home/n32")).json()) as any;
    expect(failed.state).not.toBe("active-prins");
    expect(typeof failed.lastError?.cause).toBe("string");
    current = null;
    const s = (await (await v.admin("/v1/peers/home/n32/handshake", { method: "POST" })).json()) as any;
    expect(s.state).toBe("active-prins");
    expect(s.localContextId).not.toBe(status0.localContextId);
    expect(await metricSum(v, "sepp_n32f_contexts_active")).toBe(1);
    await waitForState(h, "visited", "active-prins");
    // this handshake ran through the proxy, a man in the middle of N32-c: the keys are bound to each TLS
    // connection (exporter, P1), so the two sides hold different keys and the first message is refused
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r.status).toBe(502);
    expect(r.json().cause).toBe("INTEGRITY_CHECK_FAILED");
    expect(udm.received.length).toBe(0);
    await expectHealthy(v, expect, vLog0);
  });
});
