// N32-f transport and error signalling of N32-PROFILE P11, between two real SEPP processes: the home SEPP is a
// TLS 1.2-only partner (tls.maxVersion), both allow TLS 1.2 for each other. The visited SEPP sends N32-f straight
// to the home SEPP (TLS 1.2); the home SEPP's N32-f toward the visited SEPP passes a HOSTILE PEER proxy (it holds
// the home SEPP's key: test/support/n32-proxy.ts) that sees, rewrites or answers the messages: OPTIONS, gzip
// bodies, a gzip bomb, a serving PLMN mismatch (TS 33.517 4.2.2.4), a bad JWE header with a readable aad, and a
// 403 CONTEXT_NOT_FOUND answer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import zlib from "node:zlib";
import { X509Certificate } from "node:crypto";
import { H2Client } from "../../src/transport/h2client.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { HOME, HOME_UDM, VISITED_SMF, waitFor, type SeppProcess, type SeppSide } from "../../scripts/lib/pair.ts";
import type { PairPki } from "../../scripts/lib/pair-pki.ts";
import { aadOf, type N32Proxy, type ProxyRequest } from "../support/n32-proxy.ts";
import { type NfClient, startNf, type TestNf } from "../support/nf.ts";
import { type TwoSepps, startTwoSepps } from "../support/two-sepps.ts";

const SUPI = "imsi-262010000000001";
const PROCESS = "/n32f-forward/v1/n32f-process";
const SMF_PATH = "/nsmf-pdusession/v1/pdu-sessions/7/modify";
const isProcess = (r: ProxyRequest) => r.path === PROCESS;
const aadPath = (r: ProxyRequest): string => {
  try {
    return String(aadOf(r.body).requestLine?.path ?? "");
  } catch {
    return "";
  }
};
const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

describe("N32-f transport (P11): a TLS 1.2 partner, OPTIONS, gzip, and the error reports", () => {
  let w: TwoSepps<"f">;
  let udm: TestNf;
  let vsmf: TestNf;
  let h: SeppProcess;
  let proxy: N32Proxy; // home → visited, N32-f (hostile peer holding the home SEPP's key)
  let amf: NfClient;
  let homeNf: NfClient;
  let pairPki: PairPki;
  let homeSide: SeppSide;

  const toVisited = (headers: Record<string, string> = {}) =>
    homeNf.request(
      "POST",
      `${VISITED_SMF}:${vsmf.port}`,
      SMF_PATH,
      { "content-type": "application/json", ...headers },
      JSON.stringify({ cause: "REL_DUE_TO_REACTIVATION" }),
    );
  /** The n32f-error reports the home SEPP received (its log), after `from`. */
  const reportsAtHome = (from: number) =>
    h.logs.slice(from).filter((l) => l.msg === "n32f-error received") as Array<Record<string, string>>;

  beforeAll(async () => {
    udm = await startNf(() => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }));
    vsmf = await startNf(() => ({ status: 204 }));
    w = await startTwoSepps({
      name: "e2e-n32f-transport",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm },
      visitedNfs: { [VISITED_SMF]: vsmf },
      // the home SEPP's N32-f traffic to the visited SEPP passes a proxy (it reads the reports on the wire)
      proxies: { f: { target: "visited", via: "n32f" } },
      edit: (side, c) => {
        const peer = c.peers![0]!;
        peer.profile = { allowTls12: true };
        if (side === "home") {
          c.tls!.minVersion = "TLSv1.2";
          c.tls!.maxVersion = "TLSv1.2"; // an old partner: TLS 1.2 only, as server and as client
        } else c.tls!.minVersion = "TLSv1.2";
      },
    });
    ({ home: h, amf, homeNf } = w);
    pairPki = w.pki;
    homeSide = w.sides.home;
    proxy = w.proxies.f;
  }, 60000);

  afterAll(async () => {
    expect(await w?.close()).toEqual([0, 0]);
  });

  test("a TLS 1.2 partner carries N32-f traffic both ways (N32-f follows the peer's TLS settings)", async () => {
    const r = await amf.request("GET", `${HOME_UDM}:${udm.port}`, `/nudm-sdm/v2/${SUPI}/am-data`);
    expect(r.status).toBe(200);
    const back = await toVisited();
    expect(back.status).toBe(204);
  });

  test("OPTIONS n32f-process: 204 with Accept-Encoding: gzip, identity", async () => {
    const r = await proxy.send(PROCESS, "", {}, "OPTIONS");
    expect(r.status).toBe(204);
    expect(r.headers["accept-encoding"]).toBe("gzip, identity");
  });

  test("a content-encoding: gzip n32f-process body is inflated and processed", async () => {
    const before = vsmf.received.length;
    let gz = 0;
    proxy.onRequest((r) => {
      if (!isProcess(r) || !aadPath(r).endsWith("/modify")) return undefined;
      gz++;
      return { kind: "forward", body: zlib.gzipSync(r.body), headers: { "content-encoding": "gzip" } };
    });
    try {
      const r = await toVisited();
      expect(r.status).toBe(204);
      expect(gz).toBe(1);
      expect(vsmf.received.length).toBe(before + 1);
      expect(JSON.parse(vsmf.received.at(-1)!.body.toString())).toEqual({ cause: "REL_DUE_TO_REACTIVATION" });
    } finally {
      proxy.onRequest(null);
    }
  });

  test("a gzip bomb (64 MiB of zeros in ~64 KiB) is refused with 413 after inflating no more than the limit", async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 << 20), { level: 9 });
    expect(bomb.length).toBeLessThan(128 * 1024);
    const t0 = performance.now();
    const r = await proxy.send(PROCESS, bomb, { "content-type": "application/json", "content-encoding": "gzip" });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body.toString()).cause).toBe("PAYLOAD_TOO_LARGE");
    expect(performance.now() - t0).toBeLessThan(3000);
    // an unknown coding is refused, not guessed
    const br = await proxy.send(PROCESS, "x", { "content-type": "application/json", "content-encoding": "br" });
    expect(br.status).toBe(415);
  });

  // 403 PLMN_ID_MISMATCH and an n32f-error on N32-c with the messageId and the context (docs/SCAS.md)
  test("SCAS 33.517 4.2.2.4 Correct handling of serving PLMN ID mismatch", async () => {
    const before = vsmf.received.length;
    const logs0 = h.logs.length;
    const start = proxy.exchanges.length;
    // the home NF's access token names a third PLMN as consumer: not the N32-f context's remote PLMN
    const token = `${b64u({ alg: "ES256", typ: "JWT" })}.${b64u({ sub: "smf", consumerPlmnId: { mcc: "999", mnc: "99" } })}.c2ln`;
    const r = await toVisited({ authorization: `Bearer ${token}` });
    expect(r.status).toBe(403);
    expect(r.json().cause).toBe("PLMN_ID_MISMATCH");
    expect(vsmf.received.length).toBe(before);
    const ex = proxy.exchanges.slice(start).find((x) => isProcess(x) && aadPath(x).endsWith("/modify"))!;
    await ex.done;
    expect(ex.status).toBe(403);
    const block = aadOf(ex.body);
    const report = await waitFor("the n32f-error at the home SEPP", () =>
      reportsAtHome(logs0).find((l) => l.n32fErrorType === "PLMN_ID_MISMATCH"),
    );
    expect(report.n32fMessageId).toBe(block.metaData.messageId);
    // P7: the n32f-error names the context by its receiver's (the home SEPP's) own ID, the one in this message's aad's
    // peer side: the home SEPP found it (else it would have answered 404 and logged nothing)
    expect(typeof report.n32fContextId).toBe("string");
    const st = (await (await h.admin("/v1/peers/visited/n32")).json()) as { localContextId: string };
    expect(report.n32fContextId!.toLowerCase()).toBe(st.localContextId.toLowerCase());
  });

  test("a message refused before its aad is used (bad JWE header) is reported with the aad's messageId", async () => {
    const logs0 = h.logs.length;
    let messageId = "";
    proxy.onRequest((r) => {
      if (!isProcess(r) || !aadPath(r).endsWith("/modify")) return undefined;
      const m = JSON.parse(r.body.toString());
      messageId = aadOf(r.body).metaData.messageId;
      m.reformattedData.protected = b64u({ alg: "dir", enc: "A256GCM", zip: "DEF" });
      return { kind: "forward", body: JSON.stringify(m) };
    });
    try {
      const r = await toVisited();
      expect(r.status).toBe(502);
      expect(messageId).toMatch(/^[0-9a-f]{16}$/);
      const report = await waitFor("the n32f-error at the home SEPP", () =>
        reportsAtHome(logs0).find((l) => l.n32fErrorType === "DECIPHERING_FAILED"),
      );
      expect(report.n32fMessageId).toBe(messageId);
    } finally {
      proxy.onRequest(null);
    }
  });

  /** The home SEPP's N32 status of the visited peer (admin API). */
  const homeStatus = async () =>
    (await (await h.admin("/v1/peers/visited/n32")).json()) as {
      localContextId: string;
      counters: { attempts: number; successes: number };
    };
  const renegotiationLines = (from: number) =>
    h.logs.slice(from).filter((l) => String(l.msg).endsWith("re-negotiating")) as Array<Record<string, string>>;

  test("a 403 CONTEXT_NOT_FOUND answer from the next hop re-negotiates through the N32-c service's one throttle (an n32f-error right after starts none)", async () => {
    const logs0 = h.logs.length;
    const before = await homeStatus();
    proxy.onRequest((r) =>
      isProcess(r) && aadPath(r).endsWith("/modify")
        ? {
            kind: "respond",
            status: 403,
            headers: { "content-type": "application/problem+json" },
            body: JSON.stringify({ status: 403, cause: "CONTEXT_NOT_FOUND", suggestedStatusCode: 502 }),
          }
        : undefined,
    );
    try {
      const r = await toVisited();
      expect(r.status).toBe(502);
      await waitFor("the re-negotiation", () => renegotiationLines(logs0).length > 0);
    } finally {
      proxy.onRequest(null);
    }
    const renewed = await waitFor("the new context", async () => {
      const s = await homeStatus();
      return s.counters.successes > before.counters.successes && s.localContextId !== before.localContextId ? s : null;
    });
    // within the same 5 s the visited SEPP reports the NEW context as unknown (n32f-error over N32-c): the
    // throttle the 403 used is the same one, so no second handshake starts
    const trust = new TrustStore(
      [{ name: "home", plmnIds: [HOME.plmn], roots: [new X509Certificate(pairPki.rootH.certPem)] }],
      [],
    );
    const c = await H2Client.connect({
      url: `https://127.0.0.1:${homeSide.ports.n32}`,
      tls: { key: pairPki.certV.keyPem, cert: pairPki.certV.chainPem },
      trust,
      expectDnsName: HOME.fqdn,
      minVersion: "TLSv1.2",
      timeoutMs: 3000,
    });
    try {
      const res = await c.request("POST", "/n32c-handshake/v1/n32f-error", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          n32fContextId: renewed.localContextId,
          n32fMessageId: "0000000000000000",
          n32fErrorType: "CONTEXT_NOT_FOUND",
        }),
        timeoutMs: 3000,
        maxBodyBytes: 65536,
      });
      expect(res.status).toBe(204);
    } finally {
      await c.close();
    }
    await Bun.sleep(500);
    const lines = renegotiationLines(logs0);
    expect(lines.length).toBe(1);
    // it was the N32-c service's (its log line, with the cause)
    expect(lines[0]).toMatchObject({
      msg: "the peer lost our N32-f context: re-negotiating",
      type: "CONTEXT_NOT_FOUND",
    });
    expect((await homeStatus()).counters.attempts).toBe(renewed.counters.attempts);
    // and traffic goes on afterwards
    await waitFor("traffic after the re-negotiation", async () => (await toVisited()).status === 204, 15000, 300);
  }, 30000);
});
