// scripts/lib/pair-pki.ts — the development PKI and configurations the SEPP fixtures write (scripts/lib/pair.ts,
// bench:start, the build and update tests): one root per PLMN with each SEPP's N32 certificate, a SEPP's PKI
// directory, and the configuration of one stand-alone SEPP.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { createRootCa, issueSeppCert, type DevCa, type DevCert } from "../../src/pki/devpki.ts";

export interface PairPki {
  rootV: DevCa;
  rootH: DevCa;
  /** the SEPPs' N32 certificates (chain and key), e.g. for a man-in-the-middle test proxy */
  certV: DevCert;
  certH: DevCert;
}

/**
 * The configuration of one stand-alone SEPP (PLMN 001-01, no peers) for start-up, build and update tests: a fresh
 * development root (`rootName`) and its leaf inline, N32 on any loopback port, the admin API on `adminPort`.
 */
export async function soloSeppConfig(
  rootName: string,
  adminPort: number,
  storageDir: string,
): Promise<SeppConfigInput> {
  const plmn = { mcc: "001", mnc: "01" };
  const fqdn = "sepp.5gc.mnc001.mcc001.3gppnetwork.org";
  const root = await createRootCa({ name: rootName });
  const leaf = await issueSeppCert(root, { dnsNames: [fqdn] });
  return {
    identity: { n32Fqdn: fqdn, plmnIds: [plmn] },
    listeners: { n32: { host: "127.0.0.1", port: 0 }, admin: { host: "127.0.0.1", port: adminPort } },
    tls: {
      certificate: leaf.chainPem,
      privateKey: leaf.keyPem,
      trustAnchors: [{ name: "root", plmnIds: [plmn], roots: [root.certPem] }],
    },
    storage: { dir: storageDir },
  };
}

/** A fresh development PKI of the pair: one root per PLMN, each SEPP's N32 certificate from its own root. */
export async function issuePairPki(visitedFqdn: string, homeFqdn: string): Promise<PairPki> {
  const [rootV, rootH] = await Promise.all([
    createRootCa({ name: "visited PLMN 234-15 root" }),
    createRootCa({ name: "home PLMN 262-01 root" }),
  ]);
  const [certV, certH] = await Promise.all([
    issueSeppCert(rootV, { dnsNames: [visitedFqdn] }),
    issueSeppCert(rootH, { dnsNames: [homeFqdn] }),
  ]);
  return { rootV, rootH, certV, certH };
}

/** One SEPP's PKI directory: `sepp.crt.pem`, `sepp.key.pem` (0600), `root-visited.crt.pem`, `root-home.crt.pem`. */
export function writeSeppPki(pkiDir: string, cert: DevCert, pki: PairPki): void {
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(pkiDir, "sepp.crt.pem"), cert.chainPem);
  writeFileSync(join(pkiDir, "sepp.key.pem"), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(pkiDir, "root-visited.crt.pem"), pki.rootV.certPem);
  writeFileSync(join(pkiDir, "root-home.crt.pem"), pki.rootH.certPem);
}
