// Hostile input on N32-f in TLS mode (TS 33.501 13.1.1.2, 13.1.2, 5.9.3.2; TS 33.517 4.2.2): two real SEPP
// processes with a TLS-mode association; the test speaks to the home SEPP's N32 port over real mutual TLS AS the
// legitimate visited peer and sends plain HTTP/2 requests with random 3gpp-Sbi-Target-apiRoot values, paths,
// originating networks, access tokens, methods and bodies. The home SEPP must only deliver requests to allowed
// targets and from the peer's PLMN, answer everything else with a 4xx ProblemDetails, never 5xx of its own, and stay healthy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HOME, HOME_UDM, type SeppProcess } from "../../scripts/lib/pair.ts";
import type { TestNf } from "../support/nf.ts";
import type { TwoSepps } from "../support/two-sepps.ts";
import {
  type RawH2,
  deepJson,
  expectHealthy,
  isClientRefusal,
  isWhitespaceEdgeReset,
  type RawResponse,
  SkipTally,
  FuzzAnswers,
  rawPeerToHome,
  FUZZ_AM_PATH as AM_PATH,
  startFuzzPair,
  fromFuzzUdm as fromUdm,
} from "../support/fuzz.ts";

describe("fuzz N32-f TLS mode: hostile relayed requests from the legitimate peer", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let h: SeppProcess;
  let peer: RawH2;
  let apiRoot = "";
  let hLog0 = 0;
  const answers = new FuzzAnswers(() => udm);
  const { expectRefused, expectUdmOr4xx } = answers;

  const send = async (
    what: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string | Uint8Array,
  ) => {
    return answers.add(what, await peer.request(method, path, { ":scheme": "https", ...headers }, body, HOME.fqdn));
  };

  beforeAll(async () => {
    ({ w, udm } = await startFuzzPair("fuzz-n32f-tls", "TLS"));
    apiRoot = `http://${HOME_UDM}:${udm.port}`;
    ({ home: h } = w);
    peer = rawPeerToHome(w.sides.home, w.pki);
    hLog0 = h.logs.length;
  }, 60000);

  afterAll(async () => {
    peer?.close();
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("a well-formed relayed request is delivered (the baseline)", async () => {
    const before = udm.received.length;
    const r = await send("baseline", "GET", AM_PATH, {
      "3gpp-sbi-target-apiroot": apiRoot,
      "3gpp-sbi-originating-network-id": "234-15",
    });
    expect(r.status).toBe(200);
    expect(answers.delivered(r, before)).toBe(true);
  });

  test("random 3gpp-Sbi-Target-apiRoot values: only the allowed target is reached", async () => {
    const roots = fc.oneof(
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ""),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.constantFrom(
        "http://169.254.169.254",
        "http://127.0.0.1:1",
        `http://127.0.0.1:${apiRoot.split(":").at(-1)}/../x`,
        "http://[::1]",
        "http://[::ffff:127.0.0.1]",
        "http://0x7f.1",
        "http://2130706433",
        "http://localhost",
        "http://metadata",
        `${apiRoot}/..`,
        `${apiRoot}/%2e%2e`,
        `${apiRoot}?x`,
        `${apiRoot}#x`,
        `http://u:p@${HOME_UDM}:${apiRoot.split(":").at(-1)}`,
        `https://${HOME_UDM}:${apiRoot.split(":").at(-1)}`,
        `http://${HOME_UDM}:1`,
        `http://${HOME_UDM}`,
        `http://other.5gc.mnc001.mcc262.3gppnetwork.org:${apiRoot.split(":").at(-1)}`,
        "http://udm.5gc.mnc015.mcc234.3gppnetwork.org",
        `${apiRoot}, ${apiRoot}`,
      ),
    );
    const tally = new SkipTally("random 3gpp-Sbi-Target-apiRoot values", 0.1);
    await fc.assert(
      fc.asyncProperty(roots, async (root) => {
        tally.run();
        const before = udm.received.length;
        let r: RawResponse;
        try {
          r = await send(`apiRoot ${root.slice(0, 60)}`, "GET", AM_PATH, { "3gpp-sbi-target-apiroot": root });
        } catch (e) {
          if (isClientRefusal(e)) return tally.skip("the client would not send it");
          if (isWhitespaceEdgeReset(e, root)) {
            expect(udm.received.length).toBe(before);
            return tally.skip("malformed at the HTTP/2 level");
          }
          throw e;
        }
        if (fromUdm(r)) {
          // delivered: then only to the one allowed producer, at the path asked for
          if (!root.startsWith(apiRoot) && !root.startsWith(`http://127.0.0.1:${udm.port}`))
            throw new Error(`apiRoot ${root} was delivered`);
          expect(udm.received.at(-1)!.path).toBe(AM_PATH);
          return;
        }
        expectRefused(r, `apiRoot ${JSON.stringify(root).slice(0, 100)}`, before);
      }),
      { seed: 0x715, numRuns: 60, endOnFailure: true },
    );
    tally.check();
  });

  test("random paths, origins, tokens, methods and bodies to the allowed target: the UDM's answer or a 4xx, never a 5xx", async () => {
    const path = fc.oneof(
      fc.constantFrom(
        AM_PATH,
        "/nudm-sdm/v2/../../x",
        "/nudm-sdm/v2/%2F",
        "/nudm-sdm/v2/a%00",
        "//x",
        `/${"a".repeat(5000)}`,
        "/nudm-sdm/v2/\\x",
        "/%",
        "/?",
        "/x#y",
      ),
      fc.array(fc.stringMatching(/^[A-Za-z0-9%._~-]{0,10}$/), { maxLength: 5 }).map((a) => `/${a.join("/")}`),
    );
    const origin = fc.option(
      fc.oneof(
        fc.constantFrom(
          "234-15",
          "262-01",
          "999-99",
          "234-15; src: SEPP-x",
          "x",
          "234-15, 234-15",
          "234-15-0123456789A",
        ),
        fc.string({ maxLength: 20 }).filter((s) => s.trim() !== ""),
      ),
    );
    const token = fc.option(
      fc.oneof(
        fc
          .constantFrom(
            { consumerPlmnId: { mcc: "999", mnc: "99" } },
            { consumerPlmnId: { mcc: 1 } },
            { consumerPlmnId: { mcc: "234", mnc: "15" } },
            { consumerPlmnId: null },
          )
          .map((c) => `Bearer eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(c)).toString("base64url")}.c2ln`),
        fc.string({ maxLength: 40 }),
      ),
    );
    const method = fc.constantFrom("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS");
    const body = fc.option(
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }).map((x) => JSON.stringify(x)),
        fc.constant(deepJson(5000)),
        fc.constant('{"a":{"encBlockIndex":1}}'),
        fc.constant('{"encBlock\\u0049ndex":1}'),
        fc.string({ maxLength: 30 }),
      ),
    );
    const tally = new SkipTally("random paths, origins, tokens, methods and bodies", 0.1);
    await fc.assert(
      fc.asyncProperty(fc.record({ path, origin, token, method, body }), async (x) => {
        tally.run();
        const before = udm.received.length;
        const headers: Record<string, string> = { "3gpp-sbi-target-apiroot": apiRoot };
        if (x.origin !== null) headers["3gpp-sbi-originating-network-id"] = x.origin;
        if (x.token !== null) headers.authorization = x.token;
        if (x.body !== null) headers["content-type"] = "application/json";
        const what = JSON.stringify(x).slice(0, 160);
        let r: RawResponse;
        try {
          r = await send(what, x.method, x.path, headers, x.body ?? undefined);
        } catch (e) {
          if (isClientRefusal(e) || /NGHTTP2_PROTOCOL_ERROR/.test(String(e))) {
            expect(udm.received.length).toBe(before);
            return tally.skip(isClientRefusal(e) ? "the client would not send it" : "HTTP/2 stream error");
          }
          throw e;
        }
        expectUdmOr4xx(r, what, before);
        if (fromUdm(r)) {
          // only from the peer's PLMN (TS 33.517 4.2.2.4). (An encBlockIndex member is the SENDING SEPP's to refuse,
          // TS 33.501 5.9.3.2; the TLS-mode receiver reformats nothing and relays the body.)
          if (x.origin !== null && !/^234-0?15(;|$)/.test(x.origin.trim()))
            throw new Error(`${what}: origin ${x.origin} delivered`);
          expect(udm.received.at(-1)!.path).not.toMatch(/(^|\/)\.\.?(\/|$)|%2f|%00/i);
        }
      }),
      { seed: 0x7e5, numRuns: 80, endOnFailure: true },
    );
    tally.check();
  });

  test("no 5xx of the SEPP; healthy afterwards; a genuine relayed request still goes through", async () => {
    expect(answers.list.length).toBeGreaterThan(100);
    expect(answers.seppErrors()).toEqual([]);
    const r = await send("genuine after", "GET", AM_PATH, { "3gpp-sbi-target-apiroot": apiRoot });
    expect(r.status).toBe(200);
    await expectHealthy(h, expect, hLog0);
  });
});
