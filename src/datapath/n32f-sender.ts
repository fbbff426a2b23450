// src/datapath/n32f-sender.ts — who holds the other end of an N32-f TLS connection at the pSEPP (TS 33.501
// 13.1.2; N32-PROFILE P8, P9, P11): a configured peer SEPP, recognised by its certificate verified against the
// per-PLMN trust anchors with every PLMN of the certificate one of the peer's; or a Roaming Intermediary whose
// certificate is issued under the RI trust store and whose dNSName is the identity of an RI listed in the RI
// security information of a live association. Anything else may not send N32-f. The peer verdict is kept on the
// connection while the configuration is the same; the RI verdict depends on the live associations and is taken
// again for every message.
import type { PeerConfig } from "../config/schema/peers.ts";
import type { SeppConfig } from "../config/schema.ts";
import type { N32fContext } from "../n32f/context.ts";
import { certHasDnsName } from "../pki/plmn.ts";
import { samePlmn } from "../model/plmn.ts";
import type { DataPathDeps } from "./deps.ts";
import type { N32fConn } from "./http.ts";

/** The configured peer behind an N32 TLS connection (certificate verified against the per-PLMN anchors, P9). */
export function peerOfConnection(
  conn: N32fConn,
  cfg: SeppConfig,
  deps: Pick<DataPathDeps, "trust">,
): PeerConfig | null {
  const cached = conn.data.get("datapath.peer") as { cfg: SeppConfig; peer: PeerConfig | null } | undefined;
  if (cached && cached.cfg === cfg) return cached.peer;
  let peer: PeerConfig | null = null;
  const r = deps.trust().verifyN32Chain(conn.peerChain());
  if (r.ok) {
    const names = new Set(r.dnsNames.map((n) => n.toLowerCase()));
    const candidate = cfg.peers.find((p) => names.has(p.n32Fqdn.toLowerCase()));
    // every PLMN of the certificate must be one of the peer's (TS 33.501 13.1.2, P8)
    if (candidate && r.plmnIds.every((x) => candidate.plmnIds.some((y) => samePlmn(x, y)))) peer = candidate;
  }
  conn.data.set("datapath.peer", { cfg, peer });
  return peer;
}

/** A TLS client refused on N32-f: a security event (TS 33.117 4.2.3.6.1), at most one line per 10 s and
 *  certificate subject; the subject and source address identify the client, nothing of the request is logged. */
export function admissionRefused(d: Pick<DataPathDeps, "log">, plane: string, conn: N32fConn, reason: string): void {
  const subject = conn.peerChain()[0]?.subject.replaceAll("\n", ", ") ?? "none";
  d.log.every(`n32f-admission-${subject}`, 10_000, "warn", "N32-f client refused", {
    category: "security",
    event: "n32-admission-refused",
    plane,
    reason,
    subject,
    source: conn.socket.remoteAddress,
  });
}

/** Who holds the other end of an N32-f TLS connection (N32-PROFILE P11). */
export type N32fSender = { kind: "peer"; peer: PeerConfig } | { kind: "ri"; ipxProviderId: string };

/** The RI identities of the RI security information exchanged on a context's association (ours and the peer's). */
export function risOf(ctx: N32fContext): string[] {
  const a = ctx.association;
  return [...a.ownRis, ...a.peerRis].map((r) => r.ipxProviderId.toLowerCase().replace(/\.$/, ""));
}

/**
 * The sender of N32-f on a TLS connection: a configured peer SEPP (per-PLMN anchors, P9), or a Roaming Intermediary
 * (P11): a certificate issued under the RI trust store whose dNSName is the identity of an RI in the RI security
 * information exchanged with at least one peer (live contexts). Anything else: null. The RI verdict depends on
 * the live associations, so it is not kept on the connection.
 */
export function n32fSenderOf(
  conn: N32fConn,
  cfg: SeppConfig,
  deps: Pick<DataPathDeps, "trust" | "contexts">,
): N32fSender | null {
  const peer = peerOfConnection(conn, cfg, deps);
  if (peer) return { kind: "peer", peer };
  const chain = conn.peerChain();
  const leaf = chain[0];
  if (!leaf) return null;
  const listed = new Set<string>();
  for (const c of deps.contexts.list()) if (c.state === "active") for (const id of risOf(c)) listed.add(id);
  const trust = deps.trust();
  for (const id of listed)
    if (certHasDnsName(leaf, id) && trust.verifyRiCert(chain, id) === null) return { kind: "ri", ipxProviderId: id };
  return null;
}
