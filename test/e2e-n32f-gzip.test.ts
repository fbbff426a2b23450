// Sender-side gzip of n32f-process bodies (N32-PROFILE P11: "a sender compresses only toward a next hop that
// announced gzip"), with two real SEPP processes and an RI next hop (test/support/n32-proxy.ts, its own RI
// certificate) that shows what crossed it. The visited SEPP asks each new connection `OPTIONS …/n32f-process`;
// the RI forwards it to the home SEPP (204, Accept-Encoding: gzip, identity) or, when a test says so, answers
// itself without gzip.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  HOME,
  HOME_AUSF,
  freePort,
  startSepp,
  waitFor,
  waitForState,
  writePair,
  type SeppProcess,
} from "../scripts/lib/pair.ts";
import { createRootCa } from "../src/pki/devpki.ts";
import { type N32Proxy, type ProxyExchange, startRiProxy } from "./support/n32-proxy.ts";
import { NfClient, startNf, type TestNf } from "./support/nf.ts";
import { TestRi } from "./support/ri.ts";

const SUPI = "imsi-262010000000001";
const AUTH_PATH = "/nausf-auth/v1/ue-authentications";
const IPX = "ipx-z.example.net";
const MIN_BYTES = 8192;
const PROCESS = "/n32f-forward/v1/n32f-process";

describe("gzip toward a next hop that announced it (P11), from sbi.n32fGzipMinBytes on", () => {
  const dir = mkdtempSync(join(tmpdir(), "sepp-e2e-gzip-"));
  let ausf: TestNf;
  let v: SeppProcess;
  let h: SeppProcess;
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
    ausf = await startNf((r) => ({
      status: 201,
      headers: { "content-type": "application/json", location: `http://${HOME_AUSF}${AUTH_PATH}/1` },
      body: r.body.toString(),
    }));
    const riRoot = await createRootCa({ name: "IPX providers' RI root" });
    const ri = await TestRi.create(riRoot, IPX);
    const pIpx = await freePort();
    const pair = await writePair({
      dir,
      capabilities: ["PRINS"],
      homeProducers: { [HOME_AUSF]: ausf.port },
      edit: (side, c) => {
        c.tls!.riTrustAnchors = [riRoot.certPem];
        c.sbi = { ...c.sbi, n32fGzipMinBytes: MIN_BYTES, n32fNextHopBackoffMs: 200 };
        if (side === "visited") {
          c.peers![0]!.n32fNextHops = [{ uri: `https://127.0.0.1:${pIpx}`, ipxProviderId: IPX }];
          c.peers![0]!.roamingIntermediaries = [{ ipxProviderId: IPX, side: "own", certificates: [ri.cert.certPem] }];
        }
      },
    });
    const homeAuthority = `${HOME.fqdn}:${pair.home.ports.n32}`.toLowerCase();
    ipx = await startRiProxy({
      ri: { cert: ri.cert.chainPem, key: ri.cert.keyPem },
      clientCa: [pair.pki.rootV.certPem, pair.pki.rootH.certPem],
      port: pIpx,
      routes: {
        [homeAuthority]: {
          url: `https://127.0.0.1:${pair.home.ports.n32}`,
          servername: HOME.fqdn,
          ca: [pair.pki.rootH.certPem],
        },
      },
    });
    // first the RI answers OPTIONS itself, announcing identity only
    ipx.onRequest((r) =>
      r.method === "OPTIONS"
        ? { kind: "respond", status: 204, headers: { "accept-encoding": "identity", allow: "POST, OPTIONS" } }
        : undefined,
    );
    h = await startSepp(pair.home);
    v = await startSepp(pair.visited);
    await waitForState(v, "home", "active-prins");
    await waitForState(h, "visited", "active-prins");
    amf = new NfClient(pair.visited.ports.sbi);
  }, 60000);

  afterAll(async () => {
    amf?.close();
    const codes = await Promise.all([v?.stop(), h?.stop()]);
    await Promise.all([ipx?.close(), ausf?.close()]);
    rmSync(dir, { recursive: true, force: true });
    expect(codes).toEqual([0, 0]);
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
