// test/support/solo-config.ts — the smallest valid configuration of one stand-alone SEPP (PLMN 001-01, no peers,
// N32 and admin listeners), parsed as a start would parse it, for tests of pure functions over a configuration
// (no listener is opened, no file is read: ports and PEM paths are placeholders). `edit` changes the input first.
import { parseConfig, type SeppConfig } from "../../src/config/schema.ts";

export function soloConfig(edit: (c: any) => void = () => {}): SeppConfig {
  const c: any = {
    identity: { n32Fqdn: "sepp.5gc.mnc001.mcc001.3gppnetwork.org", plmnIds: [{ mcc: "001", mnc: "01" }] },
    listeners: { n32: { host: "127.0.0.1", port: 1 }, admin: { host: "127.0.0.1", port: 4 } },
    tls: {
      certificate: "a.pem",
      privateKey: "k.pem",
      trustAnchors: [{ name: "r", plmnIds: [{ mcc: "001", mnc: "01" }], roots: ["r.pem"] }],
    },
  };
  edit(c);
  const r = parseConfig(c);
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.issues)}`);
  return r.config;
}
