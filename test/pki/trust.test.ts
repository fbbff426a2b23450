// PLMN IDs from SAN labels (N32-PROFILE P9), per-PLMN trust anchors (TS 33.501 13.1.2; SCAS 33.517
// 4.2.5 C1–C4), the separate RI trust store (P10), and the development PKI.
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { plmnKey } from "../../src/model/plmn.ts";
import { plmnIdFromDnsName, plmnIdsOf, certHasDnsName } from "../../src/pki/plmn.ts";
import { TrustStore, isP256 } from "../../src/pki/trust.ts";
import { createRootCa, issueSeppCert } from "../../src/pki/devpki.ts";
import { FQDN_A, FQDN_B, PLMN_A, PLMN_B, RI_ID, testPki } from "../support/pki.ts";

const x = (pem: string) => new X509Certificate(pem);

async function store() {
  const p = await testPki();
  return {
    p,
    t: new TrustStore(
      [
        { name: "a", plmnIds: [PLMN_A], roots: [x(p.rootA.certPem)] },
        { name: "b", plmnIds: [PLMN_B], roots: [x(p.rootB.certPem)] },
      ],
      [x(p.riRoot.certPem)],
    ),
  };
}

describe("PLMN IDs from dNSName labels (P9)", () => {
  test("mncXXX.mccYYY labels, three digits each, MNC compared padded", () => {
    expect(plmnIdFromDnsName("sepp.5gc.mnc001.mcc262.3gppnetwork.org")).toEqual({ mcc: "262", mnc: "001" });
    expect(plmnIdFromDnsName("SEPP.5GC.MNC410.MCC310.3GPPNETWORK.ORG")).toEqual({ mcc: "310", mnc: "410" });
    expect(plmnIdFromDnsName("sepp.home.example.org")).toBeNull();
    expect(plmnIdFromDnsName("sepp.mnc01.mcc262.3gppnetwork.org")).toBeNull(); // two digits: not the P9 form
    expect(plmnIdFromDnsName("sepp.xmnc001.mcc262.org")).toBeNull(); // the label must start with mnc
    expect(plmnKey({ mcc: "262", mnc: "01" })).toBe(plmnKey({ mcc: "262", mnc: "001" }));
  });

  test("PLMN IDs and names of a certificate", async () => {
    const p = await testPki();
    expect(plmnIdsOf(x(p.seppA.certPem))).toEqual([{ mcc: "262", mnc: "001" }]);
    expect(plmnIdsOf(x(p.bTwoAnchors.certPem)).map(plmnKey).sort()).toEqual(["262-001", "310-410"]);
    expect(plmnIdsOf(x(p.bNoLabels.certPem))).toEqual([]);
    expect(certHasDnsName(x(p.seppB.certPem), `${FQDN_B.toUpperCase()}.`)).toBe(true);
    expect(certHasDnsName(x(p.seppB.certPem), FQDN_A)).toBe(false);
  });
});

describe("per-PLMN trust anchors (SCAS 33.517 4.2.5)", () => {
  test("C1 and C2 pass: each chains to the anchor of its PLMN", async () => {
    const { p, t } = await store();
    const r1 = t.verifyN32Chain([x(p.seppA.certPem)]);
    const r2 = t.verifyN32Chain([x(p.seppB.certPem), x(p.rootB.certPem)]);
    expect(r1.ok && r1.anchor).toBe("a");
    expect(r2.ok && r2.anchor).toBe("b");
  });

  test("C3 fails: PLMN B certificate issued by PLMN A's root, even with that root presented", async () => {
    const { p, t } = await store();
    for (const chain of [[x(p.bSignedByA.certPem)], [x(p.bSignedByA.certPem), x(p.rootA.certPem)]]) {
      const r = t.verifyN32Chain(chain);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason).toContain("does not chain to the trust anchor");
    }
  });

  test("C4 fails: PLMN IDs that map to two anchors", async () => {
    const { p, t } = await store();
    const r = t.verifyN32Chain([x(p.bTwoAnchors.certPem)]);
    expect(!r.ok && r.reason).toContain("different trust anchors");
  });

  test("no PLMN labels, unknown PLMN, expired, a root as leaf: refused", async () => {
    const { p, t } = await store();
    expect(t.verifyN32Chain([x(p.bNoLabels.certPem)]).ok).toBe(false);
    const only = new TrustStore([{ name: "a", plmnIds: [PLMN_A], roots: [x(p.rootA.certPem)] }]);
    const r = only.verifyN32Chain([x(p.seppB.certPem)]);
    expect(!r.ok && r.reason).toContain("no trust anchor for PLMN 310-410");
    const old = new Date(Date.now() - 20 * 86_400_000);
    const expired = await issueSeppCert(p.rootA, {
      dnsNames: [FQDN_A],
      notBefore: old,
      notAfter: new Date(old.getTime() + 86_400_000),
    });
    expect(t.verifyN32Chain([x(expired.certPem)]).ok).toBe(false);
    expect(t.verifyN32Chain([x(p.rootA.certPem)]).ok).toBe(false);
    expect(t.verifyN32Chain([]).ok).toBe(false);
  });

  test("RI certificates never pass as N32 certificates; the N32 TLS CA list holds no RI root", async () => {
    const { p, t } = await store();
    expect(t.verifyN32Chain([x(p.ri.certPem)]).ok).toBe(false);
    expect(t.tlsCaPem().map((c) => x(c).fingerprint256)).not.toContain(x(p.riRoot.certPem).fingerprint256);
  });

  test("another root with the same subject name does not pass", async () => {
    const { p, t } = await store();
    const evil = await createRootCa({ name: "PLMN 262-001 root" });
    const forged = await issueSeppCert(evil, { dnsNames: [FQDN_A] });
    expect(t.verifyN32Chain([x(forged.certPem), x(evil.certPem)]).ok).toBe(false);
    expect(t.verifyN32Chain([x(p.seppA.certPem)]).ok).toBe(true);
  });
});

describe("RI trust store (P10)", () => {
  test("valid P-256 RI certificate under the RI root with dNSName = ipxProviderId passes", async () => {
    const { p, t } = await store();
    expect(t.verifyRiCert([x(p.ri.certPem)], RI_ID)).toBeNull();
    expect(isP256(x(p.ri.certPem))).toBe(true);
  });
  test("wrong name, P-384, expired, issued by a SEPP root: refused", async () => {
    const { p, t } = await store();
    expect(t.verifyRiCert([x(p.ri.certPem)], "ipx2.ri.example.org")).toContain("dNSName");
    expect(t.verifyRiCert([x(p.riP384.certPem)], RI_ID)).toContain("P-256");
    expect(t.verifyRiCert([x(p.riExpired.certPem)], RI_ID)).toContain("not valid now");
    expect(t.verifyRiCert([x(p.riFromSeppRoot.certPem)], RI_ID)).toContain("RI trust store");
  });
});

describe("development PKI", () => {
  test("SEPP certificate: dNSName SANs, serverAuth+clientAuth, P-256, not a CA; root is a CA", async () => {
    const p = await testPki();
    const c = x(p.seppA.certPem);
    expect(c.subjectAltName).toBe(`DNS:${FQDN_A}`);
    expect(c.ca).toBe(false);
    expect(isP256(c)).toBe(true);
    expect(c.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]));
    expect(x(p.rootA.certPem).ca).toBe(true);
    expect(c.checkIssued(x(p.rootA.certPem))).toBe(true);
    expect(p.seppA.keyPem).toStartWith("-----BEGIN PRIVATE KEY-----");
  });
});
