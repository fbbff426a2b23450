// The pure screening rules (src/screening/): category 1 operation matching per role, category 2 PLMN consistency
// (path SUPI, query plmn-id, body serving network name, form bodies, access token), category 3 serving-partner
// plausibility (learned from successful registration/authentication, bounded, expiring), the inter-PLMN purpose,
// per-PLMN and per-API rates, the producers' 3gpp-Sbi-Oci, and the security events and counters of refusals.
import { describe, expect, setSystemTime, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import { OperationTable } from "../../src/screening/operations.ts";
import { CompiledRules } from "../../src/screening/rules.ts";
import { OverloadTable, parseOci } from "../../src/screening/overload.ts";
import { ServingPartnerStore } from "../../src/screening/plausibility.ts";
import { extract, supiHomeMatches } from "../../src/screening/plmn.ts";
import { checkPurpose } from "../../src/screening/purpose.ts";
import { Screening, type ScreenedRequest, type ScreeningObservation } from "../../src/screening/screening.ts";

const root = join(import.meta.dir, "../..");
const VISITED = { mcc: "234", mnc: "15" };
const SUPI = "imsi-262010000000001";
const FOREIGN_SUPI = "imsi-310150000000001";

function config(edit: (c: any) => void = () => {}): SeppConfig {
  const c = JSON.parse(readFileSync(join(root, "config", "example-home.json"), "utf8"));
  c.peers.push({
    ...c.peers[0],
    id: "other",
    n32Fqdn: "sepp.5gc.mnc002.mcc208.3gppnetwork.org",
    plmnIds: [{ mcc: "208", mnc: "02" }],
  });
  c.screening = {
    operations: { mode: "refuse" },
    plmnConsistency: { mode: "refuse" },
    plausibility: { mode: "refuse", windowSeconds: 60, maxEntries: 3 },
    purpose: { mode: "refuse" },
  };
  edit(c);
  const r = parseConfig(c);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

function setup(cfg: SeppConfig, share?: (o: ScreeningObservation) => void) {
  const lines: Array<Record<string, unknown>> = [];
  const metrics = new Registry();
  let now = 1_700_000_000_000;
  const s = new Screening({
    config: () => cfg,
    log: createLogger({ sink: (l) => lines.push(JSON.parse(l)) }),
    metrics,
    now: () => now,
    share,
  });
  const peer = (id = "visited") => cfg.peers.find((p) => p.id === id)!;
  const req = (o: Partial<ScreenedRequest> & { peerId?: string }): ScreenedRequest => ({
    peer: peer(o.peerId),
    remotePlmnIds: peer(o.peerId).plmnIds,
    messageId: "msg-1",
    method: "GET",
    path: `/nudm-sdm/v2/${SUPI}/am-data`,
    authority: "udm.5gc.mnc001.mcc262.3gppnetwork.org:8080",
    headers: [],
    ...o,
  });
  return { s, lines, metrics, req, advance: (ms: number) => (now += ms) };
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const causeOf = (v: ReturnType<Screening["inbound"]>) => (v.ok ? null : v.refusal.problem.cause);

describe("category 1: operations per role", () => {
  const t = new OperationTable([
    { api: "nudm-sdm", version: "v2", method: "GET", resource: "/{supi}/am-data" },
    { api: "nudm-sdm", version: "v2", method: "GET", resource: "/shared-data" },
    { api: "nudm-sdm", version: "v2", method: "GET", resource: "/{supi}" },
    { method: "POST", resource: "/oauth2/token" },
    { callbackType: "Nudm_SDM_datachangeNotification" },
  ]);
  test("matches a resource template with its variables, also behind an apiRoot path prefix", () => {
    expect(t.match("GET", `/nudm-sdm/v2/${SUPI}/am-data`)?.vars).toEqual({ supi: SUPI });
    expect(t.match("GET", `/pfx/nudm-sdm/v2/${SUPI}/am-data`)?.resource).toBe("/{supi}/am-data");
    expect(t.match("GET", "/nudm-sdm/v2/shared-data")?.resource).toBe("/shared-data");
    expect(t.match("POST", "/oauth2/token")?.resource).toBe("/oauth2/token");
  });
  test("refuses another method, another version, an unknown API, extra segments", () => {
    expect(t.match("DELETE", `/nudm-sdm/v2/${SUPI}/am-data`)).toBeNull();
    expect(t.match("GET", `/nudm-sdm/v1/${SUPI}/am-data`)).toBeNull();
    expect(t.match("GET", `/nudm-uecm/v1/${SUPI}/registrations`)).toBeNull();
    expect(t.match("GET", `/nudm-sdm/v2/${SUPI}/am-data/x`)).toBeNull();
    expect(t.match("GET", "/oauth2/token")).toBeNull();
  });
  test("callback types are allowed by name", () => {
    expect(t.callbackAllowed("Nudm_SDM_datachangeNotification")).toBe(true);
    expect(t.callbackAllowed("Nudm_UECM_deregistrationNotification")).toBe(false);
  });
  test("defaults: a visited partner may read subscription data from our UDM, not create SM contexts", () => {
    const { s, req } = setup(config());
    expect(s.inbound(req({})).ok).toBe(true);
    const v = s.inbound(req({ method: "POST", path: "/nsmf-pdusession/v1/sm-contexts" }));
    expect(causeOf(v)).toBe("SCREENING_CAT1_NOT_ALLOWED");
    expect(v.ok ? 0 : v.refusal.status).toBe(403);
  });
  test("a peer we only serve as visited network cannot reach our UDM; its UDM's notifications can reach our AMF", () => {
    const { s, req } = setup(config((c) => (c.peers[0].screening = { roles: ["visited"] })));
    expect(causeOf(s.inbound(req({})))).toBe("SCREENING_CAT1_NOT_ALLOWED");
    const notify = req({
      method: "POST",
      path: "/namf-callback/v1/sdm-notify",
      headers: [["3gpp-sbi-callback", "Nudm_SDM_datachangeNotification; apiversion=2"]],
    });
    expect(s.inbound(notify).ok).toBe(true);
    const other = { ...notify, headers: [["3gpp-sbi-callback", "Nfoo_bar"]] as Array<[string, string]> };
    expect(causeOf(s.inbound(other))).toBe("SCREENING_CAT1_NOT_ALLOWED");
  });
  test("useDefaults false: only the peer's own list", () => {
    const { s, req } = setup(
      config(
        (c) =>
          (c.peers[0].screening = {
            useDefaults: false,
            allowedOperations: [{ api: "nudm-sdm", version: "v2", method: "GET", resource: "/{supi}/nssai" }],
          }),
      ),
    );
    expect(causeOf(s.inbound(req({})))).toBe("SCREENING_CAT1_NOT_ALLOWED");
    expect(s.inbound(req({ path: `/nudm-sdm/v2/${SUPI}/nssai` })).ok).toBe(true);
  });
  test("mode log forwards but counts and logs a security event", () => {
    const { s, req, lines, metrics } = setup(config((c) => (c.screening.operations.mode = "log")));
    expect(s.inbound(req({ method: "POST", path: "/nsmf-pdusession/v1/sm-contexts" })).ok).toBe(true);
    expect(lines.at(-1)).toMatchObject({ category: "security", action: "logged", screening: "category-1" });
    expect(metrics.render()).toContain(
      'sepp_screening_events_total{action="logged",category="category-1",peer="visited",rule="operation"} 1',
    );
  });
});

describe("category 2: PLMN consistency", () => {
  test("the SUPI in the path must be one of ours (role home)", () => {
    const { s, req } = setup(config());
    expect(causeOf(s.inbound(req({ path: `/nudm-sdm/v2/${FOREIGN_SUPI}/am-data` })))).toBe(
      "SCREENING_CAT2_PLMN_MISMATCH",
    );
  });
  test("query plmn-id must be the peer's", () => {
    const { s, req } = setup(config());
    const q = (p: unknown) => `plmn-id=${encodeURIComponent(JSON.stringify(p))}`;
    expect(s.inbound(req({ query: q(VISITED) })).ok).toBe(true);
    expect(causeOf(s.inbound(req({ query: q({ mcc: "208", mnc: "02" }) })))).toBe("SCREENING_CAT2_PLMN_MISMATCH");
    expect(causeOf(s.inbound(req({ query: "plmn-id=notjson" })))).toBe("SCREENING_CAT2_PLMN_MISMATCH");
  });
  test("the serving network name of an authentication request must be the peer's", () => {
    const { s, req } = setup(config());
    const auth = (snn: string) =>
      req({
        method: "POST",
        path: "/nausf-auth/v1/ue-authentications",
        headers: [["content-type", "application/json"]],
        body: json({ supiOrSuci: "suci-0-262-01-0000-0-0-0123456789", servingNetworkName: snn }),
      });
    expect(s.inbound(auth("5G:mnc015.mcc234.3gppnetwork.org")).ok).toBe(true);
    const v = s.inbound(auth("5G:mnc002.mcc208.3gppnetwork.org"));
    expect(causeOf(v)).toBe("SCREENING_CAT2_PLMN_MISMATCH");
    // the detail names the IE, never its value
    expect(v.ok ? "" : v.refusal.problem.detail).not.toContain("208");
  });
  test("the JSON root part of a multipart/related body is screened (PDU session create with its N1 SM message)", () => {
    const { s, req } = setup(config());
    const boundary = "b0undary";
    const create = (supi: string, rootType = "application/json") =>
      req({
        method: "POST",
        path: "/nsmf-pdusession/v1/pdu-sessions",
        headers: [["content-type", `multipart/related; boundary=${boundary}; type="application/json"`]],
        body: new TextEncoder().encode(
          [
            `--${boundary}`,
            `Content-Type: ${rootType}`,
            "",
            JSON.stringify({ supi, servingNetwork: { mcc: "234", mnc: "15" }, pduSessionId: 5 }),
            `--${boundary}`,
            "Content-Type: application/vnd.3gpp.5gnas",
            "Content-Id: n1msg",
            "",
            "\u0001\u0002\u0003",
            `--${boundary}--`,
            "",
          ].join("\r\n"),
        ),
      });
    expect(s.inbound(create(SUPI)).ok).toBe(true);
    expect(causeOf(s.inbound(create(FOREIGN_SUPI)))).toBe("SCREENING_CAT2_PLMN_MISMATCH");
    // a root part that is not JSON carries no IE to check (the body validation, when on, refuses it)
    expect(s.inbound(create(FOREIGN_SUPI, "text/plain")).ok).toBe(true);
  });
  test("an access token request's form body: requesterPlmn the peer's, targetPlmn ours", () => {
    const { s, req } = setup(config());
    const token = (requester: unknown, target: unknown) =>
      req({
        method: "POST",
        path: "/oauth2/token",
        headers: [["content-type", "application/x-www-form-urlencoded"]],
        body: new TextEncoder().encode(
          new URLSearchParams({
            grant_type: "client_credentials",
            requesterPlmn: JSON.stringify(requester),
            targetPlmn: JSON.stringify(target),
          }).toString(),
        ),
      });
    expect(s.inbound(token(VISITED, { mcc: "262", mnc: "01" })).ok).toBe(true);
    expect(causeOf(s.inbound(token(VISITED, { mcc: "208", mnc: "02" })))).toBe("SCREENING_CAT2_PLMN_MISMATCH");
    expect(causeOf(s.inbound(token({ mcc: "262", mnc: "01" }, { mcc: "262", mnc: "01" })))).toBe(
      "SCREENING_CAT2_PLMN_MISMATCH",
    );
  });
  test("a configured rule: the access token's consumer PLMN must be the peer's", () => {
    const { s, req } = setup(
      config((c) => {
        c.screening.plmnConsistency.rules = [
          { api: "nudm-sdm", in: "header", name: "authorization", kind: "accessToken", expect: "peer" },
        ];
      }),
    );
    const jwt = (claims: unknown) => `Bearer e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
    expect(s.inbound(req({ headers: [["authorization", jwt({ consumerPlmnId: VISITED })]] })).ok).toBe(true);
    expect(
      causeOf(s.inbound(req({ headers: [["authorization", jwt({ consumerPlmnId: { mcc: "208", mnc: "02" } })]] }))),
    ).toBe("SCREENING_CAT2_PLMN_MISMATCH");
  });
  test("configured rules are selected per role and operation (API version, method), the same on every request", () => {
    const cfg = config((c) => {
      c.screening.plmnConsistency.defaults = false;
      c.screening.plmnConsistency.rules = [
        { role: "home", api: "nudm-sdm", in: "header", name: "authorization", kind: "accessToken", expect: "peer" },
        { role: "visited", in: "query", name: "plmn-id", kind: "plmnId", expect: "own" },
        { api: "nudm-sdm", version: "v1", method: "GET", in: "query", name: "v1-only", kind: "plmnId", expect: "peer" },
      ];
    });
    const rules = new CompiledRules(cfg);
    const op = {
      prefix: "/nudm-sdm/v2",
      api: "nudm-sdm",
      version: "v2",
      method: "GET",
      resource: "/{supi}/am-data",
      vars: {},
    };
    const names = (role: "home" | "visited", o: typeof op) => rules.plmnRules(role, o).map((r) => r.name);
    for (let i = 0; i < 2; i++) {
      expect(names("home", op)).toEqual(["authorization"]);
      expect(names("visited", op)).toEqual(["plmn-id"]);
      expect(names("home", { ...op, prefix: "/nudm-sdm/v1", version: "v1" })).toEqual(["authorization", "v1-only"]);
      expect(names("home", { ...op, prefix: "/nudm-sdm/v1", version: "v1", method: "PUT" })).toEqual(["authorization"]);
    }
  });
  test("extractors: serving network name, lists, SUPI/SUCI home networks", () => {
    expect(extract("servingNetworkName", "5G:mnc015.mcc234.3gppnetwork.org")).toEqual([{ mcc: "234", mnc: "015" }]);
    expect(extract("servingNetworkName", "5G:mnc15.mcc234.3gppnetwork.org")).toBe("malformed");
    expect(extract("plmnIdList", '[{"mcc":"234","mnc":"15"}]')).toEqual([VISITED]);
    expect(extract("plmnIdList", "[]")).toBe("malformed");
    expect(supiHomeMatches(SUPI, [{ mcc: "262", mnc: "01" }])).toBe("match");
    expect(supiHomeMatches(SUPI, [VISITED])).toBe("mismatch");
    expect(supiHomeMatches("suci-0-262-01-0000-0-0-01", [{ mcc: "262", mnc: "001" }])).toBe("match");
    expect(supiHomeMatches("nai-user@example.org", [VISITED])).toBe("none");
  });
});

describe("category 3: serving partner plausibility", () => {
  const register = (supi: string) => ({
    method: "PUT",
    path: `/nudm-uecm/v1/${supi}/registrations/amf-3gpp-access`,
  });
  test("a successful registration through one partner makes another partner's request implausible within the window", () => {
    const { s, req, advance } = setup(config());
    const v = s.inbound(req(register(SUPI)));
    if (!v.ok) throw new Error("registration refused");
    // a failed registration teaches nothing
    s.answered(v.ticket, 403, [], undefined);
    expect(s.inbound(req({ peerId: "other", remotePlmnIds: [{ mcc: "208", mnc: "02" }] })).ok).toBe(true);
    s.answered(v.ticket, 201, [], undefined);
    expect(s.inbound(req({})).ok).toBe(true);
    const other = req({ peerId: "other" });
    expect(causeOf(s.inbound(other))).toBe("SCREENING_CAT3_IMPLAUSIBLE");
    advance(61_000);
    expect(s.inbound(other).ok).toBe(true);
  });
  test("learned from a successful 5G AKA confirmation (the SUPI in the answer)", () => {
    const { s, req } = setup(config());
    const v = s.inbound(req({ method: "PUT", path: "/nausf-auth/v1/ue-authentications/ctx1/5g-aka-confirmation" }));
    if (!v.ok) throw new Error("refused");
    s.answered(
      v.ticket,
      200,
      [["content-type", "application/json"]],
      json({ authResult: "AUTHENTICATION_FAILURE", supi: SUPI }),
    );
    expect(s.inbound(req({ peerId: "other" })).ok).toBe(true);
    s.answered(
      v.ticket,
      200,
      [["content-type", "application/json"]],
      json({ authResult: "AUTHENTICATION_SUCCESS", supi: SUPI }),
    );
    expect(causeOf(s.inbound(req({ peerId: "other" })))).toBe("SCREENING_CAT3_IMPLAUSIBLE");
  });
  test("the record is bounded: the oldest entry goes first", () => {
    let now = 0;
    const st = new ServingPartnerStore({ windowSeconds: 10, maxEntries: 2, now: () => now });
    st.learn("imsi-1", "a");
    st.learn("imsi-2", "a");
    st.learn("imsi-3", "b");
    expect(st.size).toBe(2);
    expect(st.servingPeer("imsi-1")).toBeNull();
    expect(st.plausible("imsi-3", "a")).toBe(false);
    now = 10_000;
    expect(st.plausible("imsi-3", "a")).toBe(true);
  });
});

describe("inter-PLMN purpose (TS 29.500 6.14.3)", () => {
  test("absent passes; a negotiated purpose passes; another, a malformed or a repeated header is refused", () => {
    expect(checkPurpose([], ["ROAMING"])).toEqual({ ok: true });
    expect(checkPurpose(["ROAMING:x"], ["ROAMING"])).toEqual({ ok: true });
    expect(checkPurpose(["SMS_INTERCONNECT: sms"], ["ROAMING"])).toEqual({ ok: false, reason: "not-negotiated" });
    expect(checkPurpose(["roaming"], ["ROAMING"])).toEqual({ ok: false, reason: "malformed" });
    expect(checkPurpose(["ROAMING", "ROAMING"], ["ROAMING"])).toEqual({ ok: false, reason: "repeated" });
  });
  test("through the screening: 403 SCREENING_PURPOSE_NOT_ALLOWED", () => {
    const { s, req } = setup(config());
    expect(causeOf(s.inbound(req({ headers: [["3gpp-sbi-interplmn-purpose", "SMS_INTERCONNECT:x"]] })))).toBe(
      "SCREENING_PURPOSE_NOT_ALLOWED",
    );
  });
});

describe("rate limits per PLMN and per API", () => {
  test("a PLMN's bucket, then an API's bucket, refuse with 429 NF_CONGESTION_RISK and retry-after", () => {
    const { s, req, advance, metrics } = setup(
      config((c) => {
        c.screening = {
          rateLimits: {
            perPlmn: [{ plmnId: VISITED, maxRequestsPerSecond: 2 }],
            perApi: [{ api: "nudm-uecm", maxRequestsPerSecond: 1 }],
          },
        };
      }),
    );
    expect(s.inbound(req({})).ok).toBe(true);
    expect(s.inbound(req({})).ok).toBe(true);
    const v = s.inbound(req({}));
    expect(v.ok ? null : v.refusal).toMatchObject({ status: 429, headers: [["retry-after", "1"]] });
    expect(causeOf(v)).toBe("NF_CONGESTION_RISK");
    // another PLMN's traffic is not charged to this one
    expect(s.inbound(req({ peerId: "other", remotePlmnIds: [{ mcc: "208", mnc: "02" }] })).ok).toBe(true);
    const uecm = { peerId: "other", path: `/nudm-uecm/v1/${SUPI}/registrations` };
    expect(s.inbound(req(uecm)).ok).toBe(true);
    expect(causeOf(s.inbound(req(uecm)))).toBe("NF_CONGESTION_RISK");
    advance(1000);
    expect(metrics.render()).toContain('rule="rate-api"');
  });
});

describe("overload control (TS 29.500 6.4)", () => {
  const ts = (ms: number) => new Date(ms).toISOString();
  test("parses producer-scope OCI elements, ignores SEPP scope and malformed ones", () => {
    const v = `Timestamp: "${ts(0)}"; Period-of-Validity: 30s; Overload-Reduction-Metric: 50%; NF-Instance: 54804518-4191-46b3-955c-ac631f953ed8`;
    expect(parseOci(v)).toMatchObject([{ metric: 50, validityMs: 30_000 }]);
    expect(parseOci(v.replace("NF-Instance", "SEPP-FQDN"))).toEqual([]);
    expect(parseOci(v.replace("50%", "150%"))).toEqual([]);
    expect(parseOci("garbage")).toEqual([]);
  });
  test("50 % refuses every second request to that producer until the validity ends; a newer OCI with 0 % ends it", () => {
    let now = 1_000_000;
    const t = new OverloadTable({ maxProducers: 2, now: () => now });
    const oci = (at: number, metric: number) =>
      `Timestamp: "${ts(at)}"; Period-of-Validity: 10s; Overload-Reduction-Metric: ${metric}%; NF-Set: set1`;
    t.observe("udm:80", [oci(now, 50)]);
    const r = Array.from({ length: 6 }, () => t.admit("udm:80").ok);
    expect(r).toEqual([true, false, true, false, true, false]);
    expect(t.admit("other:80").ok).toBe(true);
    t.observe("udm:80", [oci(now - 1000, 0)]); // older: ignored
    expect(t.size).toBe(1);
    t.observe("udm:80", [oci(now + 1000, 0)]);
    expect(t.admit("udm:80").ok).toBe(true);
    expect(t.admit("udm:80").ok).toBe(true);
    t.observe("udm:80", [oci(now + 2000, 100)]);
    const refused = t.admit("udm:80");
    expect(refused).toMatchObject({ ok: false, retryAfterSeconds: 10 });
    now += 10_001;
    expect(t.admit("udm:80").ok).toBe(true);
  });
  test("the validity is a duration on the monotonic clock: a wall clock stepped back does not make it last longer", async () => {
    const t = new OverloadTable({ maxProducers: 2 }); // the shipped clock
    t.observe("udm:80", [
      `Timestamp: "${ts(Date.now())}"; Period-of-Validity: 1s; Overload-Reduction-Metric: 100%; NF-Set: set1`,
    ]);
    expect(t.admit("udm:80").ok).toBe(false);
    setSystemTime(new Date(Date.now() - 3_600_000)); // NTP stepped the wall clock back by an hour
    try {
      await Bun.sleep(1100);
      // before: every request to that producer refused for the hour the wall clock needed to catch up
      expect(t.admit("udm:80").ok).toBe(true);
    } finally {
      setSystemTime();
    }
  });
  test("through the screening: the answer's OCI makes the next request 503 NF_CONGESTION carrying the OCI", () => {
    const { s, req } = setup(config((c) => (c.screening = {})));
    const v = s.inbound(req({}));
    if (!v.ok) throw new Error("refused");
    const oci = `Timestamp: "${ts(1_700_000_000_000)}"; Period-of-Validity: 5s; Overload-Reduction-Metric: 100%; NF-Instance: 54804518-4191-46b3-955c-ac631f953ed8`;
    s.answered(v.ticket, 200, [["3gpp-sbi-oci", oci]], undefined);
    const r = s.inbound(req({}));
    expect(r.ok ? null : r.refusal).toMatchObject({
      status: 503,
      problem: { cause: "NF_CONGESTION" },
      headers: [
        ["retry-after", "5"],
        ["3gpp-sbi-oci", oci],
      ],
    });
  });
});

describe("data-path workers: what one worker's screening learns holds in the others", () => {
  // each worker has its own Screening; src/workers/pool.ts relays every `share` to the other workers' `observe`
  const pair = (cfg: SeppConfig) => {
    const shared: ScreeningObservation[] = [];
    const a = setup(cfg, (o) => shared.push(o));
    const b = setup(cfg, () => {
      throw new Error("an observation applied by observe() must not be shared again");
    });
    const relay = () => {
      for (const o of shared.splice(0)) b.s.observe(o);
    };
    return { a, b, relay, shared };
  };
  test("category 3: a registration through worker A makes another partner's request implausible in worker B", () => {
    const { a, b, relay, shared } = pair(config());
    const v = a.s.inbound(a.req({ method: "PUT", path: `/nudm-uecm/v1/${SUPI}/registrations/amf-3gpp-access` }));
    if (!v.ok) throw new Error("registration refused");
    a.s.answered(v.ticket, 201, [], undefined);
    expect(shared).toEqual([{ kind: "serving", supi: SUPI, peerId: "visited" }]);
    expect(b.s.inbound(b.req({ peerId: "other" })).ok).toBe(true); // not yet relayed
    relay();
    expect(causeOf(b.s.inbound(b.req({ peerId: "other" })))).toBe("SCREENING_CAT3_IMPLAUSIBLE");
    expect(b.s.inbound(b.req({})).ok).toBe(true);
  });
  test("a serving partner that is not configured here is not learned", () => {
    const { b } = pair(config());
    b.s.observe({ kind: "serving", supi: SUPI, peerId: "nobody" });
    expect(b.s.inbound(b.req({ peerId: "other" })).ok).toBe(true);
  });
  test("overload: a producer's OCI seen by worker A holds back worker B's next request to it", () => {
    const { a, b, relay } = pair(config((c) => (c.screening = {})));
    const v = a.s.inbound(a.req({}));
    if (!v.ok) throw new Error("refused");
    const oci = `Timestamp: "${new Date(1_700_000_000_000).toISOString()}"; Period-of-Validity: 5s; Overload-Reduction-Metric: 100%; NF-Instance: 54804518-4191-46b3-955c-ac631f953ed8`;
    a.s.answered(v.ticket, 200, [["3gpp-sbi-oci", oci]], undefined);
    expect(b.s.inbound(b.req({})).ok).toBe(true);
    relay();
    const r = b.s.inbound(b.req({}));
    expect(r.ok ? null : r.refusal.problem.cause).toBe("NF_CONGESTION");
  });
});

describe("security events", () => {
  test("one JSON line per refusal with category security, peer, rule, messageId; bounded per second", () => {
    const { s, req, lines, metrics } = setup(config((c) => (c.screening.securityEventsPerSecond = 2)));
    for (let i = 0; i < 5; i++) s.inbound(req({ path: `/nudm-sdm/v2/${FOREIGN_SUPI}/am-data` }));
    const events = lines.filter((l) => l.category === "security");
    expect(events.length).toBe(2);
    expect(events[0]).toMatchObject({
      level: "warn",
      category: "security",
      screening: "category-2",
      rule: "path:supi",
      peer: "visited",
      messageId: "msg-1",
      action: "refused",
    });
    expect(JSON.stringify(lines)).not.toContain(FOREIGN_SUPI);
    const text = metrics.render();
    expect(text).toContain(
      'sepp_screening_events_total{action="refused",category="category-2",peer="visited",rule="path:supi"} 5',
    );
    expect(text).toContain('sepp_screening_security_events_suppressed_total{peer="visited"} 3');
  });
  test("a changed securityEventsPerSecond applies to the rules already seen (no restart)", () => {
    let cfg = config((c) => (c.screening.securityEventsPerSecond = 2));
    const lines: Array<Record<string, unknown>> = [];
    const s = new Screening({
      config: () => cfg,
      log: createLogger({ sink: (l) => lines.push(JSON.parse(l)) }),
      metrics: new Registry(),
    });
    const peer = cfg.peers.find((p) => p.id === "visited")!;
    const refuseFive = () => {
      for (let i = 0; i < 5; i++)
        s.inbound({
          peer,
          remotePlmnIds: peer.plmnIds,
          messageId: "m",
          method: "GET",
          path: `/nudm-sdm/v2/${FOREIGN_SUPI}/am-data`,
          authority: "udm.5gc.mnc001.mcc262.3gppnetwork.org:8080",
          headers: [],
        });
      return lines.splice(0).filter((l) => l.category === "security").length;
    };
    expect(refuseFive()).toBe(2);
    cfg = config((c) => (c.screening.securityEventsPerSecond = 5));
    expect(refuseFive()).toBe(5);
  });
  test("screening off (the default): nothing is refused", () => {
    const { s, req } = setup(config((c) => delete c.screening));
    expect(s.inbound(req({ method: "POST", path: "/nsmf-pdusession/v1/sm-contexts" })).ok).toBe(true);
    expect(s.inbound(req({ path: `/nudm-sdm/v2/${FOREIGN_SUPI}/am-data` })).ok).toBe(true);
  });
});

describe("configuration checks", () => {
  const base = () => JSON.parse(readFileSync(join(root, "config", "example-home.json"), "utf8"));
  test("the documented example's screening members parse", () => {
    const c = base();
    c.screening = {
      operations: { mode: "refuse" },
      plmnConsistency: {
        mode: "refuse",
        rules: [{ api: "nudm-sdm", in: "header", name: "authorization", kind: "accessToken", expect: "peer" }],
      },
      plausibility: { mode: "log", windowSeconds: 1800 },
      purpose: { mode: "refuse" },
      rateLimits: {
        perPlmn: [{ plmnId: VISITED, maxRequestsPerSecond: 500 }],
        perApi: [{ api: "nudm-sdm", peer: "visited", maxRequestsPerSecond: 200, burst: 400 }],
      },
    };
    c.peers[0].screening = {
      roles: ["home"],
      allowedOperations: [
        { api: "namf-comm", version: "v1", method: "POST", resource: "/ue-contexts/{ueContextId}/transfer" },
        { callbackType: "Namf_Communication_onN1N2TransferFailure" },
      ],
    };
    expect(parseConfig(c).ok).toBe(true);
  });
  test("an unknown peer in a per-API limit, a body rule without pointer, api without version are refused", () => {
    const c = base();
    c.screening = {
      rateLimits: { perApi: [{ api: "nudm-sdm", peer: "nobody", maxRequestsPerSecond: 1 }] },
      plmnConsistency: {
        rules: [{ in: "body", name: "servingNetworkName", kind: "servingNetworkName", expect: "peer" }],
      },
    };
    c.peers[0].screening = { allowedOperations: [{ api: "nudm-sdm", method: "GET", resource: "/x" }] };
    const r = parseConfig(c);
    expect(r.ok ? [] : r.issues.map((i) => i.path)).toEqual([
      "/screening/rateLimits/perApi/0/peer",
      "/screening/plmnConsistency/rules/0/name",
      "/peers/0/screening/allowedOperations/0",
    ]);
  });
});

test("operations.defaults false: no peer starts from the generated operations", () => {
  const { s, req } = setup(config((c) => (c.screening.operations.defaults = false)));
  expect(causeOf(s.inbound(req({})))).toBe("SCREENING_CAT1_NOT_ALLOWED");
});
