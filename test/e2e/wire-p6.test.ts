// P6 (TS 33.501 13.2.2.2, last paragraph; N32-PROFILE P6, P10) through real SEPP processes:
//  - the home SEPP as N32-c initiator announces to the visited SEPP (the other direction of e2e-wire.test.ts);
//  - a mismatch: the visited SEPP's authorized RI (played by a man-in-the-middle proxy) is allowed by policy to
//    modify the announcement and changes the announced JWE suite; the home SEPP detects that the announced
//    values differ from N32-c, answers 403 POLICY_MISMATCH, reports n32f-error with a policyMismatchList and
//    deactivates its context (onPolicyMismatch: reject); the visited SEPP drops its context on the report and
//    negotiates again, and the next announcement (untouched) is accepted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HOME_UDM, waitFor, waitForState, type SeppProcess } from "../../scripts/lib/pair.ts";
import { createRootCa, type DevCa } from "../../src/pki/devpki.ts";
import type { N32fReformattedReqMsg, ProtectionPolicy } from "../../src/model/n32.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import { aadOf, type N32Proxy, type ProxyRequest } from "../support/n32-proxy.ts";
import { aadPath, isProcess, riAssociation, riWire, TestRi } from "../support/ri.ts";

const RI_ID = "ipx1.example.net";
const ANNOUNCE = "/n32c-handshake/v1/exchange-params";
const SUPI = "imsi-262010000000001";
const isAnnouncement = (r: ProxyRequest) => isProcess(r) && aadPath(r) === ANNOUNCE;
const metric = async (s: SeppProcess, re: RegExp) => re.test(await (await s.admin("/metrics")).text());

describe("P6 from the home SEPP as N32-c initiator to the visited SEPP", () => {
  let w: TwoSepps;
  let v: SeppProcess;
  let h: SeppProcess;
  let riRoot: DevCa;

  beforeAll(async () => {
    riRoot = await createRootCa({ name: "IPX provider RI root" });
    const ri = await TestRi.create(riRoot, RI_ID);
    w = await startTwoSepps({
      name: "e2e-p6-rev",
      capabilities: ["PRINS"],
      edit: (side, c) => {
        const peer = riAssociation(side, c, { ri, root: riRoot, owner: "home", authorized: true, announceToRi: true });
        peer.initiate = side === "home";
      },
    });
    ({ visited: v, home: h } = w);
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("the visited SEPP checks and answers; the home SEPP verifies the answer", async () => {
    await waitFor("visited checked the announcement", () =>
      v.logs.some((l) => String(l.msg).startsWith("RI-relevant parameters received over N32-f and checked")),
    );
    await waitFor("home verified the answer", () =>
      h.logs.some((l) => String(l.msg).includes("the peer's answer matches N32-c")),
    );
    expect(await metric(v, /sepp_ri_announcements_total\{[^}]*result="ok"[^}]*role="received"[^}]*\} 1/)).toBe(true);
    expect(await metric(h, /sepp_ri_announcements_total\{[^}]*result="ok"[^}]*role="sent"[^}]*\} 1/)).toBe(true);
    // the visited SEPP (responder, no RI of its own to announce with) never announces
    expect(await metric(v, /role="sent"/)).toBe(false);
  });
});

describe("P6 mismatch: an RI changes the announced parameters", () => {
  let w: TwoSepps<"f" | "c">;
  let v: SeppProcess;
  let h: SeppProcess;
  let proxyF: N32Proxy;
  let proxyC: N32Proxy;
  let udm: TestNf;
  let amf: NfClient;
  let patched = 0;

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }));
    const riRoot = await createRootCa({ name: "IPX provider RI root" });
    const ri = await TestRi.create(riRoot, RI_ID);
    // the visited operator lets its RI modify the announced JWE suite (a policy that makes the mismatch possible)
    const policy: ProtectionPolicy = {
      apiIeMappingList: [
        {
          apiSignature: ANNOUNCE,
          apiMethod: "POST",
          IeList: [
            {
              ieLoc: "BODY",
              ieType: "NONSENSITIVE",
              reqIe: "/selectedJweCipherSuite",
              isModifiableByIpx: { [RI_ID]: true },
            },
          ],
        },
      ],
    };
    w = await startTwoSepps({
      name: "e2e-p6-mismatch",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      ...riWire(ri, riRoot, (side, _c, peer) => {
        if (side === "visited") peer.protectionPolicy = policy;
      }),
      // the first announcement is modified by the RI; later ones pass untouched
      beforeStart: ({ proxies }) =>
        proxies.f.onRequest(async (r) => {
          if (patched > 0 || !isAnnouncement(r)) return undefined;
          patched++;
          const msg = JSON.parse(r.body.toString()) as N32fReformattedReqMsg;
          const out = await ri.modify(msg, (b) => {
            const e = b.payload!.find((p) => p.iePath === "/selectedJweCipherSuite")!;
            e.value = (e.value === "A256GCM" ? "A128GCM" : "A256GCM") as never;
          });
          return { kind: "forward", body: JSON.stringify(out) };
        }),
      state: false,
    });
    ({ visited: v, home: h, amf } = w);
    ({ f: proxyF, c: proxyC } = w.proxies);
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("the home SEPP answers 403 POLICY_MISMATCH with the differing parameter", async () => {
    const ex = await waitFor(
      "the modified announcement answered",
      () => proxyF.exchanges.find((x) => isAnnouncement(x) && x.forwardedBody !== x.body && x.status !== undefined),
      20000,
    );
    expect(ex.status).toBe(403);
    const pd = JSON.parse(ex.responseBody!.toString());
    expect(pd.cause).toBe("POLICY_MISMATCH");
    expect(pd.invalidParams.map((p: { param: string }) => p.param)).toEqual(["/selectedJweCipherSuite"]);
  }, 30000);

  test("it reports n32f-error POLICY_MISMATCH with the policyMismatchList to the visited SEPP", async () => {
    const report = await waitFor("n32f-error on the wire", () =>
      proxyC.exchanges
        .filter((x) => x.path === "/n32c-handshake/v1/n32f-error" && x.status !== undefined)
        .map((x) => ({ ...JSON.parse(x.body.toString()), status: x.status }))
        .find((e) => e.n32fErrorType === "POLICY_MISMATCH"),
    );
    expect(report.status).toBe(204);
    expect(report.policyMismatchList.map((p: { param: string }) => p.param)).toEqual(["/selectedJweCipherSuite"]);
    expect(typeof report.n32fContextId).toBe("string"); // the visited SEPP's own context ID
    expect(await metric(h, /sepp_ri_announcements_total\{[^}]*result="mismatch"[^}]*role="received"[^}]*\} 1/)).toBe(
      true,
    );
    expect(
      h.logs.some((l) => String(l.msg).startsWith("RI-relevant parameters announced over N32-f differ from N32-c")),
    ).toBe(true);
  });

  test("the context is given up on both sides; a new handshake's announcement is accepted and traffic flows", async () => {
    // the visited SEPP dropped its context on the report (no automatic retry after a policy mismatch)
    const st = await waitFor("visited gave the context up", async () => {
      const s = (await (await v.admin("/v1/peers/home/n32")).json()) as {
        state: string;
        counters: { errorsReceived: number };
        lastError?: { cause: string };
      };
      return s.counters.errorsReceived > 0 && s.state !== "active-prins" ? s : null;
    });
    expect(st.lastError?.cause).toBe("POLICY_MISMATCH");
    // the home SEPP (onPolicyMismatch: reject) dropped its context too
    const hs = (await (await h.admin("/v1/peers/visited/n32")).json()) as {
      state: string;
      localContextId: string | null;
    };
    expect(hs.state).not.toBe("active-prins");
    expect(hs.localContextId).toBeNull();
    const r0 = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r0.status).toBe(503);
    expect(udm.received.length).toBe(0);
    // the operator asks for a new handshake: a second, untouched announcement on a new context
    expect((await v.admin("/v1/peers/home/n32/handshake", { method: "POST" })).status).toBeLessThan(300);
    const second = await waitFor(
      "a second announcement accepted",
      () => proxyF.exchanges.find((x) => isAnnouncement(x) && x.forwardedBody === x.body && x.status === 200),
      20000,
    );
    const first = proxyF.exchanges.find((x) => isAnnouncement(x))!;
    expect(aadOf(second.body).metaData.n32fContextId).not.toBe(aadOf(first.body).metaData.n32fContextId);
    await waitForState(v, "home", "active-prins");
    const r = await waitFor("traffic on the new context", async () => {
      const x = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      return x.status === 200 ? x : null;
    });
    expect(r.status).toBe(200);
  }, 40000);
});
