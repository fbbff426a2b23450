// SCAS TS 33.517 4.2.5 (TC_CORRECT_TRUST_ANCHORING) as N32-PROFILE P11 "Trust" settles it: per-PLMN trust
// anchors enforced at connection set-up on N32-c and N32-f, in both roles. Expected results: C1 (ID1 under RCA1)
// and C2 (ID2 under RCA2) connect; C3 (ID1 signed by RCA2) and C4 (ID1 + ID2 in one certificate) fail — as server,
// the connection ends before any HTTP/2 frame and never with an HTTP answer; as client, inside the TLS handshake,
// before any request is sent. Real TLS + HTTP/2 on loopback; the listeners use the production admission.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { memoryLogger } from "../../src/log.ts";
import { n32Admission } from "../../src/pki/admission.ts";
import { plmnKey } from "../../src/model/plmn.ts";
import type { DevCert } from "../../src/pki/devpki.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { H2Client } from "../../src/transport/h2client.ts";
import { startN32Server, type N32Server } from "../../src/transport/h2server.ts";
import { FQDN_A, FQDN_B, PLMN_A, PLMN_B, testPki, type TestPki } from "../support/pki.ts";
import { n32ClientAs, rawTls, statusOf } from "../support/n32-conn.ts";

let pki: TestPki;
const servers: N32Server[] = [];
beforeAll(async () => {
  pki = await testPki();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const trust = () =>
  new TrustStore([
    { name: "rca1", plmnIds: [PLMN_A], roots: [new X509Certificate(pki.rootA.certPem)] },
    { name: "rca2", plmnIds: [PLMN_B], roots: [new X509Certificate(pki.rootB.certPem)] },
  ]);

/** Our listener (certificate FQDN_A) with two configured peers: one in PLMN B (ID2) and one in PLMN A (ID1). */
async function listener(carriesN32f: boolean, cert: DevCert = pki.seppA) {
  let calls = 0;
  const peers = [
    { id: "id2", n32Fqdn: FQDN_B, plmnIds: [PLMN_B] },
    { id: "id1", n32Fqdn: FQDN_A, plmnIds: [PLMN_A] },
  ];
  const s = await startN32Server({
    host: "127.0.0.1",
    port: 0,
    tls: { key: cert.keyPem, cert: cert.certPem },
    trust: trust(),
    admit: n32Admission(() => ({ peers }), carriesN32f),
    acceptRiClients: carriesN32f,
    app: {
      fetch: () => {
        calls++;
        return new Response(null, { status: 204 });
      },
    },
    limits: { maxBodyBytes: 8192 },
    log: memoryLogger(),
  });
  servers.push(s);
  return { s, calls: () => calls };
}

for (const plane of ["N32-c", "N32-f"] as const) {
  describe(`SCAS 33.517 4.2.5 correct trust anchoring, ${plane}, SEPP as TLS server`, () => {
    test("C1 (ID2 under its PLMN's root) and C2 (ID1 under its PLMN's root): connection accepted, requests served", async () => {
      const { s, calls } = await listener(plane === "N32-f");
      for (const cert of [pki.seppB, pki.seppA]) {
        const c = await n32ClientAs(s.port, pki, cert);
        expect(await statusOf(c)).toBe(204);
        await c.close();
      }
      expect(calls()).toBe(2);
    });

    for (const [name, pick] of [
      ["C3 (ID2 signed by the other PLMN's root)", () => pki.bSignedByA],
      ["C4 (ID1 and ID2 in one certificate)", () => pki.bTwoAnchors],
    ] as const)
      test(`${name}: connection ended at set-up, before any HTTP/2 frame, no HTTP answer`, async () => {
        const { s, calls } = await listener(plane === "N32-f");
        const raw = rawTls(s.port, pki, pick());
        const ms = await Promise.race([raw.closed, Bun.sleep(3000).then(() => -1)]);
        raw.socket.destroy();
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(raw.received().length).toBe(0); // no SETTINGS, no HEADERS: nothing of HTTP/2 came back
        expect(calls()).toBe(0);
        expect(s.sessions()).toBe(0);
      });
  });

  describe(`SCAS 33.517 4.2.5 correct trust anchoring, ${plane}, SEPP as TLS client`, () => {
    // N32-c passes the configured peer's PLMN IDs; the N32-f pool relies on the PLMN of the peer's FQDN labels
    const connect = (port: number, expect: string, plmn: typeof PLMN_A) =>
      H2Client.connect({
        url: `https://127.0.0.1:${port}`,
        tls: { key: pki.seppA.keyPem, cert: pki.seppA.certPem },
        trust: trust(),
        expectDnsName: expect,
        peerPlmnIds: plane === "N32-c" ? [plmn] : undefined,
        timeoutMs: 3000,
      });

    test("C1 and C2: the peer's server certificate under its own PLMN's root is accepted", async () => {
      for (const [cert, fqdn, plmn] of [
        [pki.seppB, FQDN_B, PLMN_B],
        [pki.seppA, FQDN_A, PLMN_A],
      ] as const) {
        const { s } = await listener(plane === "N32-f", cert);
        const c = await connect(s.port, fqdn, plmn);
        expect(c.peerPlmnIds.map(plmnKey)).toEqual([plmnKey(plmn)]);
        await c.close();
      }
    });

    for (const [name, pick] of [
      ["C3 (peer ID2 signed by the other PLMN's root)", () => pki.bSignedByA],
      ["C4 (ID1 and ID2 in one certificate)", () => pki.bTwoAnchors],
    ] as const)
      test(`${name}: refused inside the handshake, no request sent`, async () => {
        const { s, calls } = await listener(plane === "N32-f", pick());
        let err = "";
        await connect(s.port, FQDN_B, PLMN_B).then(
          (c) => c.close(),
          (e) => (err = String(e)),
        );
        expect(err).toMatch(/TLS connection .* failed/); // the TLS layer failed the connection, not a later check
        expect(err).toMatch(/certificate|anchor/);
        expect(calls()).toBe(0);
      });
  });
}
