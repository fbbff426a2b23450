// SSRF at the home SEPP in TLS mode (TS 33.501 13.1.1.2; N32-PROFILE P8, P10): a hostile roaming partner holds a
// valid N32 certificate and an active TLS-mode association, so it can send any HTTP/2 request on N32-f with any
// 3gpp-Sbi-Target-apiRoot. The test plays that partner with the visited SEPP's own certificate (through the
// man-in-the-middle proxy's upstream connection) and aims at targets outside the home SEPP's allow-list:
// loopback, metadata and local names, other hosts, ports and schemes, path tricks. Each is refused with 403
// TARGET_NOT_ALLOWED (or 400 for a malformed apiRoot); a canary server on the loopback must see no connection
// and the real producer no request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { HOME_UDM } from "../../scripts/lib/pair.ts";
import { startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import type { N32Proxy } from "../support/n32-proxy.ts";

const SUPI = "imsi-262010000000001";

describe("TLS mode: a hostile partner aims the home SEPP at targets outside its allow-list", () => {
  let w: TwoSepps<"peer">;
  let udm: TestNf;
  let canary: Server;
  let canaryPort = 0;
  let canaryConnections = 0;
  let peer: N32Proxy; // its upstream connection is the hostile partner's N32-f connection

  beforeAll(async () => {
    // a producer that takes 8 KB of header fields (announced), less than a TLS-mode request may bring (16 KB)
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }), {
      maxHeaderListSize: 8192,
    });
    canary = createServer((s) => {
      canaryConnections++;
      s.destroy();
    });
    await new Promise<void>((res) => canary.listen(0, "127.0.0.1", () => res()));
    canaryPort = (canary.address() as { port: number }).port;
    w = await startTwoSepps({
      name: "e2e-wire-tls",
      capabilities: ["TLS"],
      homeNfs: { [HOME_UDM]: udm },
      proxies: { peer: { target: "home" } },
    });
    peer = w.proxies.peer;
  }, 60000);

  afterAll(async () => {
    const codes = await w?.close();
    canary?.close();
    expect(codes).toEqual([0, 0]);
  });

  const send = (apiRoot: string, path = `/nudm-sdm/v2/${SUPI}/am-data`) =>
    peer.send(path, "", { "3gpp-sbi-target-apiroot": apiRoot, "3gpp-sbi-originating-network-id": "234-15" }, "GET");

  test("the allowed producer is reached (the association works)", async () => {
    const r = await send(`http://${HOME_UDM}:${udm.port}`);
    expect(r.status).toBe(200);
    expect(udm.received.length).toBe(1);
  });

  test("a header list over what the producer announced it takes (SETTINGS_MAX_HEADER_LIST_SIZE): 431, not sent", async () => {
    const before = udm.received.length;
    const r = await peer.send(
      `/nudm-sdm/v2/${SUPI}/am-data`,
      "",
      {
        "3gpp-sbi-target-apiroot": `http://${HOME_UDM}:${udm.port}`,
        "3gpp-sbi-originating-network-id": "234-15",
        "x-big": "b".repeat(10_000),
      },
      "GET",
    );
    expect(`${r.status} ${JSON.parse(r.body.toString()).cause}`).toBe("431 MANDATORY_IE_INCORRECT");
    expect(udm.received.length).toBe(before);
  });

  const cases: Array<[string, () => string, RegExp]> = [
    ["loopback literal", () => `http://127.0.0.1:${canaryPort}`, /not allowed/],
    ["IPv6 loopback literal", () => `http://[::1]:${canaryPort}`, /not allowed/],
    ["IPv4-mapped IPv6 loopback", () => `http://[::ffff:127.0.0.1]:${canaryPort}`, /not allowed/],
    ["cloud metadata address", () => "http://169.254.169.254", /not allowed/],
    ["localhost", () => `http://localhost:${canaryPort}`, /not allowed/],
    [
      "another host of the home PLMN",
      () => `http://evil.5gc.mnc001.mcc262.3gppnetwork.org:${canaryPort}`,
      /not allowed/,
    ],
    ["the allowed host on another port", () => `http://${HOME_UDM}:${canaryPort}`, /port/],
    ["the allowed host with another scheme", () => `https://${HOME_UDM}:${udm.port}`, /scheme/],
  ];
  for (const [name, root, detail] of cases) {
    test(`refused: ${name}`, async () => {
      const before = udm.received.length;
      const r = await send(root());
      expect(r.status).toBe(403);
      const p = JSON.parse(r.body.toString());
      expect(p.cause).toBe("TARGET_NOT_ALLOWED");
      expect(p.detail).toMatch(detail);
      expect(udm.received.length).toBe(before);
    });
  }

  test("refused: dot segments and encoded slashes in the path", async () => {
    for (const path of [`/nudm-sdm/v2/../../admin`, `/nudm-sdm/v2/%2e%2e/x`, `/nudm-sdm/v2/a%2Fb/am-data`]) {
      const r = await send(`http://${HOME_UDM}:${udm.port}`, path);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    expect(udm.received.length).toBe(1);
  });

  test("refused: an apiRoot that is not one", async () => {
    for (const root of ["gopher://x", "http://", `ftp://${HOME_UDM}`]) {
      const r = await send(root);
      expect([400, 403]).toContain(r.status);
    }
  });

  test("the canary never saw a connection", () => {
    expect(canaryConnections).toBe(0);
  });
});
