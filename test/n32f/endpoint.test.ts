// Where N32-f toward a peer goes (N32-PROFILE P11 "Negotiation", src/n32c/n32f-endpoint.ts): the rule on its own,
// then with real N32-c handshakes: what a peer announced in exchange-capability is what N32cService.n32fEndpointOf
// gives and where PeerN32fClients connects (real HTTP/2 over mutual TLS on 127.0.0.1); nothing announced → the
// configured n32fUri; after a 307 the endpoint the redirect target announced (its name resolved through
// sbi.staticHosts, its certificate checked against its own N32 FQDN).
import { afterEach, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { PeerConfig } from "../../src/config/schema/peers.ts";
import type { SeppConfigInput } from "../../src/config/schema.ts";
import { PeerN32fClients } from "../../src/datapath/n32f-clients.ts";
import { announcementOf } from "../../src/n32c/messages.ts";
import { n32fEndpointFor } from "../../src/n32c/n32f-endpoint.ts";
import { issueSeppCert, type DevCert } from "../../src/pki/devpki.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import type { N32Env } from "../../src/transport/h2server.ts";
import { type N32cSepp, startN32cSepp, startPeerN32Server } from "../support/n32c-sepp.ts";
import { FQDN_B, PLMN_B, testPki } from "../support/pki.ts";

const SEPP2 = "sepp2.5gc.mnc410.mcc310.3gppnetwork.org";
const PROCESS = "/n32f-forward/v1/n32f-process";

const peerB = (n32fUri?: string) =>
  ({
    id: "home",
    n32Fqdn: FQDN_B,
    plmnIds: [PLMN_B],
    n32cUri: "https://10.1.1.1:8443",
    ...(n32fUri ? { n32fUri } : {}),
  }) as PeerConfig;

describe("the rule (n32fEndpointFor)", () => {
  test("nothing announced: the configured n32fUri (else n32cUri), certificate = the peer's N32 FQDN", () => {
    expect(n32fEndpointFor(peerB("https://10.1.1.2:9443"))).toMatchObject({
      url: "https://10.1.1.2:9443",
      port: 9443,
      expectDnsName: FQDN_B,
      source: "configured",
    });
    expect(n32fEndpointFor(peerB(), { n32fPorts: [], targetApiRootSupported: true }).url).toBe("https://10.1.1.1:8443");
  });
  test("the peer's own FQDN (or the configured host) announced with a port: the configured address, that port", () => {
    const ep = n32fEndpointFor(peerB("https://10.1.1.2:9443"), {
      n32fFqdn: FQDN_B.toUpperCase(),
      n32fPorts: [7443, 7444],
      targetApiRootSupported: true,
    });
    expect(ep).toMatchObject({ url: "https://10.1.1.2:7443", fqdn: FQDN_B, port: 7443, source: "announced" });
    expect(ep.byName).toBe(false);
    // only a port: the peer's FQDN; only the FQDN: the configured port
    expect(n32fEndpointFor(peerB(), { n32fPorts: [7000], targetApiRootSupported: false }).url).toBe(
      "https://10.1.1.1:7000",
    );
    expect(n32fEndpointFor(peerB(), { n32fFqdn: FQDN_B, n32fPorts: [], targetApiRootSupported: false }).url).toBe(
      "https://10.1.1.1:8443",
    );
  });
  test("another name in the peer's PLMN domain: that name (resolved when connecting), 443 by default", () => {
    const f = "n32f.5gc.mnc410.mcc310.3gppnetwork.org";
    expect(n32fEndpointFor(peerB(), { n32fFqdn: f, n32fPorts: [], targetApiRootSupported: true })).toMatchObject({
      url: `https://${f}:443`,
      fqdn: f,
      expectDnsName: FQDN_B,
      byName: true,
    });
  });
  test("a name outside the peer's domain is ignored (the configured endpoint, with the reason)", () => {
    for (const f of ["evil.example.org", "127.0.0.1", "sepp.5gc.mnc001.mcc262.3gppnetwork.org"]) {
      const ep = n32fEndpointFor(peerB(), { n32fFqdn: f, n32fPorts: [1], targetApiRootSupported: true });
      expect({ f, url: ep.url, source: ep.source, ignored: !!ep.ignored }).toEqual({
        f,
        url: "https://10.1.1.1:8443",
        source: "configured",
        ignored: true,
      });
    }
  });
  test("after a 307: relative to the redirect target (its N32-c URI, its FQDN on the certificate)", () => {
    const redirect = { uri: `https://${SEPP2}:5000`, fqdn: SEPP2 };
    expect(n32fEndpointFor(peerB(), undefined, redirect)).toMatchObject({
      url: `https://${SEPP2}:5000`,
      expectDnsName: SEPP2,
      byName: true,
    });
    const a = { n32fFqdn: SEPP2, n32fPorts: [6000], targetApiRootSupported: true };
    expect(n32fEndpointFor(peerB(), a, redirect)).toMatchObject({
      url: `https://${SEPP2}:6000`,
      expectDnsName: SEPP2,
      source: "announced",
    });
  });
  test("announcementOf: ports outside 1..65535 are left out; the apiRoot flag defaults to false", () => {
    expect(
      announcementOf({
        sender: FQDN_B,
        selectedSecCapability: "TLS",
        senderN32fPortList: [0, 70000, 8443],
      }),
    ).toEqual({ n32fPorts: [8443], targetApiRootSupported: false });
    expect(
      announcementOf({
        sender: FQDN_B,
        supportedSecCapabilityList: ["PRINS"],
        senderN32fFqdn: FQDN_B,
        senderN32fPort: 9000,
        "3GppSbiTargetApiRootSupported": true,
      }),
    ).toEqual({ n32fFqdn: FQDN_B, n32fPorts: [9000], targetApiRootSupported: true });
  });
});

// ---- with real handshakes and connections ----

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const side = (
  which: "a" | "b",
  o: { cert?: DevCert; fqdn?: string; edit?: (c: SeppConfigInput) => void; resolveHost?: (h: string) => string } = {},
) => startN32cSepp(which, closers, { ...o, tmpPrefix: "n32f-ep" });

/** An N32-f endpoint of a peer (certificate `cert`): answers every POST 200 and records the :authority seen. */
async function n32fEndpoint(cert: DevCert, seen: string[]): Promise<number> {
  const app = new Hono<{ Bindings: N32Env }>();
  app.post("*", (c) => {
    seen.push(`${c.req.path} ${new URL(c.req.url).host}`);
    return c.json({}, 200);
  });
  return (await startPeerN32Server(cert, app, closers)).port;
}

/** Side a's N32-f clients, asking its N32-c service where each peer's N32-f endpoint is (as the data path does). */
function clientsOf(a: N32cSepp): PeerN32fClients {
  const c = new PeerN32fClients({
    config: a.cfg,
    endpointOf: (peer) => a.service.n32fEndpointOf(peer.id),
    tls: () => ({ key: a.cfg().tls.privateKey, cert: a.cfg().tls.certificate }),
    trust: () => TrustStore.fromConfig(a.cfg()),
    connectTimeoutMs: 3000,
  });
  closers.push(() => c.close());
  return c;
}

const post = (c: PeerN32fClients, peer: PeerConfig) =>
  c.request(peer, "POST", PROCESS, { body: "{}", timeoutMs: 3000, maxBodyBytes: 4096 });

describe("N32-f follows what the peer announced", () => {
  test("a peer announcing a port other than its configured n32fUri's receives N32-f on the announced port", async () => {
    const pki = await testPki();
    const seen: string[] = [];
    const announcedPort = await n32fEndpoint(pki.seppB, seen);
    const configuredSeen: string[] = [];
    const configuredPort = await n32fEndpoint(pki.seppB, configuredSeen);
    const b = await side("b", { edit: (c) => (c.identity!.n32fPorts = [announcedPort]) });
    const a = await side("a");
    a.update((c) => {
      c.peers![0]!.n32cUri = `https://127.0.0.1:${b.port}`;
      c.peers![0]!.n32fUri = `https://127.0.0.1:${configuredPort}`;
    });
    expect((await a.service.handshake("home")).state).toBe("active-prins");
    expect(a.service.n32fEndpointOf("home")).toMatchObject({
      url: `https://127.0.0.1:${announcedPort}`,
      fqdn: FQDN_B,
      port: announcedPort,
      source: "announced",
    });
    const r = await post(clientsOf(a), a.cfg().peers[0]!);
    expect(r.status).toBe(200);
    expect(seen).toEqual([`${PROCESS} ${FQDN_B}:${announcedPort}`]);
    expect(configuredSeen).toEqual([]);
  });

  test("nothing announced (no association, or no port and the peer's own FQDN): the configured n32fUri", async () => {
    const pki = await testPki();
    const seen: string[] = [];
    const configuredPort = await n32fEndpoint(pki.seppB, seen);
    const b = await side("b"); // no identity.n32fPorts and no bound-port hook: announces its FQDN only
    const a = await side("a");
    a.update((c) => {
      c.peers![0]!.n32cUri = `https://127.0.0.1:${b.port}`;
      c.peers![0]!.n32fUri = `https://127.0.0.1:${configuredPort}`;
    });
    expect(a.service.n32fEndpointOf("home")).toMatchObject({ url: `https://127.0.0.1:${configuredPort}` });
    expect((await a.service.handshake("home")).state).toBe("active-prins");
    expect(a.service.n32fEndpointOf("home")?.url).toBe(`https://127.0.0.1:${configuredPort}`);
    expect((await post(clientsOf(a), a.cfg().peers[0]!)).status).toBe(200);
    expect(seen.length).toBe(1);
  });

  test("the responder uses what the initiator announced (senderN32fPort)", async () => {
    const pki = await testPki();
    const seen: string[] = [];
    const announcedPort = await n32fEndpoint(pki.seppA, seen);
    const b = await side("b");
    const a = await side("a", { edit: (c) => (c.identity!.n32fPorts = [announcedPort]) });
    a.update((c) => (c.peers![0]!.n32cUri = `https://127.0.0.1:${b.port}`));
    b.update((c) => (c.peers![0]!.n32cUri = `https://127.0.0.1:${a.port}`));
    expect((await a.service.handshake("home")).state).toBe("active-prins");
    expect(b.service.n32fEndpointOf("visited")?.url).toBe(`https://127.0.0.1:${announcedPort}`);
    expect((await post(clientsOf(b), b.cfg().peers[0]!)).status).toBe(200);
    expect(seen.length).toBe(1);
  });

  test("after a 307 on N32-c: the endpoint the redirect target announced (name via sbi.staticHosts, its certificate)", async () => {
    const pki = await testPki();
    const sepp2Cert = await issueSeppCert(pki.rootB, { dnsNames: [SEPP2] });
    const seen: string[] = [];
    const announcedPort = await n32fEndpoint(sepp2Cert, seen);
    const originalSeen: string[] = [];
    const b = await side("b"); // the configured peer: redirects to SEPP2
    const s2 = await side("b", {
      cert: sepp2Cert,
      fqdn: SEPP2,
      edit: (c) => (c.identity!.n32fPorts = [announcedPort]),
    });
    const a = await side("a", { resolveHost: () => "127.0.0.1" });
    const originalN32f = await n32fEndpoint(pki.seppB, originalSeen);
    a.update((c) => {
      c.peers![0]!.n32cUri = `https://127.0.0.1:${b.port}`;
      c.peers![0]!.n32fUri = `https://127.0.0.1:${originalN32f}`;
      c.sbi = { ...c.sbi, staticHosts: { [SEPP2]: "127.0.0.1" } };
    });
    b.update((c) => (c.n32c!.redirectTo = `https://${SEPP2}:${s2.port}`));
    s2.update((c) => (c.peers![0]!.n32cUri = `https://127.0.0.1:${a.port}`));
    expect((await a.service.handshake("home")).state).toBe("active-prins");
    expect(a.service.n32fEndpointOf("home")).toMatchObject({
      url: `https://${SEPP2}:${announcedPort}`,
      fqdn: SEPP2,
      expectDnsName: SEPP2,
      source: "announced",
    });
    expect((await post(clientsOf(a), a.cfg().peers[0]!)).status).toBe(200);
    expect(seen).toEqual([`${PROCESS} ${SEPP2}:${announcedPort}`]);
    expect(originalSeen).toEqual([]);
  });
});
