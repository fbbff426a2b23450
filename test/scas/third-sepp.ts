// test/scas/third-sepp.ts — a third SEPP process (PLMN 310-410, its own root CA) for the SCAS tests that need two
// live N32 associations on the home SEPP of a `writePair` pair (TS 33.517 4.2.2.3). `prepareThird` runs before
// `writePair` (its `editHome` adds the third SEPP as a peer of the home SEPP and trusts its root); `writeThird`
// writes the third SEPP's own configuration once the home SEPP's ports are known.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOME, freePort, type SeppSide } from "../../scripts/lib/pair.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { createRootCa, issueSeppCert, type DevCa, type DevCert } from "../../src/pki/devpki.ts";

export const THIRD = { fqdn: "sepp.5gc.mnc410.mcc310.3gppnetwork.org", plmn: { mcc: "310", mnc: "410" } };

type Peer = NonNullable<SeppConfigInput["peers"]>[number];
type RiEntry = NonNullable<Peer["roamingIntermediaries"]>[number];

export interface ThirdSepp {
  root: DevCa;
  cert: DevCert;
  ports: { n32: number; sbi: number; admin: number };
  /** for writePair's `edit` on the home side: the third SEPP as peer "x" with `homeRis` as its RIs */
  editHome(c: SeppConfigInput, homeDir: string, homeRis: RiEntry[]): void;
  /** the third SEPP's directory and configuration (it initiates toward the home SEPP) */
  writeThird(dir: string, home: SeppSide, homeRoot: DevCa, ownRis: RiEntry[], riRoots: string[]): SeppSide;
}

export async function prepareThird(): Promise<ThirdSepp> {
  const root = await createRootCa({ name: "third PLMN 310-410 root" });
  const cert = await issueSeppCert(root, { dnsNames: [THIRD.fqdn] });
  const ports = { n32: await freePort(), sbi: await freePort(), admin: await freePort() };
  return {
    root,
    cert,
    ports,
    editHome(c, homeDir, homeRis) {
      writeFileSync(join(homeDir, "var", "pki", "root-third.crt.pem"), root.certPem);
      c.tls!.trustAnchors!.push({ name: "third", plmnIds: [THIRD.plmn], roots: ["pki/root-third.crt.pem"] });
      c.peers!.push({
        id: "x",
        n32Fqdn: THIRD.fqdn,
        plmnIds: [THIRD.plmn],
        n32cUri: `https://127.0.0.1:${ports.n32}`,
        initiate: false,
        securityCapabilities: ["PRINS"],
        n32f: { allowedTargets: [] },
        roamingIntermediaries: homeRis,
      });
    },
    writeThird(dir, home, homeRoot, ownRis, riRoots) {
      mkdirSync(join(dir, "var", "pki"), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, "var", "pki", "sepp.crt.pem"), cert.chainPem);
      writeFileSync(join(dir, "var", "pki", "sepp.key.pem"), cert.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, "var", "pki", "root-third.crt.pem"), root.certPem);
      writeFileSync(join(dir, "var", "pki", "root-home.crt.pem"), homeRoot.certPem);
      const config: SeppConfigInput = {
        identity: { n32Fqdn: THIRD.fqdn, plmnIds: [THIRD.plmn] },
        listeners: {
          n32: { host: "127.0.0.1", port: ports.n32 },
          sbi: { host: "127.0.0.1", port: ports.sbi },
          admin: { host: "127.0.0.1", port: ports.admin },
        },
        tls: {
          certificate: "pki/sepp.crt.pem",
          privateKey: "pki/sepp.key.pem",
          trustAnchors: [
            { name: "third", plmnIds: [THIRD.plmn], roots: ["pki/root-third.crt.pem"] },
            { name: "home", plmnIds: [HOME.plmn], roots: ["pki/root-home.crt.pem"] },
          ],
          riTrustAnchors: riRoots,
        },
        peers: [
          {
            id: "home",
            n32Fqdn: HOME.fqdn,
            plmnIds: [HOME.plmn],
            n32cUri: `https://127.0.0.1:${home.ports.n32}`,
            initiate: true,
            securityCapabilities: ["PRINS"],
            n32f: { allowedTargets: [] },
            roamingIntermediaries: ownRis,
          },
        ],
        storage: { dir: "var" },
        n32c: { retryInitialMs: 200, retryMaxMs: 2000 },
      };
      const configPath = join(dir, "sepp.json");
      writeFileSync(configPath, JSON.stringify(config, null, 2));
      // SeppSide.name only labels messages of startSepp
      return { name: "visited", dir, configPath, config, ports };
    },
  };
}
