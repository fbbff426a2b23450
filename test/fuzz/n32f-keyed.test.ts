// Hostile N32-f messages WITH valid protection (TS 33.501 13.2.4; N32-PROFILE P2, P3, P8, P10): the home SEPP runs
// as a real process; the visited side is the project's own N32-c service in this test process (real mutual TLS,
// real handshake, real TLS exporter), so the test holds the N32-f context keys of a legitimate but hostile (or
// broken) peer SEPP. It seals blocks derived from a genuine reformatted request with random structural mutations
// of the integrity-protected and the encrypted parts (request line, headers, payload entries, encBlockIndex
// references, dataToEncrypt, metaData), and garbage modificationsBlocks. Each passes the integrity check, so this
// reaches the block schema, the RI modification checks and the reconstruction. Answers must be 403
// ProblemDetailsMsgForwarding, a 4xx, or a 200 carrying a protected answer; never 5xx; only well-formed
// requests reach the producer; the SEPP is healthy afterwards. fast-check with fixed seeds, bounded runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  HOME,
  HOME_UDM,
  VISITED,
  startSepp,
  waitForState,
  writePair,
  type SeppProcess,
} from "../../scripts/lib/pair.ts";
import type { DataToIntegrityProtectBlock } from "../../src/model/n32.ts";
import type { N32fContext } from "../../src/n32f/context.ts";
import { type PrinsEngine, newMessageId } from "../../src/n32f/engine.ts";
import { protectJwe } from "../../src/n32f/jwe.ts";
import { reformat } from "../../src/n32f/reformat.ts";
import type { TestNf } from "../support/nf.ts";
import { type InProcessSepp, startInProcessSepp } from "../support/inproc-sepp.ts";
import {
  type RawH2,
  expectHealthy,
  type RawResponse,
  SkipTally,
  rawPeerToHome,
  hostileValue,
  FUZZ_AM_PATH as AM_PATH,
  liftRateLimits,
  startFuzzUdm,
} from "../support/fuzz.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const PROCESS = "/n32f-forward/v1/n32f-process";
// a file-level hook: removed after the describe's afterAll below has stopped the SEPPs and the UDM
const freshDir = freshDirs("sepp-fuzz-n32f-keyed-");

const hostile: fc.Arbitrary<unknown> = hostileValue({
  extra: [
    fc.integer({ min: 1000, max: 20000 }).map((n) => new Array(n).fill({ encBlockIndex: 0 })),
    fc.nat({ max: 5 }).map((i) => ({ encBlockIndex: i })),
    fc.constantFrom(
      { encBlockIndex: -1 },
      { encBlockIndex: 2 ** 53 },
      { encBlockIndex: 1e308 },
      { encBlockIndex: "0" },
      { encBlockIndex: 0, x: 1 },
    ),
  ],
});
const pointer = fc.oneof(
  fc.constantFrom(
    "",
    "/",
    "/supi",
    "/__proto__/polluted",
    "/constructor/prototype/polluted",
    "/a/-",
    "/a/0/b",
    "/~2",
    "/~",
    "/a~1b",
    `/${"a/".repeat(400)}`,
    "/-1",
    "/01",
  ),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 5 }).map((a) => `/${a.join("/")}`),
  fc.string({ maxLength: 20 }),
);
const location = fc.oneof(
  fc.constantFrom("BODY", "URI_PARAM", "HEADER", "MULTIPART_BINARY"),
  fc.string({ maxLength: 12 }),
);
const entry = fc.record({ iePath: pointer, ieValueLocation: location, value: hostile }, { requiredKeys: [] });
const headerEntry = fc.record({
  header: fc.oneof(
    fc.constantFrom(
      ":path",
      ":authority",
      "host",
      "content-length",
      "transfer-encoding",
      "connection",
      "3gpp-sbi-target-apiroot",
      "3gpp-sbi-originating-network-id",
      "authorization",
      "x-a",
    ),
    fc.string({ maxLength: 12 }),
  ),
  value: fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom("a\r\nx-injected: 1", "\u0000", "262-01", "999", "http://169.254.169.254"),
    hostile,
  ),
});

describe("fuzz N32-f with valid protection: a hostile peer SEPP holding the context keys", () => {
  const dir = freshDir();
  let udm: TestNf;
  let h: SeppProcess;
  let inproc: InProcessSepp;
  let ctx: N32fContext;
  let engine: PrinsEngine;
  let peer: RawH2;
  let genuine: { block: DataToIntegrityProtectBlock; dataToEncrypt: unknown[] };
  let hLog0 = 0;
  const answers: Array<{ what: string; r: RawResponse }> = [];
  let udmAuthority = "";

  const seal = (block: unknown, dataToEncrypt: unknown[] | null, extra?: Record<string, unknown>): string => {
    const aad = Buffer.from(JSON.stringify(block));
    const plaintext = dataToEncrypt === null ? new Uint8Array(0) : Buffer.from(JSON.stringify({ dataToEncrypt }));
    const jwe = protectJwe(ctx, "request", aad, plaintext);
    return JSON.stringify({ reformattedData: jwe, ...extra });
  };
  const fresh = () => {
    const g = structuredClone(genuine);
    g.block.metaData = { ...g.block.metaData!, messageId: newMessageId() };
    return g;
  };
  const send = async (what: string, body: string) => {
    const r = await peer.request("POST", PROCESS, { "content-type": "application/json" }, body);
    answers.push({ what, r });
    return r;
  };
  /** 403 ProblemDetailsMsgForwarding / 4xx ProblemDetails, or a 200 whose protected answer our context opens. */
  const acceptable = (r: RawResponse): boolean => {
    if (r.status === 200) return typeof r.json()?.reformattedData?.aad === "string";
    const pd = r.json();
    return (
      r.status >= 400 &&
      r.status < 500 &&
      pd?.status === r.status &&
      typeof pd?.cause === "string" &&
      (r.status !== 403 || typeof pd.suggestedStatusCode === "number" || pd.cause === "PLMN_ID_MISMATCH")
    );
  };
  const check = (r: RawResponse, what: string) => {
    if (!acceptable(r)) throw new Error(`${what}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  };

  beforeAll(async () => {
    udm = await startFuzzUdm();
    udmAuthority = `${HOME_UDM}:${udm.port}`;
    const pair = await writePair({
      dir,
      capabilities: ["PRINS"],
      homeProducers: { [HOME_UDM]: udm.port },
      edit: (side, c) => {
        liftRateLimits(c, side === "home");
      },
    });
    h = await startSepp(pair.home);
    // the visited side in this process: the project's N32-c service with the visited SEPP's identity
    inproc = await startInProcessSepp({
      side: pair.visited,
      cert: pair.pki.certV,
      anchors: [
        { name: "visited", plmn: VISITED.plmn, rootPem: pair.pki.rootV.certPem },
        { name: "home", plmn: HOME.plmn, rootPem: pair.pki.rootH.certPem },
      ],
      dir,
    });
    await waitForState(h, "visited", "active-prins");
    ({ ctx, engine } = inproc);
    genuine = reformat(
      {
        kind: "request",
        method: "GET",
        scheme: "http",
        authority: udmAuthority,
        path: AM_PATH,
        headers: [
          ["accept", "application/json"],
          ["3gpp-sbi-originating-network-id", "234-15"],
        ],
      },
      {
        metaData: { n32fContextId: ctx.peerContextId, messageId: newMessageId(), authorizedIpxId: "NULL" },
        policy: engine.policiesOf(ctx).encryption,
      },
    );
    expect(genuine.dataToEncrypt.length).toBeGreaterThan(0); // the SUPI in the path is encrypted
    peer = rawPeerToHome(pair.home, pair.pki);
    hLog0 = h.logs.length;
  }, 60000);

  afterAll(async () => {
    peer?.close();
    await inproc?.close();
    const code = await h?.stop();
    await udm?.close();
    expect(code).toBe(0);
  });

  test("a genuine message sealed by the test is delivered and answered (the keys are right)", async () => {
    const before = udm.received.length;
    const g = fresh();
    const r = await send("genuine", seal(g.block, g.dataToEncrypt));
    expect(r.status).toBe(200);
    const answer = engine.openResponse(ctx, r.json(), {
      method: "GET",
      path: AM_PATH,
      messageId: g.block.metaData!.messageId,
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(Buffer.from(answer.body!).toString())).toEqual({ gpsis: ["msisdn-491700000001"] });
    expect(udm.received.length).toBe(before + 1);
    expect(udm.received.at(-1)!.path).toBe(AM_PATH);
  });

  test("mutated request lines, headers, payload entries, encBlockIndex references and dataToEncrypt", async () => {
    type G = { block: any; dataToEncrypt: unknown[] };
    type Mut = { what: string; apply: (g: G) => void };
    const muts: fc.Arbitrary<Mut> = fc.oneof(
      fc
        .tuple(
          fc.constantFrom("method", "scheme", "authority", "path", "protocolVersion", "queryFragment"),
          fc.oneof(
            hostile,
            fc.string({ maxLength: 40 }),
            fc.constantFrom(
              "/../../etc",
              "/nudm-sdm/v2/%2e%2e/x",
              "//x",
              "x",
              "http://evil/",
              "169.254.169.254",
              "127.0.0.1:1",
              "[::1]",
              "https",
              "FOO",
              "a=b#frag",
              `/${"p".repeat(9000)}`,
            ),
          ),
        )
        .map(([k, x]) => ({
          what: `requestLine.${k} = ${JSON.stringify(x)?.slice(0, 40)}`,
          apply: (g: G) => (g.block.requestLine[k] = x),
        })),
      fc
        .constantFrom("method", "scheme", "authority", "path")
        .map((k) => ({ what: `requestLine without ${k}`, apply: (g: G) => delete g.block.requestLine[k] })),
      fc.array(headerEntry, { maxLength: 6 }).map((hs) => ({
        what: `headers ${JSON.stringify(hs).slice(0, 60)}`,
        apply: (g: G) => (g.block.headers = [...(g.block.headers ?? []), ...hs]),
      })),
      fc
        .array(entry, { minLength: 1, maxLength: 6 })
        .map((es) => ({ what: `payload ${JSON.stringify(es).slice(0, 60)}`, apply: (g: G) => (g.block.payload = es) })),
      fc.array(hostile, { maxLength: 6 }).map((d) => ({
        what: `dataToEncrypt ${JSON.stringify(d).slice(0, 60)}`,
        apply: (g: G) => (g.dataToEncrypt = d),
      })),
      fc
        .tuple(
          fc.constantFrom("messageId", "authorizedIpxId", "n32fContextId"),
          fc.oneof(hostile, fc.constantFrom("m".repeat(65), "\u0001", "", "NULL", "ipx1.example.net")),
        )
        .map(([k, x]) => ({
          what: `metaData.${k} = ${JSON.stringify(x)?.slice(0, 40)}`,
          apply: (g: G) => (g.block.metaData[k] = x),
        })),
      fc
        .tuple(fc.constantFrom("statusLine", "requestLine", "headers", "payload", "metaData", "extra"), hostile)
        .map(([k, x]) => ({
          what: `block.${k} = ${JSON.stringify(x)?.slice(0, 40)}`,
          apply: (g: G) => (g.block[k] = x),
        })),
    );
    const tally = new SkipTally("mutated blocks", 0.1);
    await fc.assert(
      fc.asyncProperty(fc.array(muts, { minLength: 1, maxLength: 3 }), async (ms) => {
        tally.run();
        const before = udm.received.length;
        const g = fresh() as { block: any; dataToEncrypt: unknown[] };
        for (const m of ms) {
          try {
            m.apply(g);
          } catch {
            // a mutation of a member an earlier one made a scalar: skipped
          }
        }
        const what = ms.map((m) => m.what).join(" + ");
        let body: string;
        try {
          body = seal(g.block, g.dataToEncrypt);
        } catch {
          return tally.skip("not serialisable"); // (a lone surrogate is fine, but BigInt is not): nothing to send
        }
        const r = await send(what, body);
        check(r, what);
        // what reached the producer is a well-formed request on the allowed target
        for (const got of udm.received.slice(before)) {
          if (r.status !== 200)
            throw new Error(
              `${what}: the producer got ${got.method} ${got.path.slice(0, 80)} but the answer was ${r.status}`,
            );
          expect(got.path.startsWith("/")).toBe(true);
          // the path, not the query: a query is opaque to routing, and %2F is common in it (URIs in NRF queries)
          expect(got.path.split("?")[0]).not.toMatch(/(^|\/)\.\.?(\/|$)|%2f|%2e%2e/i);
          expect(Object.keys(got.headers).some((k) => /[\r\n]/.test(k) || /[\r\n]/.test(String(got.headers[k])))).toBe(
            false,
          );
        }
      }),
      { seed: 0x4e7, numRuns: 120, endOnFailure: true },
    );
    tally.check();
  }, 30000);

  test("well-formed but hostile requests pass the integrity check and are refused at delivery, never reaching the producer", async () => {
    const jwt = (claims: unknown) =>
      `Bearer eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
    const hdr = (name: string, value: string) => (g: any) =>
      (g.block.headers = [...(g.block.headers ?? []), { header: name, value }]);
    const line = (k: string, v: string) => (g: any) => (g.block.requestLine[k] = v);
    const cases: Array<[string, (g: any) => void]> = [
      ["dot segments in the path", line("path", "/nudm-sdm/v2/../../admin")],
      ["encoded slash in the path", line("path", "/nudm-sdm/v2/a%2Fb/am-data")],
      ["cloud metadata authority", line("authority", "169.254.169.254")],
      ["loopback authority, other port", line("authority", "127.0.0.1:1")],
      ["a host of another PLMN", line("authority", "udm.5gc.mnc999.mcc999.3gppnetwork.org")],
      ["our own SEPP as the target", line("authority", HOME.fqdn)],
      ["https to an http-only target", line("scheme", "https")],
      ["originating network of the home PLMN", hdr("3gpp-sbi-originating-network-id", "262-01")],
      ["originating network malformed", hdr("3gpp-sbi-originating-network-id", "x; src: y")],
      ["access token of another PLMN", hdr("authorization", jwt({ consumerPlmnId: { mcc: "999", mnc: "99" } }))],
      ["access token with a malformed consumerPlmnId", hdr("authorization", jwt({ consumerPlmnId: { mcc: 1 } }))],
      ["CRLF in a header value", hdr("x-a", "1\r\nx-injected: 1")],
      ["a 300 000 character header name", hdr("n".repeat(300_000), "1")],
      ["a 100 000 character header value", hdr("x-a", "v".repeat(100_000))],
      ["a 100 000 character query", line("queryFragment", `a=${"q".repeat(100_000)}`)],
      [
        "200 headers",
        (g) => (g.block.headers = Array.from({ length: 200 }, (_, i) => ({ header: `x-h${i}`, value: "1" }))),
      ],
    ];
    for (const [what, edit] of cases) {
      const before = udm.received.length;
      const g = fresh();
      edit(g);
      const r = await send(what, seal(g.block, g.dataToEncrypt));
      check(r, what);
      if (r.status === 200) {
        // refused after verification: the refusal travels back protected, to our NF (P10)
        const a = engine.openResponse(ctx, r.json(), {
          method: "GET",
          path: g.block.requestLine!.path,
          messageId: g.block.metaData!.messageId,
        });
        if (!(a.status! >= 400 && a.status! < 500))
          throw new Error(
            `${what}: inner ${a.status} ${Buffer.from(a.body ?? [])
              .toString()
              .slice(0, 200)}`,
          );
      }
      if (udm.received.length !== before)
        throw new Error(`${what}: reached the producer as ${udm.received.at(-1)!.path}`);
    }
  });

  test("connection-specific headers in the block (RFC 9113 8.2.2) never reach the producer", async () => {
    for (const [name, value] of [
      ["connection", "close"],
      ["transfer-encoding", "chunked"],
      ["keep-alive", "1"],
      ["upgrade", "h2c"],
      ["proxy-connection", "x"],
      ["te", "gzip"],
    ] as const) {
      const before = udm.received.length;
      const g = fresh();
      g.block.headers = [...(g.block.headers ?? []), { header: name, value }];
      const r = await send(`header ${name}`, seal(g.block, g.dataToEncrypt));
      check(r, name);
      for (const got of udm.received.slice(before)) expect(got.headers[name]).toBeUndefined();
    }
  });

  test("valid protection with a garbage modificationsBlock (not signed by any RI)", async () => {
    const mods = fc.oneof(
      fc.array(hostile, { minLength: 1, maxLength: 4 }),
      fc.array(fc.record({ protected: fc.string(), payload: fc.string(), signature: fc.string() }), {
        minLength: 1,
        maxLength: 3,
      }),
      fc
        .integer({ min: 100, max: 5000 })
        .map((n) => new Array(n).fill({ protected: "e30", payload: "e30", signature: "" })),
    );
    await fc.assert(
      fc.asyncProperty(mods, async (m) => {
        const before = udm.received.length;
        const g = fresh();
        const r = await send("modificationsBlock", seal(g.block, g.dataToEncrypt, { modificationsBlock: m }));
        check(r, "modificationsBlock");
        expect(r.status).not.toBe(200);
        expect(udm.received.length).toBe(before);
      }),
      { seed: 0x30db, numRuns: 25, endOnFailure: true },
    );
  });

  test("no 5xx; the SEPP still answers a genuine message and is healthy", async () => {
    expect(answers.length).toBeGreaterThan(100);
    const bad = answers.filter((a) => !acceptable(a.r)).map((a) => `${a.what}: ${a.r.status}`);
    expect(bad).toEqual([]);
    const g = fresh();
    const r = await send("genuine after", seal(g.block, g.dataToEncrypt));
    expect(r.status).toBe(200);
    expect(
      engine.openResponse(ctx, r.json(), { method: "GET", path: AM_PATH, messageId: g.block.metaData!.messageId })
        .status,
    ).toBe(200);
    await expectHealthy(h, expect, hLog0);
  });
});
