// hw/keystore.ts — where the SEPP's long-term keys live: the Keystore interface, the `software` backend (key
// files, mode 0600) and openKeystore(), which picks the backend from configuration (`keystore.backend`).
//
// Keys (docs/SECURITY.md "Where each key lives"):
//  - identity: an EC key pair (P-256/P-384) for the SEPP's N32 certificate; a CSR for it (SAN dNSName = the N32
//    FQDN) and the operator's chain, checked against the key. pkcs11: generated in the token, non-extractable.
//  - tls: the private key Bun's TLS server uses (it cannot use a token-resident key). pkcs11: sealed under a
//    non-extractable key-encryption key in the token; only the sealed blob is on disk.
import { webcrypto, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import * as x509 from "@peculiar/x509";
import type { SeppConfig } from "../src/config/schema.ts";
import type { Logger } from "../src/log.ts";
import { wipe } from "./platform.ts";
import { fsyncDir, writeFileAtomic } from "../src/fsutil.ts";

export type KeystoreBackend = "software" | "pkcs11";
export type Curve = "P-256" | "P-384";

export interface CertificateInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  dnsNames: string[];
}

/** Metadata of one key; never key material. */
export interface KeyInfo {
  label: string;
  /** identity: the N32 EC key pair; tls: the TLS server key; kek: the key-encryption key sealing the TLS key */
  kind: "identity" | "tls" | "kek";
  type: "EC P-256" | "EC P-384" | "AES-256" | "RSA" | "EC" | "other";
  backend: KeystoreBackend;
  /** RFC 7512 URI of the token object (pkcs11 backend). */
  uri?: string;
  /** For pkcs11: false means the token refuses to export it (CKA_EXTRACTABLE false). */
  extractable?: boolean;
  /** tls: stored sealed under the KEK (pkcs11) or as a 0600 file (software). */
  sealed?: boolean;
  certificate?: CertificateInfo;
}

export interface KeystoreStatus {
  backend: KeystoreBackend;
  healthy: boolean;
  detail?: string;
  token?: { label: string; manufacturer: string; model: string; serial: string };
}

export interface Keystore {
  readonly backend: KeystoreBackend;
  status(): KeystoreStatus;
  /** Metadata only: label, type, backend, certificate subject/expiry. */
  listKeys(): Promise<KeyInfo[]>;
  /** Generate the identity key pair (in the token, non-extractable, for pkcs11). Refuses to replace one unless `replace`. */
  generateIdentity(opts: { curve: Curve; replace?: boolean }): Promise<KeyInfo>;
  /** A PKCS#10 CSR (PEM) for the identity key: SAN dNSName = n32Fqdn, subject as asked (default CN=n32Fqdn). */
  createIdentityCsr(opts: { n32Fqdn: string; subject?: string }): Promise<string>;
  /** Import the operator's chain (leaf first); the leaf's public key must equal the identity key's. */
  importIdentityCertificate(chainPem: string): Promise<KeyInfo>;
  /** Store the TLS private key: sealed under the token KEK (pkcs11) or a 0600 file (software). */
  sealTlsKey(privateKeyPem: string): Promise<void>;
  /** The TLS private key (PKCS#8 PEM) in memory for the TLS server, or null when none is stored. */
  unsealTlsKey(): Promise<string | null>;
  close(): Promise<void>;
}

export type KeystoreErrorCode = "NOT_FOUND" | "CONFLICT" | "INVALID" | "MISMATCH" | "UNAVAILABLE" | "FAILED";

/** A keystore operation failed for a reason the caller can act on. Messages never carry key material or PINs. */
export class KeystoreError extends Error {
  override name = "KeystoreError";
  constructor(
    readonly code: KeystoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface KeystoreOptions {
  /** Recovery backoff of the pkcs11 backend (defaults 500 ms doubling to 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** Open the keystore chosen by configuration. `dataDir` is storage.dir (resolved). */
export async function openKeystore(
  cfg: SeppConfig["keystore"],
  dataDir: string,
  log: Logger,
  opts: KeystoreOptions = {},
): Promise<Keystore> {
  if (cfg.backend === "software") return new SoftwareKeystore(resolve(dataDir, cfg.dir), log);
  const { Pkcs11Keystore } = await import("./keystore-pkcs11.ts");
  return Pkcs11Keystore.open(cfg, dataDir, log, opts);
}

// ---- shared helpers (both backends) ---------------------------------------------------------------------

export const IDENTITY_LABEL = "sepp-identity";
export const TLS_LABEL = "sepp-tls";
export const KEK_LABEL = "sepp-tls-kek";
const MAX_CHAIN_CERTS = 10;
const MAX_PEM = 64 * 1024;

export const SIGNING: Record<Curve, { name: "ECDSA"; namedCurve: Curve; hash: "SHA-256" | "SHA-384" }> = {
  "P-256": { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" },
  "P-384": { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" },
};

/** Create a directory 0700 (and tighten it when it exists). */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Crash-safe write (temp file with `mode`, fsync, rename, directory fsync): the shared helper of src/fsutil.ts. */
export { writeFileAtomic };

export function certificateInfo(c: x509.X509Certificate): CertificateInfo {
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  return {
    subject: c.subject,
    issuer: c.issuer,
    serialNumber: c.serialNumber,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    dnsNames: san ? san.names.items.filter((n) => n.type === "dns").map((n) => n.value) : [],
  };
}

/** Parse a PEM chain (leaf first), bounded; every certificate must be signed by the next one. */
export async function parseChain(chainPem: string): Promise<x509.X509Certificate[]> {
  if (chainPem.length > MAX_PEM)
    throw new KeystoreError("INVALID", `certificate chain larger than ${MAX_PEM} characters`);
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new KeystoreError("INVALID", "no PEM certificate found");
  if (blocks.length > MAX_CHAIN_CERTS) throw new KeystoreError("INVALID", `more than ${MAX_CHAIN_CERTS} certificates`);
  let certs: x509.X509Certificate[];
  try {
    certs = blocks.map((b) => new x509.X509Certificate(b));
  } catch (e) {
    throw new KeystoreError("INVALID", `unreadable certificate: ${(e as Error).message}`);
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const ok = await certs[i]!.verify({ publicKey: certs[i + 1]!, signatureOnly: true }).catch(() => false);
    if (!ok)
      throw new KeystoreError(
        "INVALID",
        `certificate ${i} of the chain is not signed by certificate ${i + 1} (order: leaf first)`,
      );
  }
  const leaf = certs[0]!;
  if (leaf.notAfter.getTime() < Date.now())
    throw new KeystoreError("INVALID", `the leaf certificate expired at ${leaf.notAfter.toISOString()}`);
  return certs;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The leaf's SubjectPublicKeyInfo must equal the identity key's (DER). */
export function checkLeafKey(leaf: x509.X509Certificate, identitySpki: Uint8Array): void {
  if (!equalBytes(new Uint8Array(leaf.publicKey.rawData), identitySpki))
    throw new KeystoreError("MISMATCH", "the certificate's public key is not the identity key");
}

/** The x509 Name for a CSR subject: "CN=…, O=…" as given, else CN=<n32Fqdn>. */
function csrSubject(n32Fqdn: string, subject?: string): string {
  const s = subject ?? `CN=${n32Fqdn}`;
  try {
    new x509.Name(s);
  } catch (e) {
    throw new KeystoreError("INVALID", `subject is not a distinguished name: ${(e as Error).message}`);
  }
  return s;
}

const FQDN_RE = /^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}$/;

/**
 * Build and sign a CSR with @peculiar/x509. `crypto` is WebCrypto (software) or a token-backed subtle (pkcs11)
 * that exports the public key and signs inside the token.
 */
export async function buildCsr(
  keys: { privateKey: CryptoKey; publicKey: CryptoKey },
  curve: Curve,
  opts: { n32Fqdn: string; subject?: string },
  crypto: Crypto,
): Promise<string> {
  if (opts.n32Fqdn.length > 253 || !FQDN_RE.test(opts.n32Fqdn))
    throw new KeystoreError("INVALID", "n32Fqdn is not an FQDN");
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: csrSubject(opts.n32Fqdn, opts.subject),
      keys,
      signingAlgorithm: SIGNING[curve],
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: "dns", value: opts.n32Fqdn }]),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    },
    crypto,
  );
  return csr.toString("pem");
}

/** Validate a private key PEM and normalise it to PKCS#8 PEM. */
export function normalisePrivateKey(pem: string): { pkcs8: string; type: KeyInfo["type"] } {
  if (pem.length > MAX_PEM) throw new KeystoreError("INVALID", "private key PEM too large");
  let k: KeyObject;
  try {
    k = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new KeystoreError("INVALID", "not a readable unencrypted PEM private key");
  }
  return { pkcs8: k.export({ type: "pkcs8", format: "pem" }) as string, type: keyType(k) };
}

export function keyType(k: KeyObject): KeyInfo["type"] {
  if (k.asymmetricKeyType === "rsa") return "RSA";
  if (k.asymmetricKeyType === "ec") {
    const c = k.asymmetricKeyDetails?.namedCurve;
    return c === "prime256v1" ? "EC P-256" : c === "secp384r1" ? "EC P-384" : "EC";
  }
  return "other";
}

// ---- software backend ------------------------------------------------------------------------------------

/**
 * Key files under `<dataDir>/<keystore.dir>` (0700), each 0600, written atomically:
 * identity.key.pem (PKCS#8), identity.chain.pem, tls.key.pem (PKCS#8). For an embedded gateway without a token.
 */
export class SoftwareKeystore implements Keystore {
  readonly backend = "software" as const;
  readonly #dir: string;
  readonly #log: Logger;
  #closed = false;

  constructor(dir: string, log: Logger) {
    this.#dir = dir;
    this.#log = log.child({ component: "keystore", backend: "software" });
    ensurePrivateDir(dir);
  }

  #path(name: string): string {
    return join(this.#dir, name);
  }

  status(): KeystoreStatus {
    if (this.#closed) return { backend: "software", healthy: false, detail: "closed" };
    try {
      const st = statSync(this.#dir);
      if (!st.isDirectory()) return { backend: "software", healthy: false, detail: `${this.#dir} is not a directory` };
      return { backend: "software", healthy: true };
    } catch (e) {
      return {
        backend: "software",
        healthy: false,
        detail: `key directory unavailable: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
      };
    }
  }

  #readIdentity(): KeyObject | null {
    const p = this.#path("identity.key.pem");
    if (!existsSync(p)) return null;
    return createPrivateKey(readFileSync(p, "utf8"));
  }

  async listKeys(): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    const id = this.#readIdentity();
    if (id) {
      const info: KeyInfo = { label: IDENTITY_LABEL, kind: "identity", type: keyType(id), backend: "software" };
      const chain = this.#path("identity.chain.pem");
      if (existsSync(chain)) info.certificate = certificateInfo(new x509.X509Certificate(readFileSync(chain, "utf8")));
      out.push(info);
    }
    const tls = this.#path("tls.key.pem");
    if (existsSync(tls))
      out.push({
        label: TLS_LABEL,
        kind: "tls",
        type: keyType(createPrivateKey(readFileSync(tls, "utf8"))),
        backend: "software",
        sealed: false,
      });
    return out;
  }

  async generateIdentity(opts: { curve: Curve; replace?: boolean }): Promise<KeyInfo> {
    if (this.#readIdentity() && !opts.replace)
      throw new KeystoreError("CONFLICT", "an identity key exists; pass replace to generate a new one");
    const kp = (await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: opts.curve }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const der = new Uint8Array(await webcrypto.subtle.exportKey("pkcs8", kp.privateKey));
    const pem = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" }).export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    wipe(der);
    // The old chain belongs to the old key: removed (durably) first, so a power cut in between leaves the old key
    // without a chain, never the new key with the old key's chain.
    if (existsSync(this.#path("identity.chain.pem"))) {
      rmSync(this.#path("identity.chain.pem"), { force: true });
      fsyncDir(this.#dir);
    }
    writeFileAtomic(this.#path("identity.key.pem"), pem);
    this.#log.info("identity key generated", { curve: opts.curve });
    return {
      label: IDENTITY_LABEL,
      kind: "identity",
      type: opts.curve === "P-256" ? "EC P-256" : "EC P-384",
      backend: "software",
    };
  }

  async #identityKeys(): Promise<{
    keys: { privateKey: CryptoKey; publicKey: CryptoKey };
    curve: Curve;
    spki: Uint8Array;
  }> {
    const k = this.#readIdentity();
    if (!k) throw new KeystoreError("NOT_FOUND", "no identity key: generate one first");
    const curve: Curve = k.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : "P-256";
    const pkcs8 = k.export({ type: "pkcs8", format: "der" });
    const spki = new Uint8Array(createPublicKey(k).export({ type: "spki", format: "der" }));
    try {
      const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve: curve }, false, [
        "sign",
      ]);
      const publicKey = await webcrypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, true, [
        "verify",
      ]);
      return { keys: { privateKey, publicKey }, curve, spki };
    } finally {
      wipe(pkcs8);
    }
  }

  async createIdentityCsr(opts: { n32Fqdn: string; subject?: string }): Promise<string> {
    const { keys, curve } = await this.#identityKeys();
    return buildCsr(keys, curve, opts, webcrypto as unknown as Crypto);
  }

  async importIdentityCertificate(chainPem: string): Promise<KeyInfo> {
    const { spki, curve } = await this.#identityKeys();
    const certs = await parseChain(chainPem);
    checkLeafKey(certs[0]!, spki);
    writeFileAtomic(this.#path("identity.chain.pem"), `${certs.map((c) => c.toString("pem")).join("\n")}\n`);
    const info = certificateInfo(certs[0]!);
    this.#log.info("identity certificate imported", { subject: info.subject, notAfter: info.notAfter });
    return {
      label: IDENTITY_LABEL,
      kind: "identity",
      type: curve === "P-256" ? "EC P-256" : "EC P-384",
      backend: "software",
      certificate: info,
    };
  }

  async sealTlsKey(privateKeyPem: string): Promise<void> {
    const { pkcs8 } = normalisePrivateKey(privateKeyPem);
    writeFileAtomic(this.#path("tls.key.pem"), pkcs8);
    this.#log.info("TLS private key stored", { file: "tls.key.pem" });
  }

  async unsealTlsKey(): Promise<string | null> {
    const p = this.#path("tls.key.pem");
    if (!existsSync(p)) return null;
    return readFileSync(p, "utf8");
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
