// config/example-visited-two-ipx.json (a peer reached through two IPX providers, N32-PROFILE P11) is a valid
// configuration, and the next hops it builds are the two RIs in order, with the peer's FQDN as :authority.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/schema.ts";
import { n32fHopsOf } from "../../src/datapath/n32f-hops.ts";
import { TrustStore } from "../../src/pki/trust.ts";

const file = join(import.meta.dir, "../..", "config", "example-visited-two-ipx.json");

test("config/example-visited-two-ipx.json validates and routes N32-f through its two IPX providers in order", () => {
  const r = parseConfig(JSON.parse(readFileSync(file, "utf8")));
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const peer = r.config.peers[0]!;
  expect(peer.n32fNextHops[1]!.trustAnchors).toEqual(["pki/root-ipx-two.crt.pem"]);
  // N32-c reaches the peer through the same two providers' CONNECT proxies, in order (P11)
  expect(peer.n32cVia.map((h) => [h.uri, h.ipxProviderId])).toEqual([
    ["https://connect.ipx-one.example.net:8443", "ipx-one.example.net"],
    ["https://connect.ipx-two.example.net:8443", "ipx-two.example.net"],
  ]);
  // the PEM files are not part of the example: build the hops without per-hop anchors (they fall back to the store)
  const bare = { ...peer, n32fNextHops: peer.n32fNextHops.map((h) => ({ ...h, trustAnchors: undefined })) };
  const hops = n32fHopsOf({ ...r.config, peers: [bare] }, bare, new TrustStore([], []));
  expect(hops.map((h) => [h.kind, h.url, h.expectDnsName, h.authority])).toEqual([
    [
      "ri",
      "https://n32f.ipx-one.example.net:8443",
      "ipx-one.example.net",
      "sepp.5gc.mnc001.mcc262.3gppnetwork.org:443",
    ],
    [
      "ri",
      "https://n32f.ipx-two.example.net:8443",
      "ipx-two.example.net",
      "sepp.5gc.mnc001.mcc262.3gppnetwork.org:443",
    ],
  ]);
  // TLS mode never goes through an RI: the direct hop is the peer's N32-f endpoint
  expect(n32fHopsOf(r.config, peer, new TrustStore([], []), true).map((h) => h.kind)).toEqual(["peer"]);
});

test("n32fNextHops with TLS among the capabilities is refused (P11: PRINS only through RIs)", () => {
  const c = JSON.parse(readFileSync(file, "utf8"));
  c.peers[0].securityCapabilities = ["PRINS", "TLS"];
  const r = parseConfig(c);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.issues.map((i) => i.path)).toContain("/peers/0/securityCapabilities");
});

test("an n32cVia RI without trust anchors (none here, none in tls.riTrustAnchors) is refused", () => {
  const c = JSON.parse(readFileSync(file, "utf8"));
  c.tls.riTrustAnchors = [];
  c.peers[0].n32fNextHops = [];
  c.peers[0].n32cVia = [{ uri: "https://connect.ipx-one.example.net:8443", ipxProviderId: "ipx-one.example.net" }];
  const r = parseConfig(c);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(["/peers/0/n32cVia/0/trustAnchors"]);
});
