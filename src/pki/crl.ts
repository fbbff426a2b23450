// src/pki/crl.ts — certificate revocation lists per trust anchor (N32-PROFILE P11 "Trust": each anchor, per PLMN
// and RI, may carry CRL files; a revoked certificate is refused on N32-c, N32-f and in the RI security information).
//
// Parsing is @peculiar/x509's (X509Crl); the signature is checked with node:crypto (synchronous: the check runs in
// the TLS connection set-up, where an await would let the HTTP/2 session start first). A CRL applies to the
// certificates whose issuer key verifies its signature (RFC 5280 6.3.3 (f)); issuer names are not compared, so no
// DN formatting differences can make a CRL silently not apply. A CRL past its nextUpdate still counts (its
// revocations stay true); the store reports it so the operator renews it.
import { verify as cryptoVerify, type KeyObject, type X509Certificate } from "node:crypto";
import { x509 } from "../../lib/x509.ts";

export interface Crl {
  /** where it came from (config path or "pem #i"), for messages */
  readonly source: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  /** revoked serial numbers, lower-case hex without leading zeros */
  readonly revoked: ReadonlySet<string>;
  /** whether `issuer` signed this CRL (cached per issuer fingerprint) */
  signedBy(issuer: X509Certificate): boolean;
}

/** Canonical serial-number form for comparisons: lower-case hex, no leading zeros. */
export function normSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

/** Read one DER TLV header at `off`: [tag, header length, content length]. */
function tlv(b: Uint8Array, off: number): [number, number, number] {
  const tag = b[off]!;
  let len = b[off + 1]!;
  let hl = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off + 2 + i]!;
    hl += n;
  }
  if (off + hl + len > b.length) throw new Error("truncated DER");
  return [tag, hl, len];
}

const HASHES: Record<string, string> = { "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

/** Parse one CRL (PEM or DER). Throws with a reason on anything malformed. */
export function parseCrl(data: string | Uint8Array, source: string): Crl {
  const X = x509();
  const crl = new X.X509Crl(typeof data === "string" ? data : new Uint8Array(data));
  const der = new Uint8Array(crl.rawData);
  // CertificateList ::= SEQUENCE { tbsCertList SEQUENCE, signatureAlgorithm, signatureValue BIT STRING }
  const [t0, h0] = tlv(der, 0);
  if (t0 !== 0x30) throw new Error("not a DER SEQUENCE");
  const [t1, h1, l1] = tlv(der, h0);
  if (t1 !== 0x30) throw new Error("tbsCertList is not a SEQUENCE");
  const tbs = der.subarray(h0, h0 + h1 + l1);
  const alg = crl.signatureAlgorithm as { name: string; hash?: { name: string } };
  const hash = HASHES[alg.hash?.name ?? ""];
  if (!hash || (alg.name !== "ECDSA" && alg.name !== "RSASSA-PKCS1-v1_5"))
    throw new Error(`unsupported CRL signature algorithm ${alg.name}/${alg.hash?.name ?? "?"}`);
  const sig = new Uint8Array(crl.signature);
  const revoked = new Set(crl.entries.map((e) => normSerial(e.serialNumber)));
  const verdicts = new Map<string, boolean>();
  return {
    source,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revoked,
    signedBy(issuer) {
      let ok = verdicts.get(issuer.fingerprint256);
      if (ok === undefined) {
        try {
          ok = cryptoVerify(hash, tbs, issuer.publicKey as KeyObject, sig);
        } catch {
          ok = false;
        }
        if (verdicts.size < 64) verdicts.set(issuer.fingerprint256, ok);
      }
      return ok;
    },
  };
}

/** Split a PEM text holding one or more CRL blocks ("X509 CRL", RFC 7468 5; "CRL" as some tools write it). */
export function splitCrlPem(pem: string): string[] {
  return pem.match(/-----BEGIN (X509 )?CRL-----[\s\S]+?-----END (X509 )?CRL-----/g) ?? [];
}

/**
 * Whether any link of `path` (leaf first, each certificate followed by its issuer, the root last) is revoked by a
 * CRL signed by that link's issuer. Returns the reason, or null.
 */
export function revokedIn(path: readonly X509Certificate[], crls: readonly Crl[]): string | null {
  if (crls.length === 0) return null;
  for (let i = 0; i + 1 < path.length; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const serial = normSerial(cert.serialNumber);
    for (const c of crls)
      if (c.revoked.has(serial) && c.signedBy(issuer))
        return `certificate ${cert.subject.replace(/\n/g, ",")} (serial ${serial}) is revoked (CRL ${c.source})`;
  }
  return null;
}
