// Hostile input on the SBI side (TS 29.500 5.2, 6.1; TS 33.501 5.9.3.2, 13.1.1; TS 33.517 4.2.2): two real SEPP
// processes under PRINS and under TLS; the test is an NF speaking h2c to the visited SEPP's SBI port with random
// paths, authorities, 3gpp-Sbi-Target-apiRoot and 3gpp-Sbi-Originating-Network-Id values, bodies carrying
// encBlockIndex at depth and malformed multipart. No answer is a 500; what is invalid gets a 4xx ProblemDetails
// and is not forwarded (the home UDM counts what it receives and marks its answers); afterwards both SEPPs are
// healthy and a genuine request goes through. fast-check with fixed seeds, bounded runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HOME_UDM, VISITED, waitFor, type SeppProcess } from "../../scripts/lib/pair.ts";
import type { TestNf } from "../support/nf.ts";
import type { TwoSepps } from "../support/two-sepps.ts";
import {
  clientPreface,
  ENHANCE_YOUR_CALM,
  findGoaway,
  headersFrame,
  rawConnect,
  rstFrame,
} from "../support/h2-frames.ts";
import {
  RawH2,
  deepJson,
  expectHealthy,
  isClientRefusal,
  isWhitespaceEdgeReset,
  isProblem4xx,
  type RawResponse,
  SkipTally,
  FuzzAnswers,
  FUZZ_AM_PATH as AM_PATH,
  FUZZ_SUPI as SUPI,
  startFuzzPair,
  fromFuzzUdm as fromUdm,
} from "../support/fuzz.ts";

for (const mode of ["PRINS", "TLS"] as const) {
  describe(`fuzz SBI (${mode}): hostile requests from an NF`, () => {
    let w: TwoSepps;
    let udm: TestNf;
    let v: SeppProcess;
    let h: SeppProcess;
    let nf: RawH2;
    let hLog0 = 0;
    let vLog0 = 0;
    let udmAuthority = "";
    let sbiPort = 0;
    const answers = new FuzzAnswers(() => udm);
    const { expectRefused, expectUdmOr4xx: expectNo5xx } = answers;
    const send = async (
      what: string,
      method: string,
      path: string,
      authority: string,
      headers: Record<string, string> = {},
      body?: string | Uint8Array,
    ) => {
      return answers.add(what, await nf.request(method, path, { ":scheme": "http", ...headers }, body, authority));
    };

    beforeAll(async () => {
      ({ w, udm } = await startFuzzPair(`fuzz-sbi-${mode}`, mode, (c) => {
        c.sbi = { ...c.sbi, requestTimeoutMs: 2500 }; // the stalled-body case ends within this
      }));
      udmAuthority = `${HOME_UDM}:${udm.port}`;
      ({ visited: v, home: h } = w);
      sbiPort = w.sides.visited.ports.sbi;
      nf = new RawH2(`http://127.0.0.1:${sbiPort}`);
      hLog0 = h.logs.length;
      vLog0 = v.logs.length;
    }, 60000);

    afterAll(async () => {
      nf?.close();
      expect(await w?.close()).toEqual([0, 0]);
    });

    test("random paths to the real UDM: the UDM's answer or a 4xx, never a 5xx; paths with dot segments, encoded '/', NUL or backslash are not forwarded", async () => {
      const seg = fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@]{0,12}$/),
        fc.constantFrom(
          "..",
          ".",
          "%2e%2e",
          "%2F",
          "%2f",
          "%00",
          "%5C",
          "%25",
          "%252e",
          "%",
          "%zz",
          "\u00e9",
          "%C3%A9",
          "~",
          "{",
          "}",
        ),
        fc.integer({ min: 1000, max: 5000 }).map((n) => "a".repeat(n)),
      );
      const paths = fc
        .tuple(
          fc.constantFrom("/nudm-sdm/v2", "/nudm-sdm", "", `/nudm-sdm/v2/${SUPI}`),
          fc.array(seg, { maxLength: 6 }),
          fc.option(fc.stringMatching(/^[A-Za-z0-9=&%+-]{0,30}$/)),
        )
        .map(([pre, segs, q]) => `${pre}/${segs.join("/")}${q === null ? "" : `?${q}`}`);
      const dangerous = (p: string) => /(^|\/)(\.|\.\.|%2e%2e|%252e)(\/|\?|$)|%2f|%00|%5c|\\/i.test(p.split("?")[0]!);
      const tally = new SkipTally("random paths", 0.1);
      await fc.assert(
        fc.asyncProperty(paths, async (p) => {
          tally.run();
          const before = udm.received.length;
          let r: RawResponse;
          try {
            r = await send(`path ${p.slice(0, 60)}`, "GET", p, udmAuthority);
          } catch (e) {
            // a path the HTTP/2 client itself will not send (invalid characters): nothing to test
            if (isClientRefusal(e)) return tally.skip("the client would not send it");
            throw e;
          }
          expectNo5xx(r, `GET ${p.slice(0, 80)}`, before);
          if (dangerous(p) && fromUdm(r)) {
            const got = udm.received.at(-1)!.path;
            if (dangerous(got)) throw new Error(`${p.slice(0, 80)} reached the UDM as ${got.slice(0, 80)}`);
          }
        }),
        { seed: 0x5b1, numRuns: 60, endOnFailure: true },
      );
      tally.check();
    });

    test("random :authority values: 4xx, nothing forwarded", async () => {
      const authorities = fc.oneof(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
        fc.stringMatching(/^[a-z0-9.-]{1,60}$/),
        fc.constantFrom(
          `user:pw@${udmAuthority}`,
          `${HOME_UDM}:0`,
          `${HOME_UDM}:99999`,
          `${HOME_UDM}:`,
          "127.0.0.1",
          "[::1]:80",
          "2130706433",
          "0x7f.1",
          `t${"a".repeat(25)}.${VISITED.fqdn}`,
          `x.y.${VISITED.fqdn}`,
          VISITED.fqdn,
          "udm.5gc.mnc015.mcc234.3gppnetwork.org",
          "udm.5gc.mnc999.mcc999.3gppnetwork.org",
          `${"a".repeat(64)}.5gc.mnc001.mcc262.3gppnetwork.org`,
          `${"a.".repeat(130)}5gc.mnc001.mcc262.3gppnetwork.org`,
          "udm_x.5gc.mnc001.mcc262.3gppnetwork.org",
          "udm%2e5gc.mnc001.mcc262.3gppnetwork.org",
          "ud\u00e9.5gc.mnc001.mcc262.3gppnetwork.org",
        ),
      );
      const tally = new SkipTally("random :authority values", 0.4);
      await fc.assert(
        fc.asyncProperty(authorities, async (a) => {
          tally.run();
          const before = udm.received.length;
          let r: RawResponse;
          try {
            r = await send(`authority ${a.slice(0, 60)}`, "GET", AM_PATH, a);
          } catch (e) {
            if (isClientRefusal(e)) return tally.skip("the client would not send it");
            // HTTP/2 itself refuses an :authority with characters outside RFC 3986 (a malformed request, RFC 9113
            // 8.3.1: stream error PROTOCOL_ERROR) before the SEPP sees it
            if (/NGHTTP2_PROTOCOL_ERROR/.test(String(e)) && /[^A-Za-z0-9\-._~%!$&'()*+,;=:[\]]/.test(a)) {
              expect(udm.received.length).toBe(before);
              return tally.skip("HTTP/2 refused the :authority");
            }
            throw e;
          }
          expectRefused(r, `authority ${JSON.stringify(a).slice(0, 80)}`, before);
        }),
        { seed: 0xa07, numRuns: 50, endOnFailure: true },
      );
      tally.check();
    });

    test("random 3gpp-Sbi-Target-apiRoot values: 4xx, nothing forwarded", async () => {
      const roots = fc.oneof(
        fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => s.trim() !== ""),
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.constantFrom(
          `http://${udmAuthority}?x=1`,
          `http://${udmAuthority}#f`,
          `http://u@${udmAuthority}`,
          `ftp://${udmAuthority}`,
          `http://${HOME_UDM}:0`,
          `http://${HOME_UDM}:65536`,
          `http://${udmAuthority}/../x`,
          `http://${udmAuthority}//x`,
          `http://${udmAuthority}/%2e%2e`,
          "http://127.1",
          "http://[fe80::1%25eth0]",
          "http://[v1.x]",
          "http://0177.0.0.1",
          `http://${"a".repeat(2100)}.mnc001.mcc262.3gppnetwork.org`,
          `http://${"a".repeat(64)}.5gc.mnc001.mcc262.3gppnetwork.org`,
          "http://udm.5gc.mnc015.mcc234.3gppnetwork.org",
          "http://udm.5gc.mnc999.mcc999.3gppnetwork.org",
          `http://t${"b".repeat(25)}.${VISITED.fqdn}`,
          "http://",
          "//udm.5gc.mnc001.mcc262.3gppnetwork.org",
        ),
      );
      const tally = new SkipTally("random 3gpp-Sbi-Target-apiRoot values", 0.1);
      await fc.assert(
        fc.asyncProperty(roots, async (root) => {
          tally.run();
          const before = udm.received.length;
          let r: RawResponse;
          try {
            r = await send(`apiRoot ${root.slice(0, 60)}`, "GET", AM_PATH, VISITED.fqdn, {
              "3gpp-sbi-target-apiroot": root,
            });
          } catch (e) {
            if (isClientRefusal(e)) return tally.skip("the client would not send it");
            if (isWhitespaceEdgeReset(e, root)) {
              expect(udm.received.length).toBe(before);
              return tally.skip("malformed at the HTTP/2 level");
            }
            throw e;
          }
          expectRefused(r, `apiRoot ${JSON.stringify(root).slice(0, 100)}`, before);
        }),
        { seed: 0x7a9, numRuns: 50, endOnFailure: true },
      );
      tally.check();
    });

    test("random 3gpp-Sbi-Originating-Network-Id values: our own PLMN goes through, anything else is 4xx and not forwarded", async () => {
      const own = /^\s*234-0?15(; ?src: ?SEPP-[^\s]+)?\s*$/i;
      const ids = fc.oneof(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ""),
        fc
          .tuple(
            fc.stringMatching(/^[0-9]{0,4}$/),
            fc.stringMatching(/^[0-9]{0,4}$/),
            fc.stringMatching(/^(-[0-9A-Fa-f]{0,12})?$/),
            fc.constantFrom("", "; src: SEPP-x", ";src:", `; src: ${"a".repeat(3000)}`),
          )
          .map(([a, b, n, s]) => `${a}-${b}${n}${s}`),
        fc.constantFrom(
          "262-01",
          "262-001",
          `234-15; src: SEPP-${VISITED.fqdn}`,
          "234-015",
          "234-15, 234-15",
          "234-15-0123456789A",
          "\u0000",
          `234-15;${"x".repeat(5000)}`,
        ),
      );
      const tally = new SkipTally("random 3gpp-Sbi-Originating-Network-Id values", 0.1);
      await fc.assert(
        fc.asyncProperty(ids, async (id) => {
          tally.run();
          const before = udm.received.length;
          let r: RawResponse;
          try {
            r = await send(`origin ${id.slice(0, 60)}`, "GET", AM_PATH, udmAuthority, {
              "3gpp-sbi-originating-network-id": id,
            });
          } catch (e) {
            if (isClientRefusal(e)) return tally.skip("the client would not send it");
            if (isWhitespaceEdgeReset(e, id)) {
              expect(udm.received.length).toBe(before);
              return tally.skip("malformed at the HTTP/2 level");
            }
            throw e;
          }
          if (fromUdm(r)) {
            // only an originating network of our own PLMN may pass (TS 33.501 5.9.3.2)
            if (!/^\s*234-0?15\b/.test(id)) throw new Error(`origin ${JSON.stringify(id).slice(0, 80)} was forwarded`);
            return;
          }
          expectRefused(r, `origin ${JSON.stringify(id).slice(0, 80)}`, before);
          if (own.test(id) && !/src: ?SEPP-/i.test(id)) throw new Error(`own origin ${id} refused`);
        }),
        { seed: 0x0419, numRuns: 50, endOnFailure: true },
      );
      tally.check();
    });

    test("bodies with encBlockIndex at any depth: 4xx, nothing forwarded (TS 33.501 5.9.3.2)", async () => {
      const bodies: Array<[string, string]> = [
        ["top", JSON.stringify({ encBlockIndex: 1 })],
        ["nested", JSON.stringify({ a: { b: [{ c: { encBlockIndex: 0 } }] } })],
        ["at depth 500", deepJson(500, "object", '{"encBlockIndex":1}')],
        ["in an array at depth 2000", deepJson(2000, "array", '{"encBlockIndex":"x"}')],
        ["escaped name", '{"a":{"encBlock\\u0049ndex":1}}'],
        [
          "after 50k members",
          `{${Array.from({ length: 50_000 }, (_, i) => `"k${i}":1`).join(",")},"z":{"encBlockIndex":2}}`,
        ],
      ];
      for (const [what, body] of bodies) {
        const before = udm.received.length;
        const r = await send(
          `encBlockIndex ${what}`,
          "PUT",
          `${AM_PATH}/x`,
          udmAuthority,
          { "content-type": "application/json" },
          body,
        );
        expectRefused(r, `encBlockIndex ${what}`, before);
      }
    });

    test("malformed JSON and multipart bodies: 4xx or the UDM's answer, never 5xx; unreadable multipart not forwarded", async () => {
      const b = "fz";
      const mp = (s: string) => s.replace(/\n/g, "\r\n");
      // PRINS reformats the body, so what cannot be read is refused; TLS mode relays the body as it is (the
      // producer judges it), but an encBlockIndex member must still not cross (TS 33.501 5.9.3.2)
      const prins = mode === "PRINS";
      const cases: Array<[string, string, string | Uint8Array, boolean]> = [
        // [what, content-type, body, must be refused]
        ["no boundary", "multipart/related", mp(`--${b}\nContent-Type: application/json\n\n{}\n--${b}--\n`), prins],
        ["bad boundary", `multipart/related; boundary="${"x".repeat(80)}"`, "--x\r\n\r\n--x--", prins],
        ["boundary not found", `multipart/related; boundary=${b}`, "{}", prins],
        [
          "no closing delimiter",
          `multipart/related; boundary=${b}`,
          mp(`--${b}\nContent-Type: application/json\n\n{}\n`),
          prins,
        ],
        [
          "part header over 8 KB",
          `multipart/related; boundary=${b}`,
          mp(`--${b}\nContent-Type: application/json\nX: ${"a".repeat(9000)}\n\n{}\n--${b}--\n`),
          prins,
        ],
        [
          "100 parts",
          `multipart/related; boundary=${b}`,
          mp(`${`--${b}\nContent-Type: application/json\n\n{}\n`.repeat(100)}--${b}--\n`),
          prins,
        ],
        [
          "root part not JSON",
          `multipart/related; boundary=${b}`,
          mp(
            `--${b}\nContent-Type: application/json\n\n{not json\n--${b}\nContent-Type: application/vnd.3gpp.5gnas\nContent-Id: n1\n\nxx\n--${b}--\n`,
          ),
          prins,
        ],
        [
          "root part with encBlockIndex",
          `multipart/related; boundary=${b}`,
          mp(`--${b}\nContent-Type: application/json\n\n{"x":{"encBlockIndex":1}}\n--${b}--\n`),
          true,
        ],
        [
          "binary part without Content-ID",
          `multipart/related; boundary=${b}`,
          mp(
            `--${b}\nContent-Type: application/json\n\n{}\n--${b}\nContent-Type: application/vnd.3gpp.5gnas\n\nxx\n--${b}--\n`,
          ),
          prins,
        ],
        [
          "repeated Content-ID",
          `multipart/related; boundary=${b}`,
          mp(
            `--${b}\nContent-Type: application/json\n\n{}\n--${b}\nContent-Type: application/vnd.3gpp.5gnas\nContent-Id: a\n\nx\n--${b}\nContent-Type: application/vnd.3gpp.5gnas\nContent-Id: a\n\ny\n--${b}--\n`,
          ),
          prins,
        ],
        [
          "part header without colon",
          `multipart/related; boundary=${b}`,
          mp(`--${b}\nContent-Type application/json\n\n{}\n--${b}--\n`),
          prins,
        ],
        ["JSON truncated", "application/json", '{"a":', false],
        ["JSON 10k deep", "application/json", deepJson(10_000), false],
        ["invalid UTF-8", "application/json", new Uint8Array([0x7b, 0xff, 0x7d]), false],
        ["unknown content type", "application/x-fuzz", "\u0000\u0001", false],
        ["content-type garbage", ";;;=\u00e9", "{}", false],
      ];
      const skippedCases: string[] = [];
      for (const [what, ct, body, mustRefuse] of cases) {
        const before = udm.received.length;
        let r: RawResponse;
        try {
          r = await send(`body ${what}`, "POST", `${AM_PATH}/sub`, udmAuthority, { "content-type": ct }, body);
        } catch (e) {
          if (isClientRefusal(e)) {
            skippedCases.push(what);
            continue;
          }
          throw e;
        }
        if (mustRefuse) expectRefused(r, `body ${what}`, before);
        else expectNo5xx(r, `body ${what}`, before);
      }
      // a case the HTTP/2 client itself cannot encode would go untested: none may
      expect(skippedCases).toEqual([]);
    });

    test("wrong methods, huge and many headers: 4xx or the UDM's answer, never 5xx", async () => {
      for (const m of ["TRACE", "CONNECT", "FOO", "OPTIONS", "HEAD"]) {
        const before = udm.received.length;
        let r: RawResponse;
        try {
          r = await send(`method ${m}`, m, AM_PATH, udmAuthority);
        } catch (e) {
          if (/ERR_INVALID|ERR_HTTP2|Invalid|NGHTTP2/i.test(String(e))) continue;
          throw e;
        }
        if (r.status >= 500 && !fromUdm(r))
          throw new Error(`method ${m}: ${r.status} ${r.body.toString().slice(0, 200)}`);
        if (!fromUdm(r)) expect(udm.received.length).toBe(before);
      }
      const many: Record<string, string> = {};
      for (let i = 0; i < 200; i++) many[`x-fuzz-${i}`] = String(i);
      for (const [what, headers] of [
        ["200 headers", many],
        ["a 60 KB header", { "x-big": "a".repeat(60_000) }],
        ["a 10 KB authorization", { authorization: `Bearer ${"a".repeat(10_000)}.${"b".repeat(100)}.c` }],
        ["two target apiRoots", { "3gpp-sbi-target-apiroot": `http://${udmAuthority}, http://${udmAuthority}` }],
        ["max-rsp-time garbage", { "3gpp-sbi-max-rsp-time": "-1e999" }],
      ] as const) {
        const before = udm.received.length;
        try {
          const r = await send(what, "GET", AM_PATH, udmAuthority, headers);
          expectNo5xx(r, what, before);
        } catch (e) {
          expect(String(e)).toMatch(/NGHTTP2|ERR_HTTP2|stream|ENHANCE_YOUR_CALM|COMPRESSION|PROTOCOL|refused/i);
          nf.close();
        }
      }
    });

    test("prototype-pollution member names in an NF body travel as plain members and arrive unchanged", async () => {
      const body =
        '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"supi":"' +
        SUPI +
        '","x":{"__proto__":[1,2]}}';
      const before = udm.received.length;
      const r = await send(
        "prototype keys",
        "PUT",
        `${AM_PATH}/proto`,
        udmAuthority,
        { "content-type": "application/json" },
        body,
      );
      expect(answers.delivered(r, before)).toBe(true);
      const got = JSON.parse(udm.received.at(-1)!.body.toString());
      const want = JSON.parse(body);
      for (const [o, w] of [
        [got, want],
        [got.x, want.x],
      ]) {
        expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
        expect(Object.keys(o).sort()).toEqual(Object.keys(w).sort());
      }
      expect(Object.getOwnPropertyDescriptor(got, "__proto__")?.value).toEqual({ polluted: true });
      expect(Object.getOwnPropertyDescriptor(got.x, "__proto__")?.value).toEqual([1, 2]);
      expect(got.constructor).toEqual({ prototype: { polluted: true } });
      expect(got.supi).toBe(SUPI);
    });

    test("a body that never ends: 408 ProblemDetails after the request timeout, nothing forwarded", async () => {
      const before = udm.received.length;
      const t0 = Date.now();
      const r = await nf.stalled(
        "PUT",
        `${AM_PATH}/x`,
        { ":scheme": "http", "content-type": "application/json" },
        '{"a":',
        udmAuthority,
        8000,
      );
      answers.add("stalled body", r);
      expectRefused(r, "stalled body", before);
      expect(r.status).toBe(408);
      expect(Date.now() - t0).toBeLessThan(7000);
    });

    test("Nsepp_Telescopic_FQDN_Mapping with random queries, paths and methods: 200 or 4xx ProblemDetails", async () => {
      const value = fc.oneof(
        fc.string({ maxLength: 30 }).map(encodeURIComponent),
        fc.stringMatching(/^[A-Za-z0-9.%-]{0,40}$/),
        fc.constantFrom(
          "%",
          "%zz",
          "%E0%A4%A",
          "%00",
          "udm.5gc.mnc001.mcc262.3gppnetwork.org",
          `x.${VISITED.fqdn}`,
          `t${"a".repeat(25)}`,
          "a".repeat(300),
          "%C0%AE",
        ),
      );
      const query = fc
        .array(fc.tuple(fc.constantFrom("foreign-fqdn", "telescopic-label", "x", "", "foreign-fqdn%00"), value), {
          maxLength: 3,
        })
        .map((kv) => kv.map(([k, x]) => `${k}=${x}`).join("&"));
      const req = fc.tuple(
        fc.constantFrom("GET", "GET", "POST", "DELETE"),
        fc.constantFrom(
          "/nsepp-telescopic/v1/mapping",
          "/nsepp-telescopic/v1/mapping/",
          "/nsepp-telescopic/v1/",
          "/nsepp-telescopic/v1/x",
        ),
        query,
      );
      await fc.assert(
        fc.asyncProperty(req, async ([method, p, q]) => {
          const what = `telescopic ${method} ${p}?${q}`.slice(0, 120);
          const r = await send(
            what,
            method,
            q ? `${p}?${q}` : p,
            VISITED.fqdn,
            {},
            method === "POST" ? "{}" : undefined,
          );
          if (r.status === 200) {
            expect(typeof r.json()?.telescopicLabel).toBe("string");
            return;
          }
          if (!isProblem4xx(r))
            throw new Error(`${what}: ${r.status} ${r.headers["content-type"]} ${r.body.toString().slice(0, 200)}`);
        }),
        { seed: 0x7e1, numRuns: 60, endOnFailure: true },
      );
    });

    test("rapid reset: streams reset in the same read as their HEADERS reach the producer far less often than they were cancelled; nothing left in flight", async () => {
      const before = udm.received.length;
      // HEADERS + RST_STREAM for each stream in one write (CVE-2023-44487), as an attacker sends them; up to 2000
      // streams in batches of 10 every 10 ms (bounded in count and time), until the SEPP ends the connection
      const c = await rawConnect(sbiPort);
      c.socket.write(clientPreface());
      let sent = 0;
      for (let w = 0; w < 200 && !c.isClosed(); w++) {
        const parts: Buffer[] = [];
        for (let i = 0; i < 10; i++) {
          const id = 1 + 2 * sent++;
          parts.push(
            headersFrame(id, [
              [":method", "GET"],
              [":scheme", "http"],
              [":path", `${AM_PATH}?i=${id}`],
              [":authority", udmAuthority],
            ]),
            rstFrame(id),
          );
        }
        c.socket.write(Buffer.concat(parts));
        await Bun.sleep(10);
      }
      await Promise.race([c.closed, Bun.sleep(3000)]);
      // a high reset rate ends the connection (sbi.maxResetsPer10s, default 200) with GOAWAY ENHANCE_YOUR_CALM
      expect(findGoaway(c.received())).toBe(ENHANCE_YOUR_CALM);
      expect(sent).toBeLessThan(400);
      await waitFor("the producer's streams to close", () => udm.openStreams() === 0, 10000);
      // cancelled streams do not reach the producer: under 5 % of them (the broken behaviour let them through)
      expect(udm.received.length - before).toBeLessThan(sent * 0.05);
      c.socket.destroy();
      // cancelled by the client 1 ms after sending (the SEPP may have forwarded some): nothing stays in flight
      const rs = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) =>
          nf.request("GET", `${AM_PATH}?j=${i}`, { ":scheme": "http" }, undefined, udmAuthority, 1, true),
        ),
      );
      expect(rs.every((x) => x.status === "rejected")).toBe(true);
      await waitFor("the producer's streams to close", () => udm.openStreams() === 0, 10000);
      const r = await nf.request("GET", AM_PATH, { ":scheme": "http" }, undefined, udmAuthority);
      expect(fromUdm(r)).toBe(true);
    });

    test("a header name over 256 characters: 400 from the sending SEPP, not forwarded (the receiving SEPP would refuse it)", async () => {
      const before = udm.received.length;
      const r = await send("long header name", "GET", AM_PATH, udmAuthority, { [`x-${"n".repeat(298)}`]: "v" });
      expectRefused(r, "long header name", before);
      expect(r.status).toBe(400);
      expect(r.json()?.cause).toBe("INVALID_MSG_FORMAT");
    });

    test("a 20 000 character query: 4xx ProblemDetails, not forwarded (the peer or the producer would refuse it)", async () => {
      const before = udm.received.length;
      const r = await send("long query", "GET", `${AM_PATH}?a=${"q".repeat(20_000)}`, udmAuthority);
      expectRefused(r, "long query", before);
    });

    test("no 5xx anywhere; the SEPPs still serve a genuine request and are healthy", async () => {
      expect(answers.list.length).toBeGreaterThan(200);
      expect(answers.seppErrors()).toEqual([]);
      const before = udm.received.length;
      const r = await nf.request("GET", AM_PATH, { ":scheme": "http" }, undefined, udmAuthority);
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ gpsis: ["msisdn-491700000001"] });
      expect(udm.received.length).toBe(before + 1);
      await expectHealthy(v, expect, vLog0);
      await expectHealthy(h, expect, hLog0);
    });
  });
}
