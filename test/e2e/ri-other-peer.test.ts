// An RI listed for one partner but relaying another partner's message (N32-PROFILE P11: "a message arriving
// through an RI that is not listed for that context's peer is refused as INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
// when it carries modifications, and otherwise accepted"). Three real SEPP processes: the home SEPP holds two
// partner associations.
//
//   visited SEPP (234-15) ══ N32-c, RI information: ipx-a ══ home SEPP (262-01)
//   visited2 SEPP (208-01) ══ N32-c, RI information: ipx-b ══ home SEPP
//   visited2 SEPP ──N32-f── ipx-a (RI cert, forward proxy) ──N32-f── home SEPP
//
// The home SEPP admits ipx-a as an N32-f client (it is listed for the visited association), but the messages it
// relays belong to visited2's context, for which only ipx-b is listed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_AUSF, waitFor, freePort, type SeppProcess } from "../../scripts/lib/pair.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import type { N32fReformattedReqMsg } from "../../src/model/n32.ts";
import { createRootCa } from "../../src/pki/devpki.ts";
import { aadOf, type N32Proxy, type ProxyRequest, routeToSepp, startRiProxy } from "../support/n32-proxy.ts";
import type { NfClient, TestNf } from "../support/nf.ts";
import { AUTH_PATH, authRiPolicy, TestRi, setIe, postAuth as sendAuth, startEchoAusf } from "../support/ri.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000001";
const SN_NAME = "5G:mnc001.mcc208.3gppnetwork.org";
const IPX_A = "ipx-a.example.net";
const IPX_B = "ipx-b.example.net";

/** visited2's policy: its RI ipx-b may change servingNetworkName in the AUSF request. */
const V2_POLICY = authRiPolicy(IPX_B);

const isAuth = (r: ProxyRequest) => {
  if (r.path !== "/n32f-forward/v1/n32f-process") return false;
  try {
    return aadOf(r.body).requestLine?.path === AUTH_PATH;
  } catch {
    return false;
  }
};

describe("an RI listed for one partner relays another partner's PRINS message (P11)", () => {
  let w: TwoSepps;
  let ausf: TestNf;
  let h: SeppProcess;
  let ipxA: N32Proxy;
  let riB: TestRi;
  let amf2: NfClient;

  const postAuth = () => sendAuth(amf2, ausf.port, SUPI, SN_NAME);

  beforeAll(async () => {
    ausf = await startEchoAusf();
    const riRoot = await createRootCa({ name: "IPX providers' RI root" });
    const [tA, tB] = await Promise.all([TestRi.create(riRoot, IPX_A), TestRi.create(riRoot, IPX_B)]);
    riB = tB;
    const pA = await freePort();
    let homeAllowed: NonNullable<SeppConfigInput["peers"]>[number]["n32f"];
    w = await startTwoSepps({
      name: "e2e-ri-other",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_AUSF]: ausf },
      edit: (side, c) => {
        c.tls!.riTrustAnchors = [riRoot.certPem];
        // the visited SEPP announces ipx-a on N32-c: the home SEPP lists it for that association only
        if (side === "visited")
          c.peers![0]!.roamingIntermediaries = [{ ipxProviderId: IPX_A, side: "own", certificates: [tA.cert.certPem] }];
        else homeAllowed = c.peers![0]!.n32f;
      },
      third: {
        edit: (c) => {
          const peer = c.peers![0]!;
          c.tls!.riTrustAnchors = [riRoot.certPem];
          c.sbi = { ...c.sbi, requestTimeoutMs: 6000 };
          // visited2 sends N32-f through ipx-a, but announces only its own ipx-b (authorized to modify)
          peer.n32fNextHops = [{ uri: `https://127.0.0.1:${pA}`, ipxProviderId: IPX_A }];
          peer.roamingIntermediaries = [
            { ipxProviderId: IPX_B, side: "own", certificates: [tB.cert.certPem], authorized: true },
          ];
          peer.protectionPolicy = V2_POLICY;
        },
        editHomePeer: (p) => {
          p.partnerPolicy = V2_POLICY;
          p.n32f = homeAllowed;
        },
      },
      beforeStart: async ({ sides, pki, third }, own) => {
        ipxA = own(
          await startRiProxy({
            ri: { cert: tA.cert.chainPem, key: tA.cert.keyPem },
            clientCa: [pki.rootV.certPem, pki.rootH.certPem, third!.root.certPem],
            port: pA,
            routes: routeToSepp(sides, pki, "home"),
          }),
        );
      },
      order: "home-first",
    });
    ({ home: h } = w);
    amf2 = w.client(w.sides.third!.ports.sbi);
  }, 90000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0, 0]);
  });

  test("an unmodified message of visited2 relayed by ipx-a (listed only for visited) is accepted", async () => {
    const before = ausf.received.length;
    const relayed = ipxA.exchanges.filter(isAuth).length;
    const r = await postAuth();
    expect(r.status).toBe(201);
    expect(ipxA.exchanges.filter(isAuth).length).toBe(relayed + 1);
    expect(ausf.received.length).toBe(before + 1);
    expect(JSON.parse(ausf.received.at(-1)!.body.toString()).servingNetworkName).toBe(SN_NAME);
  });

  test("a message of visited2 relayed by ipx-a carrying a modification (validly signed by visited2's ipx-b): INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED, nothing reaches the producer", async () => {
    const before = ausf.received.length;
    ipxA.onRequest(async (r) => {
      if (!isAuth(r)) return undefined;
      const msg = JSON.parse(r.body.toString()) as N32fReformattedReqMsg;
      // an IE ipx-b may modify under visited2's policy, signed with ipx-b's key: valid for that association,
      // but the hop that delivers it (ipx-a) is not listed for it
      const patched = await riB.modify(msg, setIe("/servingNetworkName", "5G:mnc099.mcc999.3gppnetwork.org"));
      return { kind: "forward", body: JSON.stringify(patched) };
    });
    try {
      const r = await postAuth();
      const ex = ipxA.exchanges.filter(isAuth).at(-1)!;
      expect(ex.status).toBe(403);
      expect(JSON.parse(ex.responseBody!.toString()).cause).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
      expect(r.status).toBe(502);
      expect(r.json().cause).toBe("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED");
      expect(ausf.received.length).toBe(before);
      await waitFor("the home SEPP's refusal naming ipx-a", () =>
        h.logs.find((l) => JSON.stringify(l).includes(`relayed by RI ${IPX_A}, which is not listed for this peer`)),
      );
    } finally {
      ipxA.onRequest(null);
    }
  });
});
