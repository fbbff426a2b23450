// TLS mode and 3GppSbiTargetApiRootSupported (N32-PROFILE P11 "Negotiation"): the cSEPP sends
// 3gpp-Sbi-Target-apiRoot only to a peer that announced support in exchange-capability. Toward one that did not, only
// a target that is one of the peer's own telescopic FQDNs goes (in :authority and the URI, TS 29.500 6.1: the pSEPP
// maps its own labels, P8; we cannot mint one for it); any other target is refused 504 TARGET_NF_NOT_REACHABLE
// before N32. The peer is another vendor's SEPP (a real HTTP/2 server over mutual TLS on 127.0.0.1 with the peer's
// certificate) that answers exchange-capability with TLS and records what arrives on N32-f; our side is the real
// N32cService, CSepp and PeerN32fClients.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { SoftwareAeadEngine } from "../../hw/aead.ts";
import type { SeppConfig } from "../../src/config/schema.ts";
import { CSepp } from "../../src/datapath/csepp.ts";
import type { InboundRequest } from "../../src/datapath/http.ts";
import { PeerN32fClients } from "../../src/datapath/n32f-clients.ts";
import type { ProducerClients } from "../../src/datapath/producer-clients.ts";
import { memoryLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { N32cService } from "../../src/n32c/service.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { PeerLimits } from "../../src/sbi/limits.ts";
import { TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import { startN32Server, type N32Env, type N32Server } from "../../src/transport/h2server.ts";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import { configInput, FQDN_A, FQDN_B, parseOrThrow, PLMN_B, testPki } from "../support/pki.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const freshDir = freshDirs("tls-apiroot-");

const UDM = "udm.5gc.mnc410.mcc310.3gppnetwork.org";
const TELESCOPIC = `x1.${FQDN_B}`; // one label below the peer SEPP's FQDN: its own telescopic FQDN
let cfg: SeppConfig;
let n32c: N32cService;
let clients: PeerN32fClients;
let csepp: CSepp;
let peer: N32Server;
let telescopic: TelescopicStore;
/** whether the peer announces 3GppSbiTargetApiRootSupported */
let supports = false;
const arrived: Array<{ path: string; authority: string; targetApiRoot: string | undefined }> = [];

beforeAll(async () => {
  const pki = await testPki();
  const app = new Hono<{ Bindings: N32Env }>();
  app.post("/n32c-handshake/v1/exchange-capability", () =>
    Response.json({
      sender: FQDN_B,
      selectedSecCapability: "TLS",
      plmnIdList: [PLMN_B],
      senderN32fFqdn: FQDN_B,
      senderN32fPortList: [peer.port],
      ...(supports ? { "3GppSbiTargetApiRootSupported": true } : {}),
    }),
  );
  app.all("*", (c) => {
    arrived.push({
      path: c.req.path,
      authority: new URL(c.req.url).host,
      targetApiRoot: c.req.header("3gpp-sbi-target-apiroot"),
    });
    return c.json({ ok: true }, 200);
  });
  const dir = freshDir();
  cfg = parseOrThrow(configInput(pki, "b", "https://127.0.0.1:1", dir));
  peer = await startN32Server({
    host: "127.0.0.1",
    port: 0,
    tls: { key: pki.seppB.keyPem, cert: pki.seppB.certPem, minVersion: "TLSv1.3" },
    trust: TrustStore.fromConfig(cfg),
    app,
    limits: { maxBodyBytes: 8192, requestTimeoutMs: 3000 },
    log: memoryLogger("debug"),
  });
  const input = configInput(pki, "a", `https://127.0.0.1:${peer.port}`, dir);
  input.peers![0]!.securityCapabilities = ["TLS"];
  cfg = parseOrThrow(input);
  const metrics = new Registry();
  const log = memoryLogger("debug");
  const contexts = new N32fContextStore();
  n32c = new N32cService({
    config: () => cfg,
    tls: { key: cfg.tls.privateKey, cert: cfg.tls.certificate },
    log,
    metrics,
    contexts,
    aead: new SoftwareAeadEngine(),
  });
  clients = new PeerN32fClients({
    config: () => cfg,
    endpointOf: (p) => n32c.n32fEndpointOf(p.id),
    tls: () => ({ key: cfg.tls.privateKey, cert: cfg.tls.certificate }),
    trust: () => TrustStore.fromConfig(cfg),
    connectTimeoutMs: 3000,
  });
  const limits = new PeerLimits({ metrics });
  limits.configure(cfg.peers.map((p) => ({ id: p.id, ...p.n32f })));
  telescopic = new TelescopicStore(":memory:", { seppDomain: FQDN_A });
  csepp = new CSepp({
    config: () => cfg,
    log,
    metrics,
    contexts,
    n32c,
    prins: new PrinsEngine({ defaults: defaults as ProtectionPolicy, riTrust: new TrustStore([], []) }),
    peerClients: clients,
    producers: {} as ProducerClients,
    telescopic,
    limits,
    trust: () => TrustStore.fromConfig(cfg),
    sbiEndpoint: () => ({ scheme: "http", port: 8080 }),
  });
});
afterAll(async () => {
  await n32c.stop();
  await clients.close();
  await peer.close();
  telescopic.close();
});

const req = (apiRoot: string): InboundRequest => ({
  method: "GET",
  scheme: "http",
  authority: "sepp.internal:8080",
  path: "/nudm-sdm/v2/imsi-310410000000001/am-data",
  headers: [["3gpp-sbi-target-apiroot", apiRoot]],
  body: new Uint8Array(0),
  signal: new AbortController().signal,
});

describe("TLS mode: 3gpp-Sbi-Target-apiRoot only to a peer that announced support (P11)", () => {
  test("a peer without 3GppSbiTargetApiRootSupported: a foreign target is refused 504, nothing crosses N32", async () => {
    supports = false;
    expect((await n32c.handshake("home")).state).toBe("active-tls");
    expect(n32c.n32fEndpointOf("home")?.targetApiRootSupported).toBe(false);
    arrived.length = 0;
    const r = await csepp.handle(req(`https://${UDM}:8080`));
    expect(r.status).toBe(504);
    expect(JSON.parse(String(r.body)).cause).toBe("TARGET_NF_NOT_REACHABLE");
    expect(arrived).toEqual([]);
  });

  test("a peer without it: the peer's own telescopic FQDN goes in :authority and the URI, no header", async () => {
    arrived.length = 0;
    const r = await csepp.handle(req(`https://${TELESCOPIC}/pfx`));
    expect(r.status).toBe(200);
    expect(arrived).toEqual([
      { path: "/pfx/nudm-sdm/v2/imsi-310410000000001/am-data", authority: TELESCOPIC, targetApiRoot: undefined },
    ]);
  });

  test("a peer that announced support: :authority = its N32-f FQDN, the target in 3gpp-Sbi-Target-apiRoot", async () => {
    supports = true;
    expect((await n32c.handshake("home")).state).toBe("active-tls");
    arrived.length = 0;
    const r = await csepp.handle(req(`https://${UDM}:8080`));
    expect(r.status).toBe(200);
    expect(arrived).toEqual([
      {
        path: "/nudm-sdm/v2/imsi-310410000000001/am-data",
        authority: FQDN_B,
        targetApiRoot: `https://${UDM}:8080`,
      },
    ]);
  });
});
