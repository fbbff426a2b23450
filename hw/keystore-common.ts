// hw/keystore-common.ts — what both keystore backends share: object labels, the signing algorithms, bounded
// parsing of the operator's chain, the identity check of its leaf, the CSR, private key normalisation, and the
// 0700 key directory. Pure helpers over @peculiar/x509 and node:crypto; no backend state.
import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { createPrivateKey, type KeyObject } from "node:crypto";
import type * as X509 from "@peculiar/x509";
import { privateDirIssue } from "../lib/private-dir.ts";
import { x509 } from "../lib/x509.ts";
import { type CertificateInfo, type Curve, type KeyInfo, KeystoreError } from "./keystore.ts";

export const IDENTITY_LABEL = "sepp-identity";
export const TLS_LABEL = "sepp-tls";
export const KEK_LABEL = "sepp-tls-kek";
const MAX_CHAIN_CERTS = 10;
const MAX_PEM = 64 * 1024;

export const SIGNING: Record<Curve, { name: "ECDSA"; namedCurve: Curve; hash: "SHA-256" | "SHA-384" }> = {
  "P-256": { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" },
  "P-384": { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" },
};

/**
 * Create the keystore's directory 0700, or take the existing one if it is a directory only its owner may enter; an
 * existing one is never changed (lib/private-dir.ts).
 */
export function ensurePrivateDir(dir: string): void {
  const why = privateDirIssue(dir);
  if (why) throw new KeystoreError("INVALID", `keystore directory ${dir}: ${why}`);
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mkdir's mode is masked by the umask
}

export function certificateInfo(c: X509.X509Certificate): CertificateInfo {
  const X = x509();
  const san = c.getExtension(X.SubjectAlternativeNameExtension);
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
export async function parseChain(chainPem: string): Promise<X509.X509Certificate[]> {
  const X = x509();
  if (chainPem.length > MAX_PEM)
    throw new KeystoreError("INVALID", `certificate chain larger than ${MAX_PEM} characters`);
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new KeystoreError("INVALID", "no PEM certificate found");
  if (blocks.length > MAX_CHAIN_CERTS) throw new KeystoreError("INVALID", `more than ${MAX_CHAIN_CERTS} certificates`);
  let certs: X509.X509Certificate[];
  try {
    certs = blocks.map((b) => new X.X509Certificate(b));
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
export function checkLeafKey(leaf: X509.X509Certificate, identitySpki: Uint8Array): void {
  if (!equalBytes(new Uint8Array(leaf.publicKey.rawData), identitySpki))
    throw new KeystoreError("MISMATCH", "the certificate's public key is not the identity key");
}

/** The x509 Name for a CSR subject: "CN=…, O=…" as given, else CN=<n32Fqdn>. */
function csrSubject(n32Fqdn: string, subject?: string): string {
  const X = x509();
  const s = subject ?? `CN=${n32Fqdn}`;
  try {
    new X.Name(s);
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
  const X = x509();
  if (opts.n32Fqdn.length > 253 || !FQDN_RE.test(opts.n32Fqdn))
    throw new KeystoreError("INVALID", "n32Fqdn is not an FQDN");
  const csr = await X.Pkcs10CertificateRequestGenerator.create(
    {
      name: csrSubject(opts.n32Fqdn, opts.subject),
      keys,
      signingAlgorithm: SIGNING[curve],
      extensions: [
        new X.SubjectAlternativeNameExtension([{ type: "dns", value: opts.n32Fqdn }]),
        new X.KeyUsagesExtension(X.KeyUsageFlags.digitalSignature, true),
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
