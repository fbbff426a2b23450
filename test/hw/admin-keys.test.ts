// Admin key routes (src/admin/keys.ts) in process (hono app.request) against a pkcs11 keystore on SoftHSM2.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync, webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { type Keystore, type Pkcs11KeystoreConfig, openHardware } from "../../hw/index.ts";
import { keysRoutes } from "../../src/admin/keys.ts";
import { contractChecked } from "../support/admin-contract.ts";
import { memoryLogger } from "../../src/log.ts";
import { softhsm } from "../support/softhsm.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const FQDN = "sepp.5gc.mnc001.mcc262.3gppnetwork.org";
const hsm = softhsm();
let ks: Keystore;
const log = memoryLogger();
let app: ReturnType<typeof keysRoutes>;
afterAll(async () => {
  await ks.close();
});
// registered after the hook above (bun runs afterAll hooks in registration order): removed once the keystore closed
const dir = freshDirs("sepp-admin-keys-").root;

/** The pkcs11 keystore openHardware() builds, as the SEPP builds it. */
async function openKeystore(keystore: Pkcs11KeystoreConfig, dataDir: string, l = log): Promise<Keystore> {
  return (await openHardware({ keystore, aead: "software", dataDir }, l)).keystore;
}

beforeAll(async () => {
  const tok = hsm.createToken();
  writeFileSync(join(dir, "pin"), tok.pin, { mode: 0o600 });
  ks = await openKeystore(
    { backend: "pkcs11", module: hsm.module, tokenUri: tok.uri, pinFile: "pin", sessionPoolSize: 2 },
    dir,
    log,
  );
  app = contractChecked(keysRoutes({ keystore: () => ks, log })); // every response checked against the OpenAPI document
});

const json = (method: string, path: string, body: unknown) =>
  app.request(path, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("admin /v1/keys", () => {
  test("list, generate, CSR, certificate import, TLS key import", async () => {
    let r = await app.request("/v1/keys");
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ backend: "pkcs11", status: { healthy: true }, keys: [] });

    r = await json("POST", "/v1/keys/identity", { curve: "P-384" });
    expect(r.status).toBe(201);
    expect(await r.json()).toMatchObject({ label: "sepp-identity", type: "EC P-384", extractable: false });
    r = await json("POST", "/v1/keys/identity", {});
    expect(r.status).toBe(409);
    expect(r.headers.get("content-type")).toBe("application/problem+json");
    expect(((await r.json()) as { cause: string }).cause).toBe("KEY_EXISTS");

    r = await json("POST", "/v1/keys/identity/csr", { n32Fqdn: FQDN });
    expect(r.status).toBe(200);
    const { csr } = (await r.json()) as { csr: string };
    const req = new x509.Pkcs10CertificateRequest(csr);
    expect(await req.verify()).toBe(true);
    r = await app.request("/v1/keys/identity/csr", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/pkcs10" },
      body: JSON.stringify({ n32Fqdn: FQDN }),
    });
    expect(r.headers.get("content-type")).toBe("application/pkcs10");
    expect(await r.text()).toStartWith("-----BEGIN CERTIFICATE REQUEST-----");

    // operator CA issues the certificate; import as PEM text
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "CN=CA",
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys: caKeys,
      signingAlgorithm: alg,
    });
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: "02",
      subject: req.subject,
      issuer: ca.subject,
      notBefore: new Date(Date.now() - 1000),
      notAfter: new Date(Date.now() + 3_600_000),
      publicKey: await req.publicKey.export(),
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
    });
    r = await app.request("/v1/keys/identity/certificate", {
      method: "PUT",
      headers: { "content-type": "application/x-pem-file" },
      body: `${leaf.toString("pem")}\n${ca.toString("pem")}`,
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ certificate: { subject: `CN=${FQDN}`, issuer: "CN=CA" } });
    // a certificate for another key: 400 CERTIFICATE_KEY_MISMATCH
    r = await json("PUT", "/v1/keys/identity/certificate", { chain: ca.toString("pem") });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { cause: string }).cause).toBe("CERTIFICATE_KEY_MISMATCH");

    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    r = await json("POST", "/v1/keys/tls", { privateKey: pem });
    expect(r.status).toBe(204);
    expect(await ks.unsealTlsKey()).toBe(pem);

    r = await app.request("/v1/keys");
    const body = await r.text();
    expect(body).not.toContain("PRIVATE KEY");
    const list = JSON.parse(body) as { keys: { kind: string; sealed?: boolean; certificate?: { notAfter: string } }[] };
    expect(list.keys.map((k) => k.kind).sort()).toEqual(["identity", "kek", "tls"]);
    expect(list.keys.find((k) => k.kind === "tls")?.sealed).toBe(true);
    expect(list.keys.find((k) => k.kind === "identity")?.certificate?.notAfter).toBe(leaf.notAfter.toISOString());
    expect(JSON.stringify(log.lines)).not.toContain("PRIVATE KEY");
  });

  test("bad bodies: clear ProblemDetails, nothing echoed", async () => {
    let r = await json("POST", "/v1/keys/identity", { curve: "P-521" });
    expect(r.status).toBe(400);
    const p = (await r.json()) as { invalidParams: { param: string }[] };
    expect(p.invalidParams[0]!.param).toBe("/curve");
    r = await json("POST", "/v1/keys/identity/csr", { n32Fqdn: "not a fqdn" });
    expect(r.status).toBe(400);
    r = await app.request("/v1/keys/identity", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "{}",
    });
    expect(r.status).toBe(415);
    r = await app.request("/v1/keys/identity", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(r.status).toBe(400);
    r = await app.request("/v1/keys/tls", {
      method: "POST",
      headers: { "content-type": "application/x-pem-file" },
      body: "x".repeat(70_000),
    });
    expect(r.status).toBe(413);
    const secretish = "-----BEGIN PRIVATE KEY-----\nTUlJQ0lBSUFBQUFB\n-----END PRIVATE KEY-----\n";
    r = await app.request("/v1/keys/tls", {
      method: "POST",
      headers: { "content-type": "application/x-pem-file" },
      body: secretish,
    });
    expect(r.status).toBe(400);
    expect(await r.text()).not.toContain("TUlJQ0lBSUFBQUFB");
    r = await json("POST", "/v1/keys/tls", { privateKey: 5 });
    expect(r.status).toBe(400);
  });

  test("an unavailable keystore answers 503 KEYSTORE_UNAVAILABLE", async () => {
    const dead = await openKeystore(
      {
        backend: "pkcs11",
        module: hsm.module,
        tokenUri: "pkcs11:token=absent-for-admin",
        pinEnv: "NOPE_PIN",
        sessionPoolSize: 1,
      },
      dir,
      memoryLogger(),
    );
    try {
      const a = keysRoutes({ keystore: () => dead, log: memoryLogger() });
      let r = await a.request("/v1/keys");
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ status: { healthy: false } });
      r = await a.request("/v1/keys/identity", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(r.status).toBe(503);
      expect(((await r.json()) as { cause: string }).cause).toBe("KEYSTORE_UNAVAILABLE");
    } finally {
      await dead.close();
    }
  });
});
