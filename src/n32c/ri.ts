// src/n32c/ri.ts — the RI security-information round of exchange-params (TS 33.501 13.2.2.2 step 3,
// N32-PROFILE P5, P10). Our own RIs are announced from the configuration; the peer's are checked before
// they are kept on the association: certificates under the separate RI trust store, valid now, dNSName =
// ipxProviderId, P-256 keys; raw public keys must be P-256 SubjectPublicKeyInfo. Never used for TLS.
import { createPublicKey, X509Certificate } from "node:crypto";
import type { IpxProviderSecInfo } from "../model/n32.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import { resolvePem, splitPem } from "../config/pem.ts";
import type { TrustStore } from "../pki/trust.ts";

export const MAX_RI_ENTRIES = 16;
export const MAX_RI_ITEMS = 8;

const b64der = (pem: string) => pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");

/** IpxProviderSecInfo of our own RIs for this peer (certificateList = base64 DER, P5). */
export function ownRiSecInfo(peer: PeerConfig, dataDir: string): IpxProviderSecInfo[] {
  return peer.roamingIntermediaries
    .filter((r) => r.side === "own")
    .map((r) => {
      const e: IpxProviderSecInfo = { ipxProviderId: r.ipxProviderId };
      const certs = r.certificates.flatMap((c) =>
        splitPem(resolvePem(c, dataDir))
          .filter((b) => b.includes("CERTIFICATE"))
          .map(b64der),
      );
      if (certs.length) e.certificateList = certs;
      if (r.rawPublicKeys.length) e.rawPublicKeyList = [...r.rawPublicKeys];
      return e;
    });
}

/** The first authorized own RI (metaData.authorizedIpxId, P3), or null. */
export function authorizedIpxIdOf(peer: PeerConfig): string | null {
  return peer.roamingIntermediaries.find((r) => r.side === "own" && r.authorized)?.ipxProviderId ?? null;
}

/**
 * The peer-side RIs of our configuration (`side: "peer"`, "expected from the peer") that the peer did not
 * announce on N32-c. Only what was exchanged on the association is used to verify modifications (P5), so these
 * are reported (logged), not trusted.
 */
export function unannouncedPeerRis(peer: PeerConfig, announced: readonly IpxProviderSecInfo[]): string[] {
  const have = new Set(announced.map((e) => e.ipxProviderId.toLowerCase().replace(/\.$/, "")));
  return peer.roamingIntermediaries
    .filter((r) => r.side === "peer" && !have.has(r.ipxProviderId.toLowerCase().replace(/\.$/, "")))
    .map((r) => r.ipxProviderId);
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function derOf(s: string): Buffer | null {
  if (s.length > 16_384 || !B64.test(s)) return null;
  return Buffer.from(s, "base64");
}

/** null when every entry of the peer's list is acceptable, else the reason (→ 403 NEGOTIATION_NOT_ALLOWED, P10). */
export function checkPeerRiSecInfo(list: IpxProviderSecInfo[], trust: TrustStore, now = new Date()): string | null {
  if (list.length > MAX_RI_ENTRIES) return `more than ${MAX_RI_ENTRIES} RI entries`;
  const ids = new Set<string>();
  for (const e of list) {
    const id = e.ipxProviderId.toLowerCase();
    if (ids.has(id)) return `RI ${e.ipxProviderId} listed twice`;
    ids.add(id);
    const certs = e.certificateList ?? [];
    const keys = e.rawPublicKeyList ?? [];
    if (certs.length === 0 && keys.length === 0) return `RI ${e.ipxProviderId}: no certificate or public key`;
    if (certs.length > MAX_RI_ITEMS || keys.length > MAX_RI_ITEMS)
      return `RI ${e.ipxProviderId}: too many certificates or keys`;
    if (certs.length) {
      const chain: X509Certificate[] = [];
      for (const c of certs) {
        const der = derOf(c);
        if (!der) return `RI ${e.ipxProviderId}: certificate is not base64 DER`;
        try {
          chain.push(new X509Certificate(der));
        } catch {
          return `RI ${e.ipxProviderId}: certificate cannot be parsed`;
        }
      }
      const err = trust.verifyRiCert(chain, e.ipxProviderId, now);
      if (err) return `RI ${e.ipxProviderId}: ${err}`;
    }
    for (const k of keys) {
      const der = derOf(k);
      if (!der) return `RI ${e.ipxProviderId}: raw public key is not base64 DER`;
      try {
        const pk = createPublicKey({ key: der, format: "der", type: "spki" });
        if (pk.asymmetricKeyType !== "ec" || pk.asymmetricKeyDetails?.namedCurve !== "prime256v1")
          return `RI ${e.ipxProviderId}: raw public key is not ECDSA P-256`;
      } catch {
        return `RI ${e.ipxProviderId}: raw public key cannot be parsed`;
      }
    }
  }
  return null;
}
