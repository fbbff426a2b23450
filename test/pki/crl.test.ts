// CRLs per trust anchor (N32-PROFILE P11 "Trust"): a revoked certificate is refused on N32-c and N32-f (as server at
// connection set-up, as client inside the handshake) and in the RI security information; a CRL applies only where
// the issuer's key signed it; a malformed CRL fails the configuration; the listener follows a new trust store (the
// configuration changed) for the next connection.
import { beforeAll, describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { memoryLogger } from "../../src/log.ts";
import { n32Admission } from "../../src/pki/admission.ts";
import { createCrl } from "../../src/pki/devpki.ts";
import { parseCrl } from "../../src/pki/crl.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { checkStartable } from "../../src/config/startcheck.ts";
import { H2Client } from "../../src/transport/h2client.ts";
import { startN32Server } from "../../src/transport/h2server.ts";
import { configInput, FQDN_B, PLMN_A, PLMN_B, parseOrThrow, RI_ID, testPki, type TestPki } from "../support/pki.ts";
import { n32ClientAs, rawTls, statusOf } from "../support/n32-conn.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshDir = freshDirs("sepp-crl-");

let pki: TestPki;
let crlB: string; // B's root revokes seppB
let crlRi: string; // the RI root revokes pki.ri
let crlBbyA: string; // A's root "revokes" seppB's serial: not B's issuer, must not apply
beforeAll(async () => {
  pki = await testPki();
  [crlB, crlRi, crlBbyA] = await Promise.all([
    createCrl(pki.rootB, [pki.seppB]),
    createCrl(pki.riRoot, [pki.ri]),
    createCrl(pki.rootA, [pki.seppB]),
  ]);
});

const cert = (pem: string) => new X509Certificate(pem);
function store(o: { b?: string[]; ri?: string[] } = {}): TrustStore {
  return new TrustStore(
    [
      { name: "a", plmnIds: [PLMN_A], roots: [cert(pki.rootA.certPem)] },
      {
        name: "b",
        plmnIds: [PLMN_B],
        roots: [cert(pki.rootB.certPem)],
        crls: (o.b ?? []).map((p, i) => parseCrl(p, `b#${i}`)),
      },
    ],
    [cert(pki.riRoot.certPem)],
    (o.ri ?? []).map((p, i) => parseCrl(p, `ri#${i}`)),
  );
}

describe("revocation checks of the trust store", () => {
  test("a certificate revoked by its anchor's CRL is refused; others of the same anchor pass", () => {
    const t = store({ b: [crlB] });
    const r = t.verifyN32Chain([cert(pki.seppB.certPem)]);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.reason).toContain("revoked");
    expect(t.verifyN32Chain([cert(pki.bOtherName.certPem)]).ok).toBe(true);
    expect(store().verifyN32Chain([cert(pki.seppB.certPem)]).ok).toBe(true);
  });

  test("a CRL signed by another anchor's root does not revoke", () => {
    expect(store({ b: [crlBbyA] }).verifyN32Chain([cert(pki.seppB.certPem)]).ok).toBe(true);
  });

  test("RI: a revoked RI certificate is refused in the RI security information check and as a TLS client", () => {
    const t = store({ ri: [crlRi] });
    expect(t.verifyRiCert([cert(pki.ri.certPem)], RI_ID)).toContain("revoked");
    expect(t.verifyRiTlsChain([cert(pki.ri.certPem)]).ok).toBe(false);
    expect(store().verifyRiCert([cert(pki.ri.certPem)], RI_ID)).toBeNull();
  });

  test("an expired certificate is refused (validity), a CRL past nextUpdate still applies and is reported", async () => {
    expect(store().verifyRiCert([cert(pki.riExpired.certPem)], RI_ID)).toContain("not valid now");
    const past = new Date(Date.now() - 5 * 86_400_000);
    const stale = await createCrl(pki.rootB, [pki.seppB], {
      thisUpdate: past,
      nextUpdate: new Date(past.getTime() + 1000),
    });
    const t = store({ b: [stale] });
    expect(t.verifyN32Chain([cert(pki.seppB.certPem)]).ok).toBe(false);
    expect(t.staleCrls()).toEqual(["b#0"]);
  });

  test("configuration: CRL files per anchor and for RIs load; a malformed one fails naming its place", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "b.crl.pem"), crlB);
    const input = configInput(pki, "a", "https://127.0.0.1:1", dir);
    input.tls.trustAnchors[1]!.crls = ["b.crl.pem"];
    input.tls.riCrls = [crlRi];
    const t = TrustStore.fromConfig(parseOrThrow(input));
    expect(t.verifyN32Chain([cert(pki.seppB.certPem)]).ok).toBe(false);
    expect(t.verifyRiCert([cert(pki.ri.certPem)], RI_ID)).toContain("revoked");
    input.tls.trustAnchors[1]!.crls = ["-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"];
    expect(() => TrustStore.fromConfig(parseOrThrow(input))).toThrow("/tls/trustAnchors/1/crls/0");
    input.tls.trustAnchors[1]!.crls = [pki.rootB.certPem];
    expect(() => TrustStore.fromConfig(parseOrThrow(input))).toThrow(/no "X509 CRL"/);
  });
});

describe("start and configuration check", () => {
  test("the trust store a start builds carries the CRLs; a missing or malformed CRL is an issue, not a start", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "b.crl.pem"), crlB);
    const input = configInput(pki, "a", "https://127.0.0.1:1", dir);
    input.tls.trustAnchors[1]!.crls = ["b.crl.pem"];
    input.tls.riCrls = [crlRi];
    const deps = { dataDir: dir, sealedTlsKey: async () => null };
    const ok = await checkStartable(parseOrThrow(input), deps);
    expect(ok.ok).toBe(true);
    if (ok.ok) {
      expect(ok.material.trust.verifyN32Chain([cert(pki.seppB.certPem)]).ok).toBe(false);
      expect(ok.material.trust.verifyRiCert([cert(pki.ri.certPem)], RI_ID)).toContain("revoked");
    }
    input.tls.trustAnchors[1]!.crls = ["missing.crl.pem"];
    const bad = await checkStartable(parseOrThrow(input), deps);
    expect(bad.ok ? [] : bad.issues.map((i) => i.path)).toEqual(["/tls/trustAnchors/1/crls"]);
  });
});

describe("revoked certificates on the N32 connections", () => {
  const peers = [{ id: "home", n32Fqdn: FQDN_B, plmnIds: [PLMN_B], roamingIntermediaries: [{ ipxProviderId: RI_ID }] }];
  for (const plane of ["N32-c", "N32-f"] as const)
    test(`${plane} server: a revoked peer (or RI) certificate is cut at set-up; after a CRL reload the next connection is`, async () => {
      let current = store();
      const s = await startN32Server({
        host: "127.0.0.1",
        port: 0,
        tls: { key: pki.seppA.keyPem, cert: pki.seppA.certPem },
        trust: () => current,
        admit: n32Admission(() => ({ peers }), plane === "N32-f"),
        acceptRiClients: plane === "N32-f",
        app: { fetch: () => new Response(null, { status: 204 }) },
        limits: { maxBodyBytes: 8192 },
        log: memoryLogger(),
      });
      try {
        const before = await n32ClientAs(s.port, pki, pki.seppB);
        expect(await statusOf(before)).toBe(204);
        current = store({ b: [crlB], ri: [crlRi] }); // the configuration changed: CRLs reloaded
        const raw = rawTls(s.port, pki, pki.seppB);
        expect(await Promise.race([raw.closed, Bun.sleep(3000).then(() => -1)])).toBeGreaterThanOrEqual(0);
        expect(raw.received().length).toBe(0);
        raw.socket.destroy();
        if (plane === "N32-f") {
          const ri = rawTls(s.port, pki, pki.ri);
          expect(await Promise.race([ri.closed, Bun.sleep(3000).then(() => -1)])).toBeGreaterThanOrEqual(0);
          expect(ri.received().length).toBe(0);
          ri.socket.destroy();
        }
        const other = await n32ClientAs(s.port, pki, pki.bOtherName).catch(() => null);
        expect(other ? await statusOf(other) : 0).toBe(0); // not revoked, but not a configured peer: still cut
        await before.close();
      } finally {
        await s.close();
      }
    });

  test("client: a server whose certificate is revoked is refused inside the handshake", async () => {
    const s = await startN32Server({
      host: "127.0.0.1",
      port: 0,
      tls: { key: pki.seppB.keyPem, cert: pki.seppB.certPem },
      trust: store(),
      app: { fetch: () => new Response(null, { status: 204 }) },
      limits: { maxBodyBytes: 8192 },
      log: memoryLogger(),
    });
    try {
      const connect = (t: TrustStore) =>
        H2Client.connect({
          url: `https://127.0.0.1:${s.port}`,
          tls: { key: pki.seppA.keyPem, cert: pki.seppA.certPem },
          trust: t,
          expectDnsName: FQDN_B,
          peerPlmnIds: [PLMN_B],
          timeoutMs: 3000,
        });
      await (await connect(store())).close();
      await expect(connect(store({ b: [crlB] }))).rejects.toThrow(/TLS connection .* failed: .*revoked/);
    } finally {
      await s.close();
    }
  });
});
