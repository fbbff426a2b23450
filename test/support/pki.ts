// test/support/pki.ts — test PKI fixtures (dev PKI of src/pki/devpki.ts) and a harness running two real
// SEPPs' N32-c (each its own N32 TLS listener on 127.0.0.1, port 0) in the test process.
//
// PLMN A = 262-001 (visited SEPP "a"), PLMN B = 310-410 (home SEPP "b"); one root per PLMN (TS 33.501
// 13.1.2), a separate RI root. Bad certificates for the SCAS TS 33.517 4.2.5 cases: B's name signed by A's
// root (C3), two PLMNs of different anchors (C4), no mnc/mcc labels, an RI certificate.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SoftwareAeadEngine, type AeadEngine } from "../../hw/aead.ts";
import { parseConfig, type SeppConfig, type SeppConfigInput } from "../../src/config/schema.ts";
import { memoryLogger } from "../../src/log.ts";
import { Registry } from "../../src/metrics.ts";
import { N32fContextStore } from "../../src/n32f/context-store.ts";
import {
  createRootCa,
  issueRiCert,
  issueSeppCert,
  pemToBase64Der,
  type DevCa,
  type DevCert,
} from "../../src/pki/devpki.ts";
import { TrustStore } from "../../src/pki/trust.ts";
import type { N32Server } from "../../src/transport/h2server.ts";
import { type N32Listeners, startN32Listeners } from "../../src/n32c/listeners.ts";
import type { Logger } from "../../src/log.ts";
import { H2Client } from "../../src/transport/h2client.ts";
import { N32cService } from "../../src/n32c/service.ts";
import type { N32cDeps, TraceEvent } from "../../src/n32c/core-types.ts";
import type { ProtectionPolicy } from "../../src/model/n32.ts";

export const FQDN_A = "sepp.5gc.mnc001.mcc262.3gppnetwork.org";
export const FQDN_B = "sepp.5gc.mnc410.mcc310.3gppnetwork.org";
export const PLMN_A = { mcc: "262", mnc: "01" };
export const PLMN_B = { mcc: "310", mnc: "410" };
export const RI_ID = "ipx1.ri.example.org";

/** Two distinct protection policies (A's and B's additions to the P4 defaults), for the policy round and mismatch tests. */
export const POLICY_A: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: "/nudm-sdm/v2/{supi}/am-data",
      apiMethod: "GET",
      IeList: [
        { ieLoc: "URI_PARAM", ieType: "UEID", reqIe: "supi" },
        // not in the P4 default mapping: A's full effective policy differs from the defaults
        { ieLoc: "BODY", ieType: "OTHER", rspIe: "/subscribedUeAmbr" },
      ],
    },
  ],
  dataTypeEncPolicy: ["UEID", "LOCATION"],
};
export const POLICY_B: ProtectionPolicy = {
  apiIeMappingList: [
    {
      apiSignature: "/nausf-auth/v1/ue-authentications",
      apiMethod: "POST",
      IeList: [
        { ieLoc: "BODY", ieType: "AUTHENTICATION_MATERIAL", rspIe: "/5gAuthData", isModifiable: false },
        // not in the P4 default mapping: B's full effective policy differs from the defaults and from A's
        { ieLoc: "BODY", ieType: "OTHER", rspIe: "/servingNetworkName" },
      ],
    },
  ],
  dataTypeEncPolicy: ["UEID"],
};

export interface TestPki {
  rootA: DevCa;
  rootB: DevCa;
  riRoot: DevCa;
  seppA: DevCert;
  seppB: DevCert;
  /** C3: B's name and PLMN, issued by A's root */
  bSignedByA: DevCert;
  /** C4: PLMN B and PLMN A labels (two anchors), issued by B's root */
  bTwoAnchors: DevCert;
  /** B's root, no mncXXX.mccYYY label */
  bNoLabels: DevCert;
  /** legit B-root certificate for another FQDN of PLMN B (not a configured peer) */
  bOtherName: DevCert;
  /** RI certificates (RI root): P-256, P-384, expired, wrong name */
  ri: DevCert;
  riP384: DevCert;
  riExpired: DevCert;
  /** an RI-shaped certificate issued by a SEPP root (not the RI store) */
  riFromSeppRoot: DevCert;
}

let cached: Promise<TestPki> | null = null;

/** The fixtures (made once per test process: key generation is the slow part). */
export function testPki(): Promise<TestPki> {
  cached ??= (async () => {
    const [rootA, rootB, riRoot] = await Promise.all([
      createRootCa({ name: "PLMN 262-001 root" }),
      createRootCa({ name: "PLMN 310-410 root" }),
      createRootCa({ name: "RI root" }),
    ]);
    const past = new Date(Date.now() - 10 * 86_400_000);
    const [seppA, seppB, bSignedByA, bTwoAnchors, bNoLabels, bOtherName, ri, riP384, riExpired, riFromSeppRoot] =
      await Promise.all([
        issueSeppCert(rootA, { dnsNames: [FQDN_A] }),
        issueSeppCert(rootB, { dnsNames: [FQDN_B] }),
        issueSeppCert(rootA, { dnsNames: [FQDN_B] }),
        issueSeppCert(rootB, { dnsNames: [FQDN_B, "sepp2.5gc.mnc001.mcc262.3gppnetwork.org"] }),
        issueSeppCert(rootB, { dnsNames: ["sepp.home.example.org"] }),
        issueSeppCert(rootB, { dnsNames: ["other.5gc.mnc410.mcc310.3gppnetwork.org"] }),
        issueRiCert(riRoot, { ipxProviderId: RI_ID }),
        issueRiCert(riRoot, { ipxProviderId: RI_ID, curve: "P-384" }),
        issueRiCert(riRoot, { ipxProviderId: RI_ID, notBefore: past, notAfter: new Date(past.getTime() + 86_400_000) }),
        issueRiCert(rootB, { ipxProviderId: RI_ID }),
      ]);
    return {
      rootA,
      rootB,
      riRoot,
      seppA,
      seppB,
      bSignedByA,
      bTwoAnchors,
      bNoLabels,
      bOtherName,
      ri,
      riP384,
      riExpired,
      riFromSeppRoot,
    };
  })();
  return cached;
}

export const riBase64 = (c: DevCert) => pemToBase64Der(c.certPem);

/** A whole configuration input for SEPP "a" or "b"; `peerUri` is the other's N32-c URI. */
export function configInput(pki: TestPki, side: "a" | "b", peerUri: string, dir: string): SeppConfigInput {
  const me =
    side === "a" ? { fqdn: FQDN_A, plmn: PLMN_A, cert: pki.seppA } : { fqdn: FQDN_B, plmn: PLMN_B, cert: pki.seppB };
  const other =
    side === "a" ? { id: "home", fqdn: FQDN_B, plmn: PLMN_B } : { id: "visited", fqdn: FQDN_A, plmn: PLMN_A };
  return {
    identity: { n32Fqdn: me.fqdn, plmnIds: [me.plmn] },
    listeners: { n32: { host: "127.0.0.1", port: 0 }, admin: { host: "127.0.0.1", port: 0 } },
    tls: {
      certificate: me.cert.certPem,
      privateKey: me.cert.keyPem,
      trustAnchors: [
        { name: "plmn-a", plmnIds: [PLMN_A], roots: [pki.rootA.certPem] },
        { name: "plmn-b", plmnIds: [PLMN_B], roots: [pki.rootB.certPem] },
      ],
      riTrustAnchors: [pki.riRoot.certPem],
    },
    n32c: {
      retryInitialMs: 50,
      retryMaxMs: 400,
      requestTimeoutMs: 3000,
      // the policy round carries a full effective policy (P4 defaults + additions, about 31 kB; P11)
      maxBodyBytes: 65536,
      maxRequestsPerSecond: 200,
    },
    peers: [{ id: other.id, n32Fqdn: other.fqdn, plmnIds: [other.plmn], n32cUri: peerUri, initiate: false }],
    storage: { dir },
  };
}

export function parseOrThrow(input: unknown): SeppConfig {
  const r = parseConfig(input);
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.issues)}`);
  return r.config;
}

export interface TestSepp {
  name: "a" | "b";
  service: N32cService;
  contexts: N32fContextStore;
  server: N32Server;
  log: ReturnType<typeof memoryLogger>;
  metrics: Registry;
  traces: TraceEvent[];
  cfg(): SeppConfig;
  /** replace the configuration (mutate a deep copy of the current input) */
  update(mutate: (c: SeppConfigInput) => void): void;
  input: SeppConfigInput;
  uri: string;
}

export interface Pair {
  pki: TestPki;
  a: TestSepp;
  b: TestSepp;
  close(): Promise<void>;
}

/** Two SEPPs with their N32 listeners, configured toward each other; nothing started (call service.start()). */
export async function startPair(
  opts: {
    a?: (c: SeppConfigInput) => void;
    b?: (c: SeppConfigInput) => void;
    retireGraceMs?: number;
    now?: () => number;
    engine?: (name: "a" | "b") => AeadEngine;
  } = {},
): Promise<Pair> {
  const pki = await testPki();
  const dirs: string[] = [];
  const make = async (name: "a" | "b"): Promise<TestSepp> => {
    const dir = mkdtempSync(join(tmpdir(), `n32c-${name}-`));
    dirs.push(dir);
    let input = configInput(pki, name, "https://127.0.0.1:1", dir);
    let cfg = parseOrThrow(input);
    const log = memoryLogger("debug");
    const traces: TraceEvent[] = [];
    const { service, contexts, metrics, server } = await serveTestN32c(() => cfg, log, {
      aead: opts.engine?.(name) ?? new SoftwareAeadEngine(),
      retireGraceMs: opts.retireGraceMs ?? 200,
      now: opts.now,
      trace: (e) => traces.push(e),
    });
    const s: TestSepp = {
      name,
      service,
      contexts,
      server,
      log,
      metrics,
      traces,
      cfg: () => cfg,
      input,
      uri: `https://127.0.0.1:${server.port}`,
      update(mutate) {
        const next = structuredClone(s.input);
        mutate(next);
        s.input = input = next;
        cfg = parseOrThrow(next);
      },
    };
    return s;
  };
  const [a, b] = await Promise.all([make("a"), make("b")]);
  a.update((c) => {
    c.peers![0]!.n32cUri = b.uri;
    opts.a?.(c);
  });
  b.update((c) => {
    c.peers![0]!.n32cUri = a.uri;
    opts.b?.(c);
  });
  return {
    pki,
    a,
    b,
    async close() {
      await Promise.all([a.service.stop(), b.service.stop()]);
      await Promise.all([a.server.close(), b.server.close()]);
      a.contexts.clear();
      b.contexts.clear();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** A test SEPP's N32-c side: its service, context store, metrics and N32 listener; close() stops them. */
export interface TestN32c {
  service: N32cService;
  contexts: N32fContextStore;
  metrics: Registry;
  server: N32Server;
  close(): Promise<void>;
}

/**
 * The N32-c service of a test SEPP as src/sepp.ts wires it — the configuration `cfg()` (read on each use) and its
 * TLS identity, a fresh context store and metrics registry, the software AEAD engine; `more` adds or replaces
 * dependencies — and its N32 listener (listenN32, on `port` or any).
 */
export async function serveTestN32c(
  cfg: () => SeppConfig,
  log: Logger,
  more: Partial<N32cDeps> = {},
  port?: number,
): Promise<TestN32c> {
  const c = cfg();
  const contexts = new N32fContextStore();
  const metrics = new Registry();
  const service = new N32cService({
    config: cfg,
    tls: { key: c.tls.privateKey, cert: c.tls.certificate },
    log,
    metrics,
    contexts,
    aead: new SoftwareAeadEngine(),
    ...more,
  });
  const server = (await listenN32(c, service, log, { port })).n32;
  return {
    service,
    contexts,
    metrics,
    server,
    async close() {
      await service.stop();
      await server.close();
      contexts.clear();
    },
  };
}

/**
 * The N32 listener of a test SEPP, wired as the SEPP wires it (src/n32c/listeners.ts): TLS floor and bounds
 * from `cfg`, on 127.0.0.1 (`port`, default any); `tls` replaces the certificate (a server presenting another
 * certificate), `maxTlsVersion` makes it an old TLS 1.2-only peer.
 */
export function listenN32(
  cfg: SeppConfig,
  service: N32cService,
  log: Logger,
  o: { port?: number; tls?: { key: string; cert: string }; maxTlsVersion?: "TLSv1.2" } = {},
): Promise<N32Listeners> {
  return startN32Listeners({
    config: { ...cfg, listeners: { ...cfg.listeners, n32: { host: "127.0.0.1", port: o.port ?? 0 }, n32f: undefined } },
    tls: o.tls ?? { key: cfg.tls.privateKey, cert: cfg.tls.certificate },
    trust: TrustStore.fromConfig(cfg),
    n32c: service.routes(),
    log,
    maxTlsVersion: o.maxTlsVersion,
  });
}

/** The test PKI's roots as a trust store: root A for PLMN A, root B for PLMN B. */
export async function testTrust(): Promise<TrustStore> {
  const pki = await testPki();
  return new TrustStore(
    [
      { name: "a", plmnIds: [PLMN_A], roots: [new X509Certificate(pki.rootA.certPem)] },
      { name: "b", plmnIds: [PLMN_B], roots: [new X509Certificate(pki.rootB.certPem)] },
    ],
    [],
  );
}

/** A raw N32 client toward `sepp` presenting `cert` (for refusal tests). */
export async function rawClient(sepp: TestSepp, cert: DevCert, o: { tls12?: boolean } = {}): Promise<H2Client> {
  const trust = await testTrust();
  return H2Client.connect({
    url: sepp.uri,
    tls: { key: cert.keyPem, cert: cert.certPem },
    trust,
    expectDnsName: sepp.cfg().identity.n32Fqdn,
    minVersion: o.tls12 ? "TLSv1.2" : "TLSv1.3",
    maxVersion: o.tls12 ? "TLSv1.2" : "TLSv1.3",
    timeoutMs: 3000,
  });
}

/** POST a body (object → JSON) to an N32-c operation; returns status and parsed body. */
export async function rawPost(
  client: H2Client,
  op: string,
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; body: any; contentType: string }> {
  const res = await client.request("POST", `/n32c-handshake/v1/${op}`, {
    headers,
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    timeoutMs: 3000,
    maxBodyBytes: 65536,
  });
  let parsed: unknown = null;
  try {
    parsed = res.body.length ? JSON.parse(res.text()) : null;
  } catch {
    parsed = res.text();
  }
  return { status: res.status, body: parsed, contentType: res.headers["content-type"] ?? "" };
}
