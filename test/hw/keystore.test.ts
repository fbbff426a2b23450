// Keystores (hw/keystore-software.ts, hw/keystore-pkcs11.ts) opened by openHardware() (hw/index.ts) and used through
// the Keystore interface: identity key, CSR, certificate chain import, TLS key sealing; the AEAD engine openHardware()
// builds beside them; token failures and recovery. SoftHSM2 is the real token.
import { beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import {
  type HwConfig,
  HardwareError,
  KeystoreError,
  type Keystore,
  type KeystoreConfig,
  openHardware,
  sealedTlsKeyOf,
  SoftwareAeadEngine,
} from "../../hw/index.ts";
import { waitFor } from "../../scripts/lib/pair.ts";
import { Pkcs11Keystore } from "../../hw/keystore-pkcs11.ts";
import { CKA, CKM, CKO } from "../../hw/pkcs11/constants.ts";
import { Mechanism } from "../../hw/pkcs11/structs.ts";
import { memoryLogger } from "../../src/log.ts";
import { softhsm, type TestToken } from "../support/softhsm.ts";
import { freshDirs } from "../support/tmp-dirs.ts";

const hsm = softhsm();
const FQDN = "sepp.5gc.mnc015.mcc234.3gppnetwork.org";
const tempDir = freshDirs("sepp-ks-");

/** The keystore openHardware() builds for `keystore` (with the software AEAD engine). */
async function openKeystore(
  keystore: KeystoreConfig,
  dataDir: string,
  log = memoryLogger(),
  retry: Pick<HwConfig, "retryInitialMs" | "retryMaxMs"> = {},
): Promise<Keystore> {
  return (await openHardware({ keystore, aead: "software", dataDir, ...retry }, log)).keystore;
}

/** The pkcs11 backend behind a Keystore, to inspect its token objects. */
function pkcs11Of(ks: Keystore): Pkcs11Keystore {
  expect(ks).toBeInstanceOf(Pkcs11Keystore);
  return ks as Pkcs11Keystore;
}

// A test CA that signs whatever public key a CSR carries (simulates the operator's PKI).
async function makeCa() {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Test Operator CA",
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const issue = async (csrPem: string) => {
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: "02",
      subject: csr.subject,
      issuer: cert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: await csr.publicKey.export(),
      signingKey: keys.privateKey,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: FQDN }])],
    });
    return `${leaf.toString("pem")}\n${cert.toString("pem")}\n`;
  };
  return { cert, issue };
}

/** The identity/CSR/certificate/TLS flow every backend must pass. */
async function identityFlow(ks: Keystore, dataDir: string) {
  expect(ks.status().healthy).toBe(true);
  await expect(ks.createIdentityCsr({ n32Fqdn: FQDN })).rejects.toMatchObject({ code: "NOT_FOUND" });
  const info = await ks.generateIdentity({ curve: "P-256" });
  expect(info).toMatchObject({ label: "sepp-identity", kind: "identity", type: "EC P-256", backend: ks.backend });
  await expect(ks.generateIdentity({ curve: "P-256" })).rejects.toMatchObject({ code: "CONFLICT" });

  const csrPem = await ks.createIdentityCsr({ n32Fqdn: FQDN, subject: "CN=sepp.example, O=Operator, C=DE" });
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  expect(await csr.verify()).toBe(true); // signed by the identity key (in the token for pkcs11)
  expect(csr.subject).toBe("CN=sepp.example, O=Operator, C=DE");
  const sanExt = csr.extensions.find((e) => e.type === "2.5.29.17");
  expect(sanExt).toBeDefined();
  const san = new x509.SubjectAlternativeNameExtension(sanExt!.rawData);
  expect(san.names.items.map((n) => [n.type, n.value])).toEqual([["dns", FQDN]]);
  const defaultCsr = new x509.Pkcs10CertificateRequest(await ks.createIdentityCsr({ n32Fqdn: FQDN }));
  expect(defaultCsr.subject).toBe(`CN=${FQDN}`);
  await expect(ks.createIdentityCsr({ n32Fqdn: "not a fqdn" })).rejects.toMatchObject({ code: "INVALID" });

  const ca = await makeCa();
  const chain = await ca.issue(csrPem);
  // a certificate for another key is refused
  const otherKs = await openKeystore({ backend: "software", dir: "other" }, tempDir(), memoryLogger());
  await otherKs.generateIdentity({ curve: "P-256" });
  const foreign = await ca.issue(await otherKs.createIdentityCsr({ n32Fqdn: FQDN }));
  await expect(ks.importIdentityCertificate(foreign)).rejects.toMatchObject({ code: "MISMATCH" });
  // wrong order (CA first) and garbage are refused
  const [leafPem, caPem] = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
  await expect(ks.importIdentityCertificate(`${caPem}\n${leafPem}`)).rejects.toMatchObject({ code: "INVALID" });
  await expect(ks.importIdentityCertificate("hello")).rejects.toMatchObject({ code: "INVALID" });

  const imported = await ks.importIdentityCertificate(chain);
  expect(imported.certificate?.subject).toBe("CN=sepp.example, O=Operator, C=DE");
  expect(imported.certificate?.issuer).toBe("CN=Test Operator CA");
  expect(imported.certificate?.dnsNames).toEqual([FQDN]);

  // TLS key
  expect(await ks.unsealTlsKey()).toBeNull();
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = privateKey.export({ type: "sec1", format: "pem" }) as string; // any PEM form is accepted
  await ks.sealTlsKey(pem);
  const back = await ks.unsealTlsKey();
  expect(back).toContain("-----BEGIN PRIVATE KEY-----");
  expect(createPublicKey(createPrivateKey(back!)).export({ type: "spki", format: "pem" })).toBe(
    createPublicKey(privateKey).export({ type: "spki", format: "pem" }) as string,
  );
  await expect(ks.sealTlsKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")).rejects.toMatchObject({
    code: "INVALID",
  });

  const keys = await ks.listKeys();
  const id = keys.find((k) => k.kind === "identity")!;
  expect(id.certificate?.notAfter).toBe(imported.certificate!.notAfter);
  expect(keys.find((k) => k.kind === "tls")).toMatchObject({ label: "sepp-tls", backend: ks.backend });
  expect(JSON.stringify(keys)).not.toContain("PRIVATE KEY");

  // replace: a new key, the old chain no longer applies
  await ks.generateIdentity({ curve: "P-384", replace: true });
  const after = (await ks.listKeys()).find((k) => k.kind === "identity")!;
  expect(after.type).toBe("EC P-384");
  expect(after.certificate).toBeUndefined();
  await expect(ks.importIdentityCertificate(chain)).rejects.toMatchObject({ code: "MISMATCH" });
  void dataDir;
  return { pem, privateKey };
}

describe("software keystore", () => {
  test("identity, CSR, chain import and TLS key; files 0600 in a 0700 directory", async () => {
    const dataDir = tempDir();
    const ks = await openKeystore({ backend: "software", dir: "keys" }, dataDir, memoryLogger());
    expect(ks.backend).toBe("software");
    await identityFlow(ks, dataDir);
    expect(statSync(join(dataDir, "keys")).mode & 0o777).toBe(0o700);
    for (const f of ["identity.key.pem", "tls.key.pem", "identity.chain.pem"].slice(0, 2))
      expect(statSync(join(dataDir, "keys", f)).mode & 0o777).toBe(0o600);
    await ks.close();
    expect(ks.status().healthy).toBe(false);
  });
});

describe("pkcs11 keystore", () => {
  let tok: TestToken;
  let gone: TestToken;
  let late: string;
  beforeAll(() => {
    tok = hsm.createToken();
    gone = hsm.createToken();
    late = `late-${process.pid}`;
  });

  function cfg(t: { uri: string }, pinFile: string) {
    return { backend: "pkcs11" as const, module: hsm.module, tokenUri: t.uri, pinFile, sessionPoolSize: 2 };
  }

  test("identity in the token (non-extractable), CSR signed by the token, TLS key sealed under the token KEK", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "pin"), `${tok.pin}\n`, { mode: 0o600 });
    const log = memoryLogger();
    const ks = pkcs11Of(await openKeystore(cfg(tok, "pin"), dataDir, log));
    try {
      expect(ks.status()).toMatchObject({
        backend: "pkcs11",
        healthy: true,
        token: { label: tok.label, model: "SoftHSM v2" },
      });
      const { pem } = await identityFlow(ks, dataDir);

      // the identity key never leaves the token
      const keys = await ks.listKeys();
      const id = keys.find((k) => k.kind === "identity")!;
      expect(id.extractable).toBe(false);
      expect(id.uri).toMatch(
        new RegExp(`^pkcs11:token=${tok.label};object=sepp-identity;type=private;id=(%[0-9A-F]{2}){16}$`),
      );
      expect(keys.find((k) => k.kind === "kek")).toMatchObject({ type: "AES-256", extractable: false });
      ks.token.withSession((s) => {
        const [priv] = s.findObjects([
          [CKA.CLASS, CKO.PRIVATE_KEY],
          [CKA.LABEL, "sepp-identity"],
        ]);
        expect(priv).toBeDefined();
        expect(s.getBool(priv!, CKA.EXTRACTABLE)).toBe(false);
        expect(s.getBool(priv!, CKA.SENSITIVE)).toBe(true);
        expect(s.getBool(priv!, CKA.NEVER_EXTRACTABLE)).toBe(true);
        expect(() => s.getAttribute(priv!, CKA.VALUE)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        const [kek] = s.findObjects([
          [CKA.CLASS, CKO.SECRET_KEY],
          [CKA.LABEL, "sepp-tls-kek"],
        ]);
        expect(() => s.getAttribute(kek!, CKA.VALUE)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        // wrap-export attempt: an extractable wrapping key of our own cannot take the identity key or the KEK out
        const wk = s.generateKey(new Mechanism(CKM.AES_KEY_GEN), [
          [CKA.CLASS, CKO.SECRET_KEY],
          [CKA.TOKEN, false],
          [CKA.VALUE_LEN, 32],
          [CKA.WRAP, true],
          [CKA.EXTRACTABLE, true],
        ]);
        expect(() => s.wrapKey(new Mechanism(CKM.AES_KEY_WRAP_PAD), wk, priv!)).toThrow(/CKR_KEY_UNEXTRACTABLE/);
        expect(() => s.wrapKey(new Mechanism(CKM.AES_KEY_WRAP_PAD), wk, kek!)).toThrow(/CKR_KEY_UNEXTRACTABLE/);
        s.destroyObject(wk);
      });

      // only the sealed blob is on disk, and it does not hold the key in clear
      const sealed = readFileSync(join(dataDir, "keystore", "tls.key.sealed"), "utf8");
      const der = createPrivateKey(pem).export({ type: "pkcs8", format: "der" });
      expect(sealed).not.toContain("PRIVATE KEY");
      expect(sealed).not.toContain(der.toString("base64").slice(40, 80));
      expect(statSync(join(dataDir, "keystore", "tls.key.sealed")).mode & 0o777).toBe(0o600);
      // a tampered blob does not open
      const j = JSON.parse(sealed);
      const ct = Buffer.from(j.ct, "base64");
      ct[10]! ^= 1;
      writeFileSync(join(dataDir, "keystore", "tls.key.sealed"), JSON.stringify({ ...j, ct: ct.toString("base64") }));
      await expect(ks.unsealTlsKey()).rejects.toMatchObject({ code: "FAILED" });
      expect(JSON.stringify(log.lines)).not.toContain(tok.pin);
    } finally {
      await ks.close();
    }
  });

  test("the software keystore takes a directory of its own: a missing one is made 0700, one others may enter is refused and left as it is", async () => {
    const d = tempDir();
    const made = await openKeystore({ backend: "software", dir: "keys" }, d);
    expect(statSync(join(d, "keys")).mode & 0o777).toBe(0o700);
    await made.close();
    mkdirSync(join(d, "shared"));
    chmodSync(join(d, "shared"), 0o755);
    // before: chmod 0700 of whatever keystore.dir named ("/" included)
    const shared = openKeystore({ backend: "software", dir: "shared" }, d);
    await expect(shared).rejects.toThrow("may be entered by others than its owner (mode 0755)");
    expect(statSync(join(d, "shared")).mode & 0o777).toBe(0o755);
  });

  test("sealedTlsKeyOf: a software keystore's TLS key read without opening it (nothing made); another token: the reason it cannot be asked", async () => {
    const d = tempDir();
    expect(
      await sealedTlsKeyOf({ keystore: { backend: "software", dir: "absent" }, aead: "software", dataDir: d }),
    ).toBeNull();
    expect(existsSync(join(d, "absent"))).toBe(false);
    const ks = await openKeystore({ backend: "software", dir: "keys" }, d);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await ks.sealTlsKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string);
    expect(await sealedTlsKeyOf({ keystore: { backend: "software", dir: "keys" }, aead: "software", dataDir: d })).toBe(
      await ks.unsealTlsKey(),
    );
    await ks.close();
    const p11: HwConfig = {
      keystore: {
        backend: "pkcs11",
        module: "/none.so",
        tokenUri: "pkcs11:token=x",
        pinEnv: "PIN",
        sessionPoolSize: 1,
      },
      aead: "software",
      dataDir: d,
    };
    await expect(sealedTlsKeyOf(p11)).rejects.toThrow("opened at the next start, not before");
  });

  test("openHardware: the software engine beside either keystore; the pkcs11 engine needs the pkcs11 keystore", async () => {
    const soft = await openHardware(
      { keystore: { backend: "software", dir: "k" }, aead: "software", dataDir: tempDir() },
      memoryLogger(),
    );
    expect([soft.keystore.backend, soft.aead.name]).toEqual(["software", "software"]);
    await soft.close();
    expect(soft.keystore.status()).toMatchObject({ healthy: false, detail: "closed" });
    const refused = openHardware(
      { keystore: { backend: "software", dir: "k" }, aead: "pkcs11", dataDir: tempDir() },
      memoryLogger(),
    );
    await expect(refused).rejects.toBeInstanceOf(HardwareError);
    await expect(refused).rejects.toMatchObject({
      part: "aead",
      message: "the pkcs11 AEAD engine needs the pkcs11 keystore",
    });
  });

  test("openHardware: the pkcs11 engine runs in the pkcs11 keystore's token; close() releases the token and its N32-f keys", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "pin"), tok.pin, { mode: 0o600 });
    const hw = await openHardware({ keystore: cfg(tok, "pin"), aead: "pkcs11", dataDir }, memoryLogger());
    const key = hw.aead.importKey(new Uint8Array(16).fill(5));
    const iv = new Uint8Array(12).fill(1);
    const sealed = hw.aead.seal(key, iv, Uint8Array.of(9), Uint8Array.of(1, 2, 3));
    const sw = new SoftwareAeadEngine();
    const ref = sw.seal(sw.importKey(new Uint8Array(16).fill(5)), iv, Uint8Array.of(9), Uint8Array.of(1, 2, 3));
    expect([hw.keystore.backend, hw.aead.name]).toEqual(["pkcs11", "pkcs11"]);
    expect(Buffer.from(sealed.tag).equals(Buffer.from(ref.tag))).toBe(true);
    await hw.close();
    expect(hw.keystore.status()).toMatchObject({ healthy: false, detail: "closed" });
    expect(() => hw.aead.seal(key, iv, Uint8Array.of(9), Uint8Array.of(1))).toThrow(/key lost/);
    await hw.close(); // idempotent
  });

  test("PIN from the environment; a missing PIN variable is a clear error", async () => {
    process.env.SEPP_TEST_PIN = tok.pin;
    const ks = await openKeystore(
      { backend: "pkcs11", module: hsm.module, tokenUri: tok.uri, pinEnv: "SEPP_TEST_PIN", sessionPoolSize: 1 },
      tempDir(),
      memoryLogger(),
    );
    expect(ks.status().healthy).toBe(true);
    await ks.close();
    const bad = await openKeystore(
      { backend: "pkcs11", module: hsm.module, tokenUri: tok.uri, pinEnv: "SEPP_TEST_NO_SUCH_PIN", sessionPoolSize: 1 },
      tempDir(),
      memoryLogger(),
    );
    expect(bad.status()).toMatchObject({ healthy: false, detail: "the PIN variable SEPP_TEST_NO_SUCH_PIN is not set" });
    await expect(bad.listKeys()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await bad.close();
  });

  test("token removed while running: unhealthy, clear errors, no crash; recovers when the token is back", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "pin"), gone.pin, { mode: 0o600 });
    const hw = await openHardware(
      { keystore: cfg(gone, "pin"), aead: "pkcs11", dataDir, retryInitialMs: 20, retryMaxMs: 100 },
      memoryLogger(),
    );
    const { keystore: ks, aead } = hw;
    try {
      await ks.generateIdentity({ curve: "P-256" });
      expect(ks.status().healthy).toBe(true);
      expect(aead.name).toBe("pkcs11");
      const key = aead.importKey(new Uint8Array(32).fill(7));
      const iv = new Uint8Array(12);
      expect(aead.seal(key, iv, new Uint8Array(0), Uint8Array.of(1, 2, 3)).tag.length).toBe(16);
      hsm.deleteToken(gone.label); // while sessions are open
      const st = ks.status();
      expect(st.healthy).toBe(false);
      expect(st.detail).toMatch(/CKR_/);
      await expect(ks.listKeys()).rejects.toBeInstanceOf(KeystoreError);
      await expect(ks.createIdentityCsr({ n32Fqdn: FQDN })).rejects.toMatchObject({ code: "UNAVAILABLE" });
      // the token comes back (re-initialised: a new, empty token with the same label)
      hsm.createToken(gone.label, gone.pin);
      await waitFor("the keystore healthy", () => ks.status().healthy, 10_000, 10);
      expect(await ks.listKeys()).toEqual([]);
      await ks.generateIdentity({ curve: "P-256" });
      // N32-f keys died with the token: a clear error, and the engine works again for new contexts
      expect(() => aead.seal(key, iv, new Uint8Array(0), Uint8Array.of(1))).toThrow(/key lost/);
      const key2 = aead.importKey(new Uint8Array(32).fill(8));
      const sw = new SoftwareAeadEngine();
      const a = aead.seal(key2, iv, new Uint8Array(0), Uint8Array.of(1, 2, 3));
      const b = sw.seal(sw.importKey(new Uint8Array(32).fill(8)), iv, new Uint8Array(0), Uint8Array.of(1, 2, 3));
      expect(Buffer.from(a.tag).equals(Buffer.from(b.tag))).toBe(true);
      key2.destroy();
    } finally {
      await hw.close();
    }
  });

  test("token absent at start: unhealthy, then ready once it is created", async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, "pin"), "4321-late", { mode: 0o600 });
    const ks = await openKeystore(cfg({ uri: `pkcs11:token=${late}` }, "pin"), dataDir, memoryLogger(), {
      retryInitialMs: 20,
      retryMaxMs: 100,
    });
    try {
      expect(ks.status()).toMatchObject({ healthy: false, detail: `token not found: pkcs11:token=${late}` });
      await expect(ks.generateIdentity({ curve: "P-256" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
      hsm.createToken(late, "4321-late");
      await waitFor("the keystore healthy", () => ks.status().healthy, 10_000, 10);
      expect((await ks.generateIdentity({ curve: "P-384" })).type).toBe("EC P-384");
    } finally {
      await ks.close();
    }
  });

  test("a malformed token URI or a PIN in the URI is refused at open", async () => {
    const bogus = openKeystore(cfg({ uri: "pkcs11:token=a;bogus=1" }, "pin"), tempDir(), memoryLogger());
    await expect(bogus).rejects.toThrow(/unknown path attribute bogus/);
    await expect(bogus).rejects.toMatchObject({ name: "HardwareError", part: "keystore" });
    await expect(
      openKeystore(cfg({ uri: "pkcs11:token=a?pin-value=1234" }, "pin"), tempDir(), memoryLogger()),
    ).rejects.toThrow(/pin-value is not accepted/);
  });
});
