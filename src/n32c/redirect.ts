// src/n32c/redirect.ts — which exchange-capability redirect (307, TS 29.573 Rel-18: "redirect to another
// SEPP") the initiator follows. Pure. The decision (docs/N32C.md "Redirects"):
//   Location = absolute `https://<fqdn>[:port]/n32c-handshake/v1/exchange-capability`, nothing else (no
//   user info, query or fragment, no IP literal), where <fqdn> is the configured peer's N32 FQDN or a name in
//   the 3GPP domain of one of the peer's PLMNs, `….5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org` (TS 23.003 28.x,
//   MNC padded to 3 digits as in P9); at most MAX_REDIRECTS per handshake. The new connection is checked like
//   any other (core.connect: per-PLMN anchor, dNSName = the Location host, one of the peer's PLMN IDs).
import { isIP } from "node:net";
import type { PeerConfig } from "../config/schema/peers.ts";
import { fiveGcDomainOf } from "../model/plmn.ts";
import { API_PREFIX, type N32cTarget } from "./core-types.ts";

export const MAX_REDIRECTS = 2;
const MAX_LOCATION = 1024;
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const norm = (h: string) => h.toLowerCase().replace(/\.$/, "");

/** The 3GPP domains of the peer's PLMNs: `5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org`. */
export function plmnDomainsOf(peer: PeerConfig): string[] {
  return peer.plmnIds.map(fiveGcDomainOf);
}

/** The N32-c endpoint a 307 `Location` names, or why it is not followed. */
export function redirectTarget(
  location: string | undefined,
  peer: PeerConfig,
): { ok: true; target: N32cTarget } | { ok: false; reason: string } {
  if (!location) return { ok: false, reason: "307 without Location" };
  if (location.length > MAX_LOCATION) return { ok: false, reason: "Location too long" };
  let u: URL;
  try {
    u = new URL(location); // throws for a relative reference: only absolute URIs are followed
  } catch {
    return { ok: false, reason: "Location is not an absolute URI" };
  }
  if (u.protocol !== "https:") return { ok: false, reason: "Location is not https" };
  if (u.username || u.password || u.search || u.hash || location.includes("?") || location.includes("#"))
    return { ok: false, reason: "Location carries user info, a query or a fragment" };
  if (u.pathname !== `${API_PREFIX}/exchange-capability`)
    return { ok: false, reason: "Location is not …/n32c-handshake/v1/exchange-capability" };
  const host = norm(u.hostname);
  if (host.startsWith("[") || isIP(host)) return { ok: false, reason: "Location names an IP address, not an FQDN" };
  const labels = host.split(".");
  if (host.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)))
    return { ok: false, reason: "Location host is not an FQDN" };
  const inDomain = host === norm(peer.n32Fqdn) || plmnDomainsOf(peer).some((d) => host.endsWith(`.${d}`));
  if (!inDomain)
    return { ok: false, reason: `Location host ${host} is neither the peer's N32 FQDN nor in its PLMN's domain` };
  return { ok: true, target: { uri: u.origin, fqdn: host } };
}
