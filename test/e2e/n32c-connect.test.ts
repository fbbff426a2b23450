// N32-c through a Roaming Intermediary with HTTP CONNECT (N32-PROFILE P11; RFC 9110 9.3.6): two real SEPP
// processes and RI tunnels (test/support/connect-proxy.ts), each a real TLS server with its own certificate.
//
//   visited SEPP ──TLS (RI cert)── ipx-c: "CONNECT 127.0.0.1:<home N32>" ──TCP── home SEPP
//                └───────────── end-to-end mutual TLS (SEPP certs), N32-c inside ─────────┘
//
// The visited SEPP (initiator) has peers[].n32cVia; N32-f then goes straight to the home SEPP with the keys
// exported from the TLS connection inside the tunnel, so a PRINS request only succeeds if both sides hold the same.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, freePort, type SeppProcess } from "../../scripts/lib/pair.ts";
import { createRootCa, issueRiCert } from "../../src/pki/devpki.ts";
import { type ConnectProxy, startConnectProxy } from "../support/connect-proxy.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000001";
const IPX_C = "ipx-c.example.net";
const IPX_F = "ipx-f.example.net";
const IPX_R = "ipx-r.example.net";
const AM_DATA = { gpsis: ["msisdn-491700000001"], subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };
/** What N32-c bodies carry in clear JSON (TS 29.573 SecNegotiateReqData, SecParamExchReqData, …). */
const N32C_MARKERS = [
  "exchange-capability",
  "exchange-params",
  "supportedSecCapabilityList",
  "selectedSecCapability",
  "n32fContextId",
  "jweCipherSuiteList",
  "protectionPolicyInfo",
  '"sender"',
  "application/json",
];

describe("N32-c through an RI with HTTP CONNECT (P11): end-to-end TLS inside, keys equal, CONNECT refusals", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let v: SeppProcess;
  let good: ConnectProxy;
  let forbidding: ConnectProxy;
  let rogue: ConnectProxy;
  let amf: NfClient;
  let homeN32 = 0;

  const getAmData = () => amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
  const via = (p: ConnectProxy, id: string) => ({ uri: `https://127.0.0.1:${p.port}`, ipxProviderId: id });
  /** Reconfigure the visited SEPP's RIs on N32-c toward home (admin API), then run one handshake attempt. */
  const handshakeVia = async (list: ReturnType<typeof via>[]) => {
    const peer = (await (await v.admin("/v1/peers/home")).json()) as Record<string, unknown>;
    const put = await v.admin("/v1/peers/home", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...peer, n32cVia: list }),
    });
    expect(put.status).toBe(200);
    const t0 = Date.now();
    const r = await v.admin("/v1/peers/home/n32/handshake", { method: "POST" });
    expect(r.status).toBe(200);
    const s = (await r.json()) as {
      state: string;
      lastError: { at: number; cause: string; detail: string } | null;
    };
    return { s, fresh: s.lastError !== null && s.lastError.at >= t0 - 50 };
  };

  beforeAll(async () => {
    udm = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(AM_DATA),
    }));
    const riRoot = await createRootCa({ name: "IPX providers' RI root" });
    const goodPort = await freePort();
    w = await startTwoSepps({
      name: "e2e-connect",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      edit: (side, c) => {
        c.tls!.riTrustAnchors = [riRoot.certPem];
        c.n32c = { ...c.n32c, retryInitialMs: 60000, retryMaxMs: 60000 };
        if (side === "visited") c.peers![0]!.n32cVia = [{ uri: `https://127.0.0.1:${goodPort}`, ipxProviderId: IPX_C }];
      },
      beforeStart: async ({ pki }, own) => {
        const clientCa = [pki.rootV.certPem, pki.rootH.certPem];
        const [c, f, r] = await Promise.all([
          issueRiCert(riRoot, { ipxProviderId: IPX_C }),
          issueRiCert(riRoot, { ipxProviderId: IPX_F }),
          // names an RI but is issued by a PLMN root the SEPP trusts for N32, not by the RI trust store
          issueRiCert(pki.rootH, { ipxProviderId: IPX_R }),
        ]);
        good = own(await startConnectProxy({ ri: { cert: c.chainPem, key: c.keyPem }, clientCa, port: goodPort }));
        forbidding = own(await startConnectProxy({ ri: { cert: f.chainPem, key: f.keyPem }, clientCa, status: 403 }));
        rogue = own(await startConnectProxy({ ri: { cert: r.chainPem, key: r.keyPem }, clientCa }));
      },
      // home first: the visited SEPP's first attempt must find it listening (retries are 60 s apart here, so that
      // no background attempt changes lastError while a test reads it)
      order: "home-first",
    });
    ({ visited: v, amf } = w);
    homeN32 = w.sides.home.ports.n32;
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("the handshake runs inside the CONNECT tunnel: the RI saw CONNECT to the home N32-c host:port and only ciphertext, a PRINS request succeeds (equal keys)", async () => {
    expect(good.connects.length).toBeGreaterThanOrEqual(1);
    const first = good.connects[0]!;
    expect(first.target).toBe(`127.0.0.1:${homeN32}`);
    expect(first.status).toBe(200);
    expect(first.head.split("\r\n")[0]).toBe(`CONNECT 127.0.0.1:${homeN32} HTTP/1.1`);
    // P11: the 3gpp-Connect-Req-Info header is not sent
    expect(first.head.toLowerCase()).not.toContain("3gpp-connect");
    const r = await getAmData();
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(AM_DATA);
    const { up, down } = good.relayed();
    // the whole handshake crossed the RI (several kilobytes of TLS records both ways) ...
    expect(up.length).toBeGreaterThan(2000);
    expect(down.length).toBeGreaterThan(2000);
    // ... and none of it in clear: TLS handshake records (0x16) then application data, never N32-c JSON
    expect(up[0]).toBe(0x16);
    const text = up.toString("latin1") + down.toString("latin1");
    for (const m of N32C_MARKERS) expect({ marker: m, found: text.includes(m) }).toEqual({ marker: m, found: false });
  });

  test("a CONNECT answered 403: the handshake attempt fails with that status in the peer's last error", async () => {
    const before = forbidding.connects.length;
    const { s, fresh } = await handshakeVia([via(forbidding, IPX_F)]);
    expect(forbidding.connects.length).toBe(before + 1);
    expect(forbidding.connects.at(-1)!.target).toBe(`127.0.0.1:${homeN32}`);
    expect(fresh).toBe(true);
    expect(s.lastError!.cause).toBe("CONNECTION_FAILED");
    expect(s.lastError!.detail).toContain(`${IPX_F}: CONNECT answered 403 Forbidden`);
    // the same through the status resource
    const st = (await (await v.admin("/v1/peers/home/n32")).json()) as { lastError: { detail: string } };
    expect(st.lastError.detail).toContain("403");
  });

  test("an RI whose certificate is not from the RI trust store (a PLMN root): refused in the TLS handshake, no CONNECT sent", async () => {
    const accepted = rogue.accepted;
    const { s, fresh } = await handshakeVia([via(rogue, IPX_R)]);
    expect(fresh).toBe(true);
    expect(s.lastError!.detail).toContain(`${IPX_R}: TLS connection to 127.0.0.1:${rogue.port} failed`);
    expect(rogue.connects).toEqual([]);
    expect(rogue.accepted).toBe(accepted);
  });

  test("an n32cVia trust anchor file that does not exist: the change is refused as a start would refuse it (400), nothing changed", async () => {
    const peer = (await (await v.admin("/v1/peers/home")).json()) as Record<string, unknown>;
    const r = await v.admin("/v1/peers/home", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...peer, n32cVia: [{ ...via(good, IPX_C), trustAnchors: ["pki/missing-ri.crt.pem"] }] }),
    });
    expect(r.status).toBe(400);
    const p = (await r.json()) as { invalidParams: Array<{ param: string }> };
    expect(p.invalidParams.map((i) => i.param)).toEqual(["/peers/0/n32cVia/0/trustAnchors/0"]);
    expect(await (await v.admin("/v1/peers/home")).json()).toEqual(peer);
  });

  test("RIs on N32-c are tried in order: the first refuses CONNECT, the second carries a new handshake whose keys work end to end", async () => {
    const before = good.connects.length;
    const f0 = forbidding.connects.length;
    const { s } = await handshakeVia([via(forbidding, IPX_F), via(good, IPX_C)]);
    expect(s.state).toBe("active-prins");
    expect(forbidding.connects.length).toBe(f0 + 1);
    expect(good.connects.length).toBe(before + 1);
    const r = await getAmData();
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(AM_DATA);
  });
});
