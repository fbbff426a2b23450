// src/config/schema/n32c.ts — N32-c timing, key life and redirect (TS 29.573 5.2), and the N32 listeners'
// connection bounds (issue 10 §1).
import * as v from "valibot";
import { fiveGcDomainOf } from "../../model/plmn.ts";
import { HttpsUri, PosInt } from "./common.ts";

export const N32cSchema = v.optional(
  v.strictObject({
    retryInitialMs: v.optional(PosInt, 1000),
    retryMaxMs: v.optional(PosInt, 60000),
    requestTimeoutMs: v.optional(PosInt, 10000),
    maxBodyBytes: v.optional(PosInt, 65536),
    /** N32-f context validity (P1 default 24 h) */
    contextValiditySeconds: v.optional(PosInt, 86400),
    /** re-handshake when a SEQ counter passes this (P1 default 2^31) */
    rekeySeqThreshold: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 32 - 1)), 2 ** 31),
    /** re-handshake this many seconds before validity ends */
    rekeyMarginSeconds: v.optional(PosInt, 300),
    maxRequestsPerSecond: v.optional(PosInt, 50),
    /**
     * P11 / TS 29.573 Rel-18: answer every exchange-capability with 307 toward this other SEPP of our PLMN
     * (https://<name in our PLMN's 3GPP domain>[:port]); absent: negotiate here
     */
    redirectTo: v.optional(HttpsUri),
  }),
  {},
);

/** Connection bounds of the N32 listener(s) (issue 10 §1): see docs/CONFIG.md "connection limits" */
export const N32ConnectionsSchema = v.optional(
  v.strictObject({
    /** connections all clients together may hold */
    maxConnections: v.optional(PosInt, 256),
    /** connections one configured peer (or one listed RI) may hold; the others keep theirs */
    maxConnectionsPerPeer: v.optional(PosInt, 16),
    /** connections one source IP address may have in set-up (before admission); one more is closed at accept */
    maxPendingPerSource: v.optional(PosInt, 32),
    /** TCP accept → TLS handshake → the client's HTTP/2 SETTINGS */
    prefaceTimeoutMs: v.optional(PosInt, 10_000),
    /** a connection without an open stream this long is closed (PINGs do not count) */
    idleTimeoutMs: v.optional(PosInt, 120_000),
    /** streams a client may reset before they were answered, per 10 s; above: GOAWAY ENHANCE_YOUR_CALM */
    maxResetsPer10s: v.optional(PosInt, 200),
  }),
  {},
);

/**
 * n32c.redirectTo must name another SEPP of our PLMN that an initiator built from N32-PROFILE follows (the rule of
 * src/n32c/redirect.ts seen from the other side): https, a host name in the 3GPP domain of one of our PLMNs
 * (`<…>.5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org`), not ourselves, no path, query, fragment or user info.
 */
export function redirectToProblem(uri: string, me: { n32Fqdn: string; plmnIds: Array<{ mcc: string; mnc: string }> }) {
  const u = new URL(uri);
  if (u.username || u.password || u.search || u.hash || (u.pathname !== "/" && u.pathname !== ""))
    return "https://host[:port] only (no path, query, fragment or user info)";
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  if (!me.plmnIds.some((p) => host.endsWith(`.${fiveGcDomainOf(p)}`)))
    return "the host must be in the 3GPP domain of one of our PLMNs (…5gc.mncXXX.mccYYY.3gppnetwork.org)";
  if (host === me.n32Fqdn.toLowerCase().replace(/\.$/, "")) return "that is this SEPP (a redirect loop)";
  return null;
}
