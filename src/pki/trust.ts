// src/pki/trust.ts — per-PLMN trust anchors for N32 (TS 33.501 13.1.2, N32-PROFILE P9) and the separate
// Roaming Intermediary trust store (TS 33.501 5.9.3.2, P10).
//
// N32 certificate check: the leaf's PLMN IDs (SAN labels, plmn.ts) select one anchor; the chain must end
// at a root of that anchor. A certificate without PLMN labels, a PLMN without an anchor, or PLMN IDs that map
// to different anchors are refused (SCAS TS 33.517 4.2.5 C3/C4). RI roots are never N32 TLS roots.
// node:crypto X509Certificate is used for verification (synchronous, BoringSSL): no hand-written ASN.1.
import { X509Certificate } from "node:crypto";
import type { PlmnId } from "../model/n32.ts";
import type { SeppConfig } from "../config/schema.ts";
import { resolvePem, splitPem } from "../config/pem.ts";
import { certHasDnsName, dnsNamesOf, plmnIdsOf, plmnKey } from "./plmn.ts";

export interface TrustAnchor {
  name: string;
  plmnIds: PlmnId[];
  roots: X509Certificate[];
}

export type ChainResult =
  | { ok: true; anchor: string; plmnIds: PlmnId[]; dnsNames: string[]; leaf: X509Certificate }
  | { ok: false; reason: string };

const MAX_CHAIN = 5;

export function parsePemCerts(pem: string): X509Certificate[] {
  return splitPem(pem)
    .filter((b) => b.startsWith("-----BEGIN CERTIFICATE-----"))
    .map((b) => new X509Certificate(b));
}

function validAt(c: X509Certificate, now: Date): boolean {
  return new Date(c.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(c.validTo).getTime();
}

/** Walk from `leaf` through `intermediates` to one of `roots`; every link signature- and date-checked. */
function chainsTo(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  roots: X509Certificate[],
  now: Date,
): string | null {
  let cur = leaf;
  const seen = new Set<string>([leaf.fingerprint256]);
  for (let depth = 0; depth <= MAX_CHAIN; depth++) {
    if (!validAt(cur, now)) return `certificate ${cur.subject.replace(/\n/g, ",")} not valid now`;
    const root = roots.find(
      (r) => r.fingerprint256 === cur.fingerprint256 || (cur.checkIssued(r) && cur.verify(r.publicKey)),
    );
    if (root) {
      if (root.fingerprint256 !== cur.fingerprint256 && !validAt(root, now)) return "trust anchor root not valid now";
      if (root.fingerprint256 === cur.fingerprint256 && depth === 0)
        return "a root certificate is not an end-entity certificate";
      return null;
    }
    // an intermediate must be a CA and not self-issued (a self-issued one is some other anchor's root)
    const c = cur;
    const next = intermediates.find(
      (i) => i.ca && i.subject !== i.issuer && !seen.has(i.fingerprint256) && c.checkIssued(i) && c.verify(i.publicKey),
    );
    if (!next) return "certificate does not chain to the trust anchor of its PLMN IDs";
    seen.add(next.fingerprint256);
    cur = next;
  }
  return "certificate chain too long";
}

export class TrustStore {
  readonly anchors: readonly TrustAnchor[];
  readonly riRoots: readonly X509Certificate[];
  #byPlmn = new Map<string, TrustAnchor>();

  constructor(anchors: TrustAnchor[], riRoots: X509Certificate[] = []) {
    this.anchors = anchors;
    this.riRoots = riRoots;
    for (const a of anchors) for (const p of a.plmnIds) this.#byPlmn.set(plmnKey(p), a);
  }

  /** Build from the configuration (PEM sources resolved relative to storage.dir). */
  static fromConfig(cfg: SeppConfig): TrustStore {
    const dir = cfg.storage.dir;
    const anchors = cfg.tls.trustAnchors.map((a) => ({
      name: a.name,
      plmnIds: a.plmnIds,
      roots: a.roots.flatMap((r) => parsePemCerts(resolvePem(r, dir))),
    }));
    const ri = cfg.tls.riTrustAnchors.flatMap((r) => parsePemCerts(resolvePem(r, dir)));
    return new TrustStore(anchors, ri);
  }

  /** PEM of every N32 root (the `ca` given to node:tls; the per-PLMN check runs after the handshake). Never RI roots. */
  tlsCaPem(): string[] {
    return this.anchors.flatMap((a) => a.roots.map((r) => r.toString()));
  }

  anchorOf(p: PlmnId): TrustAnchor | undefined {
    return this.#byPlmn.get(plmnKey(p));
  }

  /** Check an N32 peer certificate chain (leaf first, as presented on TLS) against the per-PLMN anchors (P9). */
  verifyN32Chain(chain: X509Certificate[], now = new Date()): ChainResult {
    const leaf = chain[0];
    if (!leaf) return { ok: false, reason: "no peer certificate" };
    if (leaf.ca) return { ok: false, reason: "peer certificate is a CA certificate" };
    const plmnIds = plmnIdsOf(leaf);
    if (plmnIds.length === 0) return { ok: false, reason: "certificate has no mncXXX.mccYYY dNSName labels" };
    let anchor: TrustAnchor | undefined;
    for (const p of plmnIds) {
      const a = this.anchorOf(p);
      if (!a) return { ok: false, reason: `no trust anchor for PLMN ${plmnKey(p)}` };
      if (anchor && anchor !== a) return { ok: false, reason: "certificate PLMN IDs map to different trust anchors" };
      anchor = a;
    }
    const err = chainsTo(leaf, chain.slice(1, MAX_CHAIN + 1), anchor!.roots, now);
    if (err) return { ok: false, reason: err };
    return { ok: true, anchor: anchor!.name, plmnIds, dnsNames: dnsNamesOf(leaf), leaf };
  }

  /**
   * Check an RI certificate from the RI security-information round (P10): issued under the RI trust store,
   * valid now, a dNSName equal to `ipxProviderId`, a P-256 key. `chain` = leaf first, then intermediates.
   */
  verifyRiCert(chain: X509Certificate[], ipxProviderId: string, now = new Date()): string | null {
    const leaf = chain[0];
    if (!leaf) return "empty certificate list";
    if (this.riRoots.length === 0) return "no RI trust anchors configured";
    const err = chainsTo(leaf, chain.slice(1, MAX_CHAIN + 1), [...this.riRoots], now);
    if (err) return `RI certificate: ${err.replace("the trust anchor of its PLMN IDs", "the RI trust store")}`;
    if (!certHasDnsName(leaf, ipxProviderId)) return "RI certificate dNSName does not match ipxProviderId";
    if (!isP256(leaf)) return "RI certificate key is not ECDSA P-256";
    return null;
  }
}

export function isP256(cert: X509Certificate): boolean {
  const k = cert.publicKey;
  return k.asymmetricKeyType === "ec" && k.asymmetricKeyDetails?.namedCurve === "prime256v1";
}

/** The peer chain presented on a TLS socket (leaf first), from getPeerCertificate(true). Bounded. */
export function peerChainOf(socket: { getPeerCertificate(detailed: true): unknown }): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c = socket.getPeerCertificate(true) as { raw?: Buffer; issuerCertificate?: unknown } | null;
  const seen = new Set<unknown>();
  while (c?.raw && !seen.has(c) && out.length < MAX_CHAIN + 1) {
    seen.add(c);
    try {
      out.push(new X509Certificate(c.raw));
    } catch {
      break;
    }
    c = (c.issuerCertificate ?? null) as typeof c;
  }
  return out;
}
