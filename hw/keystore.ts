// hw/keystore.ts — where the SEPP's long-term keys live: the Keystore interface, its metadata types and its error.
// The backends are hw/keystore-software.ts (key files, mode 0600) and hw/keystore-pkcs11.ts (a PKCS#11 token);
// openHardware() (hw/index.ts) picks one from HwConfig.keystore. This module imports no backend.
//
// Keys (docs/SECURITY.md "Where each key lives"):
//  - identity: an EC key pair (P-256/P-384) for the SEPP's N32 certificate; a CSR for it (SAN dNSName = the N32
//    FQDN) and the operator's chain, checked against the key. pkcs11: generated in the token, non-extractable.
//  - tls: the private key Bun's TLS server uses (it cannot use a token-resident key). pkcs11: sealed under a
//    non-extractable key-encryption key in the token; only the sealed blob is on disk.

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

/**
 * The SEPP's long-term keys: the identity key pair of its N32 certificate (CSR, operator chain) and the TLS
 * private key. Every method reports failures as {@link KeystoreError} (code + message, never key material), and
 * no method hands out a private key except unsealTlsKey(), which Bun's TLS server needs (docs/SECURITY.md).
 *
 * @example Enrol the N32 identity and start TLS from the sealed key
 * ```ts
 * const { keystore } = await openHardware(hwConfig, log);
 * await keystore.generateIdentity({ curve: "P-256" }); // in the token: CKA_EXTRACTABLE false
 * const csrPem = await keystore.createIdentityCsr({ n32Fqdn: "sepp.5gc.mnc001.mcc001.3gppnetwork.org" });
 * // … the operator's CA issues the certificate from csrPem …
 * await keystore.importIdentityCertificate(chainPem); // refused (MISMATCH) unless the leaf holds the identity key
 * await keystore.sealTlsKey(tlsKeyPem); // sealed under the token KEK; the caller wipes its copy
 * const key = await keystore.unsealTlsKey(); // PKCS#8 PEM for the TLS server, or null
 * if (!keystore.status().healthy) log.warn("keystore down", { detail: keystore.status().detail });
 * ```
 */
export interface Keystore {
  readonly backend: KeystoreBackend;
  /** Current health (pkcs11: probes the token with C_GetTokenInfo, so a removed token shows at once); never throws. */
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
  /** Release the backend (logs out of the token, closes its sessions). Idempotent. */
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
