// test/support/third-sepp.ts — a third SEPP for a `writePair` pair: a second roaming partner of the home SEPP
// (PLMN 208-01, its own development root CA), so the home SEPP holds two partner associations at once
// (TS 33.517 4.2.2.3; P11). Call it after writePair and before starting the home SEPP: it writes the third SEPP's
// PKI and configuration (it initiates toward the home SEPP, its only peer "home") and adds the partner (trust
// anchor, root file, peer entry) to the home SEPP's configuration file. test/support/two-sepps.ts `third` uses it.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HOME, freePort, type SeppSide } from "../../scripts/lib/pair.ts";
import type { PairPki } from "../../scripts/lib/pair-pki.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { createRootCa, type DevCa, type DevCert, issueSeppCert } from "../../src/pki/devpki.ts";

export const THIRD = { fqdn: "sepp.5gc.mnc001.mcc208.3gppnetwork.org", plmn: { mcc: "208", mnc: "01" } };

type Peer = NonNullable<SeppConfigInput["peers"]>[number];

export interface ThirdSeppOptions {
  /** parent directory (the pair's) */
  dir: string;
  /** the peer id of the third SEPP in the home SEPP's configuration (default "visited2") */
  idAtHome?: string;
  /** default PRINS */
  capabilities?: Array<"PRINS" | "TLS">;
  /** tweak the third SEPP's configuration before it is written (its only peer is "home") */
  edit?: (c: SeppConfigInput) => void;
  /** tweak the home SEPP's new peer entry for the third SEPP */
  editHomePeer?: (p: Peer) => void;
}

export interface ThirdSepp {
  side: SeppSide;
  root: DevCa;
  cert: DevCert;
  idAtHome: string;
}

export async function writeThirdSepp(pair: { home: SeppSide; pki: PairPki }, o: ThirdSeppOptions): Promise<ThirdSepp> {
  const root = await createRootCa({ name: "third PLMN 208-01 root" });
  const cert = await issueSeppCert(root, { dnsNames: [THIRD.fqdn] });
  const ports = { n32: await freePort(), sbi: await freePort(), admin: await freePort() };
  const caps = o.capabilities ?? ["PRINS"];
  const idAtHome = o.idAtHome ?? "visited2";
  const dir = join(o.dir, "third");
  mkdirSync(join(dir, "var", "pki"), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "var", "pki", "sepp.crt.pem"), cert.chainPem);
  writeFileSync(join(dir, "var", "pki", "sepp.key.pem"), cert.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, "var", "pki", "root-third.crt.pem"), root.certPem);
  writeFileSync(join(dir, "var", "pki", "root-home.crt.pem"), pair.pki.rootH.certPem);
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
    },
    sbi: {},
    peers: [
      {
        id: "home",
        n32Fqdn: HOME.fqdn,
        plmnIds: [HOME.plmn],
        n32cUri: `https://127.0.0.1:${pair.home.ports.n32}`,
        initiate: true,
        securityCapabilities: caps,
      },
    ],
    storage: { dir: "var" },
    n32c: { retryInitialMs: 200, retryMaxMs: 2000 },
  };
  o.edit?.(config);
  const configPath = join(dir, "sepp.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  // the home SEPP: one more partner (anchor, root file, peer entry; it answers, the third SEPP initiates)
  const home = pair.home.config;
  writeFileSync(join(pair.home.dir, "var", "pki", "root-third.crt.pem"), root.certPem);
  home.tls!.trustAnchors = [
    ...home.tls!.trustAnchors!,
    { name: "third", plmnIds: [THIRD.plmn], roots: ["pki/root-third.crt.pem"] },
  ];
  const peer: Peer = {
    id: idAtHome,
    n32Fqdn: THIRD.fqdn,
    plmnIds: [THIRD.plmn],
    n32cUri: `https://127.0.0.1:${ports.n32}`,
    initiate: false,
    securityCapabilities: caps,
  };
  o.editHomePeer?.(peer);
  home.peers = [...(home.peers ?? []), peer];
  writeFileSync(pair.home.configPath, JSON.stringify(home, null, 2));
  return { side: { name: "third", dir, configPath, config, ports }, root, cert, idAtHome };
}
