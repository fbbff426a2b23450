// src/pki/trust.ts — per-PLMN trust anchors for N32 (TS 33.501 13.1.2, N32-PROFILE P9) and the separate
// Roaming Intermediary trust store (TS 33.501 5.9.3.2, P10).
//
// N32 certificate check: the leaf's PLMN IDs (SAN labels, plmn.ts) select one anchor; the chain must end
// at a root of that anchor. A certificate without PLMN labels, a PLMN without an anchor, or PLMN IDs that map
// to different anchors are refused (SCAS TS 33.517 4.2.5 C3/C4). RI roots are never N32-c TLS roots.
// Each anchor (and the RI store) may carry CRLs (P11 "Trust", crl.ts): a revoked link of the chain is refused.
// node:crypto X509Certificate is used for verification (synchronous, BoringSSL): no hand-written ASN.1.
// The checks are synchronous on purpose: they run inside the TLS connection set-up (P11: before any HTTP/2 frame).
import { X509Certificate } from "node:crypto";
import type { PlmnId } from "../model/n32.ts";
import type { SeppConfig } from "../config/schema.ts";
import { resolvePem, splitPem } from "../config/pem.ts";
import { plmnKey } from "../model/plmn.ts";
import { certHasDnsName, dnsNamesOf, plmnIdsOf } from "./plmn.ts";
import { parseCrl, revokedIn, splitCrlPem, type Crl } from "./crl.ts";

export interface TrustAnchor {
  name: string;
  plmnIds: PlmnId[];
  roots: X509Certificate[];
  /** CRLs of this anchor's CAs (P11) */
  crls?: Crl[];
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

/**
 * Walk from `leaf` through `intermediates` to one of `roots`; every link signature- and date-checked, none revoked
 * by `crls`. Returns the reason of a refusal, or null.
 */
function chainsTo(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  roots: X509Certificate[],
  now: Date,
  crls: readonly Crl[] = [],
): string | null {
  let cur = leaf;
  const seen = new Set<string>([leaf.fingerprint256]);
  const path: X509Certificate[] = [leaf];
  for (let depth = 0; depth <= MAX_CHAIN; depth++) {
    if (!validAt(cur, now)) return `certificate ${cur.subject.replace(/\n/g, ",")} not valid now`;
    const root = roots.find(
      (r) => r.fingerprint256 === cur.fingerprint256 || (cur.checkIssued(r) && cur.verify(r.publicKey)),
    );
    if (root) {
      if (root.fingerprint256 !== cur.fingerprint256 && !validAt(root, now)) return "trust anchor root not valid now";
      if (root.fingerprint256 === cur.fingerprint256 && depth === 0)
        return "a root certificate is not an end-entity certificate";
      if (root.fingerprint256 !== cur.fingerprint256) path.push(root);
      return revokedIn(path, crls);
    }
    // an intermediate must be a CA and not self-issued (a self-issued one is some other anchor's root)
    const c = cur;
    const next = intermediates.find(
      (i) => i.ca && i.subject !== i.issuer && !seen.has(i.fingerprint256) && c.checkIssued(i) && c.verify(i.publicKey),
    );
    if (!next) return "certificate does not chain to the trust anchor of its PLMN IDs";
    seen.add(next.fingerprint256);
    path.push(next);
    cur = next;
  }
  return "certificate chain too long";
}

/** CRLs from configured PEM sources (texts or paths); throws naming the source on a malformed one. */
export function loadCrls(sources: readonly string[], dir: string, where: string): Crl[] {
  const out: Crl[] = [];
  sources.forEach((src, i) => {
    const pem = resolvePem(src, dir);
    const blocks = splitCrlPem(pem);
    if (blocks.length === 0) throw new Error(`${where}/${i}: no "X509 CRL" PEM block`);
    blocks.forEach((b, j) => {
      try {
        out.push(parseCrl(b, `${where}/${i}${blocks.length > 1 ? `#${j}` : ""}`));
      } catch (e) {
        throw new Error(`${where}/${i}: malformed CRL: ${(e as Error).message}`);
      }
    });
  });
  return out;
}

export class TrustStore {
  readonly anchors: readonly TrustAnchor[];
  readonly riRoots: readonly X509Certificate[];
  readonly riCrls: readonly Crl[];
  #byPlmn = new Map<string, TrustAnchor>();

  constructor(anchors: TrustAnchor[], riRoots: X509Certificate[] = [], riCrls: Crl[] = []) {
    this.anchors = anchors;
    this.riRoots = riRoots;
    this.riCrls = riCrls;
    for (const a of anchors) for (const p of a.plmnIds) this.#byPlmn.set(plmnKey(p), a);
  }

  /** Build from the configuration (PEM sources resolved relative to storage.dir). Throws on a malformed CRL. */
  static fromConfig(cfg: SeppConfig): TrustStore {
    const dir = cfg.storage.dir;
    const anchors = cfg.tls.trustAnchors.map((a, i) => ({
      name: a.name,
      plmnIds: a.plmnIds,
      roots: a.roots.flatMap((r) => parsePemCerts(resolvePem(r, dir))),
      crls: loadCrls(a.crls ?? [], dir, `/tls/trustAnchors/${i}/crls`),
    }));
    const ri = cfg.tls.riTrustAnchors.flatMap((r) => parsePemCerts(resolvePem(r, dir)));
    return new TrustStore(anchors, ri, loadCrls(cfg.tls.riCrls ?? [], dir, "/tls/riCrls"));
  }

  /** CRLs past their nextUpdate (still applied; the operator should renew them). */
  staleCrls(now = new Date()): string[] {
    return [...this.anchors.flatMap((a) => a.crls ?? []), ...this.riCrls]
      .filter((c) => c.nextUpdate !== undefined && c.nextUpdate.getTime() < now.getTime())
      .map((c) => c.source);
  }

  /** PEM of every N32 root (the `ca` of the N32 listener; the per-PLMN check runs at connection set-up). Never RI roots. */
  tlsCaPem(): string[] {
    return this.anchors.flatMap((a) => a.roots.map((r) => r.toString()));
  }

  /**
   * The roots of the anchor of `plmnIds` only (the `ca` of a client connection toward a peer of those PLMNs, so the
   * TLS stack itself refuses a server chain to another anchor inside the handshake: P11, TS 33.517 4.2.5). Empty
   * when the PLMNs have no anchor or map to different anchors (then no server certificate can pass).
   */
  tlsCaPemFor(plmnIds: readonly PlmnId[]): string[] {
    const a = this.#anchorOfAll(plmnIds);
    return a ? a.roots.map((r) => r.toString()) : [];
  }

  /** PEM of the RI roots (the N32-f listener accepts listed RIs as TLS clients, P11). */
  riCaPem(): string[] {
    return this.riRoots.map((r) => r.toString());
  }

  #anchorOfAll(plmnIds: readonly PlmnId[]): TrustAnchor | undefined {
    let anchor: TrustAnchor | undefined;
    for (const p of plmnIds) {
      const a = this.anchorOf(p);
      if (!a || (anchor && anchor !== a)) return undefined;
      anchor = a;
    }
    return anchor;
  }

  /**
   * A `checkServerIdentity` for node:tls toward a peer SEPP (runs inside the handshake, before `secureConnect`): the
   * server chain must lead to the anchor of the peer's configured PLMNs (not any anchor), name `expectDnsName`, name
   * only PLMNs of that anchor, and have no revoked link. Returns an Error to abort the connection.
   */
  serverCheck(
    expectDnsName: string,
    peerPlmnIds: readonly PlmnId[],
  ): (host: string, cert: unknown) => Error | undefined {
    return (_host, cert) => {
      const chain = chainOfDetailed(cert);
      const r = this.verifyN32Chain(chain);
      if (!r.ok) return new Error(`peer certificate refused: ${r.reason}`);
      const want = this.#anchorOfAll(peerPlmnIds);
      if (!want || want.name !== r.anchor)
        return new Error("peer certificate refused: not issued under the trust anchor of the peer's PLMN IDs");
      if (!certHasDnsName(r.leaf, expectDnsName))
        return new Error(`peer certificate refused: does not name ${expectDnsName}`);
      return undefined;
    };
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
    const err = chainsTo(leaf, chain.slice(1, MAX_CHAIN + 1), anchor!.roots, now, anchor!.crls);
    if (err) return { ok: false, reason: err };
    return { ok: true, anchor: anchor!.name, plmnIds, dnsNames: dnsNamesOf(leaf), leaf };
  }

  /**
   * Check a TLS client chain against the RI trust store (P11: an RI as N32-f hop): issued under an RI root, valid,
   * not revoked. The caller decides whether its dNSNames name a listed RI.
   */
  verifyRiTlsChain(
    chain: X509Certificate[],
    now = new Date(),
  ): { ok: true; dnsNames: string[] } | { ok: false; reason: string } {
    const leaf = chain[0];
    if (!leaf) return { ok: false, reason: "no peer certificate" };
    if (leaf.ca) return { ok: false, reason: "peer certificate is a CA certificate" };
    if (this.riRoots.length === 0) return { ok: false, reason: "no RI trust anchors configured" };
    const err = chainsTo(leaf, chain.slice(1, MAX_CHAIN + 1), [...this.riRoots], now, this.riCrls);
    if (err) return { ok: false, reason: `RI certificate: ${err}` };
    return { ok: true, dnsNames: dnsNamesOf(leaf) };
  }

  /** Revocation of a chain already built (leaf first, each followed by its issuer) against every CRL known here. */
  revocationOf(path: readonly X509Certificate[]): string | null {
    return revokedIn(path, [...this.anchors.flatMap((a) => a.crls ?? []), ...this.riCrls]);
  }

  /**
   * Check an RI certificate from the RI security-information round (P10): issued under the RI trust store,
   * valid now, a dNSName equal to `ipxProviderId`, a P-256 key. `chain` = leaf first, then intermediates.
   */
  verifyRiCert(chain: X509Certificate[], ipxProviderId: string, now = new Date()): string | null {
    const leaf = chain[0];
    if (!leaf) return "empty certificate list";
    if (this.riRoots.length === 0) return "no RI trust anchors configured";
    const err = chainsTo(leaf, chain.slice(1, MAX_CHAIN + 1), [...this.riRoots], now, this.riCrls);
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
  return chainOfDetailed(socket.getPeerCertificate(true));
}

/** A chain (leaf first) from node:tls's detailed certificate object (`raw`, `issuerCertificate`). Bounded. */
export function chainOfDetailed(detailed: unknown): X509Certificate[] {
  const out: X509Certificate[] = [];
  let c = detailed as { raw?: Buffer; issuerCertificate?: unknown } | null;
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
