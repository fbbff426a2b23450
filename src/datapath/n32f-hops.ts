// src/datapath/n32f-hops.ts — the next hops of N32-f toward a peer (N32-PROFILE P11; TS 33.501 13.2.1): the one
// place where the N32-f endpoint is chosen. With Roaming Intermediaries configured (peers[].n32fNextHops) they are
// the hops, in order (forward proxies: hop-by-hop TLS with the RI, whose certificate chains to the RI trust store
// and names its ipxProviderId; :authority = the peer's N32-f FQDN:port); else the peer's own N32-f endpoint. TLS
// mode never goes through an RI (`direct`). Also what counts as an RI failing to carry a message (back-off).
import type { X509Certificate } from "node:crypto";
import { resolvePem } from "../config/pem.ts";
import type { PeerConfig, SeppConfig } from "../config/schema.ts";
import { parsePemCerts, type TrustStore } from "../pki/trust.ts";
import type { H2Response } from "../transport/h2client.ts";

/**
 * One hop of N32-f toward a peer (N32-PROFILE P11, TS 33.501 13.2.1): the peer SEPP's N32-f endpoint, or one of
 * our own RI next hops (forward proxy: hop-by-hop TLS with the RI, :authority = the peer's N32-f FQDN:port).
 */
export interface N32fHop {
  kind: "peer" | "ri";
  /** https://host:port: where the TLS connection goes (the pool key) */
  url: string;
  /** dNSName the server certificate must carry: the peer's N32 FQDN, or the RI's identity */
  expectDnsName: string;
  /** :authority on this hop; absent: the URL's host:port */
  authority?: string;
  /** RI hops: the roots the RI's certificate must chain to (the RI trust store, never the PLMN anchors) */
  riRoots?: X509Certificate[];
}

/** The peer's N32-f endpoint: the configured n32fUri (else n32cUri) and the peer's FQDN with that port. */
export function peerN32fEndpoint(peer: PeerConfig): { url: string; fqdn: string; port: number } {
  const url = peer.n32fUri ?? peer.n32cUri;
  const u = new URL(url);
  return { url, fqdn: peer.n32Fqdn, port: Number(u.port || 443) };
}

/** Per configuration version: the hops of each peer (PEM trust anchors parsed once). */
const routes = new WeakMap<PeerConfig, { cfg: SeppConfig; hops: N32fHop[] | null; direct: N32fHop[] }>();

/**
 * The ordered next hops toward a peer: the one place where the N32-f endpoint is chosen (P11). With RIs
 * configured (peer.n32fNextHops) they are the only hops (TLS mode never goes through an RI, so `direct` asks for
 * the peer's endpoint alone); else the peer's N32-f endpoint.
 */
export function n32fHopsOf(cfg: SeppConfig, peer: PeerConfig, trust: TrustStore, direct = false): N32fHop[] {
  let cached = routes.get(peer);
  if (cached?.cfg !== cfg) {
    const ep = peerN32fEndpoint(peer);
    cached = { cfg, direct: [{ kind: "peer", url: ep.url, expectDnsName: peer.n32Fqdn }], hops: null };
    routes.set(peer, cached);
  }
  if (direct || peer.n32fNextHops.length === 0) return cached.direct;
  if (!cached.hops) {
    const ep = peerN32fEndpoint(peer);
    const authority = `${ep.fqdn}:${ep.port}`;
    cached.hops = peer.n32fNextHops.map((h) => ({
      kind: "ri",
      url: h.uri,
      expectDnsName: h.ipxProviderId,
      authority,
      riRoots: h.trustAnchors?.length
        ? h.trustAnchors.flatMap((r) => parsePemCerts(resolvePem(r, cfg.storage.dir)))
        : [...trust.riRoots],
    }));
  }
  return cached.hops;
}

/** Whether an RI's answer means "this RI cannot carry it" (P11): 502/503/504 without a ProblemDetailsMsgForwarding. */
export function isRiFailure(r: H2Response): boolean {
  if (r.status !== 502 && r.status !== 503 && r.status !== 504) return false;
  try {
    const p = JSON.parse(r.text()) as { cause?: unknown; suggestedStatusCode?: unknown } | null;
    // ProblemDetailsMsgForwarding (TS 29.573 6.2.5.2.3) = a ProblemDetails of an N32-f peer: a cause is required
    return !(p && typeof p === "object" && typeof p.cause === "string");
  } catch {
    return true;
  }
}
