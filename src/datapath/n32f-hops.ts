// src/datapath/n32f-hops.ts — the next hops of N32-f toward a peer (N32-PROFILE P11; TS 33.501 13.2.1): the one
// place where the N32-f endpoint is chosen. With Roaming Intermediaries configured (peers[].n32fNextHops) they are
// the hops, in order (forward proxies: hop-by-hop TLS with the RI, whose certificate chains to the RI trust store
// and names its ipxProviderId; :authority = the peer's N32-f FQDN:port); else the peer's own N32-f endpoint: what
// it announced on N32-c, else the configured n32fUri (P11, src/n32c/n32f-endpoint.ts). TLS
// mode never goes through an RI (`direct`). Also what counts as an RI failing to carry a message (back-off).
import type { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { resolvePem } from "../config/pem.ts";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import { parsePemCerts, type TrustStore } from "../pki/trust.ts";
import type { H2Response } from "../transport/h2client.ts";
import { n32fEndpointFor, type N32fEndpoint } from "../n32c/n32f-endpoint.ts";

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

/** The peer's configured N32-f endpoint (n32fUri, else n32cUri): what is used while nothing was announced. */
export function peerN32fEndpoint(peer: PeerConfig): N32fEndpoint {
  return n32fEndpointFor(peer);
}

/** Per configuration version and endpoint: the hops of each peer (PEM trust anchors parsed once). */
const routes = new WeakMap<
  PeerConfig,
  { cfg: SeppConfig; ep: N32fEndpoint | undefined; hops: N32fHop[] | null; direct: N32fHop[] }
>();

/**
 * The ordered next hops toward a peer: the one place where the N32-f endpoint is chosen (P11). `ep` is the peer's
 * endpoint (N32cService.n32fEndpointOf: what it announced, else n32fUri; absent: n32fUri). With RIs configured
 * (peer.n32fNextHops) they are the only hops and carry `:authority` = the endpoint's FQDN:port (TLS mode never goes
 * through an RI, so `direct` asks for the peer's endpoint alone); else the endpoint itself. An announced name
 * that is not configured is resolved like the data path's other names: sbi.staticHosts, else DNS at connect time.
 */
export function n32fHopsOf(
  cfg: SeppConfig,
  peer: PeerConfig,
  trust: TrustStore,
  direct = false,
  ep?: N32fEndpoint,
): N32fHop[] {
  let cached = routes.get(peer);
  if (cached?.cfg !== cfg || cached.ep !== ep) {
    const e = ep ?? peerN32fEndpoint(peer);
    let url = e.url;
    if (e.byName) {
      const u = new URL(e.url);
      const addr = cfg.sbi.staticHosts[u.hostname.toLowerCase()];
      if (addr) url = `https://${isIP(addr) === 6 ? `[${addr}]` : addr}:${u.port || 443}`;
    }
    const hop: N32fHop = { kind: "peer", url, expectDnsName: e.expectDnsName };
    // toward an announced endpoint :authority names it (the configured one keeps the URL's host:port)
    if (e.source === "announced") hop.authority = `${e.fqdn}:${e.port}`;
    cached = { cfg, ep, direct: [hop], hops: null };
    routes.set(peer, cached);
  }
  if (direct || peer.n32fNextHops.length === 0) return cached.direct;
  if (!cached.hops) {
    const e = ep ?? peerN32fEndpoint(peer);
    const authority = `${e.fqdn}:${e.port}`;
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
