// The SBI input generator of the fuzz campaign (scripts/fuzz/sbi-gen.ts): most inputs are well-formed at the
// HTTP/2 level (RFC 9113 8.1–8.3), so that they reach the SEPP's own checks, a stated share (5–9 %) is broken on
// purpose and says how, and the well-formed ones still carry what the SEPP must refuse (foreign PLMNs, forged
// telescopic labels, 3GPP headers, sizes around its bounds). Also the raw client's part: a request the client
// refuses costs no later request (Bun's client leaves its HPACK table out of step with the server's after one).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http2 from "node:http2";
import fc from "fast-check";
import { HOME_UDM, VISITED } from "../../scripts/lib/pair.ts";
import { h2WellFormed, sbiInputs } from "../../scripts/fuzz/sbi-gen.ts";
import { FUZZ_SUPI, RawH2 } from "../support/fuzz.ts";

const UDM = `${HOME_UDM}:40000`;

describe("SBI fuzz generator", () => {
  const xs = fc.sample(sbiInputs(UDM, FUZZ_SUPI), { seed: 42, numRuns: 4000 });
  const broken = xs.filter((x) => x.h2Invalid !== undefined);

  test("every untagged input is well-formed at the HTTP/2 level, every tagged one is not", () => {
    expect(
      xs.filter((x) => x.h2Invalid === undefined && !h2WellFormed(x)).map((x) => JSON.stringify(x).slice(0, 300)),
    ).toEqual([]);
    expect(
      broken.filter((x) => h2WellFormed(x)).map((x) => `${x.h2Invalid}: ${JSON.stringify(x).slice(0, 300)}`),
    ).toEqual([]);
  });

  test("the HTTP/2-invalid share is 5–9 %, and covers each kind of breakage", () => {
    const share = broken.length / xs.length;
    expect(share).toBeGreaterThanOrEqual(0.05);
    expect(share).toBeLessThanOrEqual(0.09);
    expect(new Set(broken.map((x) => x.h2Invalid))).toEqual(
      new Set([
        "crlf-nul-value",
        "whitespace-value",
        "connection-specific",
        "bad-name",
        "pseudo-header",
        "content-length",
        "path",
        "host-differs",
        "method",
        "authority",
        "header-list-over-settings",
      ]),
    );
  });

  test("the well-formed inputs carry what the SEPP must refuse", () => {
    const ok = xs.filter((x) => x.h2Invalid === undefined);
    const count = (f: (x: (typeof ok)[number]) => boolean) => ok.filter(f).length;
    const telescopic = count((x) => (x.authority ?? "").toLowerCase().endsWith(`.${VISITED.fqdn}`));
    const foreign = count((x) => /mcc999|mcc208|mcc310|mcc001\./.test(x.authority ?? ""));
    const ownPlmn = count((x) => /^[a-z]+\.5gc\.mnc015\.mcc234/.test(x.authority ?? ""));
    const apiRoot = count((x) => "3gpp-sbi-target-apiroot" in x.headers);
    const origin = count((x) => "3gpp-sbi-originating-network-id" in x.headers);
    const manyHeaders = count((x) => Object.keys(x.headers).length > 128);
    const longQuery = count((x) => (x.path.split("?")[1]?.length ?? 0) > 16_384);
    const bodyOverLimit = count((x) => Buffer.byteLength(x.body ?? "") > 1 << 20);
    const badJson = count((x) => x.body !== undefined && !isJson(x.body));
    const encBlock = count((x) => (x.body ?? "").includes("encBlockIndex"));
    const percent = count((x) => /%(?:2[eEfF]|00|0d|C0)/.test(x.path));
    const stats = {
      telescopic,
      foreign,
      ownPlmn,
      apiRoot,
      origin,
      manyHeaders,
      longQuery,
      bodyOverLimit,
      badJson,
      encBlock,
      percent,
    };
    for (const [k, n] of Object.entries(stats)) expect({ [k]: n > 0 }).toEqual({ [k]: true });
    // the common ones are common
    expect(telescopic + foreign + ownPlmn).toBeGreaterThan(ok.length * 0.1);
    expect(apiRoot + origin).toBeGreaterThan(ok.length * 0.05);
    expect(badJson).toBeGreaterThan(ok.length * 0.05);
  });
});

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

describe("RawH2 after a request its client refuses", () => {
  let server: http2.Http2Server;
  let port = 0;
  beforeAll(async () => {
    server = http2.createServer();
    server.on("session", (s) => s.on("error", () => {}));
    server.on("stream", (s: http2.ServerHttp2Stream) => {
      s.on("error", () => {});
      s.respond({ ":status": 200 });
      s.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => server.close());

  test("the next requests on the same RawH2 are answered", async () => {
    const c = new RawH2(`http://127.0.0.1:${port}`);
    try {
      // the refused request carries an authority the HPACK table has not seen yet, then the refused value
      const refused = await c
        .request("GET", "/a", { "x-refused": "a\r\nx-injected: 1" }, undefined, "first.example")
        .then(
          () => "sent",
          (e: { code?: string }) => e.code,
        );
      expect(refused).toBe("ERR_HTTP2_INVALID_HEADER_VALUE");
      const after: Array<number | string> = [];
      for (const a of ["second.example", "third.example", "first.example"])
        after.push(
          await c.request("GET", "/b", { "x-n": a }, undefined, a, 3000).then(
            (r) => r.status,
            (e) => String(e.code),
          ),
        );
      expect(after).toEqual([200, 200, 200]);
    } finally {
      c.close();
    }
  });
});
