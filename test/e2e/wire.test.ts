// The roaming data path under attack, at wire level: two real SEPP processes (visited 234-15 initiates, home
// 262-01), real h2c NFs, and a man-in-the-middle N32 proxy (test/support/n32-proxy.ts) that the visited SEPP
// uses as the home SEPP's N32-f endpoint. A second proxy sits on the home SEPP's N32-c path back to the visited
// SEPP, so the n32f-error reports are seen on the wire. The proxy also plays the visited side's authorized
// Roaming Intermediary (test/support/ri.ts). TS 33.501 13.2.2.2 (P6), 13.2.4 (PRINS), 5.9.3.2; TS 33.517 4.2.2.4.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { HOME, HOME_AUSF, HOME_UDM, waitFor, type SeppProcess } from "../../scripts/lib/pair.ts";
import { createRootCa } from "../../src/pki/devpki.ts";
import type { DataToIntegrityProtectBlock, N32fReformattedReqMsg } from "../../src/model/n32.ts";
import { type NfClient, type NfResponse, amDataAnswer, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";
import {
  aadOf,
  editAad,
  flipAadPathBit,
  flipBit,
  type N32Proxy,
  type ProxyAction,
  type ProxyExchange,
  type ProxyRequest,
} from "../support/n32-proxy.ts";
import {
  AUTH_PATH,
  aadPath,
  authRiPolicy,
  isProcess,
  TestRi,
  setIe,
  postAuth,
  riWire,
  startEchoAusf,
} from "../support/ri.ts";

const SUPI = "imsi-262010000000001";
const AM_DATA = { gpsis: ["msisdn-491700000001"], subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };
const RI_ID = "ipx1.example.net";
const REBIND = "rebind.nf.mnc001.mcc262.3gppnetwork.org";
const META = "meta.nf.mnc001.mcc262.3gppnetwork.org";
const UNKNOWN = "unknown.5gc.mnc001.mcc262.3gppnetwork.org";
const SN_NAME = "5G:mnc015.mcc234.3gppnetwork.org";

/** The visited side's policy: its RI may change servingNetworkName and the originating-network header. */
const POLICY = authRiPolicy(RI_ID, {
  ieLoc: "HEADER",
  ieType: "NONSENSITIVE",
  reqIe: "3gpp-sbi-originating-network-id",
  isModifiableByIpx: { [RI_ID]: true },
});

const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** n32f-process exchanges other than the P6 announcement a re-negotiation sends in the background (its
 *  requestLine is /n32c-handshake/v1/exchange-params): the traffic a test itself caused. */
const nfExchanges = (list: ProxyExchange[]) =>
  list.filter((x) => {
    if (!isProcess(x)) return true;
    try {
      return !String(aadOf(x.body)?.requestLine?.path ?? "").endsWith("/exchange-params");
    } catch {
      return true;
    }
  });

describe("N32 under attack: a proxy and a Roaming Intermediary between two SEPP processes (PRINS)", () => {
  let w: TwoSepps<"f" | "c">;
  let udm: TestNf;
  let ausf: TestNf;
  let canary: Server;
  let canaryPort = 0;
  let canaryConnections = 0;
  let v: SeppProcess;
  let h: SeppProcess;
  let proxyF: N32Proxy; // visited → home, N32-f
  let proxyC: N32Proxy; // home → visited, N32-c (n32f-error reports)
  let amf: NfClient;
  let ri: TestRi;

  /** Apply `action` to the next n32f-process request matching `pred`; every other request is forwarded as is. */
  const once = (
    pred: (r: ProxyRequest) => boolean,
    action: (r: ProxyRequest) => ProxyAction | Promise<ProxyAction>,
  ): Promise<ProxyExchange> => {
    let fired = false;
    const start = proxyF.exchanges.length;
    proxyF.onRequest(async (r) => {
      if (fired || !isProcess(r) || !pred(r)) return undefined;
      fired = true;
      return action(r);
    });
    return waitFor(
      "the proxy to act",
      () =>
        fired
          ? proxyF.exchanges.slice(start).find((x) => x.action !== "forward" || x.forwardedBody !== x.body)
          : undefined,
      15000,
      10,
    );
  };

  /**
   * The AMF sends an AUSF authentication request; the RI edits its clear block in transit (`edit`, signed as a
   * modification). `extra` members join the request body. Returns the AMF's answer and the proxy's exchange.
   */
  const authEditedByRi = async (
    edit: (b: DataToIntegrityProtectBlock) => void,
    extra: Record<string, string> = {},
  ): Promise<{ r: NfResponse; acted: Promise<ProxyExchange> }> => {
    const acted = once(
      (r) => aadPath(r) === AUTH_PATH,
      async (r) => {
        const msg = JSON.parse(r.body.toString()) as N32fReformattedReqMsg;
        const patched = await ri.modify(msg, edit);
        return { kind: "forward", body: JSON.stringify(patched) };
      },
    );
    const r = await postAuth(amf, ausf.port, SUPI, SN_NAME, extra);
    return { r, acted };
  };

  /** The n32f-error reports the home SEPP sent to the visited SEPP (seen on the N32-c wire). */
  const errorReports = () =>
    proxyC.exchanges
      .filter((x) => x.path === "/n32c-handshake/v1/n32f-error" && x.status !== undefined)
      .map((x) => ({ ...JSON.parse(x.body.toString()), status: x.status }));
  const visitedStatus = async () =>
    (await (await v.admin("/v1/peers/home/n32")).json()) as { counters: { errorsReceived: number }; state: string };
  const gauge = async (s: SeppProcess, name: string): Promise<number> => {
    const text = await (await s.admin("/metrics")).text();
    const lines = text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  };

  /** One refused N32-f message: the NF's error, the home SEPP's 403, the n32f-error report, nothing at the UDM. */
  async function expectRefused(edit: (r: ProxyRequest) => string, cause: string, detail?: RegExp): Promise<any> {
    const udmBefore = udm.received.length;
    const reportsBefore = errorReports().length;
    const received0 = (await visitedStatus()).counters.errorsReceived;
    const acted = once(
      (r) => aadPath(r).includes("/am-data"),
      (r) => ({ kind: "forward", body: edit(r) }),
    );
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    const ex = await acted;
    await ex.done;
    // the home SEPP answered 403 ProblemDetailsMsgForwarding with the cause (P8)
    expect(ex.status).toBe(403);
    const pd = JSON.parse(ex.responseBody!.toString());
    expect(pd.cause).toBe(cause);
    expect(pd.suggestedStatusCode).toBe(502);
    if (detail) expect(pd.detail).toMatch(detail);
    // the NF gets a clear error
    expect(r.status).toBe(502);
    expect(r.headers["content-type"]).toBe("application/problem+json");
    expect(r.json().cause).toBe(cause);
    // reported to the visited SEPP with n32f-error (on the N32-c wire, and counted by the visited SEPP)
    const report = await waitFor(`n32f-error ${cause}`, () =>
      errorReports()
        .slice(reportsBefore)
        .find((e) => e.n32fErrorType === cause),
    );
    expect(report.status).toBe(204);
    await waitFor("visited errorsReceived", async () => (await visitedStatus()).counters.errorsReceived > received0);
    // nothing reached the producer
    expect(udm.received.length).toBe(udmBefore);
    return report;
  }

  beforeAll(async () => {
    const answer = amDataAnswer(SUPI, AM_DATA);
    udm = await startNf((r) =>
      r.path.includes("slow=1")
        ? { ...answer(r), delayMs: 4000 }
        : r.path.includes("slow=2")
          ? { ...answer(r), delayMs: 300 }
          : answer(r),
    );
    ausf = await startEchoAusf();
    canary = createServer((s) => {
      canaryConnections++;
      s.destroy();
    });
    await new Promise<void>((res) => canary.listen(0, "127.0.0.1", () => res()));
    canaryPort = (canary.address() as { port: number }).port;
    const riRoot = await createRootCa({ name: "IPX provider RI root" });
    ri = await TestRi.create(riRoot, RI_ID);
    w = await startTwoSepps({
      name: "e2e-wire",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm, [HOME_AUSF]: ausf },
      ...riWire(ri, riRoot, (side, c, peer) => {
        if (side === "visited") {
          peer.protectionPolicy = POLICY;
          c.sbi = { ...c.sbi, requestTimeoutMs: 6000 };
        } else {
          peer.n32f!.allowedTargets!.push({
            host: "*.nf.mnc001.mcc262.3gppnetwork.org",
            scheme: "http",
            port: canaryPort,
          });
          c.sbi = {
            ...c.sbi,
            requestTimeoutMs: 1500,
            staticHosts: { ...c.sbi!.staticHosts, [REBIND]: "127.0.0.2", [META]: "169.254.169.254" },
          };
        }
      }),
      beforeStart: ({ proxies }) => {
        // the first P6 announcement is lost in transit (stream reset): the visited SEPP tries again
        let dropped = 0;
        proxies.f.onRequest((r) => {
          if (dropped !== 0 || !isProcess(r) || aadPath(r) !== "/n32c-handshake/v1/exchange-params") return undefined;
          dropped++;
          return { kind: "drop" };
        });
      },
    });
    ({ visited: v, home: h, amf } = w);
    ({ f: proxyF, c: proxyC } = w.proxies);
  }, 60000);

  afterAll(async () => {
    const codes = await w?.close();
    canary?.close();
    expect(codes).toEqual([0, 0]);
  });

  test("P6: the visited SEPP announces its RI-relevant parameters over N32-f; the home SEPP checks them and answers with its own", async () => {
    const ex = await waitFor("the P6 announcement on the wire", () =>
      proxyF.exchanges.find(
        (x) => isProcess(x) && aadPath(x) === "/n32c-handshake/v1/exchange-params" && x.status !== undefined,
      ),
    );
    expect(ex.status).toBe(200);
    // the first attempt was reset in transit; the second carries the same block (same messageId), a new SEQ
    const attempts = proxyF.exchanges.filter(
      (x) => isProcess(x) && aadPath(x) === "/n32c-handshake/v1/exchange-params",
    );
    expect(attempts.map((x) => x.action)).toEqual(["drop", "forward"]);
    expect(aadOf(attempts[0]!.body).metaData.messageId).toBe(aadOf(ex.body).metaData.messageId);
    expect(JSON.parse(attempts[0]!.body.toString()).reformattedData.iv).not.toBe(
      JSON.parse(ex.body.toString()).reformattedData.iv,
    );
    const sent = JSON.parse(ex.body.toString()).reformattedData;
    expect(sent.ciphertext).toBe(""); // clear text with integrity protection only
    const block = aadOf(ex.body);
    expect(block.requestLine).toMatchObject({
      method: "POST",
      authority: HOME.fqdn,
      path: "/n32c-handshake/v1/exchange-params",
    });
    const members = Object.fromEntries(block.payload.map((p: any) => [p.iePath, p.value]));
    expect(members["/ipxProviderSecInfoList"][0].ipxProviderId).toBe(RI_ID);
    expect(members["/protectionPolicyInfo"].apiIeMappingList[0].apiSignature).toBe(AUTH_PATH);
    expect(members["/selectedJwsCipherSuite"]).toBe("ES256");
    // the answer carries the home SEPP's own parameters, in clear, for the same messageId
    const answer = aadOf(ex.responseBody!);
    expect(answer.statusLine).toBe("200");
    expect(answer.metaData.messageId).toBe(block.metaData.messageId);
    const got = Object.fromEntries(answer.payload.map((p: any) => [p.iePath, p.value]));
    expect(typeof got["/n32fContextId"]).toBe("string");
    expect(got["/n32fContextId"]).not.toBe(members["/n32fContextId"]);
    // both sides logged the result; the announcement never reached an NF
    await waitFor("home accepted", () =>
      h.logs.some((l) => String(l.msg).startsWith("RI-relevant parameters received over N32-f and checked")),
    );
    await waitFor("visited verified the answer", () =>
      v.logs.some((l) => String(l.msg).includes("the peer's answer matches N32-c")),
    );
    expect(udm.received.length + ausf.received.length).toBe(0);
    expect(await (await h.admin("/metrics")).text()).toMatch(
      /sepp_ri_announcements_total\{[^}]*result="ok"[^}]*role="received"[^}]*\} 1/,
    );
  });

  test("the RI patches an IE it may modify: accepted, and the producer sees the patched value", async () => {
    const { r, acted } = await authEditedByRi(setIe("/servingNetworkName", "5G:mnc099.mcc999.3gppnetwork.org"), {
      routingIndicator: "0000",
    });
    await acted;
    expect(r.status).toBe(201);
    const got = JSON.parse(ausf.received.at(-1)!.body.toString());
    expect(got.servingNetworkName).toBe("5G:mnc099.mcc999.3gppnetwork.org");
    expect(got.supiOrSuci).toBe(SUPI);
    expect(got.routingIndicator).toBe("0000");
  });

  test("the RI patches a protected IE: refused with failedModificationList, nothing reaches the producer", async () => {
    const before = ausf.received.length;
    const reports0 = errorReports().length;
    const { r, acted } = await authEditedByRi(setIe("/routingIndicator", "9999"), { routingIndicator: "0000" });
    const ex = await acted;
    await ex.done;
    expect(ex.status).toBe(403);
    expect(JSON.parse(ex.responseBody!.toString()).cause).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    expect(r.status).toBe(502);
    expect(r.json().cause).toBe("MODIFICATIONS_INSTRUCTIONS_FAILED");
    const report = await waitFor("n32f-error with failedModificationList", () =>
      errorReports()
        .slice(reports0)
        .find((e) => e.n32fErrorType === "MODIFICATIONS_INSTRUCTIONS_FAILED"),
    );
    expect(report.failedModificationList?.length).toBeGreaterThan(0);
    expect(report.failedModificationList[0].ipxId).toBe(RI_ID);
    expect(report.n32fMessageId).toBe(aadOf(ex.body).metaData.messageId);
    expect(ausf.received.length).toBe(before);
    await waitFor("visited SEPP counted the report", async () => (await visitedStatus()).counters.errorsReceived > 0);
  });

  describe("an error originated by a Roaming Hub in place of the peer's answer (TS 33.501 13.2.4.7)", () => {
    /** What an RH answers: reformattedData with only the failed message's metaData, and its signed patches. */
    const rhAnswer = async (r: ProxyRequest, signer: TestRi): Promise<ProxyAction> => {
      const sent = JSON.parse(r.body.toString()) as N32fReformattedReqMsg;
      const base = {
        reformattedData: { aad: b64u({ metaData: aadOf(r.body).metaData }), ciphertext: "" },
      } as N32fReformattedReqMsg;
      const signed = await signer.modify(
        base,
        (b) => {
          b.statusLine = "403";
          b.headers = [{ header: "content-type", value: "application/problem+json" }];
          b.payload = [
            { iePath: "/status", ieValueLocation: "BODY", value: 403 as never },
            { iePath: "/cause", ieValueLocation: "BODY", value: "ROAMING_NOT_ALLOWED" as never },
          ];
        },
        { payload: { tag: sent.reformattedData.tag } },
      );
      return {
        kind: "respond",
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(signed),
      };
    };

    test("signed by the adjacent RH: the NF gets the RH's error, nothing reaches the producer", async () => {
      const before = udm.received.length;
      const acted = once(
        (r) => aadPath(r).includes("/am-data"),
        (r) => rhAnswer(r, ri),
      );
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      await acted;
      expect(r.status).toBe(403);
      expect(r.json()).toEqual({ status: 403, cause: "ROAMING_NOT_ALLOWED" });
      expect(udm.received.length).toBe(before);
      expect(await (await v.admin("/metrics")).text()).toMatch(/sepp_rh_errors_total\{[^}]*result="accepted"[^}]*\} 1/);
      // again at once: counted, its log line not written again within the second (a line per message before)
      const again = once(
        (r) => aadPath(r).includes("/am-data"),
        (r) => rhAnswer(r, ri),
      );
      expect((await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`)).status).toBe(403);
      await again;
      expect(await (await v.admin("/metrics")).text()).toMatch(/sepp_rh_errors_total\{[^}]*result="accepted"[^}]*\} 2/);
      expect(v.logs.filter((l) => l.msg === "RH-originated error in place of the peer's answer")).toHaveLength(1);
    });

    test("signed by an RI unknown on this association: not believed (502)", async () => {
      const stranger = await TestRi.create(await createRootCa({ name: "another RI root" }), "ipx9.example.net");
      const acted = once(
        (r) => aadPath(r).includes("/am-data"),
        (r) => rhAnswer(r, stranger),
      );
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      await acted;
      expect(r.status).toBe(502);
      expect(r.json().cause).toBe("UNSPECIFIED_NF_FAILURE");
      expect(await (await v.admin("/metrics")).text()).toMatch(/sepp_rh_errors_total\{[^}]*result="refused"[^}]*\} 1/);
    });
  });

  describe("tampering on the wire", () => {
    test("a bit flipped in the aad (requestLine.path): INTEGRITY_CHECK_FAILED", async () => {
      await expectRefused((r) => flipAadPathBit(r.body), "INTEGRITY_CHECK_FAILED");
    });
    test("a bit flipped in the ciphertext: INTEGRITY_CHECK_FAILED", async () => {
      await expectRefused((r) => flipBit(r.body, "ciphertext", 0), "INTEGRITY_CHECK_FAILED");
    });
    test("a bit flipped in the tag: INTEGRITY_CHECK_FAILED", async () => {
      await expectRefused((r) => flipBit(r.body, "tag", -1, 0x80), "INTEGRITY_CHECK_FAILED");
    });
    test("a replayed N32-f message (captured earlier, sent again in place of a new one): INTEGRITY_CHECK_FAILED (replayed)", async () => {
      // capture one genuine message on its way (it is delivered normally)
      const udm0 = udm.received.length;
      const capturedAt = proxyF.exchanges.length;
      const ok = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      expect(ok.status).toBe(200);
      expect(udm.received.length).toBe(udm0 + 1);
      const captured = proxyF.exchanges.slice(capturedAt).find((x) => isProcess(x) && aadPath(x).includes("/am-data"))!;
      await expectRefused(() => captured.body.toString(), "INTEGRITY_CHECK_FAILED", /replayed/);
    });
    test("an aad that is no longer JSON: MESSAGE_RECONSTRUCTION_FAILED, reported with errorDetailsList", async () => {
      const report = await expectRefused((r) => {
        const m = JSON.parse(r.body.toString());
        m.reformattedData.aad = Buffer.from('{"metaData":').toString("base64url");
        return JSON.stringify(m);
      }, "MESSAGE_RECONSTRUCTION_FAILED");
      expect(report.errorDetailsList).toEqual([
        { attribute: "/aad", msgReconstructFailReason: "INVALID_JSON_POINTER" },
      ]);
    });
    test("an unknown N32-f context ID: CONTEXT_NOT_FOUND", async () => {
      const report = await expectRefused(
        (r) => editAad(r.body, (b) => (b.metaData.n32fContextId = "0123456789abcdef")),
        "CONTEXT_NOT_FOUND",
      );
      expect(report.n32fContextId).toBeUndefined(); // no context of ours to name (P10)
    });
    test("after all this the association still carries traffic", async () => {
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
    });
  });

  describe("TS 33.517 4.2.2.4: serving PLMN ID mismatch", () => {
    test("an access token whose consumerPlmnId is not the peer's: 403 PLMN_ID_MISMATCH, nothing reaches the producer", async () => {
      const before = udm.received.length;
      const start = proxyF.exchanges.length;
      const token = `${b64u({ alg: "ES256", typ: "JWT" })}.${b64u({ sub: "amf", consumerPlmnId: { mcc: "999", mnc: "99" }, scope: "nudm-sdm" })}.c2ln`;
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {
        authorization: `Bearer ${token}`,
      });
      expect(r.status).toBe(403);
      expect(r.json().cause).toBe("PLMN_ID_MISMATCH");
      const ex = nfExchanges(proxyF.exchanges.slice(start)).find((x) => isProcess(x))!;
      await ex.done;
      expect(ex.status).toBe(403);
      expect(JSON.parse(ex.responseBody!.toString())).toMatchObject({
        cause: "PLMN_ID_MISMATCH",
        suggestedStatusCode: 403,
      });
      expect(udm.received.length).toBe(before);
    });
    test("a sender repeating the mismatch: every one refused and counted, its log lines bounded by screening.securityEventsPerSecond", async () => {
      const token = `${b64u({ alg: "ES256", typ: "JWT" })}.${b64u({ sub: "amf", consumerPlmnId: { mcc: "999", mnc: "99" } })}.c2ln`;
      const counted = async () =>
        Number(
          /sepp_n32f_errors_total\{[^}]*side="detected"[^}]*type="PLMN_ID_MISMATCH"[^}]*\} (\d+)/.exec(
            await (await h.admin("/metrics")).text(),
          )?.[1] ?? 0,
        );
      const lines = () => h.logs.filter((l) => l.msg === "access token consumer PLMN is not the peer's").length;
      const [n0, l0] = [await counted(), lines()];
      await Bun.sleep(60); // past the interval of the line the test before wrote
      const t0 = performance.now();
      const rs = await Promise.all(
        Array.from({ length: 40 }, () =>
          amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {
            authorization: `Bearer ${token}`,
          }),
        ),
      );
      const elapsed = performance.now() - t0;
      expect(rs.map((r) => r.status)).toEqual(Array(40).fill(403));
      expect((await counted()) - n0).toBe(40);
      await waitFor("the first line", async () => lines() > l0, 2000, 20);
      // before: a line per message (40); now at most one per 1000/20 ms and peer
      expect(lines() - l0).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 1);
      expect(lines() - l0).toBeLessThan(40);
      expect(h.logs.find((l) => l.msg === "access token consumer PLMN is not the peer's")?.category).toBe("security");
    });
    test("an access token with the peer's consumerPlmnId passes", async () => {
      const token = `${b64u({ alg: "ES256", typ: "JWT" })}.${b64u({ sub: "amf", consumerPlmnId: { mcc: "234", mnc: "15" } })}.c2ln`;
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {
        authorization: `Bearer ${token}`,
      });
      expect(r.status).toBe(200);
    });
    test("3gpp-Sbi-Originating-Network-Id naming a third PLMN from our own NF: refused by the visited SEPP, never sent", async () => {
      const start = proxyF.exchanges.length;
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {
        "3gpp-sbi-originating-network-id": "999-99",
      });
      expect(r.status).toBe(403);
      expect(r.json().cause).toBe("PLMN_ID_MISMATCH");
      expect(nfExchanges(proxyF.exchanges.slice(start))).toHaveLength(0);
    });
    test("3gpp-Sbi-Originating-Network-Id changed in transit to a third PLMN (by the RI): 403 PLMN_ID_MISMATCH at the home SEPP", async () => {
      const before = ausf.received.length;
      const { r, acted } = await authEditedByRi((b) => {
        const e = b.headers!.find((x) => x.header === "3gpp-sbi-originating-network-id")!;
        e.value = "999-99; src: SEPP-sepp.5gc.mnc099.mcc999.3gppnetwork.org";
      });
      const ex = await acted;
      await ex.done;
      expect(JSON.parse(ex.responseBody!.toString())).toMatchObject({
        cause: "PLMN_ID_MISMATCH",
        suggestedStatusCode: 403,
      });
      expect(r.status).toBe(403);
      expect(r.json().cause).toBe("PLMN_ID_MISMATCH");
      expect(ausf.received.length).toBe(before);
    });
  });

  describe("SSRF: the home SEPP is never an open relay", () => {
    const refusedAtHome = async (authority: string, headers: Record<string, string> = {}) => {
      const udm0 = udm.received.length;
      const r = await amf.request("GET", authority, `/nudm-sdm/v2/${SUPI}/am-data`, headers);
      expect(udm.received.length).toBe(udm0);
      return r;
    };
    test("another host of the home PLMN", async () => {
      const r = await refusedAtHome(`${UNKNOWN}:${canaryPort}`);
      expect(r.status).toBe(403);
      expect(r.json().cause).toBe("TARGET_NOT_ALLOWED");
    });
    test("an allowed host on another port (the canary's)", async () => {
      const r = await refusedAtHome(`${HOME_UDM}:${canaryPort}`);
      expect(r.status).toBe(403);
      expect(r.json().cause).toBe("TARGET_NOT_ALLOWED");
      expect(r.json().detail).toMatch(/port/);
    });
    test("an allowed host with another scheme", async () => {
      const r = await refusedAtHome(HOME.fqdn, { "3gpp-sbi-target-apiroot": `https://${HOME_UDM}:${udm.port}` });
      expect(r.status).toBe(403);
      expect(r.json().detail).toMatch(/scheme/);
    });
    test("an allowed name that resolves to loopback (DNS rebinding)", async () => {
      const r = await refusedAtHome(`${REBIND}:${canaryPort}`);
      expect(r.status).toBe(403);
      expect(r.json().cause).toBe("TARGET_NOT_ALLOWED");
      expect(r.json().detail).toMatch(/loopback/);
    });
    test("an allowed name that resolves to the cloud metadata address", async () => {
      const r = await refusedAtHome(`${META}:${canaryPort}`);
      expect(r.status).toBe(403);
      expect(r.json().detail).toMatch(/link-local|metadata/);
    });
    test("loopback and metadata literals never leave the visited SEPP", async () => {
      const start = proxyF.exchanges.length;
      for (const root of [
        `http://127.0.0.1:${canaryPort}`,
        "http://169.254.169.254",
        `http://[::1]:${canaryPort}`,
        `ftp://${HOME_UDM}:${udm.port}`,
      ]) {
        const r = await amf.request("GET", HOME.fqdn, `/nudm-sdm/v2/${SUPI}/am-data`, {
          "3gpp-sbi-target-apiroot": root,
        });
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
      }
      expect(nfExchanges(proxyF.exchanges.slice(start))).toHaveLength(0);
    });
    test("the canary producer never saw a connection", () => {
      expect(canaryConnections).toBe(0);
    });
  });

  test("a header list the producer does not take (over its SETTINGS_MAX_HEADER_LIST_SIZE once the home SEPP sends it): 431, not sent; the producer's connection and its other request go on", async () => {
    const before = udm.received.length;
    const path = `/nudm-sdm/v2/${SUPI}/am-data`;
    // a request in flight on the home SEPP's connection to the UDM (a node:http2 server, 65 535 octets announced; over
    // it, it resets the stream ENHANCE_YOUR_CALM, or ends the whole connection COMPRESSION_ERROR as it did for a
    // node:http2 client): the NF got 504 "did not answer"
    const other = amf.request("GET", `${HOME_UDM}:${udm.port}`, `${path}?slow=2`);
    await waitFor("the UDM got the other request", () => udm.received.length > before);
    // 65 500 octets of fields from the NF (RFC 9113 §6.5.2: name + value + 32 each): under both SEPPs' 65 536, over
    // the UDM's 65 535 with what the home SEPP sends besides
    const pseudo = [":method", "GET", ":path", path, ":authority", `${HOME_UDM}:${udm.port}`, ":scheme", "http"];
    const used = pseudo.reduce((n, f, i) => n + f.length + (i % 2 ? 32 : 0), 0) + "x-big".length + 32;
    const big = await amf.request("GET", `${HOME_UDM}:${udm.port}`, path, { "x-big": "b".repeat(65_500 - used) });
    expect(`${big.status} ${big.json().cause}`).toBe("431 MANDATORY_IE_INCORRECT");
    expect(big.json().detail).toContain("SETTINGS_MAX_HEADER_LIST_SIZE 65535");
    expect((await other).status).toBe(200);
    expect(udm.received.length).toBe(before + 1);
  });

  describe("peer down, slow producer, client cancelling: no leak", () => {
    const settled = async () => {
      await waitFor(
        "no request in flight anywhere",
        async () => {
          const counts = [
            await gauge(v, "sepp_datapath_inflight"),
            await gauge(h, "sepp_datapath_inflight"),
            // timers the data path armed (body, upstream, N32-f request timeouts): none left armed (issue 4)
            await gauge(v, "sepp_datapath_timers"),
            await gauge(h, "sepp_datapath_timers"),
            await gauge(v, "sepp_peer_pending_requests"),
            await gauge(h, "sepp_peer_pending_requests"),
            udm.openStreams(),
            proxyF.openStreams().downstream,
            proxyF.openStreams().upstream,
          ];
          return counts.every((n) => n === 0) ? counts : null;
        },
        10000,
        50,
      );
    };

    test("slow producer: the home SEPP's timeout becomes 504 for the NF; the producer's stream is cancelled", async () => {
      const t0 = performance.now();
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data?slow=1`);
      expect(r.status).toBe(504);
      expect(r.json().cause).toBe("TARGET_NF_NOT_REACHABLE");
      expect(performance.now() - t0).toBeLessThan(4000); // the producer would have answered after 4 s
      await settled();
    });

    test("the client cancels mid-request: the cancel travels to the producer", async () => {
      const before = udm.received.length;
      const ac = new AbortController();
      const p = amf
        .request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data?slow=1`, {}, undefined, {
          signal: ac.signal,
        })
        .catch((e) => e);
      await waitFor("the producer got the request", () => udm.received.length > before && udm.openStreams() > 0);
      // while it waits, the request holds a counted timer on each side (the visited SEPP's N32-f request timeout, the
      // home SEPP's producer timeout): the gauge the leak checks wait on to be 0 does see them
      expect(await gauge(v, "sepp_datapath_timers")).toBeGreaterThan(0);
      expect(await gauge(h, "sepp_datapath_timers")).toBeGreaterThan(0);
      const t0 = performance.now();
      ac.abort();
      await p;
      await settled();
      // well before the home SEPP's own 1.5 s timeout would have ended the producer's stream
      expect(performance.now() - t0).toBeLessThan(1000);
    });

    test("the N32-f stream is reset in transit: 504 to the NF, nothing left open", async () => {
      const before = udm.received.length;
      const acted = once(
        (r) => aadPath(r).includes("/am-data"),
        () => ({ kind: "drop" }),
      );
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
      await acted;
      expect(r.status).toBe(504);
      expect(udm.received.length).toBe(before);
      await settled();
    });

    test("the peer accepts the request and never answers: the NF's 3gpp-Sbi-Max-Rsp-Time ends it, the stream is cancelled", async () => {
      const acted = once(
        (r) => aadPath(r).includes("/am-data"),
        () => ({ kind: "blackhole" }),
      );
      const t0 = performance.now();
      const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`, {
        "3gpp-sbi-max-rsp-time": "500",
      });
      await acted;
      expect(r.status).toBe(504);
      expect(performance.now() - t0).toBeLessThan(3000);
      await settled(); // the visited SEPP cancelled its N32-f stream: the proxy holds nothing open
    });

    test("the peer goes down: 504 to the NF at once, and traffic resumes when it is back", async () => {
      await proxyF.pause();
      try {
        const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
        expect(r.status).toBe(504);
        expect(r.json().cause).toBe("TARGET_NF_NOT_REACHABLE");
      } finally {
        await proxyF.resume();
      }
      await settled();
      const r = await waitFor("traffic again", async () => {
        const x = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
        return x.status === 200 ? x : null;
      });
      expect(r.json()).toEqual(AM_DATA);
      await settled();
    });
  });
});
