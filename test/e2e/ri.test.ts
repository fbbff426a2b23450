// Roaming Intermediaries on N32-f (N32-PROFILE P11; TS 33.501 13.1.2, 13.2.1, 13.2.4.5): two real SEPP processes
// and three IPX providers, each a real HTTP/2 forward proxy over mutual TLS with its OWN certificate from an RI CA
// (test/support/n32-proxy.ts startRiProxy), signing JWS modifications with its own key (test/support/ri.ts).
//
//   visited SEPP ──(1st)── ipx-a ─────────────────────────── home SEPP      SEPP → RI → SEPP
//        │                                                      ▲
//        └──────(2nd)──── ipx-v ──────── ipx-h ─────────────────┘          SEPP → RI → RI → SEPP
//   home SEPP ─────────── ipx-h ──────── ipx-v ─────────── visited SEPP    (the other direction)
//
// ipx-a and ipx-v are the visited operator's RIs (its n32fNextHops toward home, in that order; ipx-v authorized to
// modify), ipx-h the home operator's (authorized for home's messages). The home SEPP accepts ipx-a and ipx-h as TLS
// clients because they are in the RI security information exchanged on N32-c; the visited SEPP accepts ipx-v.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  HOME,
  HOME_AUSF,
  HOME_UDM,
  VISITED,
  VISITED_SMF,
  freePort,
  waitFor,
  type SeppProcess,
} from "../../scripts/lib/pair.ts";
import type { N32fReformattedReqMsg, ProtectionPolicy } from "../../src/model/n32.ts";
import { createRootCa, issueRiCert } from "../../src/pki/devpki.ts";
import { type N32Proxy, type ProxyHook, startRiProxy } from "../support/n32-proxy.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import {
  AUTH_PATH,
  aadPath,
  authRiPolicy,
  isProcess,
  TestRi,
  setIe,
  postAuth as sendAuth,
  startEchoAusf,
} from "../support/ri.ts";

const SUPI = "imsi-262010000000001";
const AM_DATA_SIG = "/nudm-sdm/v2/{supi}/am-data";
const SN_NAME = "5G:mnc015.mcc234.3gppnetwork.org";
const IPX_A = "ipx-a.example.net";
const IPX_V = "ipx-v.example.net";
const IPX_H = "ipx-h.example.net";
const AM_DATA = { gpsis: ["msisdn-491700000001"], subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };

/** Visited's policy: its RI ipx-v may change servingNetworkName in the AUSF request, nothing else. */
const VISITED_POLICY = authRiPolicy(IPX_V);
/** Home's policy: its RI ipx-h may change subscribedUeAmbr in the UDM's am-data response. */
const HOME_POLICY: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: AM_DATA_SIG,
      apiMethod: "GET",
      IeList: [
        { ieLoc: "BODY", ieType: "NONSENSITIVE", rspIe: "/subscribedUeAmbr", isModifiableByIpx: { [IPX_H]: true } },
      ],
    },
  ],
};

/** n32f-process exchanges an NF caused (not the P6 announcement of a background re-negotiation). */
const nfProcess = (p: N32Proxy) =>
  p.exchanges.filter((x) => isProcess(x) && !aadPath(x).endsWith("/exchange-params")).length;

describe("N32-f through Roaming Intermediaries (P11): own RI certificates, forward proxies, failover, modifications", () => {
  let w: TwoSepps;
  let udm: TestNf;
  let ausf: TestNf;
  let vsmf: TestNf;
  let v: SeppProcess;
  let ipxA: N32Proxy;
  let ipxV: N32Proxy;
  let ipxH: N32Proxy;
  let riV: TestRi;
  let riH: TestRi;
  let amf: NfClient;
  let homeNf: NfClient;
  let homeAuthority = "";
  let rootV = "";
  let rootH = "";
  let riRootPem = "";
  let homeN32 = 0;
  let riRoot: Awaited<ReturnType<typeof createRootCa>>;
  let plmnRootV: Awaited<ReturnType<typeof createRootCa>>;

  /** ipx-h's hook: in each 200 am-data response it sets the IE at `iePath` to `value` (a signed modification). */
  const riHSetsAmDataIe =
    (iePath: string, value: unknown): ProxyHook =>
    (r) =>
      isProcess(r) && aadPath(r).endsWith("/am-data")
        ? {
            kind: "forward",
            editResponse: async (status, body) => {
              if (status !== 200) return body;
              const msg = JSON.parse(body.toString()) as N32fReformattedReqMsg;
              const patched = await riH.modify(msg, setIe(iePath, value));
              return JSON.stringify(patched);
            },
          }
        : undefined;
  const getAmData = () => amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
  const postAuth = () => sendAuth(amf, ausf.port, SUPI, SN_NAME);

  beforeAll(async () => {
    udm = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(AM_DATA),
    }));
    ausf = await startEchoAusf();
    vsmf = await startNf(() => ({ status: 204 }));
    riRoot = await createRootCa({ name: "IPX providers' RI root" });
    riRootPem = riRoot.certPem;
    const [tA, tV, tH] = await Promise.all([
      TestRi.create(riRoot, IPX_A),
      TestRi.create(riRoot, IPX_V),
      TestRi.create(riRoot, IPX_H),
    ]);
    riV = tV;
    riH = tH;
    const [pA, pV, pH] = [await freePort(), await freePort(), await freePort()];
    const hop = (uri: number, id: string) => ({ uri: `https://127.0.0.1:${uri}`, ipxProviderId: id });
    w = await startTwoSepps({
      name: "e2e-ri",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm, [HOME_AUSF]: ausf },
      visitedNfs: { [VISITED_SMF]: vsmf },
      edit: (side, c) => {
        const peer = c.peers![0]!;
        c.tls!.riTrustAnchors = [riRoot.certPem];
        c.sbi = { ...c.sbi, n32fNextHopBackoffMs: 1500, requestTimeoutMs: 6000 };
        if (side === "visited") {
          peer.n32fNextHops = [hop(pA, IPX_A), hop(pV, IPX_V)];
          peer.roamingIntermediaries = [
            { ipxProviderId: IPX_A, side: "own", certificates: [tA.cert.certPem] },
            { ipxProviderId: IPX_V, side: "own", certificates: [tV.cert.certPem], authorized: true },
            { ipxProviderId: IPX_H, side: "peer", certificates: [tH.cert.certPem] },
          ];
          peer.protectionPolicy = VISITED_POLICY;
          peer.partnerPolicy = HOME_POLICY;
        } else {
          peer.n32fNextHops = [hop(pH, IPX_H)];
          peer.roamingIntermediaries = [
            { ipxProviderId: IPX_H, side: "own", certificates: [tH.cert.certPem], authorized: true },
            { ipxProviderId: IPX_A, side: "peer", certificates: [tA.cert.certPem] },
            { ipxProviderId: IPX_V, side: "peer", certificates: [tV.cert.certPem] },
          ];
          peer.protectionPolicy = HOME_POLICY;
          peer.partnerPolicy = VISITED_POLICY;
        }
      },
      beforeStart: async ({ sides, pki }, own) => {
        rootV = pki.rootV.certPem;
        plmnRootV = pki.rootV;
        rootH = pki.rootH.certPem;
        homeN32 = sides.home.ports.n32;
        homeAuthority = `${HOME.fqdn}:${sides.home.ports.n32}`.toLowerCase();
        const visitedAuthority = `${VISITED.fqdn}:${sides.visited.ports.n32}`.toLowerCase();
        const toHome = { url: `https://127.0.0.1:${sides.home.ports.n32}`, servername: HOME.fqdn, ca: [rootH] };
        const toVisited = {
          url: `https://127.0.0.1:${sides.visited.ports.n32}`,
          servername: VISITED.fqdn,
          ca: [rootV],
        };
        const clientCa = [rootV, rootH, riRoot.certPem];
        const key = (t: TestRi) => ({ cert: t.cert.chainPem, key: t.cert.keyPem });
        ipxA = own(await startRiProxy({ ri: key(tA), clientCa, port: pA, routes: { [homeAuthority]: toHome } }));
        ipxV = own(
          await startRiProxy({
            ri: key(tV),
            clientCa,
            port: pV,
            routes: {
              [homeAuthority]: { url: `https://127.0.0.1:${pH}`, servername: IPX_H, ca: [riRoot.certPem] },
              [visitedAuthority]: toVisited,
            },
          }),
        );
        ipxH = own(
          await startRiProxy({
            ri: key(tH),
            clientCa,
            port: pH,
            routes: {
              [homeAuthority]: toHome,
              [visitedAuthority]: { url: `https://127.0.0.1:${pV}`, servername: IPX_V, ca: [riRoot.certPem] },
            },
          }),
        );
      },
    });
    ({ visited: v, amf, homeNf } = w);
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("SEPP → RI → SEPP: the first RI carries the request with :authority = the home SEPP's N32-f FQDN and port", async () => {
    const a0 = nfProcess(ipxA);
    const v0 = nfProcess(ipxV);
    const r = await getAmData();
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(AM_DATA);
    expect(nfProcess(ipxA)).toBe(a0 + 1);
    expect(nfProcess(ipxV)).toBe(v0);
    const ex = ipxA.exchanges.filter(isProcess).at(-1)!;
    expect(ex.authority).toBe(homeAuthority);
    expect(ex.status).toBe(200);
  });

  test("the first RI is down: the visited SEPP fails over to the second (SEPP → RI → RI → SEPP) and logs the skipped hop", async () => {
    await ipxA.pause();
    const v0 = nfProcess(ipxV);
    const h0 = nfProcess(ipxH);
    const r = await getAmData();
    expect(r.status).toBe(200);
    expect(nfProcess(ipxV)).toBe(v0 + 1);
    expect(nfProcess(ipxH)).toBe(h0 + 1);
    await waitFor("the skipped-hop log line", () =>
      v.logs.find((l) => l.msg === "N32-f next hop skipped for the back-off" && l.ipxProviderId === IPX_A),
    );
  });

  test("the authorized RI patches an IE it may modify in a request: accepted, the producer sees the patched value", async () => {
    ipxV.onRequest(async (r) => {
      if (!isProcess(r) || aadPath(r) !== AUTH_PATH) return undefined;
      const msg = JSON.parse(r.body.toString()) as N32fReformattedReqMsg;
      const patched = await riV.modify(msg, setIe("/servingNetworkName", "5G:mnc099.mcc999.3gppnetwork.org"));
      return { kind: "forward", body: JSON.stringify(patched) };
    });
    try {
      const r = await postAuth();
      expect(r.status).toBe(201);
      const got = JSON.parse(ausf.received.at(-1)!.body.toString());
      expect(got.servingNetworkName).toBe("5G:mnc099.mcc999.3gppnetwork.org");
      expect(got.supiOrSuci).toBe(SUPI);
    } finally {
      ipxV.onRequest(null);
    }
  });

  test("the authorized RI patches a protected IE in a request: refused (MODIFICATIONS_INSTRUCTIONS_FAILED), nothing reaches the producer", async () => {
    const before = ausf.received.length;
    ipxV.onRequest(async (r) => {
      if (!isProcess(r) || aadPath(r) !== AUTH_PATH) return undefined;
      const msg = JSON.parse(r.body.toString()) as N32fReformattedReqMsg;
      return {
        kind: "forward",
        body: JSON.stringify(
          await riV.modify(msg, [{ op: "replace", path: "/payload/0/value", value: "imsi-262019999999999" } as never]),
        ),
      };
    });
    try {
      const r = await postAuth();
      expect(r.status).toBe(502);
      expect(r.json().cause).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
      expect(ausf.received.length).toBe(before);
    } finally {
      ipxV.onRequest(null);
    }
  });

  test("the home side's RI patches an IE it may modify in a response: the visited NF gets the patched value", async () => {
    ipxH.onRequest(riHSetsAmDataIe("/subscribedUeAmbr", { uplink: "2 Gbps", downlink: "4 Gbps" }));
    try {
      const r = await getAmData();
      expect(r.status).toBe(200);
      expect(r.json().subscribedUeAmbr).toEqual({ uplink: "2 Gbps", downlink: "4 Gbps" });
      expect(r.json().gpsis).toEqual(AM_DATA.gpsis);
    } finally {
      ipxH.onRequest(null);
    }
  });

  test("a response patched where the policy does not allow it is refused by the visited SEPP (502)", async () => {
    ipxH.onRequest(riHSetsAmDataIe("/gpsis", ["msisdn-490000000000"]));
    try {
      const r = await getAmData();
      expect(r.status).toBe(502);
      expect(JSON.stringify(r.json())).not.toContain("msisdn-490000000000");
    } finally {
      ipxH.onRequest(null);
    }
  });

  test("the other direction: home SEPP → ipx-h → ipx-v → visited SEPP → visited producer", async () => {
    const h0 = nfProcess(ipxH);
    const v0 = nfProcess(ipxV);
    const before = vsmf.received.length;
    const r = await homeNf.request(
      "POST",
      `${VISITED_SMF}:${vsmf.port}`,
      "/nsmf-pdusession/v1/pdu-sessions/1/modify",
      { "content-type": "application/json" },
      JSON.stringify({ cause: "REL_DUE_TO_REACTIVATION" }),
    );
    expect(r.status).toBe(204);
    expect(vsmf.received.length).toBe(before + 1);
    expect(nfProcess(ipxH)).toBe(h0 + 1);
    expect(nfProcess(ipxV)).toBe(v0 + 1);
  });

  describe("RIs the home SEPP does not accept as N32-f clients", () => {
    /** One n32f-process body as a real message of the visited SEPP (captured at ipx-v). */
    const captured = () => ipxV.exchanges.filter((x) => isProcess(x) && x.status === 200).at(-1)!.body;
    const viaRogue = async (cert: { cert: string; key: string }) => {
      const rogue = await startRiProxy({
        ri: cert,
        clientCa: [riRootPem],
        routes: { [homeAuthority]: { url: `https://127.0.0.1:${homeN32}`, servername: HOME.fqdn, ca: [rootH] } },
      });
      try {
        return await rogue.send(
          "/n32f-forward/v1/n32f-process",
          captured(),
          { "content-type": "application/json" },
          "POST",
          homeAuthority,
        );
      } finally {
        await rogue.close();
      }
    };

    // issue 10 §1, P11 "Trust": refused at connection set-up (src/pki/admission.ts), never with an HTTP answer
    const refusedAtSetUp = async (cert: { cert: string; key: string }) => {
      const r = await viaRogue(cert).then(
        (x) => x.status,
        () => 0,
      );
      expect(r === 0 || r === 502).toBe(true); // the rogue RI got no HTTP answer from the home SEPP
    };

    test("an RI from the RI CA that is in no RI security information: the connection is closed at set-up", async () => {
      const t = await issueRiCert(riRoot, { ipxProviderId: "ipx-x.example.net" });
      await refusedAtSetUp({ cert: t.chainPem, key: t.keyPem });
    });

    test("a certificate naming a listed RI but chaining to a PLMN root, not the RI trust store: closed at set-up", async () => {
      // issued by the visited PLMN's root, which the home SEPP trusts for N32: the TLS handshake succeeds, the
      // admission refuses (no PLMN labels for a SEPP; not the RI trust store for an RI)
      const t = await issueRiCert(plmnRootV, { ipxProviderId: IPX_A });
      await refusedAtSetUp({ cert: t.chainPem, key: t.keyPem });
    });
  });

  test("the first RI is back: once its back-off ended, the visited SEPP uses it again", async () => {
    await ipxA.resume();
    const a0 = nfProcess(ipxA);
    await waitFor(
      "traffic through ipx-a again",
      async () => {
        const r = await getAmData();
        expect(r.status).toBe(200);
        return nfProcess(ipxA) > a0;
      },
      10000,
      300,
    );
  });
});
