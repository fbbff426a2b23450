// test/support/home-config.ts — the smallest valid configuration of a home SEPP (262-01) with one visited peer
// (234-15), parsed as a start would parse it, for the data-path tests that run a cSEPP or pSEPP without a process
// (no listener is opened, no file is read: ports and PEM paths are placeholders).
import { parseConfig, type SeppConfig, type SeppConfigInput } from "../../src/config/schema.ts";

export const HOME_FQDN = "sepp.5gc.mnc001.mcc262.3gppnetwork.org";
export const VISITED_FQDN = "sepp.5gc.mnc015.mcc234.3gppnetwork.org";

type PeerInput = NonNullable<SeppConfigInput["peers"]>[number];

/** The home SEPP's configuration; `peer` members are added to the visited peer, `sbi` is the SBI section. */
export function homeConfig(
  o: { peerId?: string; ownMnc?: string; sbi?: SeppConfigInput["sbi"]; peer?: Partial<PeerInput> } = {},
): SeppConfig {
  const parsed = parseConfig({
    identity: { n32Fqdn: HOME_FQDN, plmnIds: [{ mcc: "262", mnc: o.ownMnc ?? "01" }] },
    listeners: { n32: { host: "127.0.0.1", port: 1 }, admin: { host: "127.0.0.1", port: 2 } },
    tls: {
      certificate: "x",
      privateKey: "x",
      trustAnchors: [{ name: "v", plmnIds: [{ mcc: "234", mnc: "15" }], roots: ["x"] }],
    },
    ...(o.sbi ? { sbi: o.sbi } : {}),
    peers: [
      {
        id: o.peerId ?? "visited",
        n32Fqdn: VISITED_FQDN,
        plmnIds: [{ mcc: "234", mnc: "15" }],
        n32cUri: "https://127.0.0.1:3",
        initiate: false,
        ...o.peer,
      },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.config;
}
