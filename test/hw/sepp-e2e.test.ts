// The SEPP on PKCS#11, end to end (issue 5): a visited SEPP process with the `pkcs11` keystore and the `pkcs11`
// AEAD engine on a fresh SoftHSM2 token (SOFTHSM2_CONF), a home SEPP with the software keystore, real mutual TLS
// on N32, real h2c NFs. The identity key is generated in the token through the admin API, its CSR is verified
// with the token's public key, the TLS key is sealed in the token and the SEPP restarts on it, the token is
// removed and comes back while the SEPP runs; the PIN never shows anywhere; a restart on a sealed key the token
// can no longer open fails clearly. Also: the engine's onKeysLost hook (in process), and a SEPP started while its
// token is absent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPublicKey, verify } from "node:crypto";
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import {
  HOME_UDM,
  VISITED,
  runSeppToExit,
  waitFor,
  waitForState,
  type PairOptions,
  type SeppProcess,
  type SeppSide,
} from "../../scripts/lib/pair.ts";
import type { PairPki } from "../../scripts/lib/pair-pki.ts";
import { CKA, CKO } from "../../hw/pkcs11/constants.ts";
import { Pkcs11Module } from "../../hw/pkcs11/module.ts";
import { parsePkcs11Uri, tokenMatches } from "../../hw/pkcs11/uri.ts";
import { ecPointToSpki } from "../../hw/keystore-pkcs11-util.ts";
import { type AeadEngine, openHardware, SoftwareAeadEngine } from "../../hw/index.ts";
import { memoryLogger } from "../../src/log.ts";
import { type NfClient, startAmDataUdm, startNf, type TestNf } from "../support/nf.ts";
import { softhsm } from "../support/softhsm.ts";
import { freshDirs } from "../support/tmp-dirs.ts";
import { type TwoSepps, type TwoSeppsPair, startTwoSepps } from "../support/two-sepps.ts";

const hsm = softhsm();
/** Distinctive, so that a leak anywhere is found by a plain substring search. */
const PIN = `e2e-Pin-${process.pid}-7f3a91`;
const PIN_ENV = "SEPP_E2E_TOKEN_PIN";
const SUPI = "imsi-262010000000001";
const AM_DATA = { gpsis: ["msisdn-491700000001"], subscribedUeAmbr: { uplink: "1 Gbps", downlink: "2 Gbps" } };
const AM_PATH = `/nudm-sdm/v2/${SUPI}/am-data`;

const fresh = freshDirs("sepp-hw-e2e-");
const tok = hsm.createToken(`sepp-e2e-${process.pid}`, PIN);
let udm: TestNf;
let pair: TwoSepps;
let visited: SeppSide;
let pki: PairPki;
/** the current visited SEPP process (replaced by a restart) and the home SEPP */
let v: SeppProcess;
let h: SeppProcess;
let amf: NfClient;
/** Every log line of every visited SEPP process of this run (restarts included). */
const visitedLogs: Array<Record<string, unknown>>[] = [];
/** Every admin API answer body read by the tests, searched for the PIN at the end. */
const answers: string[] = [];

async function adminText(s: SeppProcess, path: string, init?: RequestInit): Promise<{ status: number; text: string }> {
  const r = await s.admin(path, init);
  const text = await r.text();
  answers.push(text);
  return { status: r.status, text };
}
async function adminJson<T = Record<string, unknown>>(
  s: SeppProcess,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: T }> {
  const { status, text } = await adminText(s, path, init);
  return { status, body: JSON.parse(text) as T };
}
const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** The visited SEPP on the pkcs11 keystore and AEAD engine of token `tokenUri`; the home SEPP keeps the software ones. */
const visitedOnToken =
  (tokenUri: string, pin: { pinFile: string } | { pinEnv: string }): PairOptions["edit"] =>
  (side, c) => {
    if (side !== "visited") return;
    c.keystore = { backend: "pkcs11", module: hsm.module, tokenUri, ...pin, sessionPoolSize: 2 };
    c.aead = { engine: "pkcs11" };
  };

async function amData(): Promise<{ status: number; json: () => any }> {
  return amf.request("GET", `${HOME_UDM}:${udm.port}`, AM_PATH, { accept: "application/json" });
}

/** Open the same token from the test process (a second PKCS#11 application, as an operator's tool would). */
function withToken<T>(fn: (s: ReturnType<Pkcs11Module["openSession"]>) => T): T {
  const m = Pkcs11Module.open(hsm.module);
  try {
    const uri = parsePkcs11Uri(tok.uri);
    const slot = m.slots(true).find((sl) => tokenMatches(uri, m.tokenInfo(sl)));
    if (slot === undefined) throw new Error("test token not found");
    const s = m.openSession(slot);
    try {
      s.login(new TextEncoder().encode(PIN));
      return fn(s);
    } finally {
      s.close();
    }
  } finally {
    m.release();
  }
}

/**
 * The children of a DER SEQUENCE: the first as its full TLV bytes, a BIT STRING as its content. Enough to take
 * a PKCS#10 CertificationRequest apart (RFC 2986: info, algorithm, signature).
 */
function derChildren(der: Uint8Array): Uint8Array[] {
  const header = (at: number): { len: number; hdr: number } => {
    const first = der[at + 1]!;
    if (first < 0x80) return { len: first, hdr: 2 };
    const n = first & 0x7f;
    let len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i]!;
    return { len, hdr: 2 + n };
  };
  if (der[0] !== 0x30) throw new Error("not a SEQUENCE");
  const outer = header(0);
  const out: Uint8Array[] = [];
  for (let at = outer.hdr; at < outer.hdr + outer.len; ) {
    const { len, hdr } = header(at);
    out.push(der[at] === 0x03 ? der.subarray(at + hdr, at + hdr + len) : der.subarray(at, at + hdr + len));
    at += hdr + len;
  }
  return out;
}

/** Every regular file under `root`. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

beforeAll(async () => {
  udm = await startAmDataUdm(SUPI, AM_DATA);
  pair = await startTwoSepps({
    name: "hw-e2e",
    capabilities: ["PRINS"],
    homeNfs: { [HOME_UDM]: udm },
    edit: visitedOnToken(tok.uri, { pinFile: "token.pin" }),
    beforeStart: (p) => writeFileSync(join(p.sides.visited.dir, "var", "token.pin"), `${PIN}\n`, { mode: 0o600 }),
    // The PIN variable is in the environment from the first start: the later change to `pinEnv` is checked as a
    // start would check it (src/config/startcheck.ts), so the running process must see the variable too.
    envOf: { visited: { ...hsm.env, [PIN_ENV]: PIN } },
  });
  ({ visited } = pair.sides);
  ({ pki } = pair);
  [v, h] = [pair.visited, pair.home];
  visitedLogs.push(v.logs);
  amf = pair.client(visited.ports.sbi);
}, 60000);

afterAll(async () => {
  const codes = await pair?.close();
  expect(codes).toEqual([0, 0]); // SIGTERM drains and exits 0, also after the token came and went
});

describe("SEPP on the pkcs11 keystore and AEAD engine (SoftHSM2), against a software-keystore peer", () => {
  test("N32-c handshake (PRINS) and Nudm_SDM am-data from the visited AMF to the home UDM", async () => {
    await waitForState(v, "home", "active-prins");
    await waitForState(h, "visited", "active-prins");
    const st = (await adminJson(v, "/v1/status")).body as { keystore: Record<string, any>; aead: { engine: string } };
    expect(st.aead.engine).toBe("pkcs11");
    expect(st.keystore).toMatchObject({
      backend: "pkcs11",
      healthy: true,
      token: { label: tok.label, model: "SoftHSM v2" },
    });
    expect(((await adminJson(h, "/v1/status")).body as { aead: { engine: string } }).aead.engine).toBe("software");

    for (let i = 0; i < 3; i++) {
      const r = await amData();
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
    }
    expect(udm.received.filter((x) => x.path === AM_PATH)).toHaveLength(3);
    const m = await (await v.admin("/metrics")).text();
    expect(m).toMatch(
      /sepp_datapath_requests_total\{[^}]*direction="outbound"[^}]*mode="prins"[^}]*outcome="ok"[^}]*\} 3/,
    );
  }, 30000);

  test("identity key generated in the token; CSR (SAN = N32 FQDN) verifies with the token's public key; CA certificate imported", async () => {
    let r = await adminJson(v, "/v1/keys/identity", post({ curve: "P-256" }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      label: "sepp-identity",
      kind: "identity",
      type: "EC P-256",
      backend: "pkcs11",
      extractable: false,
    });

    const c = await adminJson<{ csr: string }>(
      v,
      "/v1/keys/identity/csr",
      post({ n32Fqdn: VISITED.fqdn, subject: `CN=${VISITED.fqdn}, O=Visited Operator, C=GB` }),
    );
    expect(c.status).toBe(200);
    const csr = new x509.Pkcs10CertificateRequest(c.body.csr);
    const sanExt = csr.extensions.find((e) => e.type === "2.5.29.17"); // subjectAltName, in the extensionRequest
    expect(sanExt).toBeDefined();
    const san = new x509.SubjectAlternativeNameExtension(sanExt!.rawData);
    expect(san.names.items.map((n) => [n.type, n.value])).toEqual([["dns", VISITED.fqdn]]);
    expect(csr.subject).toBe(`CN=${VISITED.fqdn}, O=Visited Operator, C=GB`);

    // The token's own view of the key, read by a second PKCS#11 application: the CSR carries its public key,
    // the CSR signature verifies with it, and the private key is sensitive and never extractable.
    const token = withToken((s) => {
      const priv = s.findObjects([
        [CKA.CLASS, CKO.PRIVATE_KEY],
        [CKA.LABEL, "sepp-identity"],
      ]);
      const pub = s.findObjects([
        [CKA.CLASS, CKO.PUBLIC_KEY],
        [CKA.LABEL, "sepp-identity"],
      ]);
      expect(priv).toHaveLength(1);
      expect(pub).toHaveLength(1);
      return {
        spki: ecPointToSpki(s.getAttribute(pub[0]!, CKA.EC_POINT), "P-256"),
        extractable: s.getBool(priv[0]!, CKA.EXTRACTABLE),
        sensitive: s.getBool(priv[0]!, CKA.SENSITIVE),
        neverExtractable: s.getBool(priv[0]!, CKA.NEVER_EXTRACTABLE),
      };
    });
    expect(token).toMatchObject({ extractable: false, sensitive: true, neverExtractable: true });
    expect(Buffer.from(csr.publicKey.rawData).equals(Buffer.from(token.spki))).toBe(true);
    // Verify the CSR's signature with the token's key itself (not the key the CSR claims): node:crypto over the
    // DER CertificationRequestInfo and the DER ECDSA signature.
    const [info, , sigBits] = derChildren(new Uint8Array(csr.rawData));
    expect(sigBits![0]).toBe(0); // no unused bits
    const tokenPub = createPublicKey({ key: Buffer.from(token.spki), format: "der", type: "spki" });
    expect(verify("sha256", info!, tokenPub, sigBits!.subarray(1))).toBe(true);
    const tampered = Uint8Array.from(info!);
    tampered[tampered.length - 1]! ^= 1;
    expect(verify("sha256", tampered, tokenPub, sigBits!.subarray(1))).toBe(false);
    expect(await csr.verify()).toBe(true);

    // The visited operator's CA issues the certificate for the CSR; the chain goes back through the admin API.
    const alg = { name: "ECDSA", hash: "SHA-256" } as const;
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: "0a1b2c",
      issuer: pki.rootV.cert.subject,
      subject: csr.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 30 * 86_400_000),
      publicKey: csr.publicKey,
      signingKey: pki.rootV.keys.privateKey,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: VISITED.fqdn }])],
    });
    r = await adminJson(v, "/v1/keys/identity/certificate", {
      method: "PUT",
      headers: { "content-type": "application/x-pem-file" },
      body: `${leaf.toString("pem")}\n${pki.rootV.certPem}`,
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      certificate: { subject: csr.subject, dnsNames: [VISITED.fqdn], notAfter: leaf.notAfter.toISOString() },
    });

    // A certificate for another key is refused.
    const other = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: `CN=${VISITED.fqdn}`,
      keys: pki.rootH.keys,
      signingAlgorithm: alg,
    });
    r = await adminJson(v, "/v1/keys/identity/certificate", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chain: other.toString("pem") }),
    });
    expect(r.status).toBe(400);
    expect(r.body.cause).toBe("CERTIFICATE_KEY_MISMATCH");

    // GET /v1/keys: metadata only.
    const k = await adminText(v, "/v1/keys");
    expect(k.status).toBe(200);
    const keys = JSON.parse(k.text) as {
      backend: string;
      status: { healthy: boolean };
      keys: Array<Record<string, unknown>>;
    };
    expect(keys.backend).toBe("pkcs11");
    const id = keys.keys.find((x) => x.kind === "identity")!;
    expect(id).toMatchObject({
      label: "sepp-identity",
      type: "EC P-256",
      extractable: false,
      certificate: { subject: csr.subject, issuer: pki.rootV.cert.subject },
    });
    expect(id.uri).toStartWith(`pkcs11:token=${tok.label}`);
    expect(k.text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|"(d|value|keyPem|privateKey|pin)"/i);
    expect(k.text).not.toContain(Buffer.from(token.spki).toString("base64"));
  }, 30000);

  test("TLS key sealed in the token through POST /v1/keys/tls; restarted on keystore:tls (PIN from the environment), it still handshakes", async () => {
    const keyPath = join(visited.dir, "var", "pki", "sepp.key.pem");
    const keyPem = readFileSync(keyPath, "utf8");
    const keyB64 = keyPem.replace(/-----[^-]+-----|\s/g, "");
    const keyDer = Buffer.from(keyB64, "base64");
    let r = await adminText(v, "/v1/keys/tls", {
      method: "POST",
      headers: { "content-type": "application/x-pem-file" },
      body: keyPem,
    });
    expect(r.status).toBe(204);
    const keys = (await adminJson<{ keys: Array<Record<string, unknown>> }>(v, "/v1/keys")).body.keys;
    expect(keys.find((k) => k.kind === "tls")).toMatchObject({
      label: "sepp-tls",
      backend: "pkcs11",
      sealed: true,
      type: "EC P-256",
    });
    expect(keys.find((k) => k.kind === "kek")).toMatchObject({
      label: "sepp-tls-kek",
      type: "AES-256",
      extractable: false,
    });

    // The running configuration: the TLS key from the keystore, the PIN from the environment (no PIN file).
    const cfg = (await adminJson<Record<string, any>>(v, "/v1/config")).body;
    cfg.tls.privateKey = "keystore:tls";
    cfg.keystore = { backend: "pkcs11", module: hsm.module, tokenUri: tok.uri, pinEnv: PIN_ENV, sessionPoolSize: 2 };
    // another token cannot be asked for its sealed key before the start that opens it: refused with the reason
    r = await adminText(v, "/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...cfg, keystore: { ...cfg.keystore, tokenUri: "pkcs11:token=another" } }),
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain("another PKCS#11 token is opened at the next start");
    r = await adminText(v, "/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(cfg),
    });
    expect(r.status).toBe(200);

    amf.close(); // its h2c session ends with the process
    const code = await pair.restart("visited", {
      whileStopped: () => {
        rmSync(keyPath);
        rmSync(join(visited.dir, "var", "token.pin"));
      },
    });
    expect(code).toBe(0);
    v = pair.visited;
    visitedLogs.push(v.logs);
    amf = pair.client(visited.ports.sbi);
    const st = (await adminJson<{ keystore: { healthy: boolean } }>(v, "/v1/status")).body;
    expect(st.keystore.healthy).toBe(true);
    await waitForState(v, "home", "active-prins");
    const a = await amData();
    expect(a.status).toBe(200);
    expect(a.json()).toEqual(AM_DATA);

    // On disk: the sealed blob (0600) and nothing that holds the key in clear, in PEM or DER, anywhere.
    const sealed = join(visited.dir, "var", "keystore", "tls.key.sealed");
    expect(statSync(sealed).mode & 0o777).toBe(0o600);
    expect(existsSync(keyPath)).toBe(false);
    for (const f of filesUnder(visited.dir)) {
      const bytes = readFileSync(f);
      expect({ f, pem: bytes.includes("PRIVATE KEY") }).toEqual({ f, pem: false });
      expect({ f, b64: bytes.includes(keyB64.slice(0, 64)) }).toEqual({ f, b64: false });
      expect({ f, der: bytes.includes(keyDer.subarray(keyDer.length - 40)) }).toEqual({ f, der: false });
    }
  }, 60000);

  test("token removed while running: /v1/health 503 and /v1/status tells why, no crash; health recovers when the token is back", async () => {
    hsm.deleteToken(tok.label);
    const down = await waitFor(
      "health DOWN",
      async () => {
        const r = await fetch(`http://127.0.0.1:${visited.ports.admin}/v1/health`);
        const text = await r.text();
        answers.push(text);
        return r.status === 503 ? (JSON.parse(text) as { status: string; checks: Record<string, string> }) : null;
      },
      10000,
    );
    expect(down.status).toBe("DOWN");
    expect(down.checks.keystore).toMatch(/CKR_|token/);
    const st = (await adminJson<{ keystore: Record<string, unknown> }>(v, "/v1/status")).body;
    expect(st.keystore).toMatchObject({ backend: "pkcs11", healthy: false });
    expect(String(st.keystore.detail)).toMatch(/CKR_|token not found/);
    const k = await adminJson(v, "/v1/keys");
    expect(k.status).toBe(503);
    expect(k.body).toMatchObject({ backend: "pkcs11", status: { healthy: false }, keys: [] });
    const g = await adminJson(v, "/v1/keys/identity", post({ curve: "P-256" }));
    expect(g.status).toBe(503);
    expect(g.body.cause).toBe("KEYSTORE_UNAVAILABLE");

    // The data path still answers (no hang, no crash). Whether the N32-f keys survive a removal is the module's
    // business: SoftHSM2 keeps the session objects of open sessions when the token's files go; a hardware token
    // fails the operation. Either the UDM's answer or a ProblemDetails, never a dead SEPP.
    const a = await amData();
    if (a.status === 200) expect(a.json()).toEqual(AM_DATA);
    else expect(a.json()).toMatchObject({ status: a.status, cause: expect.any(String) });
    expect(v.proc.exitCode).toBeNull();

    hsm.createToken(tok.label, PIN); // the token is back (re-initialised: same label and PIN, empty)
    await waitFor(
      "health UP",
      async () => (await fetch(`http://127.0.0.1:${visited.ports.admin}/v1/health`)).status === 200,
      20000,
    );
    expect((await adminJson<{ keystore: { healthy: boolean } }>(v, "/v1/status")).body.keystore.healthy).toBe(true);
    expect((await adminJson(v, "/v1/keys")).status).toBe(200);
    expect(
      v.logs.some(
        (l) =>
          l.msg === "PKCS#11 token ready" &&
          v.logs.indexOf(l) > v.logs.findIndex((x) => x.msg === "PKCS#11 token lost"),
      ),
    ).toBe(true);

    // The reconnect (C_Finalize/C_Initialize) ended the engine's session and with it the N32-f keys: a new N32-c
    // handshake puts new session keys in the token and PRINS traffic flows again.
    const hs = await v.admin("/v1/peers/home/n32/handshake", { method: "POST" });
    expect(hs.status).toBe(200);
    await waitForState(v, "home", "active-prins");
    const b = await amData();
    expect(b.status).toBe(200);
    expect(b.json()).toEqual(AM_DATA);
    expect(v.proc.exitCode).toBeNull();
  }, 60000);

  test("the PIN appears in no log line, no admin answer (/v1/status, /v1/config, /v1/keys, /v1/health, /metrics) and no file", async () => {
    for (const path of ["/v1/status", "/v1/config", "/v1/keys", "/v1/health", "/metrics", "/v1/config/history"])
      await adminText(v, path);
    const cfg = (await adminJson<Record<string, any>>(v, "/v1/config")).body;
    expect(cfg.keystore).toEqual({
      backend: "pkcs11",
      module: hsm.module,
      tokenUri: tok.uri,
      pinEnv: PIN_ENV,
      sessionPoolSize: 2,
    });
    expect(answers.length).toBeGreaterThan(20);
    for (const a of answers) expect(a).not.toContain(PIN);
    const lines = visitedLogs.flat();
    expect(visitedLogs).toHaveLength(2);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.some((l) => l.msg === "PKCS#11 token lost")).toBe(true); // the logs do cover the token events
    expect(JSON.stringify(lines)).not.toContain(PIN);
    for (const f of filesUnder(visited.dir))
      expect({ f, pin: readFileSync(f).includes(PIN) }).toEqual({ f, pin: false });
  });

  test("restart on keystore:tls when the sealed key cannot be opened (token re-initialised, then absent): exit 1 with the reason, no PIN", async () => {
    expect(await v.stop()).toBe(0);
    const start = () => runSeppToExit(visited, { ...hsm.env, [PIN_ENV]: PIN });
    // The token came back re-initialised (previous test): the KEK that sealed the TLS key is gone with it.
    let r = await start();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/"msg":"start-up failed".*key-encryption key is not in the token/);
    expect(r.out).not.toContain(PIN);
    // No token at all.
    hsm.deleteToken(tok.label);
    r = await start();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/"msg":"start-up failed".*token not found: pkcs11:token=/);
    expect(r.out).not.toContain(PIN);
  }, 60000);
});

describe("pkcs11 AEAD engine: onKeysLost (what lets the SEPP re-handshake after a token comes back)", () => {
  test("fires once when the reconnect ended the engine's session; old keys say so, new keys work; a throwing listener harms nothing", async () => {
    const t = hsm.createToken(`e2e-lost-${process.pid}`, "4242-lost");
    const dataDir = fresh();
    writeFileSync(join(dataDir, "pin"), t.pin, { mode: 0o600 });
    const log = memoryLogger();
    const hw = await openHardware(
      {
        keystore: { backend: "pkcs11", module: hsm.module, tokenUri: t.uri, pinFile: "pin", sessionPoolSize: 1 },
        aead: "pkcs11",
        dataDir,
        retryInitialMs: 20,
        retryMaxMs: 100,
      },
      log,
    );
    const { keystore: ks, aead } = hw;
    try {
      let lost = 0;
      expect(aead.onKeysLost).toBeFunction();
      aead.onKeysLost!(() => {
        throw new Error("listener failure");
      });
      const off = aead.onKeysLost!(() => lost++);
      const iv = new Uint8Array(12).fill(1);
      const key = aead.importKey(new Uint8Array(32).fill(3));
      const sealed = aead.seal(key, iv, new Uint8Array(0), Uint8Array.of(9, 9, 9));
      expect(ks.status().healthy).toBe(true); // nothing fired while the token stays
      expect(lost).toBe(0);

      hsm.deleteToken(t.label);
      expect(ks.status().healthy).toBe(false);
      hsm.createToken(t.label, t.pin);
      await waitFor("token back", () => ks.status().healthy, 10000, 10);
      await waitFor("keys-lost event", () => lost === 1, 2000, 5);
      expect(() => aead.seal(key, iv, new Uint8Array(0), Uint8Array.of(9, 9, 9))).toThrow(/key lost/);
      const key2 = aead.importKey(new Uint8Array(32).fill(3));
      const again = aead.seal(key2, iv, new Uint8Array(0), Uint8Array.of(9, 9, 9));
      expect(Buffer.from(again.tag).equals(Buffer.from(sealed.tag))).toBe(true);
      expect(aead.open(key2, iv, new Uint8Array(0), again.ciphertext, again.tag)).toEqual(Uint8Array.of(9, 9, 9));

      off();
      hsm.deleteToken(t.label);
      expect(ks.status().healthy).toBe(false);
      hsm.createToken(t.label, t.pin);
      await waitFor("token back again", () => ks.status().healthy, 10000, 10);
      await Bun.sleep(0); // let queued listeners run: an unsubscribed one must not
      expect(lost).toBe(1);
      expect(JSON.stringify(log.lines)).not.toContain(t.pin);
      key2.destroy();
    } finally {
      await hw.close();
    }
  });

  test("the software engine never loses keys and has no such hook", () => {
    const sw: AeadEngine = new SoftwareAeadEngine();
    expect(sw.onKeysLost).toBeUndefined();
  });
});

describe("SEPP started while its token is absent", () => {
  test("starts unhealthy (503, token not found), no crash; once the token appears it is healthy, handshakes and carries PRINS traffic", async () => {
    const label = `e2e-late-${process.pid}`;
    const pin = `late-Pin-${process.pid}-c0ffee`;
    const udm2 = await startNf(() => ({
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(AM_DATA),
    }));
    let sides: TwoSeppsPair["sides"] | undefined;
    let startError: unknown = null;
    // the home SEPP first, then the visited SEPP, whose start (health 200) waits for the token created below
    const starting = startTwoSepps({
      name: "hw-late",
      capabilities: ["PRINS"],
      homeNfs: { [HOME_UDM]: udm2 },
      edit: visitedOnToken(`pkcs11:token=${label}`, { pinEnv: PIN_ENV }),
      envOf: { visited: { ...hsm.env, [PIN_ENV]: pin } },
      order: "home-first",
      stateTimeoutMs: 20000,
      beforeStart: (p) => {
        sides = p.sides;
      },
    }).then(
      (t) => t,
      (e) => {
        startError = e;
        return undefined;
      },
    );
    let client: NfClient | undefined;
    let stopCodes: unknown[] = [];
    try {
      const down = await waitFor(
        "health DOWN",
        async () => {
          if (startError) throw startError;
          if (!sides) return null;
          const r = await fetch(`http://127.0.0.1:${sides.visited.ports.admin}/v1/health`);
          return r.status === 503 ? ((await r.json()) as { checks: Record<string, string> }) : null;
        },
        25000,
      ); // below startSepp's own 20 s start-up bound plus margin: a dead process fails startSepp first
      expect(down.checks.keystore).toBe(`token not found: pkcs11:token=${label}`);
      const base = `http://127.0.0.1:${sides!.visited.ports.admin}`;
      const admin = (await Bun.file(join(sides!.visited.dir, "var", "admin.token")).text()).trim();
      const st = (await (
        await fetch(`${base}/v1/status`, { headers: { authorization: `Bearer ${admin}` } })
      ).json()) as { keystore: Record<string, unknown>; aead: { engine: string } };
      expect(st.keystore).toMatchObject({
        backend: "pkcs11",
        healthy: false,
        detail: `token not found: pkcs11:token=${label}`,
      });
      expect(st.aead.engine).toBe("pkcs11");

      hsm.createToken(label, pin);
      const late = await starting; // resolves once both sides report the association active-prins
      expect(startError).toBeNull();
      client = late!.client(sides!.visited.ports.sbi);
      const r = await client.request("GET", `${HOME_UDM}:${udm2.port}`, AM_PATH, { accept: "application/json" });
      expect(r.status).toBe(200);
      expect(r.json()).toEqual(AM_DATA);
      expect(JSON.stringify(late!.visited.logs)).not.toContain(pin);
    } finally {
      // a start still under way ends by itself (startSepp's bound) and then closes what it started
      stopCodes = (await (await starting)?.close()) ?? [];
    }
    expect(stopCodes).toEqual([0, 0]);
  }, 60000);
});
