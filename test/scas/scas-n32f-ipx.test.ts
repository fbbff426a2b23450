// SCAS TS 33.517 4.2.2.2, 4.2.2.3, 4.2.2.5, 4.2.2.7 and 4.2.2.8: the SEPP under test is the home SEPP (262-01),
// a real process. The visited SEPP (234-15) sends N32-f through a man-in-the-middle N32 proxy that plays the
// IPX system (test/support/n32-proxy.ts) and signs modifications as the visited side's RI "ipx1" with KEY_A
// (test/support/ri.ts); a second proxy on the home SEPP's N32-c path back to the visited SEPP shows the n32f-error
// reports on the wire. A third SEPP (208-01, test/support/third-sepp.ts) holds a second live association with the
// home SEPP, on which the same RI identity "ipx1" was exchanged with another key, KEY_B (4.2.2.3).
// Expected results as the SCAS text gives them (docs/SCAS.md).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import http2 from "node:http2";
import { generateKeyPair, importPKCS8 } from "jose";
import { HOME, HOME_AUSF, HOME_UDM, waitFor, waitForState, type SeppProcess } from "../../scripts/lib/pair.ts";
import type { N32fReformattedReqMsg } from "../../src/model/n32.ts";
import { createRootCa } from "../../src/pki/devpki.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { aadOf, type N32Proxy, type ProxyExchange } from "../support/n32-proxy.ts";
import {
  AUTH_PATH,
  aadPath,
  authRiPolicy,
  isProcess,
  type SignOptions,
  TestRi,
  setIe,
  postAuth,
  riAssociation,
  startEchoAusf,
} from "../support/ri.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

setDefaultTimeout(30000); // several real round trips per test through three processes

const SUPI = "imsi-262010000000077";
const RI_ID = "ipx1.example.net";
const SN_NAME = "5G:mnc015.mcc234.3gppnetwork.org";
const AM_DATA = { subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };

/** The visited side's policy: its RI may change servingNetworkName (a clear IE); supiOrSuci (UEID) is encrypted. */
const POLICY = authRiPolicy(RI_ID);

describe("SCAS TS 33.517: N32-f through an IPX system, home SEPP under test (real processes)", () => {
  let w: TwoSepps<"f" | "c">;
  let ausf: TestNf;
  let udm: TestNf;
  let h: SeppProcess;
  let proxyF: N32Proxy; // visited → home, N32-f (the IPX system)
  let proxyC: N32Proxy; // home → visited, N32-c (n32f-error reports on the wire)
  let amf: NfClient;
  let riA: TestRi; // "ipx1" as exchanged on the visited–home association (KEY_A)
  let riB: TestRi; // "ipx1" as exchanged on the third–home association (KEY_B)
  let riRootPem = "";
  let visitedKeyPem = "";
  let homePort = 0;
  let homeRootPem = "";

  /** Apply `action` to the next n32f-process request whose aad path satisfies `pred`. */
  const once = (
    pred: (path: string) => boolean,
    action: (msg: N32fReformattedReqMsg) => Promise<string>,
  ): Promise<ProxyExchange> => {
    let fired = false;
    const start = proxyF.exchanges.length;
    proxyF.onRequest(async (r) => {
      if (fired || !isProcess(r) || !pred(aadPath(r))) return undefined;
      fired = true;
      return { kind: "forward", body: await action(JSON.parse(r.body.toString())) };
    });
    return waitFor(
      "the IPX proxy to act",
      () => (fired ? proxyF.exchanges.slice(start).find((e) => e.forwardedBody !== e.body) : undefined),
      15000,
      10,
    );
  };

  const errorReports = () =>
    proxyC.exchanges
      .filter((e) => e.path === "/n32c-handshake/v1/n32f-error" && e.status !== undefined)
      .map((e) => ({ ...JSON.parse(e.body.toString()), status: e.status }));

  const authRequest = () => postAuth(amf, ausf.port, SUPI, SN_NAME);

  /** Send one Nausf request whose N32-f message the IPX changes with `modify`; the home SEPP must discard it. */
  async function expectDiscarded(modify: (msg: N32fReformattedReqMsg) => Promise<string>, cause: string) {
    const before = ausf.received.length;
    const reports0 = errorReports().length;
    const acted = once((p) => p === AUTH_PATH, modify);
    const r = await authRequest();
    const ex = await acted;
    await ex.done;
    // discarded: the home SEPP answered 403 with the cause and nothing reached the producer
    expect(ex.status).toBe(403);
    expect(JSON.parse(ex.responseBody!.toString()).cause).toBe(cause);
    expect(r.status).toBe(502);
    expect(r.json().cause).toBe(cause);
    expect(ausf.received.length).toBe(before);
    // the refusal is in the home SEPP's log (one line per peer and cause every 5 s, so the line may be an earlier
    // message's) and counted in its metrics
    const messageId = aadOf(ex.body).metaData.messageId;
    await waitFor("the refusal in the home SEPP's log", () =>
      h.logs.some((l) => l.msg === "N32-f message refused" && l.peer === "visited" && l.type === cause),
    );
    // and reported to the peer SEPP over N32-c with the N32-f message ID (TS 29.573 6.1.5.3.7 N32fErrorType)
    const report = await waitFor(`n32f-error ${cause}`, () =>
      errorReports()
        .slice(reports0)
        .find((e) => e.n32fErrorType === cause),
    );
    expect(report.n32fMessageId).toBe(messageId);
    expect(report.status).toBe(204);
    return { ex, report };
  }

  /** The same IPX behaviour with the right key is accepted: the refusals above are about the key, not the rest. */
  async function expectAccepted(modify: (msg: N32fReformattedReqMsg) => Promise<string>) {
    const before = ausf.received.length;
    const acted = once((p) => p === AUTH_PATH, modify);
    const r = await authRequest();
    await acted;
    expect(r.status).toBe(201);
    expect(ausf.received.length).toBe(before + 1);
  }

  beforeAll(async () => {
    ausf = await startEchoAusf();
    udm = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(AM_DATA),
    }));
    const riRoot = await createRootCa({ name: "IPX provider RI root" });
    riRootPem = riRoot.certPem;
    riA = await TestRi.create(riRoot, RI_ID);
    riB = await TestRi.create(riRoot, RI_ID);
    w = await startTwoSepps({
      name: "scas-ipx",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_AUSF]: ausf, [HOME_UDM]: udm },
      proxies: { f: { target: "home", via: "n32f" }, c: { target: "visited", via: "n32c" } },
      edit: (side, c) => {
        const peer = riAssociation(side, c, { ri: riA, root: riRoot, owner: "visited", authorized: true });
        if (side === "visited") peer.protectionPolicy = POLICY;
      },
      // two live associations on the home SEPP, each with its own RI key exchanged on N32-c
      third: {
        idAtHome: "x",
        edit: (c) => {
          c.tls!.riTrustAnchors = [riRoot.certPem];
          c.peers![0]!.n32f = { allowedTargets: [] };
          c.peers![0]!.roamingIntermediaries = [
            { ipxProviderId: RI_ID, side: "own", certificates: [riB.cert.certPem], authorized: true },
          ];
        },
        editHomePeer: (p) => {
          p.n32f = { allowedTargets: [] };
          p.roamingIntermediaries = [{ ipxProviderId: RI_ID, side: "peer", certificates: [riB.cert.certPem] }];
        },
      },
      stateTimeoutMs: 30000,
    });
    ({ home: h, amf } = w);
    ({ f: proxyF, c: proxyC } = w.proxies);
    visitedKeyPem = w.pki.certV.keyPem;
    homePort = w.sides.home.ports.n32;
    homeRootPem = w.pki.rootH.certPem;
  }, 90000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0, 0]);
  });

  test("SCAS 33.517 4.2.2.2 Correct handling of cryptographic material of peer SEPPs and IPX providers (IPX key on N32-c TLS)", async () => {
    // while the association is active, the IPX tries an N32-c TLS connection with its own certificate and key
    const attempt = await new Promise<{ error?: string; status?: number; body?: { cause?: string } }>((resolve) => {
      const s = http2.connect(`https://127.0.0.1:${homePort}`, {
        cert: riA.cert.certPem,
        key: riA.cert.keyPem,
        ca: [homeRootPem, riRootPem],
        servername: HOME.fqdn,
      });
      const t = setTimeout(() => {
        s.destroy();
        resolve({ error: "timeout" });
      }, 10000);
      s.on("error", (e) => {
        clearTimeout(t);
        resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message });
      });
      const req = s.request({
        ":method": "POST",
        ":path": "/n32c-handshake/v1/exchange-capability",
        "content-type": "application/json",
      });
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("response", (hd) =>
        req.on("end", () => {
          clearTimeout(t);
          s.close();
          resolve({ status: Number(hd[":status"]), body: JSON.parse(Buffer.concat(chunks).toString() || "{}") });
        }),
      );
      req.on("error", (e) => {
        clearTimeout(t);
        resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message });
      });
      req.end(JSON.stringify({ sender: RI_ID, supportedSecCapabilityList: ["PRINS"] }));
    });
    // The N32 listener here also serves N32-f, where listed RIs are clients (P11), so the TLS handshake itself may
    // complete; N32-c must still refuse the RI's certificate before any negotiation (P9): 403, never a 2xx.
    // (With a separate N32-c listener it fails inside the TLS handshake: test/n32c/refusals.test.ts.)
    expect(attempt.error === undefined ? attempt.status : attempt.error).not.toBe("timeout");
    if (attempt.status !== undefined) {
      expect(attempt.status).toBe(403);
      expect(attempt.body?.cause).toBe("NEGOTIATION_NOT_ALLOWED");
    } else expect(attempt.error).toMatch(/ECONNRESET|ERR_SSL|ERR_HTTP2|socket|alert|closed/i);
    // the refusal is a security event in the home SEPP's log
    await waitFor("the security event", () =>
      h.logs.some((l) => l.category === "security" && l.event === "n32-admission-refused"),
    );
    // and the established association is untouched
    await waitForState(h, "visited", "active-prins", 2000);
  });

  test("SCAS 33.517 4.2.2.2 Correct handling of cryptographic material of peer SEPPs and IPX providers (patch signed with the peer SEPP's key)", async () => {
    const sepKey = (await importPKCS8(visitedKeyPem, "ES256")) as CryptoKey;
    // the IPX appends a NULL patch signed with the visited SEPP's private key instead of its own
    await expectDiscarded(
      async (m) => JSON.stringify(await riA.modify(m, null, { key: sepKey })),
      "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
    );
    // the same NULL patch signed with the IPX's own key passes
    await expectAccepted(async (m) => JSON.stringify(await riA.modify(m, null)));
  });

  test("SCAS 33.517 4.2.2.3 Connection-specific scope of cryptographic material by IPX providers", async () => {
    // KEY_B was exchanged for "ipx1" on the parallel association (third SEPP ↔ home SEPP), which is live
    expect(((await (await h.admin("/v1/peers/x/n32")).json()) as { state: string }).state).toBe("active-prins");
    const keyB: SignOptions = { key: riB.privateKey };
    // a NULL patch and a real one, signed with KEY_B on the visited–home association: discarded
    await expectDiscarded(
      async (m) => JSON.stringify(await riA.modify(m, null, keyB)),
      "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
    );
    await expectDiscarded(
      async (m) =>
        JSON.stringify(await riA.modify(m, setIe("/servingNetworkName", "5G:mnc099.mcc999.3gppnetwork.org"), keyB)),
      "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
    );
    // the same patches signed with KEY_A, the key exchanged on this association, are accepted
    await expectAccepted(async (m) => JSON.stringify(await riA.modify(m, null)));
    expect(JSON.parse(ausf.received.at(-1)!.body.toString()).servingNetworkName).toBe(SN_NAME);
  });

  test("SCAS 33.517 4.2.2.5 Confidential IEs replacement handling in original N32-f message", async () => {
    const start = proxyF.exchanges.length;
    proxyF.onRequest(null);
    const r1 = await authRequest();
    expect(r1.status).toBe(201);
    const r2 = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r2.status).toBe(200);
    // the N32-f messages as captured on the wire between the SEPPs
    const captured = proxyF.exchanges.slice(start).filter(isProcess);
    const post = captured.find((e) => aadPath(e) === AUTH_PATH)!;
    const get = captured.find((e) => aadPath(e).endsWith("/am-data"))!;
    for (const e of [post, get]) {
      // the SUPI is nowhere in clear: not in the bytes sent, not in the decoded integrity-protected block
      expect(e.body.toString()).not.toContain(SUPI);
      expect(JSON.stringify(aadOf(e.body))).not.toContain(SUPI);
    }
    const block = aadOf(post.body);
    const entry = (p: string) => block.payload.find((x: { iePath: string }) => x.iePath === p);
    // the IE requiring encryption is replaced by an encBlockIndex reference; the clear IE stays as it was
    expect(entry("/supiOrSuci").value).toEqual({ encBlockIndex: expect.any(Number) });
    expect(entry("/servingNetworkName").value).toBe(SN_NAME);
    // in a URI, the SUPI path segment is replaced by the reference
    expect(aadOf(get.body).requestLine.path).toMatch(/^\/nudm-sdm\/v2\/\{encBlockIndex:\d+\}\/am-data$/);
    // and the producers got the original values back
    expect(JSON.parse(ausf.received.at(-1)!.body.toString()).supiOrSuci).toBe(SUPI);
    expect(udm.received.at(-1)!.path).toBe(`/nudm-sdm/v2/${SUPI}/am-data`);
  });

  test("SCAS 33.517 4.2.2.7 JWS profile restriction", async () => {
    const es384 = await generateKeyPair("ES384");
    const variants: SignOptions[] = [
      { alg: "ES384", key: es384.privateKey as CryptoKey },
      { alg: "HS256", key: new Uint8Array(32).fill(7) },
      { protectedHeader: { alg: "none" }, rawSignature: "" },
    ];
    for (const o of variants)
      await expectDiscarded(
        async (m) =>
          JSON.stringify(await riA.modify(m, setIe("/servingNetworkName", "5G:mnc099.mcc999.3gppnetwork.org"), o)),
        "INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED",
      );
    // ES256 with the IPX's key: the same modification is accepted and applied
    await expectAccepted(async (m) =>
      JSON.stringify(await riA.modify(m, setIe("/servingNetworkName", "5G:mnc099.mcc999.3gppnetwork.org"))),
    );
    expect(JSON.parse(ausf.received.at(-1)!.body.toString()).servingNetworkName).toBe(
      "5G:mnc099.mcc999.3gppnetwork.org",
    );
  });

  test("SCAS 33.517 4.2.2.8 No misplacement of encrypted IEs in JSON object by IPX", async () => {
    // the IPX inserts the encBlockIndex reference of the encrypted supiOrSuci into the clear servingNetworkName
    // (an IE it may modify, which the AUSF would reflect), by replacing the value, then by a JSON Patch copy
    const idx = (m: N32fReformattedReqMsg, p: string) =>
      (JSON.parse(Buffer.from(m.reformattedData.aad!, "base64url").toString()).payload as Array<{ iePath: string }>)
        .map((e) => e.iePath)
        .indexOf(p);
    const { report } = await expectDiscarded(
      async (m) =>
        JSON.stringify(
          await riA.modify(m, (b) => {
            const secret = b.payload!.find((p) => p.iePath === "/supiOrSuci")!.value;
            b.payload!.find((p) => p.iePath === "/servingNetworkName")!.value = secret;
          }),
        ),
      "MODIFICATIONS_INSTRUCTIONS_FAILED",
    );
    expect(report.failedModificationList?.[0]?.ipxId).toBe(RI_ID);
    await expectDiscarded(
      async (m) =>
        JSON.stringify(
          await riA.modify(m, [
            {
              op: "copy",
              from: `/payload/${idx(m, "/supiOrSuci")}/value`,
              path: `/payload/${idx(m, "/servingNetworkName")}/value`,
            },
          ]),
        ),
      "MODIFICATIONS_INSTRUCTIONS_FAILED",
    );
  });
});
