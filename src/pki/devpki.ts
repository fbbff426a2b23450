// src/pki/devpki.ts — development PKI with @peculiar/x509 (design card): per-PLMN root CAs, SEPP leaf
// certificates named by dNSName SANs (N32-PROFILE P9: `…mncXXX.mccYYY…`), Roaming Intermediary
// certificates (P10: dNSName = ipxProviderId, P-256) under a separate RI root. ECDSA P-256 with SHA-256
// throughout (TS 33.210 profile). Keys are exported as PKCS#8 PEM for node:tls; never logged.
import type * as X509 from "@peculiar/x509";
import { x509 } from "../../lib/x509.ts";

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIG = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY = 86_400_000;

export interface DevCa {
  name: string;
  cert: X509.X509Certificate;
  keys: CryptoKeyPair;
  certPem: string;
}

export interface DevCert {
  certPem: string;
  /** PKCS#8 PEM of the private key */
  keyPem: string;
  /** leaf then issuing chain up to (not including) the root, PEM */
  chainPem: string;
  cert: X509.X509Certificate;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const X = x509();
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return X.PemConverter.encode(der, "PRIVATE KEY");
}

function validity(opts: { notBefore?: Date; notAfter?: Date; days?: number }): { notBefore: Date; notAfter: Date } {
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore, notAfter: opts.notAfter ?? new Date(notBefore.getTime() + (opts.days ?? 365) * DAY) };
}

/** A self-signed root CA (the trust anchor of one or more PLMNs, or the RI root). */
export async function createRootCa(opts: {
  name: string;
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<DevCa> {
  const X = x509();
  const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await X.X509CertificateGenerator.createSelfSigned({
    name: `CN=${opts.name}`,
    ...validity({ days: opts.days ?? 3650, ...opts }),
    keys,
    signingAlgorithm: SIG,
    extensions: [
      new X.BasicConstraintsExtension(true, 1, true),
      new X.KeyUsagesExtension(X.KeyUsageFlags.keyCertSign | X.KeyUsageFlags.cRLSign, true),
      await X.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name: opts.name, cert, keys, certPem: cert.toString("pem") };
}

async function issue(
  ca: DevCa,
  opts: {
    cn: string;
    dnsNames: string[];
    usages: string[];
    curve?: "P-256" | "P-384";
    days?: number;
    notBefore?: Date;
    notAfter?: Date;
  },
): Promise<DevCert> {
  const X = x509();
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: opts.curve ?? "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const exts: X509.Extension[] = [
    new X.BasicConstraintsExtension(false, undefined, true),
    new X.KeyUsagesExtension(X.KeyUsageFlags.digitalSignature, true),
    await X.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await X.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (opts.usages.length) exts.push(new X.ExtendedKeyUsageExtension(opts.usages, false));
  if (opts.dnsNames.length)
    exts.push(new X.SubjectAlternativeNameExtension(opts.dnsNames.map((value) => ({ type: "dns" as const, value }))));
  const cert = await X.X509CertificateGenerator.create({
    subject: `CN=${opts.cn}`,
    issuer: ca.cert.subject,
    ...validity(opts),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIG,
    extensions: exts,
  });
  const certPem = cert.toString("pem");
  return { certPem, keyPem: await keyPem(keys.privateKey), chainPem: certPem, cert };
}

/** A SEPP N32 certificate (TLS server and client) naming the SEPP by dNSName SANs (P9). */
export function issueSeppCert(
  ca: DevCa,
  opts: { dnsNames: string[]; days?: number; notBefore?: Date; notAfter?: Date },
): Promise<DevCert> {
  const X = x509();
  return issue(ca, {
    cn: opts.dnsNames[0] ?? "sepp",
    usages: [X.ExtendedKeyUsage.serverAuth, X.ExtendedKeyUsage.clientAuth],
    ...opts,
  });
}

/** A Roaming Intermediary certificate: dNSName = ipxProviderId, P-256 by default (P10), for JWS only. */
export function issueRiCert(
  ca: DevCa,
  opts: { ipxProviderId: string; curve?: "P-256" | "P-384"; days?: number; notBefore?: Date; notAfter?: Date },
): Promise<DevCert> {
  const X = x509();
  return issue(ca, {
    cn: opts.ipxProviderId,
    dnsNames: [opts.ipxProviderId],
    // an RI certificate is usable for TLS by its EKU, which is exactly why it must be refused by trust, not by EKU
    usages: [X.ExtendedKeyUsage.serverAuth, X.ExtendedKeyUsage.clientAuth],
    ...opts,
  });
}

/** base64 DER of a PEM certificate (the encoding of IpxProviderSecInfo.certificateList, P5). */
export function pemToBase64Der(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
}

/** A CRL issued by `ca` revoking `revoked` (PEM "X509 CRL"), for tests and for operators' dry runs. */
export async function createCrl(
  ca: DevCa,
  revoked: Array<DevCert | { cert: X509.X509Certificate }>,
  opts: { thisUpdate?: Date; nextUpdate?: Date } = {},
): Promise<string> {
  const X = x509();
  const thisUpdate = opts.thisUpdate ?? new Date(Date.now() - 60_000);
  const crl = await X.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate,
    nextUpdate: opts.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY),
    entries: revoked.map((r) => ({ serialNumber: r.cert.serialNumber, revocationDate: thisUpdate })),
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIG,
  });
  return crl.toString("pem");
}
