// Hostile input on N32-c (TS 29.573 5.2, TS 33.501 13.2.2): two real SEPP processes; the test speaks to the home
// SEPP's N32 port over real mutual TLS AS the legitimate visited peer (it holds that peer's certificate) and sends
// random and mutated bodies for the four operations, wrong content types, methods, paths and oversized headers.
// Every answer must be a 4xx ProblemDetails with a cause; no N32-f context is created or dropped; afterwards the
// SEPP is healthy and a genuine roaming request still goes through. fast-check with fixed seeds, bounded runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HOME, HOME_UDM, VISITED, waitForState, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startAmDataUdm, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import { jsonNestedDeeperThan } from "../../src/json-depth.ts";
import {
  type RawH2,
  deepJson,
  expectHealthy,
  isProblem4xx,
  metricSum,
  type RawResponse,
  rawPeerToHome,
  hostileValue,
} from "../support/fuzz.ts";

const SUPI = "imsi-262010000000001";
const OPS = ["exchange-capability", "exchange-params", "n32f-terminate", "n32f-error"] as const;
type Op = (typeof OPS)[number];
const path = (op: Op) => `/n32c-handshake/v1/${op}`;

/** A well-formed body per operation, and its members with their JSON type (what a mutation breaks). */
const BASE: Record<Op, { body: Record<string, unknown>; required: Record<string, "string" | "array" | "object"> }> = {
  "exchange-capability": {
    body: {
      sender: VISITED.fqdn,
      supportedSecCapabilityList: ["PRINS"],
      plmnIdList: [VISITED.plmn],
      supportedFeatures: "1",
      targetPlmnId: HOME.plmn,
    },
    required: { sender: "string", supportedSecCapabilityList: "array" },
  },
  "exchange-params": {
    body: {
      n32fContextId: "0123456789abcdef",
      jweCipherSuiteList: ["A256GCM"],
      jwsCipherSuiteList: ["ES256"],
      sender: VISITED.fqdn,
    },
    required: { n32fContextId: "string" },
  },
  "n32f-terminate": { body: { n32fContextId: "0123456789abcdef" }, required: { n32fContextId: "string" } },
  "n32f-error": {
    body: {
      n32fMessageId: "0000000000000000",
      n32fErrorType: "INTEGRITY_CHECK_FAILED",
      n32fContextId: "0123456789abcdef",
    },
    required: { n32fMessageId: "string", n32fErrorType: "string" },
  },
};

const jsonType = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
const HEX16 = /^[0-9a-f]{16}$/i;

/** Hostile JSON values: scalars, unicode, big strings, deep nesting, giant arrays, prototype-pollution keys. */
const hostile: fc.Arbitrary<unknown> = hostileValue({
  stringMax: 40,
  huge: null,
  deep: [50, 400],
  deepKinds: ["object"],
  extra: [
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.integer({ min: 1000, max: 40000 }).map((n) => "\u{1F4A9}".repeat(n / 4) + "é".repeat(n / 2)),
    fc.integer({ min: 100, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
  ],
});

/** A mutation of one operation's body that no SEPP may accept. */
function mutation(op: Op): fc.Arbitrary<{ what: string; text: string }> {
  const { body, required } = BASE[op];
  const members = Object.keys(required);
  const wrongType = fc
    .tuple(fc.constantFrom(...members), hostile)
    .filter(([m, v]) => jsonType(v) !== required[m])
    .map(([m, v]) => {
      const b: Record<string, unknown> = { ...body, [m]: v };
      return { what: `${m} as ${jsonType(v)}`, text: JSON.stringify(b) };
    });
  // a required string replaced by random text (never a context ID, never our peer's FQDN)
  const strings = members.filter((m) => required[m] === "string");
  const wrongString = fc
    .tuple(
      fc.constantFrom(...strings),
      fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 60 }),
        fc.integer({ min: 1000, max: 60000 }).map((n) => "a".repeat(n)),
      ),
    )
    .filter(
      ([m, s]) =>
        !HEX16.test(s) &&
        s !== VISITED.fqdn &&
        !(m === "n32fErrorType") &&
        !(m === "n32fMessageId" && /^[0-9a-f]{16}$/i.test(s)),
    )
    .map(([m, s]) => ({ what: `${m} = random string (${s.length})`, text: JSON.stringify({ ...body, [m]: s }) }));
  // the required member removed and smuggled in through prototype-pollution keys
  const smuggled = fc
    .tuple(fc.constantFrom(...members), fc.constantFrom("__proto__", "constructor", "prototype"))
    .map(([m, k]) => {
      const rest = Object.fromEntries(Object.entries(body).filter(([n]) => n !== m));
      const inner = JSON.stringify({ [m]: body[m], prototype: { [m]: body[m] } });
      return { what: `${m} only under ${k}`, text: `${JSON.stringify(rest).slice(0, -1)},"${k}":${inner}}` };
    });
  // members of random names and values added to a body missing a required member
  const extra = fc
    .tuple(fc.constantFrom(...members), fc.dictionary(fc.string({ maxLength: 12 }), hostile, { maxKeys: 4 }))
    .map(([m, d]) => {
      const rest = Object.fromEntries(Object.entries(body).filter(([n]) => n !== m));
      return { what: `without ${m}, random members added`, text: JSON.stringify({ ...d, ...rest }) };
    });
  return fc.oneof(wrongType, wrongString, smuggled, extra);
}

/** Raw bodies that are not a valid operation body whatever the operation. */
function rawBodies(op: Op): Array<{ what: string; body: string | Uint8Array }> {
  const valid = JSON.stringify(BASE[op].body);
  const m0 = Object.keys(BASE[op].required)[0]!;
  return [
    { what: "empty", body: "" },
    { what: "truncated", body: valid.slice(0, valid.length - 3) },
    { what: "trailing garbage", body: `${valid}}` },
    { what: "two documents", body: `${valid}${valid}` },
    { what: "invalid UTF-8", body: new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]) },
    { what: "lone surrogate escape", body: valid.replace(/"([^"]*)"/, '"\\ud800"') },
    { what: "NUL bytes", body: valid.replace("{", "{\u0000") },
    // a BOM may be ignored (RFC 8259 8.1): the body after it must still be refused
    {
      what: "BOM before a body without its first member",
      body: `\uFEFF${JSON.stringify({ ...BASE[op].body, [m0]: undefined })}`,
    },
    { what: "null", body: "null" },
    { what: "array", body: `[${valid}]` },
    { what: "number", body: "1e999999" },
    { what: "string", body: JSON.stringify(valid) },
    { what: "10k nested arrays", body: deepJson(10_000, "array") },
    { what: "10k nested objects", body: deepJson(10_000, "object") },
    { what: "10k nested arrays in a member", body: `${valid.slice(0, -1)},"x":${deepJson(10_000, "array")}}` },
    {
      what: `10k nested objects as ${m0}`,
      body: valid.replace(`"${m0}":`, `"${m0}":${deepJson(5_000, "object")},"ignored":`),
    },
    {
      what: `huge number as ${m0}`,
      body: JSON.stringify({ ...BASE[op].body, [m0]: 0 }).replace(`"${m0}":0`, `"${m0}":${"9".repeat(20000)}`),
    },
    {
      what: "duplicate key, second one wrong",
      body: valid.replace(/^\{/, `{"${m0}":${JSON.stringify(BASE[op].body[m0])},`).replace(/\}$/, `,"${m0}":{}}`),
    },
    { what: "giant array of nulls", body: `{"${m0}":[${new Array(20000).fill("null").join(",")}]}` },
  ];
}

describe("fuzz N32-c: hostile bodies, types, methods, paths and headers from the legitimate peer", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
  let peer: RawH2;
  let amf: NfClient;
  let status0: any;
  let contexts0 = 0;
  let hLog0 = 0;
  let vLog0 = 0;
  const answers: Array<{ what: string; r: RawResponse }> = [];

  const send = async (
    op: Op | string,
    what: string,
    body: string | Uint8Array,
    headers: Record<string, string> = { "content-type": "application/json" },
    method = "POST",
  ) => {
    const r = await peer.request(method, op.startsWith("/") ? op : path(op as Op), headers, body);
    answers.push({ what: `${method} ${op}: ${what}`, r });
    return r;
  };
  const expect4xx = (r: RawResponse, what: string) => {
    if (!isProblem4xx(r))
      throw new Error(`${what}: ${r.status} ${r.headers["content-type"]} ${r.body.toString().slice(0, 300)}`);
  };

  beforeAll(async () => {
    udm = await startAmDataUdm(SUPI, { gpsis: ["msisdn-491700000001"] });
    w = await startTwoSepps({
      name: "fuzz-n32c",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      edit: (side, c) => {
        // a short body timeout, so that the stalled-body case ends quickly (the default is 10 s)
        if (side === "home") c.n32c = { ...c.n32c, maxRequestsPerSecond: 100_000, requestTimeoutMs: 2000 };
      },
    });
    ({ visited: v, home: h, amf } = w);
    status0 = await waitForState(h, "visited", "active-prins");
    contexts0 = await metricSum(h, "sepp_n32f_contexts_active");
    hLog0 = h.logs.length;
    vLog0 = v.logs.length;
    peer = rawPeerToHome(w.sides.home, w.pki);
  }, 60000);

  afterAll(async () => {
    peer?.close();
    expect(await w?.close()).toEqual([0, 0]);
  });

  for (const op of OPS) {
    test(`${op}: mutated bodies (wrong types, unicode, huge strings, deep nesting, prototype keys) are 4xx ProblemDetails`, async () => {
      await fc.assert(
        fc.asyncProperty(mutation(op), async (m) => {
          const r = await send(op, m.what, m.text);
          expect4xx(r, `${op} ${m.what}`);
        }),
        { seed: 0x5e99 + OPS.indexOf(op), numRuns: 30, endOnFailure: true },
      );
    });

    test(`${op}: raw bodies that are not one JSON object of the schema are 4xx ProblemDetails`, async () => {
      for (const b of rawBodies(op)) expect4xx(await send(op, b.what, b.body), `${op} ${b.what}`);
    });
  }

  test("the body schema is applied to the parsed value: a duplicate member whose last value is wrong is refused", async () => {
    const r = await send("n32f-terminate", "duplicate", '{"n32fContextId":"0123456789abcdef","n32fContextId":42}');
    expect4xx(r, "duplicate");
    expect(r.status).toBe(400);
  });

  test("wrong content types: 415 ProblemDetails", async () => {
    const body = JSON.stringify(BASE["n32f-terminate"].body);
    for (const ct of [
      "text/plain",
      "application/problem+json",
      "application/json-patch+json",
      "multipart/related; boundary=x",
      "application/jsonx",
      "",
      "application/x-www-form-urlencoded",
    ]) {
      const r = await send("n32f-terminate", `content-type ${ct || "(none)"}`, body, ct ? { "content-type": ct } : {});
      expect4xx(r, `content-type ${ct}`);
      expect(r.status).toBe(415);
    }
  });

  test("wrong methods and paths: 404/405 ProblemDetails", async () => {
    const body = JSON.stringify(BASE["n32f-terminate"].body);
    for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const r = await send(
        "n32f-terminate",
        "method",
        method === "GET" || method === "DELETE" || method === "OPTIONS" ? "" : body,
        { "content-type": "application/json" },
        method,
      );
      expect4xx(r, `${method} n32f-terminate`);
    }
    const paths = [
      "/n32c-handshake/v1/exchange-capabilities",
      "/n32c-handshake/v2/exchange-capability",
      "/n32c-handshake/v1/exchange-capability/",
      "/n32c-handshake/v1/../v1/exchange-capability",
      "/n32c-handshake/v1/%65xchange-capability",
      "/n32c-handshake/v1/exchange-capability%00",
      "/N32C-HANDSHAKE/V1/EXCHANGE-CAPABILITY",
      "/",
      "/%",
      `/${"a".repeat(6000)}`,
      "/n32c-handshake/v1/\u00e9",
    ];
    for (const p of paths) {
      // a body no operation accepts: whatever the path resolves to (dot segments may be normalised), a 4xx
      const r = await send(p, "path", JSON.stringify({ sender: 1 }));
      expect4xx(r, `POST ${p.slice(0, 60)}`);
    }
  });

  test("oversized headers and an oversized body: 4xx (or the stream refused), never processed", async () => {
    const body = JSON.stringify(BASE["n32f-terminate"].body);
    const many: Record<string, string> = { "content-type": "application/json" };
    for (let i = 0; i < 300; i++) many[`x-fuzz-${i}`] = "v";
    for (const [what, headers] of [
      ["one 60 KB header", { "content-type": "application/json", "x-big": "a".repeat(60_000) }],
      ["300 headers", many],
      ["a 12 KB content-type", { "content-type": `application/json; ${"p=1; ".repeat(2000)}` }],
    ] as const) {
      try {
        const r = await send("n32f-terminate", what, body, headers);
        expect4xx(r, what);
      } catch (e) {
        // HTTP/2 may refuse a header block over the advertised limit at the protocol level (stream reset):
        // also a clear refusal; the connection must survive or be replaced
        expect(String(e)).toMatch(/NGHTTP2|ERR_HTTP2|stream|ENHANCE_YOUR_CALM|COMPRESSION|PROTOCOL|refused/i);
        peer.close();
      }
    }
    const r = await send(
      "n32f-terminate",
      "200 KB body",
      JSON.stringify({ n32fContextId: "0123456789abcdef", pad: "x".repeat(200_000) }),
    );
    expect4xx(r, "oversized body");
    expect(r.status).toBe(413);
  });

  test("a body that never ends: 408 ProblemDetails after the request timeout, not a hang", async () => {
    const t0 = Date.now();
    const r = await peer.stalled(
      "POST",
      path("n32f-terminate"),
      { "content-type": "application/json" },
      '{"n32fContextId":"01',
      undefined,
      8000,
    );
    answers.push({ what: "stalled body", r });
    expect4xx(r, "stalled body");
    expect(r.status).toBe(408);
    expect(Date.now() - t0).toBeLessThan(7000);
  });

  test("every answer was a 4xx ProblemDetails with a cause; no N32-f context created or dropped", async () => {
    expect(answers.length).toBeGreaterThan(150);
    for (const a of answers) if (!isProblem4xx(a.r)) throw new Error(`${a.what}: ${a.r.status}`);
    expect(answers.some((a) => a.r.status >= 500)).toBe(false);
    expect(await metricSum(h, "sepp_n32f_contexts_active")).toBe(contexts0);
    const s = await waitForState(h, "visited", "active-prins");
    expect(s.localContextId).toBe(status0.localContextId);
    expect(s.peerContextId).toBe(status0.peerContextId);
    expect((s.counters as any).responderHandshakes).toBe(status0.counters.responderHandshakes);
    expect((s.counters as any).terminationsReceived).toBe(0);
    expect((s.counters as any).errorsReceived).toBe(0);
  });

  test("both SEPPs are healthy afterwards and a genuine request still goes through", async () => {
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ gpsis: ["msisdn-491700000001"] });
    await expectHealthy(h, expect, hLog0);
    await expectHealthy(v, expect, vLog0);
  });

  // last: it replaces the association in use (the peer only harms itself)
  test("valid cipher-suite rounds repeated by the peer cannot fill the context store: its oldest responder contexts give way", async () => {
    const cap = await (
      await peer.request(
        "POST",
        path("exchange-capability"),
        { "content-type": "application/json" },
        JSON.stringify(BASE["exchange-capability"].body),
      )
    ).json();
    expect(cap.selectedSecCapability).toBe("PRINS");
    const before = await metricSum(h, "sepp_n32f_contexts_active");
    for (let i = 0; i < 30; i++) {
      const id = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
      const r = await peer.request(
        "POST",
        path("exchange-params"),
        { "content-type": "application/json" },
        JSON.stringify({ ...BASE["exchange-params"].body, n32fContextId: id }),
      );
      expect(r.status).toBe(200);
    }
    expect(before).toBe(1); // the association in use
    expect(await metricSum(h, "sepp_n32f_contexts_active")).toBe(4);
    const hs = (await (await h.admin("/v1/peers/visited/n32")).json()) as { state: string };
    expect(hs.state).toBe("active-prins"); // the newest is the peer's current association
    await expectHealthy(h, expect, hLog0);
  });
});

describe("jsonNestedDeeperThan (the scan before JSON.parse)", () => {
  test("counts brackets outside strings only", () => {
    expect(jsonNestedDeeperThan(deepJson(32), 32)).toBe(false);
    expect(jsonNestedDeeperThan(deepJson(33), 32)).toBe(true);
    expect(jsonNestedDeeperThan(deepJson(33, "object"), 32)).toBe(true);
    expect(jsonNestedDeeperThan(JSON.stringify({ a: "[".repeat(100), b: '\\"{{{{' }), 2)).toBe(false);
    expect(jsonNestedDeeperThan(JSON.stringify([{ a: [1] }, { b: [2] }, [[3]]]), 3)).toBe(false);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => !jsonNestedDeeperThan(JSON.stringify(v), 8)),
      { seed: 7, numRuns: 200 },
    );
  });
});
