// Optional validation of the partners' request bodies against the roaming APIs' 3GPP OpenAPI schemas
// (screening.bodyValidation, src/screening/body.ts): the generated validators are what
// scripts/gen-openapi-bodies.ts produces; every realistic request fixture validates and mutated ones do not (JSON,
// multipart JSON root, form fields); nesting is bounded before parsing; refusals are 400 SCREENING_BODY_INVALID
// with invalidParams that echo no partner value, a security event and a counter; mode and APIs per peer.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BODIES_OUT_DIR,
  BODIES_SCHEMA_FILE,
  BODIES_TABLE_FILE,
  BODIES_VALIDATORS_FILE,
  generateBodies,
} from "../../scripts/gen-openapi-bodies.ts";
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";
import { createLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import { callbackTypeOf } from "../../src/n32f/message.ts";
import { bodyEntryOf, checkBody, MAX_DEPTH } from "../../src/screening/body.ts";
import { Screening, type ScreenedRequest } from "../../src/screening/screening.ts";
import { type Fixture, loadFixtures, multipartBytes } from "../fixtures/messages/load.ts";

const root = join(import.meta.dir, "../..");
const SPEC_3GPP = join(root, "..", "shared", "spec", "3gpp");
const MAX = 65536;
const enc = new TextEncoder();
const json = (v: unknown) => enc.encode(JSON.stringify(v));
const SUPI = "imsi-262010000000001";
const JSON_CT: Array<[string, string]> = [["content-type", "application/json"]];

const requests = loadFixtures().filter((f) => f.message.kind === "request");
const fixture = (name: string): Fixture => {
  const f = requests.find((x) => x.name === `${name}.request`);
  if (!f) throw new Error(`no fixture ${name}`);
  return f;
};
const callbackOf = (m: HttpMessage) => callbackTypeOf(m.headers.find(([n]) => n === "3gpp-sbi-callback")?.[1]);
const entryOf = (m: HttpMessage) => {
  const e = bodyEntryOf(m.method!, m.path!, callbackOf(m));
  if (!e) throw new Error(`${m.method} ${m.path}: no body validator`);
  return e.entry;
};
const check = (m: HttpMessage, body = m.body, headers = m.headers) => checkBody(entryOf(m), headers, body, MAX);
/** the fixture's JSON body, changed by `edit` */
const jsonWith = (name: string, edit: (b: any) => void) => {
  const b = JSON.parse(Buffer.from(fixture(name).message.body!).toString());
  edit(b);
  return json(b);
};

describe("generated files", () => {
  test("src/openapi/bodies.* is what scripts/gen-openapi-bodies.ts produces from ../shared/spec/3gpp", () => {
    const g = generateBodies(SPEC_3GPP);
    const read = (f: string) => readFileSync(join(root, BODIES_OUT_DIR, f), "utf8");
    expect(read(BODIES_SCHEMA_FILE)).toBe(g.schemaJson);
    expect(read(BODIES_TABLE_FILE)).toBe(g.tableJson);
    expect(read(BODIES_VALIDATORS_FILE)).toBe(g.validatorsTs);
  });
  test("the table covers the roaming APIs' operations and callbacks with request bodies", () => {
    const t = generateBodies(SPEC_3GPP).table;
    const ops = t.operations.map((o) => `${o.method} ${o.api ?? ""}${o.resource}`);
    for (const o of [
      "PUT nudm-uecm/{ueId}/registrations/amf-3gpp-access",
      "POST nudm-sdm/{ueId}/sdm-subscriptions",
      "PATCH nudm-sdm/{ueId}/sdm-subscriptions/{subscriptionId}",
      "POST nudm-ueau/{supiOrSuci}/security-information/generate-auth-data",
      "POST nausf-auth/ue-authentications",
      "POST namf-comm/ue-contexts/{ueContextId}/transfer",
      "POST nsmf-pdusession/pdu-sessions",
      "POST nnrf-disc/scp-domain-routing-info-subs",
      "POST /oauth2/token",
    ])
      expect(ops).toContain(o);
    expect(t.callbacks.map((c) => c.callbackType)).toContain("Nudm_SDM_datachangeNotification");
  });
  test("uniqueItems is kept only where ajv checks it in linear time (scalar items)", () => {
    const schema = readFileSync(join(root, BODIES_OUT_DIR, BODIES_SCHEMA_FILE), "utf8");
    const bad: string[] = [];
    const walk = (n: unknown, at: string) => {
      if (Array.isArray(n)) for (const [i, x] of n.entries()) walk(x, `${at}/${i}`);
      else if (n && typeof n === "object") {
        const o = n as Record<string, any>;
        const t = o.items?.type;
        if (o.uniqueItems === true && (t === undefined || t === "object" || t === "array")) bad.push(at);
        for (const [k, v] of Object.entries(o)) walk(v, `${at}/${k}`);
      }
    };
    walk(JSON.parse(schema), "");
    expect(bad).toEqual([]);
  });
});

describe("the realistic request fixtures validate", () => {
  for (const f of requests)
    test(`${f.name}: ${f.description}`, () => {
      const m = f.message;
      const e = bodyEntryOf(m.method!, m.path!, callbackOf(m));
      if (!m.body?.length)
        expect(e).toBeNull(); // GETs: no request body defined
      else expect(checkBody(e!.entry, m.headers, m.body, MAX)).toBeNull();
    });
  test("every fixture with a body has a validator (none is skipped)", () => {
    const withBody = requests.filter((f) => f.message.body?.length);
    expect(withBody.length).toBeGreaterThanOrEqual(8);
    for (const f of withBody) expect(entryOf(f.message)).toBeDefined();
  });
});

describe("mutated requests do not validate", () => {
  test("JSON: a mandatory member missing is named (UECM registration without amfInstanceId)", () => {
    const m = fixture("nudm-uecm-amf-registration").message;
    const r = check(
      m,
      jsonWith("nudm-uecm-amf-registration", (b) => delete b.amfInstanceId),
    );
    expect(r).toMatchObject({ rule: "schema", invalidParams: [{ param: "/amfInstanceId" }] });
  });
  test("JSON: a member of the wrong type or pattern (AUSF servingNetworkName as a number, resStar too short)", () => {
    const m = fixture("nausf-ue-authentications").message;
    expect(
      check(
        m,
        jsonWith("nausf-ue-authentications", (b) => (b.servingNetworkName = 262)),
      )?.rule,
    ).toBe("schema");
    const c = fixture("nausf-5g-aka-confirmation").message;
    expect(check(c, json({ resStar: "12" }))).toMatchObject({ rule: "schema", invalidParams: [{ param: "/resStar" }] });
  });
  test("JSON: an enum value outside the schema (UEAU resynchronizationInfo.rand not hex)", () => {
    const m = fixture("nudm-ueau-generate-auth-data").message;
    const r = check(
      m,
      jsonWith("nudm-ueau-generate-auth-data", (b) => (b.resynchronizationInfo = { rand: "zz", auts: "00" })),
    );
    expect(r?.rule).toBe("schema");
  });
  test("JSON: unknown members pass where the schema leaves objects open (the schema as written)", () => {
    const m = fixture("nudm-uecm-amf-registration").message;
    expect(
      check(
        m,
        jsonWith("nudm-uecm-amf-registration", (b) => (b.vendorExtension = { x: 1 })),
      ),
    ).toBeNull();
  });
  test("JSON: not JSON, a wrong content type, a missing mandatory body", () => {
    const m = fixture("nudm-uecm-amf-registration").message;
    expect(check(m, enc.encode("{not json"))?.rule).toBe("malformed");
    expect(check(m, m.body, [["content-type", "text/plain"]])?.rule).toBe("media-type");
    expect(check(m, new Uint8Array(0))?.rule).toBe("missing");
  });
  test("multipart: the JSON root part is validated (PDU session create without its mandatory dnn)", () => {
    const f = fixture("nsmf-pdusession-create");
    const mp = f.multipart!;
    const parts = mp.parts.map((p, i) =>
      i === 0 ? { headers: p.headers, data: json({ ...(p.json as object), dnn: undefined }) } : { ...p, data: p.data! },
    );
    const r = check(f.message, multipartBytes(mp.boundary, parts));
    expect(r).toMatchObject({ rule: "schema", invalidParams: [{ param: "/dnn" }] });
  });
  test("multipart: a body without its JSON root part, or not multipart at all, is malformed", () => {
    const f = fixture("nsmf-pdusession-create");
    const mp = f.multipart!;
    const rest = mp.parts.slice(1).map((p) => ({ headers: p.headers, data: p.data! }));
    expect(check(f.message, multipartBytes(mp.boundary, rest))?.rule).toBe("malformed");
    expect(check(f.message, enc.encode("just bytes"))?.rule).toBe("malformed");
  });
  test("multipart callback: a N1 notification without n1MessageContainer fails both alternatives", () => {
    const f = fixture("namf-n1-message-notify");
    const mp = f.multipart!;
    const parts = mp.parts.map((p, i) => ({ headers: p.headers, data: i === 0 ? json({}) : p.data! }));
    expect(check(f.message, multipartBytes(mp.boundary, parts))?.rule).toBe("schema");
  });
  test("form: fields are typed as the encoding says (JSON-encoded PLMN IDs, mandatory scope, enum grant_type)", () => {
    const m = fixture("nnrf-access-token").message;
    const form = Buffer.from(m.body!).toString();
    const withForm = (s: string) => check(m, enc.encode(s));
    expect(withForm(form.replace("grant_type=client_credentials", "grant_type=password"))).toMatchObject({
      rule: "schema",
      invalidParams: [{ param: "/grant_type" }],
    });
    expect(withForm(form.replace(/&?scope=[^&]*/, ""))).toMatchObject({ invalidParams: [{ param: "/scope" }] });
    expect(
      withForm(form.replace(/requesterPlmn=[^&]*/, `requesterPlmn=${encodeURIComponent('{"mcc":"23","mnc":"15"}')}`)),
    ).toMatchObject({ rule: "schema", invalidParams: [{ param: "/requesterPlmn/mcc" }] });
    expect(withForm(form.replace(/requesterPlmn=[^&]*/, "requesterPlmn=234-15"))?.rule).toBe("malformed");
    expect(withForm(`${form}&scope=nudm-sdm`)?.rule).toBe("schema"); // a scalar field given twice
  });
  test("nesting deeper than MAX_DEPTH is refused before parsing, also inside a form field", () => {
    const m = fixture("nudm-uecm-amf-registration").message;
    const deep = `{"a":${"[".repeat(MAX_DEPTH + 1)}${"]".repeat(MAX_DEPTH + 1)}}`;
    expect(check(m, enc.encode(deep))?.rule).toBe("too-deep");
    expect(check(m, enc.encode(`{"a":${"[".repeat(60_000)}`))?.rule).toBe("too-deep");
    const t = fixture("nnrf-access-token").message;
    const form = Buffer.from(t.body!).toString();
    expect(
      check(t, enc.encode(`${form}&targetSnssaiList=${encodeURIComponent("[".repeat(MAX_DEPTH + 1))}`))?.rule,
    ).toBe("too-deep");
  });
  test("JSON over maxJsonBytes is a finding before parsing; a multipart body's binary parts do not count", () => {
    const m = fixture("nudm-uecm-amf-registration").message;
    expect(
      check(
        m,
        jsonWith("nudm-uecm-amf-registration", (b) => (b.x = "a".repeat(MAX))),
      )?.rule,
    ).toBe("too-large");
    const f = fixture("nsmf-pdusession-create");
    const mp = f.multipart!;
    const parts = mp.parts.map((p, i) => ({ headers: p.headers, data: i === 0 ? p.data! : new Uint8Array(2 * MAX) }));
    expect(check(f.message, multipartBytes(mp.boundary, parts))).toBeNull();
  });
  test("invalidParams name schema members and indices only: a map key (a SUPI here) is not echoed", () => {
    const m: HttpMessage = {
      kind: "request",
      method: "POST",
      path: `/nudm-sdm/v2/${SUPI}/sdm-subscriptions`,
      headers: JSON_CT,
    };
    const body = json({
      nfInstanceId: "25c1d3a4-0e1f-4a2b-9c3d-5e6f7a8b9c0d",
      callbackReference: "https://amf.example.org/cb",
      monitoredResourceUris: ["https://udm.example.org/x"],
      expectedUeBehaviourThresholds: { [SUPI]: { dnns: 5 } },
    });
    const r = check(m, body);
    expect(r?.invalidParams).toEqual([{ param: "/expectedUeBehaviourThresholds/*/dnns", reason: "must be array" }]);
    expect(JSON.stringify(r)).not.toContain(SUPI);
  });
});

function config(edit: (c: any) => void): SeppConfig {
  const c = JSON.parse(readFileSync(join(root, "config", "example-home.json"), "utf8"));
  edit(c);
  const r = parseConfig(c);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.config;
}

function setup(cfg: SeppConfig) {
  const lines: Array<Record<string, unknown>> = [];
  const metrics = new Registry();
  const s = new Screening({
    config: () => cfg,
    log: createLogger({ sink: (l) => lines.push(JSON.parse(l)) }),
    metrics,
  });
  const peer = cfg.peers.find((p) => p.id === "visited")!;
  const req = (m: HttpMessage, body = m.body): ScreenedRequest => ({
    peer,
    remotePlmnIds: peer.plmnIds,
    messageId: "msg-7",
    method: m.method,
    path: m.path,
    authority: "udm.5gc.mnc001.mcc262.3gppnetwork.org:8080",
    headers: m.headers,
    body,
  });
  return { s, lines, metrics, req };
}

describe("the screening rule (screening.bodyValidation)", () => {
  const uecm = fixture("nudm-uecm-amf-registration").message;
  const broken = jsonWith("nudm-uecm-amf-registration", (b) => {
    delete b.amfInstanceId;
    b.supi = SUPI;
  });

  test("refuse: 400 SCREENING_BODY_INVALID with invalidParams, a security event without values, a counter", async () => {
    const { s, lines, metrics, req } = setup(config((c) => (c.screening = { bodyValidation: { mode: "refuse" } })));
    expect(s.inbound(req(uecm)).ok).toBe(true);
    const v = s.inbound(req(uecm, broken));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.refusal.status).toBe(400);
    expect(v.refusal.problem).toMatchObject({
      status: 400,
      cause: "SCREENING_BODY_INVALID",
      invalidParams: [{ param: "/amfInstanceId", reason: "mandatory member missing" }],
    });
    const event = lines.find((l) => l.category === "security");
    expect(event).toMatchObject({
      screening: "body",
      rule: "schema",
      action: "refused",
      peer: "visited",
      messageId: "msg-7",
    });
    expect(JSON.stringify(lines)).not.toContain(SUPI);
    expect(await metrics.render()).toContain(
      'sepp_screening_events_total{action="refused",category="body",peer="visited",rule="schema"} 1',
    );
  });

  test("log: forwarded, with the security event", () => {
    const { s, lines, req } = setup(config((c) => (c.screening = { bodyValidation: { mode: "log" } })));
    expect(s.inbound(req(uecm, broken)).ok).toBe(true);
    expect(lines.find((l) => l.category === "security")).toMatchObject({ screening: "body", action: "logged" });
  });

  test("off by default: nothing is validated", () => {
    const { s, lines, req } = setup(config(() => {}));
    expect(s.inbound(req(uecm, broken)).ok).toBe(true);
    expect(lines.filter((l) => l.category === "security")).toEqual([]);
  });

  test("per API: only the listed APIs (service or API name) are validated", () => {
    const ausf = fixture("nausf-ue-authentications").message;
    const badAusf = json({});
    const only = (apis: string[]) => setup(config((c) => (c.screening = { bodyValidation: { mode: "refuse", apis } })));
    const a = only(["nudm-uecm"]);
    expect(a.s.inbound(a.req(uecm, broken)).ok).toBe(false);
    expect(a.s.inbound(a.req(ausf, badAusf)).ok).toBe(true);
    const b = only(["Nausf_UEAuthentication"]);
    expect(b.s.inbound(b.req(uecm, broken)).ok).toBe(true);
    expect(b.s.inbound(b.req(ausf, badAusf)).ok).toBe(false);
  });

  test("per peer: the peer's mode and APIs override the global ones", () => {
    const on = setup(
      config((c) => {
        c.screening = { bodyValidation: { mode: "off" } };
        c.peers[0].screening = { bodyValidation: { mode: "refuse" } };
      }),
    );
    expect(on.s.inbound(on.req(uecm, broken)).ok).toBe(false);
    const off = setup(
      config((c) => {
        c.screening = { bodyValidation: { mode: "refuse", apis: ["nudm-uecm"] } };
        c.peers[0].screening = { bodyValidation: { apis: ["nudm-sdm"] } };
      }),
    );
    expect(off.s.inbound(off.req(uecm, broken)).ok).toBe(true);
  });

  test("a callback body is validated by its 3gpp-Sbi-Callback type", () => {
    const { s, req } = setup(config((c) => (c.screening = { bodyValidation: { mode: "refuse" } })));
    const m: HttpMessage = {
      kind: "request",
      method: "POST",
      path: "/amf-callbacks/v1/dereg/42",
      headers: [...JSON_CT, ["3gpp-sbi-callback", "Nudm_UECM_deregistrationNotification"]],
    };
    expect(s.inbound(req(m, json({ deregReason: "UE_INITIAL_REGISTRATION" }))).ok).toBe(true);
    const v = s.inbound(req(m, json({ deregReason: 7 })));
    expect(v.ok ? null : v.refusal.problem.cause).toBe("SCREENING_BODY_INVALID");
  });

  test("an API without body validators is a configuration error, globally and per peer", () => {
    const raw = JSON.parse(readFileSync(join(root, "config", "example-home.json"), "utf8"));
    raw.screening = { bodyValidation: { mode: "refuse", apis: ["nudm-sdm", "npcf-smpolicycontrol"] } };
    raw.peers[0].screening = { bodyValidation: { apis: ["Nfoo"] } };
    const r = parseConfig(raw);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(["/screening/bodyValidation/apis/1", "/peers/0/screening/bodyValidation/apis/0"]),
    );
  });
});
