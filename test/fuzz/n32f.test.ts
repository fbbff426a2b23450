// Hostile input on N32-f n32f-process (TS 29.573 6.2, TS 33.501 13.2.4; N32-PROFILE P8, P10): two real SEPP
// processes; a proxy on the visited SEPP's N32-f path captures one genuine protected request, then the test
// sends, over real mutual TLS AS the legitimate visited peer, bodies derived from it by random structural
// mutations (members removed, added, retyped; aad replaced by base64url of random JSON, deep nesting, giant
// payload arrays, huge encBlockIndex; modificationsBlock garbage). Each answer must be 403
// ProblemDetailsMsgForwarding or a 400/413/415 ProblemDetails, never 5xx; nothing reaches the producer; the SEPP
// still serves genuine requests afterwards and is healthy. fast-check with fixed seeds, bounded runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HOME_UDM, waitFor, type SeppProcess } from "../../scripts/lib/pair.ts";
import { type NfClient, startAmDataUdm, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import { aadOf, type N32Proxy } from "../support/n32-proxy.ts";
import {
  type RawH2,
  b64u,
  deepJson,
  expectHealthy,
  metricSum,
  type RawResponse,
  rawPeerToHome,
  hostileValue,
  liftRateLimits,
} from "../support/fuzz.ts";

const SUPI = "imsi-262010000000001";
const AM_DATA = { gpsis: ["msisdn-491700000001"] };
const PROCESS = "/n32f-forward/v1/n32f-process";

/** Hostile JSON values (as JS values; deep ones are parsed from text). */
const hostile: fc.Arbitrary<unknown> = hostileValue({
  huge: [1000, 30000],
  deep: [50, 2000],
  extra: [fc.integer({ min: 1000, max: 20000 }).map((n) => new Array(n).fill({ encBlockIndex: 1 }))],
});
const jsonType = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

describe("fuzz N32-f: mutated protected messages from the legitimate peer", () => {
  let w: TwoSepps<"f">;
  let udm: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
  let proxy: N32Proxy;
  let peer: RawH2;
  let amf: NfClient;
  let genuine: any;
  let block: any;
  let ctxId = "";
  let hLog0 = 0;
  let vLog0 = 0;
  let udmBefore = 0;
  const answers: Array<{ what: string; r: RawResponse }> = [];

  const send = async (
    what: string,
    body: string | Uint8Array,
    headers: Record<string, string> = { "content-type": "application/json" },
    method = "POST",
  ) => {
    const r = await peer.request(method, PROCESS, headers, body);
    answers.push({ what, r });
    return r;
  };
  /** 403 ProblemDetailsMsgForwarding (P8) or a 4xx ProblemDetails for what is refused before the engine. */
  const refused = (r: RawResponse): boolean => {
    const pd = r.json();
    if (r.status >= 500 || r.status < 400 || typeof pd?.cause !== "string" || pd.status !== r.status) return false;
    if (!(r.headers["content-type"] ?? "").startsWith("application/problem+json")) return false;
    return (
      r.status !== 403 ||
      pd.cause === "PLMN_ID_MISMATCH" ||
      pd.cause === "NEGOTIATION_NOT_ALLOWED" ||
      typeof pd.suggestedStatusCode === "number"
    );
  };
  const expectRefused = (r: RawResponse, what: string) => {
    if (!refused(r))
      throw new Error(`${what}: ${r.status} ${r.headers["content-type"]} ${r.body.toString().slice(0, 300)}`);
  };
  const withRd = (edit: (rd: Record<string, unknown>, m: Record<string, unknown>) => void): string => {
    const m = structuredClone(genuine);
    edit(m.reformattedData, m);
    return JSON.stringify(m);
  };
  const withAad = (aad: string): string => withRd((rd) => (rd.aad = aad));
  /** the genuine block edited (context and messageId kept, so it reaches the integrity check) */
  const withBlock = (edit: (b: any) => void): string => {
    const b = structuredClone(block);
    edit(b);
    return withAad(b64u(JSON.stringify(b)));
  };

  beforeAll(async () => {
    udm = await startAmDataUdm(SUPI, AM_DATA);
    w = await startTwoSepps({
      name: "fuzz-n32f",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      proxies: { f: { target: "home", via: "n32f" } },
      edit: (side, c) => {
        // the refusals are reported with n32f-error over N32-c: no rate limit in the way of the reports
        liftRateLimits(c, side === "home");
        c.sbi = { ...c.sbi, requestTimeoutMs: 2500 }; // also the N32-f body read timeout (stalled-body case)
      },
    });
    ({ visited: v, home: h, amf } = w);
    proxy = w.proxies.f;
    // one genuine protected request, captured on the wire
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {
      authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbWYifQ.c2ln",
    });
    expect(r.status).toBe(200);
    const ex = await waitFor("the genuine request on the wire", () =>
      proxy.exchanges.find(
        (x) =>
          x.path === PROCESS && x.status === 200 && String(aadOf(x.body).requestLine?.path ?? "").includes("/am-data"),
      ),
    );
    genuine = JSON.parse(ex.body.toString());
    block = aadOf(ex.body);
    ctxId = block.metaData.n32fContextId;
    expect(genuine.reformattedData.ciphertext.length).toBeGreaterThan(0); // something was encrypted (the SUPI)
    peer = rawPeerToHome(w.sides.home, w.pki);
    udmBefore = udm.received.length;
    hLog0 = h.logs.length;
    vLog0 = v.logs.length;
  }, 60000);

  afterAll(async () => {
    peer?.close();
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("the genuine message replayed as is: 403 (replay window), nothing delivered", async () => {
    const r = await send("replay", JSON.stringify(genuine));
    expectRefused(r, "replay");
    expect(r.status).toBe(403);
  });

  test("structural mutations of the outer message: members removed, added, retyped", async () => {
    const top = ["reformattedData", "modificationsBlock"];
    const rdMembers = Object.keys(genuine.reformattedData);
    const removed = fc.constantFrom(...rdMembers.map((m) => `rd.${m}`), "reformattedData").map((m) => ({
      what: `without ${m}`,
      body:
        m === "reformattedData" ? JSON.stringify({ modificationsBlock: [] }) : withRd((rd) => delete rd[m.slice(3)]),
    }));
    const retyped = fc
      .tuple(fc.constantFrom(...rdMembers, ...top), hostile)
      .filter(
        ([m, x]) =>
          jsonType(x) !==
          (m === "modificationsBlock"
            ? "array"
            : m === "reformattedData"
              ? "object"
              : jsonType(genuine.reformattedData[m])),
      )
      .map(([m, x]) => ({
        what: `${m} as ${jsonType(x)}`,
        body: withRd((rd, msg) => {
          if (top.includes(m)) msg[m] = x;
          else rd[m] = x;
        }),
      }));
    const added = fc.tuple(fc.string({ maxLength: 10 }), hostile, fc.boolean()).map(([k, x, inside]) => ({
      what: `added ${inside ? "rd." : ""}${k}`,
      body: withRd((rd, msg) => ((inside ? rd : msg)[k || "x"] = x)),
    }));
    const b64garbage = fc
      .tuple(
        fc.constantFrom("aad", "ciphertext", "tag", "iv", "protected"),
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.uint8Array({ maxLength: 200 }).map(b64u),
          fc.integer({ min: 100_000, max: 600_000 }).map((n) => "A".repeat(n)),
        ),
      )
      .map(([m, s]) => ({
        what: `${m} = garbage (${s.length})`,
        body: withRd((rd) => (rd[m] = s)),
      }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(removed, retyped, added, b64garbage), async (m) =>
        expectRefused(await send(m.what, m.body), m.what),
      ),
      { seed: 0xf32f, numRuns: 60, endOnFailure: true },
    );
  });

  test("aad replaced by base64url of random JSON (random values, deep nesting, block-shaped with our context)", async () => {
    const blockish = fc.record(
      {
        metaData: fc.oneof(fc.constant({ n32fContextId: ctxId, messageId: "fuzz", authorizedIpxId: "NULL" }), hostile),
        requestLine: fc.oneof(fc.constant(block.requestLine), hostile),
        headers: fc.oneof(fc.constant(block.headers), hostile),
        payload: fc.oneof(fc.constant(block.payload), hostile),
        extra: hostile,
      },
      { requiredKeys: ["metaData"] },
    );
    const aads = fc.oneof(
      fc.jsonValue({ maxDepth: 5 }).map((x) => ({ what: "random JSON", text: JSON.stringify(x) })),
      fc.integer({ min: 1000, max: 200_000 }).map((d) => ({ what: `${d} nested arrays`, text: deepJson(d, "array") })),
      fc
        .integer({ min: 1000, max: 100_000 })
        .map((d) => ({ what: `${d} nested objects`, text: deepJson(d, "object") })),
      fc.integer({ min: 100, max: 20_000 }).map((d) => ({
        what: `block with metaData then ${d} nested`,
        text: `{"metaData":{"n32fContextId":"${ctxId}","messageId":"x"},"payload":${deepJson(d, "array")}}`,
      })),
      blockish.map((b) => ({ what: "block-shaped", text: JSON.stringify(b) })),
      fc.string({ unit: "binary", maxLength: 60 }).map((s) => ({ what: "not JSON", text: s })),
    );
    // schema-valid blocks that name no message (metaData is optional in the schema): refused, not a 500
    for (const text of ["{}", '{"u":true,"x":-4.6e306}', `{"headers":${JSON.stringify(block.headers)}}`])
      expectRefused(await send(`aad: ${text}`, withAad(b64u(text))), `aad ${text}`);
    await fc.assert(
      fc.asyncProperty(aads, async (a) =>
        expectRefused(await send(`aad: ${a.what}`, withAad(b64u(a.text))), `aad ${a.what}`),
      ),
      { seed: 0xaad, numRuns: 50, endOnFailure: true },
    );
  });

  test("the genuine block edited: giant payload arrays, huge encBlockIndex, encBlockIndex at depth, headers garbage", async () => {
    // sizes stay below the listener's body limit (about 2 MB), so each message reaches the engine
    const entry = { iePath: "/x", ieValueLocation: "BODY", value: { encBlockIndex: 1 } };
    const cases: Array<[string, (b: any) => void]> = [
      ["20k payload entries", (b) => (b.payload = new Array(20_000).fill(entry))],
      ["20k headers", (b) => (b.headers = new Array(20_000).fill({ header: "x-a", value: { encBlockIndex: 1 } }))],
      [
        "encBlockIndex 2^53",
        (b) => (b.payload = [{ iePath: "/supi", ieValueLocation: "BODY", value: { encBlockIndex: 2 ** 53 } }]),
      ],
      [
        "encBlockIndex 1e308",
        (b) => (b.payload = [{ iePath: "/supi", ieValueLocation: "BODY", value: { encBlockIndex: 1e308 } }]),
      ],
      [
        "encBlockIndex -1",
        (b) => (b.payload = [{ iePath: "/supi", ieValueLocation: "BODY", value: { encBlockIndex: -1 } }]),
      ],
      [
        "encBlockIndex 1.5",
        (b) => (b.payload = [{ iePath: "/supi", ieValueLocation: "BODY", value: { encBlockIndex: 1.5 } }]),
      ],
      [
        "encBlockIndex as string",
        (b) => (b.payload = [{ iePath: "/supi", ieValueLocation: "BODY", value: { encBlockIndex: "1" } }]),
      ],
      [
        "encBlockIndex at depth 300",
        (b) =>
          (b.payload = [
            {
              iePath: "/x",
              ieValueLocation: "BODY",
              value: JSON.parse(deepJson(300, "object", '{"encBlockIndex":1}')),
            },
          ]),
      ],
      ["iePath garbage", (b) => (b.payload = [{ iePath: `/${"~2".repeat(5000)}`, ieValueLocation: "BODY", value: 1 }])],
      [
        "iePath __proto__",
        (b) => (b.payload = [{ iePath: "/__proto__/polluted", ieValueLocation: "BODY", value: true }]),
      ],
      [
        "iePath constructor/prototype",
        (b) => (b.payload = [{ iePath: "/constructor/prototype/polluted", ieValueLocation: "BODY", value: true }]),
      ],
      ["ieValueLocation garbage", (b) => (b.payload = [{ iePath: "/x", ieValueLocation: "\u0000", value: 1 }])],
      ["requestLine huge path", (b) => (b.requestLine = { ...b.requestLine, path: `/${"a".repeat(300_000)}` })],
      ["requestLine unicode authority", (b) => (b.requestLine = { ...b.requestLine, authority: "\u{1F600}.example" })],
      ["metaData messageId 10 KB", (b) => (b.metaData = { ...b.metaData, messageId: "m".repeat(10_000) })],
      ["metaData without n32fContextId", (b) => delete b.metaData.n32fContextId],
      ["statusLine in a request", (b) => (b.statusLine = "200")],
    ];
    for (const [what, edit] of cases) {
      const body = withBlock(edit);
      expect(body.length).toBeLessThan(2 << 20);
      expectRefused(await send(what, body), what);
    }
  });

  test("modificationsBlock garbage", async () => {
    const mods = fc.oneof(
      fc.array(hostile, { maxLength: 5 }),
      fc.integer({ min: 1000, max: 50_000 }).map((n) =>
        new Array(n).fill({
          identity: "ipx1.example.net",
          tags: "x",
          protected: "e30",
          signature: "AA",
          payload: "e30",
        }),
      ),
      fc.array(fc.record({ protected: fc.string(), payload: fc.string(), signature: fc.string(), header: hostile }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.constant([
        {
          protected: b64u('{"alg":"none"}'),
          payload: b64u(
            JSON.stringify({
              identity: "ipx1.example.net",
              operations: [{ op: "add", path: "/__proto__/x", value: 1 }],
            }),
          ),
          signature: "",
        },
      ]),
    );
    await fc.assert(
      fc.asyncProperty(mods, async (m) =>
        expectRefused(
          await send(
            "modificationsBlock garbage",
            withRd((_, msg) => (msg.modificationsBlock = m)),
          ),
          "modificationsBlock",
        ),
      ),
      { seed: 0x30d, numRuns: 30, endOnFailure: true },
    );
  });

  test("outer body not JSON, too deep, too big, wrong content type or method", async () => {
    const cases: Array<[string, string | Uint8Array, Record<string, string>?, string?]> = [
      ["empty", ""],
      ["truncated", JSON.stringify(genuine).slice(0, 100)],
      ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
      ["1M nested arrays", deepJson(1_000_000, "array")],
      ["200k nested objects", deepJson(200_000, "object")],
      ["null", "null"],
      ["3 MB", JSON.stringify({ ...genuine, pad: "x".repeat(3 << 20) })],
      [
        "3 MB aad",
        withAad(
          b64u(
            JSON.stringify({
              ...block,
              payload: new Array(60_000).fill({ iePath: "/x", ieValueLocation: "BODY", value: 1 }),
            }),
          ),
        ),
      ],
      ["text/plain", JSON.stringify(genuine), { "content-type": "text/plain" }],
      ["no content type", JSON.stringify(genuine), {}],
      ["GET", "", {}, "GET"],
      ["PUT", JSON.stringify(genuine), { "content-type": "application/json" }, "PUT"],
    ];
    for (const [what, body, headers, method] of cases) {
      let r: RawResponse;
      try {
        r = await send(what, body, headers ?? { "content-type": "application/json" }, method ?? "POST");
      } catch (e) {
        // over the body limit HTTP/2 flow control may end the stream before the 413 arrives (session memory
        // bound, ENHANCE_YOUR_CALM): a refusal too, for an oversized body only
        if (body.length <= 2 << 20) throw e;
        expect(String(e)).toMatch(/ENHANCE_YOUR_CALM|REFUSED_STREAM|CANCEL/);
        peer.close();
        continue;
      }
      expectRefused(r, what);
    }
  });

  test("a body that never ends: 408 ProblemDetails after the read timeout, not a hang", async () => {
    const t0 = Date.now();
    const r = await peer.stalled(
      "POST",
      PROCESS,
      { "content-type": "application/json" },
      JSON.stringify(genuine).slice(0, 200),
      undefined,
      8000,
    );
    answers.push({ what: "stalled body", r });
    expectRefused(r, "stalled body");
    expect(r.status).toBe(408);
    expect(Date.now() - t0).toBeLessThan(7000);
  });

  test("a flood of refused messages is not a flood of n32f-error reports (each one an N32-c connection to the peer)", async () => {
    const status = async () =>
      (await (await h.admin("/v1/peers/visited/n32")).json()) as { counters: { errorsSent: number } };
    /** errorsSent once it stopped moving (reports are sent in the background) */
    const settled = async () => {
      let last = -1;
      return waitFor(
        "n32f-error reports to settle",
        async () => {
          const n = (await status()).counters.errorsSent;
          const done = n === last;
          last = n;
          await Bun.sleep(300);
          return done ? n + 1 : 0;
        },
        15000,
        0,
      ).then((n) => n - 1);
    };
    const sent0 = await settled();
    const tag = Buffer.from(genuine.reformattedData.tag, "base64url");
    tag[0]! ^= 1;
    const body = withRd((rd) => (rd.tag = tag.toString("base64url")));
    const t0 = Date.now();
    const rs = await Promise.all(
      Array.from({ length: 200 }, () => peer.request("POST", PROCESS, { "content-type": "application/json" }, body)),
    );
    const seconds = (Date.now() - t0) / 1000;
    for (const r of rs) {
      answers.push({ what: "flood", r });
      expectRefused(r, "flood");
      expect(r.json().cause).toBe("INTEGRITY_CHECK_FAILED");
    }
    const sent = (await settled()) - sent0;
    // reported, but bounded per peer (a burst, then a steady rate), not one report per refused message
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(20 + Math.ceil(seconds * 10) + 10);
  }, 30000);

  test("requests cancelled right after they were sent (rapid reset): nothing left in flight", async () => {
    const body = JSON.stringify(genuine);
    const rs = await Promise.allSettled(
      Array.from({ length: 300 }, () =>
        peer.request("POST", PROCESS, { "content-type": "application/json" }, body, undefined, 1),
      ),
    );
    expect(rs.filter((x) => x.status === "fulfilled").length).toBeLessThan(300);
    await waitFor(
      "nothing in flight, no data path timer armed",
      async () =>
        (await metricSum(h, "sepp_datapath_inflight")) === 0 && (await metricSum(h, "sepp_datapath_timers")) === 0,
      10000,
    );
  });

  test("the peer answers the visited SEPP with garbage: the NF gets a 502/504 ProblemDetails, never a 500", async () => {
    const garbage = fc.oneof(
      fc.record({
        status: fc.constantFrom(200, 403, 400, 500, 503, 204, 302, 499),
        ct: fc.constantFrom("application/json", "application/problem+json", "text/html", ""),
        body: fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((x) => JSON.stringify(x)),
          fc.string({ maxLength: 40 }),
          fc.constant(deepJson(100_000)),
          fc.constant(""),
        ),
      }),
      // a 200 shaped like a protected answer: fields retyped, aad of random or deep JSON
      fc.tuple(hostile, fc.constantFrom("aad", "ciphertext", "tag", "iv", "protected")).map(([x, m]) => ({
        status: 200,
        ct: "application/json",
        body: JSON.stringify({ reformattedData: { ...genuine.reformattedData, [m]: x } }),
      })),
      fc
        .oneof(
          fc.jsonValue({ maxDepth: 4 }).map((x) => JSON.stringify(x)),
          fc.constant(deepJson(50_000)),
        )
        .map((a) => ({
          status: 200,
          ct: "application/json",
          body: JSON.stringify({ reformattedData: { ...genuine.reformattedData, aad: b64u(a) } }),
        })),
      // a ProblemDetailsMsgForwarding with hostile members
      fc
        .record({ cause: hostile, suggestedStatusCode: hostile, detail: hostile, status: hostile })
        .map((pd) => ({ status: 403, ct: "application/problem+json", body: JSON.stringify(pd) })),
      fc
        .record({
          cause: fc.constantFrom("INTEGRITY_CHECK_FAILED", "X"),
          suggestedStatusCode: fc.constantFrom(450.5, 599.9, "502", 400.0001, 1e3, -1, 0, 99, 600, 499),
          suggestedProblemDetails: fc.option(
            fc.oneof(
              hostile,
              fc.constant({ status: "x", cause: 1, __proto__: null }),
              fc.constant({ detail: "d".repeat(100_000) }),
            ),
          ),
        })
        .map((pd) => ({ status: 403, ct: "application/problem+json", body: JSON.stringify(pd) })),
    );
    const v0 = v.logs.length;
    // a field value that ends with whitespace makes the answer malformed (RFC 9113 §8.2.1): 502, not 504 "not reachable"
    proxy.onRequest((r) =>
      r.path === PROCESS
        ? {
            kind: "respond" as const,
            status: 200,
            headers: { "content-type": "application/json", "x-note": "x " },
            body: "{}",
          }
        : undefined,
    );
    const malformed = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    proxy.onRequest(null);
    expect(malformed.status).toBe(502);
    expect(malformed.json()).toMatchObject({ cause: "UNSPECIFIED_NF_FAILURE" });
    // suggestedStatusCode (P8): a status of TS 29.500 Table 5.2.7.1-1 is what our NF gets; any other, 502
    for (const [suggested, want] of [
      [404, 404],
      [499, 502],
      [450, 502],
    ]) {
      proxy.onRequest((r) =>
        r.path === PROCESS
          ? {
              kind: "respond" as const,
              status: 403,
              headers: { "content-type": "application/problem+json" },
              body: JSON.stringify({ status: 403, cause: "X", suggestedStatusCode: suggested }),
            }
          : undefined,
      );
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      proxy.onRequest(null);
      expect([suggested, r.status]).toEqual([suggested, want]);
    }
    await fc.assert(
      fc.asyncProperty(garbage, async (g) => {
        let fired = false;
        proxy.onRequest((r) => {
          if (fired || r.path !== PROCESS) return undefined;
          fired = true;
          return {
            kind: "respond" as const,
            status: g.status,
            headers: (g.ct ? { "content-type": g.ct } : {}) as Record<string, string>,
            body: g.body,
          };
        });
        const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
        proxy.onRequest(null);
        expect(fired).toBe(true);
        const pd = r.json();
        if (![502, 503, 504, 403, 400, 429].includes(r.status) || typeof pd?.cause !== "string")
          throw new Error(`${g.status} ${g.body.slice(0, 80)} → ${r.status} ${r.body.toString().slice(0, 200)}`);
      }),
      { seed: 0x9a7b, numRuns: 40, endOnFailure: true },
    );
    await expectHealthy(v, expect, v0);
  }, 30000);

  test("nothing reached the producer; no 5xx; the SEPP still serves genuine requests and is healthy", async () => {
    expect(answers.length).toBeGreaterThan(150);
    const bad = answers.filter((a) => !refused(a.r)).map((a) => `${a.what}: ${a.r.status}`);
    expect(bad).toEqual([]);
    expect(udm.received.length).toBe(udmBefore);
    for (let i = 0; i < 3; i++) {
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
    }
    expect(udm.received.length).toBe(udmBefore + 3);
    expect(await metricSum(h, "sepp_n32f_contexts_active")).toBeGreaterThan(0);
    await expectHealthy(h, expect, hLog0);
    await expectHealthy(v, expect, vLog0);
  });
});
