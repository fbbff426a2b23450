// src/pki/devpki.ts — development PKI with @peculiar/x509 (design card): per-PLMN root CAs, SEPP leaf
// certificates named by dNSName SANs (N32-PROFILE P9: `…mncXXX.mccYYY…`), Roaming Intermediary
// certificates (P10: dNSName = ipxProviderId, P-256) under a separate RI root. ECDSA P-256 with SHA-256
// throughout (TS 33.210 profile). Keys are exported as PKCS#8 PEM for node:tls; never logged.
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIG = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY = 86_400_000;

export interface DevCa {
  name: string;
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
  certPem: string;
}

export interface DevCert {
  certPem: string;
  /** PKCS#8 PEM of the private key */
  keyPem: string;
  /** leaf then issuing chain up to (not including) the root, PEM */
  chainPem: string;
  cert: x509.X509Certificate;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
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
  const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${opts.name}`,
    ...validity({ days: opts.days ?? 3650, ...opts }),
    keys,
    signingAlgorithm: SIG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
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
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: opts.curve ?? "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (opts.usages.length) exts.push(new x509.ExtendedKeyUsageExtension(opts.usages, false));
  if (opts.dnsNames.length)
    exts.push(
      new x509.SubjectAlternativeNameExtension(opts.dnsNames.map((value) => ({ type: "dns" as const, value }))),
    );
  const cert = await x509.X509CertificateGenerator.create({
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
  return issue(ca, {
    cn: opts.dnsNames[0] ?? "sepp",
    usages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    ...opts,
  });
}

/** A Roaming Intermediary certificate: dNSName = ipxProviderId, P-256 by default (P10), for JWS only. */
export function issueRiCert(
  ca: DevCa,
  opts: { ipxProviderId: string; curve?: "P-256" | "P-384"; days?: number; notBefore?: Date; notAfter?: Date },
): Promise<DevCert> {
  return issue(ca, {
    cn: opts.ipxProviderId,
    dnsNames: [opts.ipxProviderId],
    // an RI certificate is usable for TLS by its EKU, which is exactly why it must be refused by trust, not by EKU
    usages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
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
  revoked: Array<DevCert | { cert: x509.X509Certificate }>,
  opts: { thisUpdate?: Date; nextUpdate?: Date } = {},
): Promise<string> {
  const thisUpdate = opts.thisUpdate ?? new Date(Date.now() - 60_000);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate,
    nextUpdate: opts.nextUpdate ?? new Date(thisUpdate.getTime() + 7 * DAY),
    entries: revoked.map((r) => ({ serialNumber: r.cert.serialNumber, revocationDate: thisUpdate })),
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIG,
  });
  return crl.toString("pem");
}
