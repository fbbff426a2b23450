// The pSEPP when the AEAD engine has lost the N32-f context's keys (a PKCS#11 token removed and back:
// hw/aead.ts AeadKeyError): 503 ProblemDetails with retry-after (the peer retries once the context is
// re-established), not 500; no n32f-error (the message is not at fault); logged, at most every 5 s per peer.
// A real PSepp with a real PRINS engine, real contexts, a real producer over h2c; only the engine's key loss is
// simulated (an AeadEngine wrapper that reports its keys lost on demand).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AeadKeyError, SoftwareAeadEngine, type AeadEngine, type AeadKey } from "../../hw/aead.ts";
import type { SeppConfig } from "../../src/config/schema.ts";
import { PSepp } from "../../src/datapath/psepp.ts";
import type { InboundRequest } from "../../src/datapath/http.ts";
import type { PeerN32fClients } from "../../src/datapath/n32f-clients.ts";
import { ProducerClients } from "../../src/datapath/producer-clients.ts";
import { memoryLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import { createN32fContext } from "../../src/n32f/context.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";
import { PrinsEngine } from "../../src/n32f/engine.ts";
import type { HttpMessage } from "../../src/n32f/message.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import { PeerLimits } from "../../src/sbi/limits.ts";
import { TelescopicStore } from "../../src/sbi/telescopic-store.ts";
import type { ConnInfo } from "../../src/transport/h2server.ts";
import defaults from "../../config/api-ie-mapping.json" with { type: "json" };
import type { ProtectionPolicy } from "../../src/model/n32.ts";
import { bareAssociation } from "../support/contexts.ts";
import { homeConfig } from "../support/home-config.ts";
import { startNf, type TestNf } from "../support/nf.ts";

/** The software engine, except that its keys can be "lost" the way a removed token loses them. */
class LosableEngine implements AeadEngine {
  readonly name = "losable";
  readonly #inner = new SoftwareAeadEngine();
  lost = false;
  importKey(raw: Uint8Array): AeadKey {
    return this.#inner.importKey(raw);
  }
  seal(key: AeadKey, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) {
    if (this.lost)
      throw new AeadKeyError(
        "key lost: the PKCS#11 session ended (token removed or reconnected); re-establish the N32-f context",
      );
    return this.#inner.seal(key, iv, aad, plaintext);
  }
  open(key: AeadKey, iv: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array) {
    if (this.lost)
      throw new AeadKeyError(
        "key lost: the PKCS#11 session ended (token removed or reconnected); re-establish the N32-f context",
      );
    return this.#inner.open(key, iv, aad, ciphertext, tag);
  }
}

const SUPI = "imsi-262010000000042";
const HOME_UDM = "udm.5gc.mnc001.mcc262.3gppnetwork.org";
const prins = new PrinsEngine({ defaults: defaults as ProtectionPolicy, riTrust: new TrustStore([], []) });

let nf: TestNf;
let producers: ProducerClients;
let cfg: SeppConfig;
let losable: LosableEngine;
let cCtx: ReturnType<typeof createN32fContext>;
let psepp: PSepp;
let telescopic: TelescopicStore;
const log = memoryLogger("debug");
const logs = log.lines;
const reported: unknown[] = [];
let conn: ConnInfo;

beforeAll(async () => {
  nf = await startNf((r) => {
    if (r.path.endsWith("/am-data-then-lose")) losable.lost = true; // the keys go while the producer works
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ gpsis: ["msisdn-491700000042"] }),
    };
  });
  cfg = homeConfig({
    sbi: { staticHosts: { [HOME_UDM]: "127.0.0.1" } },
    peer: {
      n32f: {
        allowedTargets: [
          { host: HOME_UDM, port: nf.port, scheme: "http" },
          { host: "127.0.0.1", port: nf.port, scheme: "http" },
        ],
      },
    },
  });
  const peer = cfg.peers[0]!;
  losable = new LosableEngine();
  const master = crypto.getRandomValues(new Uint8Array(64));
  const cStore = new N32fContextStore();
  const pStore = new N32fContextStore();
  const cId = cStore.newContextId();
  const pId = pStore.newContextId();
  const assoc = (peerFqdn: string) => bareAssociation(peerFqdn);
  const base = { enc: "A256GCM", validUntil: Date.now() + 60_000, kdfContextId: cId } as const;
  cCtx = createN32fContext({
    ...base,
    engine: new SoftwareAeadEngine(),
    master: master.slice(),
    localContextId: cId,
    peerContextId: pId,
    role: "initiator",
    peerId: "home",
    association: assoc(cfg.identity.n32Fqdn),
  });
  pStore.add(
    createN32fContext({
      ...base,
      engine: losable,
      master: master.slice(),
      localContextId: pId,
      peerContextId: cId,
      role: "responder",
      peerId: "visited",
      association: assoc(peer.n32Fqdn),
    }),
  );
  producers = new ProducerClients({ connectTimeoutMs: 2000, maxSessions: 4, staticHosts: () => cfg.sbi.staticHosts });
  const metrics = new Registry();
  const limits = new PeerLimits({ metrics });
  limits.configure(cfg.peers.map((p) => ({ id: p.id, ...p.n32f })));
  telescopic = new TelescopicStore(":memory:", { seppDomain: cfg.identity.n32Fqdn });
  psepp = new PSepp({
    config: () => cfg,
    log,
    metrics,
    contexts: pStore,
    n32c: {
      brief: () => ({ state: "active-prins", capability: "PRINS", localContextId: pId }),
      reportError: async (_p, e) => void reported.push(e),
      handshake: async () => undefined,
      renegotiate: () => false,
    },
    prins,
    peerClients: {} as PeerN32fClients, // the pSEPP never calls a peer
    producers,
    telescopic,
    limits,
    trust: () => new TrustStore([], []),
    sbiEndpoint: () => ({ scheme: "http", port: 8080 }),
  });
  // the N32 connection as the listener hands it over, its TLS peer already identified as "visited" (P9)
  conn = { data: new Map<string, unknown>([["datapath.peer", { cfg, peer }]]) } as unknown as ConnInfo;
});

afterAll(async () => {
  producers.close();
  telescopic.close();
  await nf.close();
});

function n32fRequest(path: string): InboundRequest {
  const msg: HttpMessage = {
    kind: "request",
    method: "GET",
    scheme: "http",
    authority: `${HOME_UDM}:${nf.port}`,
    path,
    headers: [["3gpp-sbi-originating-network-id", "234-15; src: SEPP-sepp.5gc.mnc015.mcc234.3gppnetwork.org"]],
  };
  const { body } = prins.protectRequest(cCtx, msg);
  return {
    method: "POST",
    scheme: "https",
    authority: cfg.identity.n32Fqdn,
    path: "/n32f-forward/v1/n32f-process",
    headers: [["content-type", "application/json"]],
    body: Buffer.from(body),
    signal: new AbortController().signal,
  };
}

const keyLogs = () => logs.filter((l) => String(l.msg).startsWith("N32-f keys unavailable"));

describe("pSEPP: the AEAD engine lost the N32-f keys", () => {
  test("with the keys present the request is delivered (the set-up works)", async () => {
    const before = nf.received.length;
    const r = await psepp.n32fProcess(n32fRequest(`/nudm-sdm/v2/${SUPI}/am-data`), conn);
    expect(r.status).toBe(200);
    expect(nf.received.length).toBe(before + 1);
  });

  test("keys lost before the request is opened: 503 SERVICE_UNAVAILABLE with retry-after, nothing delivered, no n32f-error, logged", async () => {
    losable.lost = true;
    try {
      const before = nf.received.length;
      const r = await psepp.n32fProcess(n32fRequest(`/nudm-sdm/v2/${SUPI}/am-data`), conn);
      expect(r.status).toBe(503);
      expect(r.headers).toContainEqual(["retry-after", "1"]);
      expect(r.headers).toContainEqual(["content-type", "application/problem+json"]);
      expect(JSON.parse(String(r.body))).toMatchObject({ status: 503, cause: "SERVICE_UNAVAILABLE" });
      expect(nf.received.length).toBe(before);
      expect(reported).toHaveLength(0);
      expect(keyLogs()).toHaveLength(1);
      expect(keyLogs()[0]).toMatchObject({ level: "error", peer: "visited" });
      // bounded: a burst of them logs once more at most within the interval
      for (let i = 0; i < 5; i++)
        expect((await psepp.n32fProcess(n32fRequest(`/nudm-sdm/v2/${SUPI}/am-data`), conn)).status).toBe(503);
      expect(keyLogs()).toHaveLength(1);
    } finally {
      losable.lost = false;
    }
  });

  test("keys lost while the producer works (the answer cannot be protected): 503, not 500", async () => {
    try {
      const before = nf.received.length;
      const r = await psepp.n32fProcess(n32fRequest(`/nudm-sdm/v2/${SUPI}/am-data-then-lose`), conn);
      expect(nf.received.length).toBe(before + 1);
      expect(r.status).toBe(503);
      expect(r.headers).toContainEqual(["retry-after", "1"]);
      expect(JSON.parse(String(r.body))).toMatchObject({ status: 503, cause: "SERVICE_UNAVAILABLE" });
      expect(reported).toHaveLength(0);
    } finally {
      losable.lost = false;
    }
  });

  test("no key material or ciphertext in what was logged", () => {
    const text = JSON.stringify(keyLogs());
    expect(text).not.toMatch(/"(key|master|ciphertext)"/);
    expect(keyLogs()[0]!.detail).toMatch(/^key lost/);
  });
});
