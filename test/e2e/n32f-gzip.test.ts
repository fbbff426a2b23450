// Sender-side gzip of n32f-process bodies (N32-PROFILE P11: "a sender compresses only toward a next hop that
// announced gzip"), with two real SEPP processes and an RI next hop (test/support/n32-proxy.ts, its own RI
// certificate) that shows what crossed it. The visited SEPP asks each new connection `OPTIONS …/n32f-process`;
// the RI forwards it to the home SEPP (204, Accept-Encoding: gzip, identity) or, when a test says so, answers
// itself without gzip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { gunzipSync } from "node:zlib";
import { HOME_AUSF, freePort, waitFor } from "../../scripts/lib/pair.ts";
import { createRootCa } from "../../src/pki/devpki.ts";
import { type N32Proxy, type ProxyExchange, routeToSepp, startRiProxy } from "../support/n32-proxy.ts";
import type { NfClient, TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import { AUTH_PATH, TestRi, startEchoAusf } from "../support/ri.ts";

const SUPI = "imsi-262010000000001";
const IPX = "ipx-z.example.net";
const MIN_BYTES = 8192;
const PROCESS = "/n32f-forward/v1/n32f-process";

describe("gzip toward a next hop that announced it (P11), from sbi.n32fGzipMinBytes on", () => {
  let w: TwoSepps;
  let ausf: TestNf;
  let ipx: N32Proxy;
  let amf: NfClient;

  /** An AUSF request whose body is about `size` octets (a long clear IE: it stays in the aad, base64url). */
  const postAuth = (size: number) =>
    amf.request(
      "POST",
      `${HOME_AUSF}:${ausf.port}`,
      AUTH_PATH,
      { "content-type": "application/json" },
      JSON.stringify({
        supiOrSuci: SUPI,
        servingNetworkName: "5G:mnc015.mcc234.3gppnetwork.org",
        traceData: { traceRef: "234015-000001", traceDepth: "MINIMUM", neTypeList: "x".repeat(size) },
      }),
    );
  const processPosts = () => ipx.exchanges.filter((x) => x.path === PROCESS && x.method === "POST");
  const options = () => ipx.exchanges.filter((x) => x.path === PROCESS && x.method === "OPTIONS");
  const lastPost = (): ProxyExchange => processPosts().at(-1)!;

  beforeAll(async () => {
    ausf = await startEchoAusf();
    const riRoot = await createRootCa({ name: "IPX providers' RI root" });
    const ri = await TestRi.create(riRoot, IPX);
    const pIpx = await freePort();
    w = await startTwoSepps({
      name: "e2e-gzip",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_AUSF]: ausf },
      edit: (side, c) => {
        c.tls!.riTrustAnchors = [riRoot.certPem];
        c.sbi = { ...c.sbi, n32fGzipMinBytes: MIN_BYTES, n32fNextHopBackoffMs: 200 };
        if (side === "visited") {
          c.peers![0]!.n32fNextHops = [{ uri: `https://127.0.0.1:${pIpx}`, ipxProviderId: IPX }];
          c.peers![0]!.roamingIntermediaries = [{ ipxProviderId: IPX, side: "own", certificates: [ri.cert.certPem] }];
        }
      },
      beforeStart: async ({ sides, pki }, own) => {
        ipx = own(
          await startRiProxy({
            ri: { cert: ri.cert.chainPem, key: ri.cert.keyPem },
            clientCa: [pki.rootV.certPem, pki.rootH.certPem],
            port: pIpx,
            routes: routeToSepp(sides, pki, "home"),
          }),
        );
        // first the RI answers OPTIONS itself, announcing identity only
        ipx.onRequest((r) =>
          r.method === "OPTIONS"
            ? { kind: "respond", status: 204, headers: { "accept-encoding": "identity", allow: "POST, OPTIONS" } }
            : undefined,
        );
      },
      order: "home-first",
    });
    ({ amf } = w);
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("a next hop that announced identity only: bodies above the threshold go uncompressed", async () => {
    expect((await postAuth(10)).status).toBe(201); // opens the connection; the OPTIONS follows it
    await waitFor("the OPTIONS on the new connection", () => options().some((x) => x.action === "respond"));
    const r = await postAuth(4 * MIN_BYTES);
    expect(r.status).toBe(201);
    expect(lastPost().headers["content-encoding"]).toBeUndefined();
    expect(lastPost().body.length).toBeGreaterThan(4 * MIN_BYTES);
  });

  test("a next hop that announced gzip (the home SEPP's 204 through the RI): bodies above the threshold are gzipped, smaller ones not, and both arrive intact", async () => {
    ipx.onRequest(null);
    // a new connection asks again: cut the current one
    await ipx.pause();
    await ipx.resume();
    const o0 = options().filter((x) => x.status === 204 && x.action === "forward").length;
    await waitFor("a request on a new connection", async () => (await postAuth(10)).status === 201, 10000, 300);
    await waitFor(
      "the forwarded OPTIONS",
      () => options().filter((x) => x.status === 204 && x.action === "forward").length > o0,
    );
    const fwd = options().at(-1)!;
    expect(fwd.status).toBe(204);
    const before = ausf.received.length;
    const r = await postAuth(4 * MIN_BYTES);
    expect(r.status).toBe(201);
    const big = lastPost();
    expect(big.headers["content-encoding"]).toBe("gzip");
    const inflated = gunzipSync(big.body);
    expect(big.body.length).toBeLessThan(inflated.length);
    expect(JSON.parse(inflated.toString()).reformattedData).toBeDefined();
    // the producer got the NF's body unchanged
    expect(ausf.received.length).toBe(before + 1);
    expect(JSON.parse(ausf.received.at(-1)!.body.toString()).traceData.neTypeList).toBe("x".repeat(4 * MIN_BYTES));
    // below the threshold: as it is
    expect((await postAuth(10)).status).toBe(201);
    expect(lastPost().headers["content-encoding"]).toBeUndefined();
    expect(lastPost().body.length).toBeLessThan(MIN_BYTES);
  });
});
