// src/n32c/n32f-endpoint.ts — where N32-f toward a peer goes (N32-PROFILE P11 "Negotiation": the peer's
// `senderN32fFqdn`/`senderN32fPort(List)` are used, else the configured n32fUri; after a 307 on N32-c, the endpoint
// the redirect target announced). Pure, no I/O: the data path resolves a name when it connects. The rule
// (docs/N32C.md "The peer's N32-f endpoint"):
//   base = the configured n32fUri (else n32cUri); after a 307, the redirect target's N32-c URI.
//   announced FQDN F (default: the N32 FQDN of the SEPP we negotiated with), first announced port P:
//   - F names the base host, the peer's N32 FQDN or the redirect target → the base's address, port P (else the
//     base's port);
//   - F is another name in the 3GPP domain of one of the peer's PLMNs → F itself (resolved like every name the
//     data path reaches: sbi.staticHosts, then DNS), port P (else 443);
//   - anything else is ignored (the base is used and the reason logged): an announcement never makes us connect
//     outside the peer's own domain.
// The server certificate must name the SEPP we negotiated with (the peer's N32 FQDN, or the redirect target's).
import { isIP } from "node:net";
import type { PeerConfig } from "../config/schema/peers.ts";
import type { PeerAnnouncement } from "./messages.ts";
import { plmnDomainsOf } from "./redirect.ts";

export interface N32fEndpoint {
  /** https://host:port where the TLS connection goes (an address, or a name resolved when connecting) */
  url: string;
  /** the peer's N32-f FQDN and port (:authority toward our RIs, and toward the peer when announced) */
  fqdn: string;
  port: number;
  /** the dNSName the server certificate must carry */
  expectDnsName: string;
  /** "announced": F and P from the peer; "configured": the base */
  source: "announced" | "configured";
  /** `url` names a host that is not configured (to be resolved through sbi.staticHosts, then DNS) */
  byName: boolean;
  /** TLS mode: the peer takes 3gpp-Sbi-Target-apiRoot (no announcement known: true, as before P11) */
  targetApiRootSupported: boolean;
  /** why an announcement was not used (logged once per association) */
  ignored?: string;
}

const norm = (h: string) => h.toLowerCase().replace(/\.$/, "");
const urlOf = (host: string, port: number) => `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

/**
 * The N32-f endpoint toward `peer` for an association negotiated with `redirect` (the 307 target, absent: the peer
 * itself) where the peer announced `a` (absent: nothing known, the configured endpoint).
 */
export function n32fEndpointFor(
  peer: PeerConfig,
  a?: PeerAnnouncement,
  redirect?: { uri: string; fqdn: string },
): N32fEndpoint {
  const base = new URL(redirect?.uri ?? peer.n32fUri ?? peer.n32cUri);
  const baseHost = base.hostname.replace(/^\[|\]$/g, "");
  const basePort = Number(base.port || 443);
  const sepp = redirect?.fqdn ?? peer.n32Fqdn;
  const configured: N32fEndpoint = {
    url: urlOf(baseHost, basePort),
    fqdn: sepp,
    port: basePort,
    expectDnsName: sepp,
    source: "configured",
    // a redirect target's host comes from a Location, not from our configuration: resolved like any other name
    byName: !!redirect && !isIP(baseHost),
    targetApiRootSupported: a?.targetApiRootSupported ?? true,
  };
  if (!a || (a.n32fFqdn === undefined && a.n32fPorts.length === 0)) return configured;
  const f = norm(a.n32fFqdn ?? sepp);
  const port = a.n32fPorts[0];
  const known = [baseHost, sepp, ...(redirect ? [] : [peer.n32Fqdn])].map(norm);
  if (known.includes(f)) {
    const p = port ?? basePort;
    return { ...configured, url: urlOf(baseHost, p), fqdn: f, port: p, source: "announced" };
  }
  if (!isIP(f) && plmnDomainsOf(peer).some((d) => f.endsWith(`.${d}`))) {
    const p = port ?? 443;
    return { ...configured, url: urlOf(f, p), fqdn: f, port: p, source: "announced", byName: true };
  }
  return {
    ...configured,
    ignored: `senderN32fFqdn ${f.slice(0, 253)} is neither the peer's N32 FQDN, the configured N32-f host nor in its PLMN's 3GPP domain`,
  };
}

/** Per association (or per peer without one): the endpoint computed once (the data path asks on every request). */
const cache = new WeakMap<object, { peer: PeerConfig; ep: N32fEndpoint }>();

/** n32fEndpointFor, cached per `key` (the association record) and configuration entry; `onIgnored` runs once. */
export function cachedN32fEndpoint(
  key: object,
  peer: PeerConfig,
  a: PeerAnnouncement | undefined,
  redirect: { uri: string; fqdn: string } | undefined,
  onIgnored: (why: string) => void,
): N32fEndpoint {
  const c = cache.get(key);
  if (c && c.peer === peer) return c.ep;
  const ep = n32fEndpointFor(peer, a, redirect);
  if (ep.ignored) onIgnored(ep.ignored);
  cache.set(key, { peer, ep });
  return ep;
}
