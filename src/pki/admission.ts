// src/pki/admission.ts — who may hold a connection on an N32 listener (issue 10 §1; N32-PROFILE P9, P11 "Trust"
// and "Transport and Roaming Intermediaries"; TS 33.517 4.2.5). Decided once per connection, at set-up, from
// the client certificate chain alone, before any HTTP/2 frame on it is processed:
// - a configured peer SEPP: the chain leads to the trust anchor of the PLMN IDs the certificate names (one anchor
//   for all of them), no link revoked, and a dNSName equal to the peer's N32 FQDN;
// - on an N32-f listener only: a Roaming Intermediary whose identity (a dNSName of its certificate) is listed in
//   the RI security information exchanged with or configured for at least one peer, its chain leading to the RI
//   trust store (never a PLMN root), no link revoked.
// Anything else is refused; the reason is for the log, never sent to the client.
import type { X509Certificate } from "node:crypto";
import type { PlmnId } from "../model/n32.ts";
import { plmnKey } from "../model/plmn.ts";
import { plmnIdsOf } from "./plmn.ts";
import type { TrustStore } from "./trust.ts";

/** What the listener learned about the client of one connection. */
export interface ConnIdentity {
  kind: "peer" | "ri";
  /** the configured peer id, or the RI's ipxProviderId */
  id: string;
  /** the PLMN IDs of a peer SEPP's certificate (empty for an RI) */
  plmnIds: PlmnId[];
}

export type Admission = ({ ok: true } & ConnIdentity) | { ok: false; reason: string };

/** The part of a peer's configuration admission needs. */
export interface AdmissionPeer {
  id: string;
  n32Fqdn: string;
  plmnIds: readonly PlmnId[];
}

const norm = (n: string) => n.toLowerCase().replace(/\.$/, "");

/**
 * Decide about one client chain (leaf first, as presented on TLS).
 * `listedRis`: identities (ipxProviderId) of the RIs that may be a hop; pass none on an N32-c-only listener
 * (P9: RI certificates are never accepted for N32-c TLS).
 */
export function admitN32Client(
  chain: X509Certificate[],
  trust: TrustStore,
  peers: readonly AdmissionPeer[],
  listedRis: Iterable<string> = [],
  now = new Date(),
): Admission {
  const leaf = chain[0];
  if (!leaf) return { ok: false, reason: "no client certificate" };
  const hasPlmnLabels = plmnIdsOf(leaf).length > 0;
  let reason = "";
  if (hasPlmnLabels) {
    const r = trust.verifyN32Chain(chain, now);
    if (r.ok) {
      const names = new Set(r.dnsNames.map(norm));
      const peer = peers.find((p) => names.has(norm(p.n32Fqdn)));
      if (!peer) return { ok: false, reason: "certificate names no configured peer" };
      // every PLMN of the certificate must be one of the peer's (TS 33.501 13.1.2, P8)
      const own = new Set(peer.plmnIds.map(plmnKey));
      if (!r.plmnIds.every((p) => own.has(plmnKey(p))))
        return { ok: false, reason: `certificate names PLMN IDs not configured for peer ${peer.id}` };
      return { ok: true, kind: "peer", id: peer.id, plmnIds: r.plmnIds };
    }
    reason = r.reason;
  }
  const listed = new Set<string>();
  for (const id of listedRis) listed.add(norm(id));
  if (listed.size === 0) return { ok: false, reason: reason || "certificate names no configured peer" };
  const ri = trust.verifyRiTlsChain(chain, now);
  if (!ri.ok) return { ok: false, reason: reason || ri.reason };
  const id = ri.dnsNames.find((n) => listed.has(norm(n)));
  if (!id) return { ok: false, reason: "certificate names no listed Roaming Intermediary" };
  return { ok: true, kind: "ri", id: norm(id), plmnIds: [] };
}

/** Admission with the per-PLMN anchors alone (any valid SEPP chain; used where no peer list applies, e.g. tests). */
export function admitAnyN32Chain(chain: X509Certificate[], trust: TrustStore, now = new Date()): Admission {
  const r = trust.verifyN32Chain(chain, now);
  if (!r.ok) return r;
  return { ok: true, kind: "peer", id: r.dnsNames[0] ?? r.leaf.fingerprint256, plmnIds: r.plmnIds };
}

/** The RI identities configured for any peer (own and peer side), normalised. */
export function configuredRis(
  peers: ReadonlyArray<{ roamingIntermediaries?: ReadonlyArray<{ ipxProviderId: string }> }>,
): string[] {
  return peers.flatMap((p) => (p.roamingIntermediaries ?? []).map((r) => norm(r.ipxProviderId)));
}

/**
 * The admission of one N32 listener from the configuration in force: configured peers always; listed RIs only
 * when `carriesN32f` (P9: never on an N32-c-only listener). `exchangedRis`: RI identities received in the RI
 * security information of at least one peer (N32-c state), added to the configured ones.
 */
export function n32Admission(
  config: () => {
    peers: ReadonlyArray<AdmissionPeer & { roamingIntermediaries?: ReadonlyArray<{ ipxProviderId: string }> }>;
  },
  carriesN32f: boolean,
  exchangedRis: () => Iterable<string> = () => [],
): (chain: X509Certificate[], trust: TrustStore) => Admission {
  return (chain, trust) => {
    const peers = config().peers;
    const ris = carriesN32f ? [...configuredRis(peers), ...exchangedRis()] : [];
    return admitN32Client(chain, trust, peers, ris);
  };
}
