// src/sbi/origin.ts — `3gpp-Sbi-Originating-Network-Id` (TS 29.500 5.2.3.2.x, ABNF in
// TS29500_CustomHeaders.abnf; TS 33.501 5.9.3.2; N32-PROFILE P8, P10; digest §5.3).
//
//   "3gpp-Sbi-Originating-Network-Id:" OWS 3DIGIT "-" 2*3DIGIT [ "-" 11HEXDIG ] [ ";" OWS srcinfo ] OWS
//   srcinfo = "src" ":" RWS srctype "-" srcfqdn ; srctype = "SCP" / "SEPP" ; srcfqdn = 4*( ALPHA / DIGIT / "-" / "." )
//
// Sending SEPP (cSEPP): present → must name one of our own PLMN IDs (those our certificate represents),
// else discard (403 PLMN_ID_MISMATCH); absent → insert `<own PLMN>; src: SEPP-<own FQDN>`.
// Receiving SEPP (pSEPP): present → must name one of the peer's PLMN IDs (N32-f context / certificate /
// configuration), else 403 ProblemDetailsMsgForwarding PLMN_ID_MISMATCH, suggestedStatusCode 403, no
// n32f-error (P10); absent → log a warning and forward. Pure.
import type { PlmnId, PlmnIdNid } from "../model/n32.ts";
import { plmnKey } from "../model/plmn.ts";
import { SeppError } from "../errors.ts";

export const ORIGINATING_NETWORK_ID = "3gpp-sbi-originating-network-id";
const MAX_VALUE_LENGTH = 512;

export interface OriginatingNetworkId {
  plmn: PlmnId;
  /** SNPN NID, 11 hex digits (lowercased) */
  nid?: string;
  src?: { type: "SCP" | "SEPP"; fqdn: string };
}

export class OriginError extends SeppError {
  override name = "OriginError";
  constructor(detail: string) {
    super("INVALID_ORIGINATING_NETWORK_ID", detail, { status: 400, problemCause: "MANDATORY_IE_INCORRECT" });
  }
}

const RE =
  /^[ \t]*(\d{3})-(\d{2,3})(?:-([0-9A-Fa-f]{11}))?(?:;[ \t]*src:[ \t]+(SCP|SEPP)-([A-Za-z0-9.-]{4,253}))?[ \t]*$/i; // ABNF literals are case-insensitive (RFC 5234)

/** Parse one header value by the ABNF; throws OriginError with a clear reason. */
export function parseOriginatingNetworkId(value: string): OriginatingNetworkId {
  if (typeof value !== "string") throw new OriginError("not a string");
  if (value.length > MAX_VALUE_LENGTH) throw new OriginError("3gpp-Sbi-Originating-Network-Id too long");
  const m = RE.exec(value);
  if (!m)
    throw new OriginError("3gpp-Sbi-Originating-Network-Id does not match <mcc>-<mnc>[-<nid>][; src: SCP|SEPP-<fqdn>]");
  const out: OriginatingNetworkId = { plmn: { mcc: m[1]!, mnc: m[2]! } };
  if (m[3]) out.nid = m[3].toLowerCase();
  if (m[4]) out.src = { type: m[4].toUpperCase() as "SCP" | "SEPP", fqdn: m[5]! };
  return out;
}

/** Format per the ABNF: `262-01`, `262-01-0123456789a; src: SEPP-sepp.example.org`. */
export function formatOriginatingNetworkId(o: OriginatingNetworkId): string {
  if (!/^\d{3}$/.test(o.plmn.mcc) || !/^\d{2,3}$/.test(o.plmn.mnc)) throw new OriginError("invalid PLMN ID");
  let s = `${o.plmn.mcc}-${o.plmn.mnc}`;
  if (o.nid !== undefined) {
    if (!/^[0-9A-Fa-f]{11}$/.test(o.nid)) throw new OriginError("NID must be 11 hex digits");
    s += `-${o.nid}`;
  }
  if (o.src) {
    if (!/^[A-Za-z0-9.-]{4,253}$/.test(o.src.fqdn)) throw new OriginError("invalid src FQDN");
    s += `; src: ${o.src.type}-${o.src.fqdn}`;
  }
  return s;
}

/** Whether `id` names one of `networks` (PLMN compared with MNC padded to 3 digits, P9; NIDs must match too). */
export function originMatches(id: OriginatingNetworkId, networks: readonly PlmnIdNid[]): boolean {
  const k = plmnKey(id.plmn);
  return networks.some((n) => plmnKey(n) === k && (n.nid ?? "").toLowerCase() === (id.nid ?? ""));
}

export type OriginOutcome =
  | {
      action: "forward";
      /** the header value to send on (the received one, or the inserted one); null: none (pSEPP, missing) */
      value: string | null;
      inserted: boolean;
      /** set when the header was missing at the pSEPP: log a warning (P10) */
      warning?: string;
      parsed: OriginatingNetworkId | null;
    }
  | {
      action: "reject";
      status: number;
      /** ProblemDetails cause */
      cause: "PLMN_ID_MISMATCH" | "MANDATORY_IE_INCORRECT";
      detail: string;
    };

function single(
  values: string | readonly string[] | null | undefined,
): { ok: true; value: string | null } | { ok: false } {
  if (values == null) return { ok: true, value: null };
  if (typeof values === "string") return { ok: true, value: values };
  if (values.length === 0) return { ok: true, value: null };
  if (values.length > 1) return { ok: false };
  return { ok: true, value: values[0]! };
}

/**
 * cSEPP (sending SEPP, TS 33.501 5.9.3.2): check a received header against our own networks, or insert
 * one. `own.insertPlmn` chooses the PLMN inserted when we have several (configuration decides); default
 * the first of `own.plmnIds`.
 */
export function checkOriginAtSender(
  values: string | readonly string[] | null | undefined,
  own: { plmnIds: readonly PlmnIdNid[]; fqdn: string; insertPlmn?: PlmnIdNid },
): OriginOutcome {
  const s = single(values);
  if (!s.ok)
    return {
      action: "reject",
      status: 400,
      cause: "MANDATORY_IE_INCORRECT",
      detail: "more than one 3gpp-Sbi-Originating-Network-Id header",
    };
  if (s.value === null) {
    const p = own.insertPlmn ?? own.plmnIds[0];
    if (!p) throw new OriginError("no own PLMN ID configured");
    const o: OriginatingNetworkId = { plmn: { mcc: p.mcc, mnc: p.mnc }, src: { type: "SEPP", fqdn: own.fqdn } };
    if (p.nid) o.nid = p.nid;
    return { action: "forward", value: formatOriginatingNetworkId(o), inserted: true, parsed: o };
  }
  let o: OriginatingNetworkId;
  try {
    o = parseOriginatingNetworkId(s.value);
  } catch (e) {
    return { action: "reject", status: 400, cause: "MANDATORY_IE_INCORRECT", detail: (e as Error).message };
  }
  if (!originMatches(o, own.plmnIds))
    return {
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
      detail: "3gpp-Sbi-Originating-Network-Id names a network that is not ours",
    };
  return { action: "forward", value: s.value.trim(), inserted: false, parsed: o };
}

/**
 * pSEPP (receiving SEPP): the asserted network must be one of the peer's (from the N32-f context, its
 * certificate or configuration). A malformed or repeated header cannot be verified: rejected as a mismatch.
 */
export function checkOriginAtReceiver(
  values: string | readonly string[] | null | undefined,
  peer: { plmnIds: readonly PlmnIdNid[] },
): OriginOutcome {
  const s = single(values);
  if (!s.ok)
    return {
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
      detail: "more than one 3gpp-Sbi-Originating-Network-Id header",
    };
  if (s.value === null)
    return {
      action: "forward",
      value: null,
      inserted: false,
      parsed: null,
      warning: "3gpp-Sbi-Originating-Network-Id missing",
    };
  let o: OriginatingNetworkId;
  try {
    o = parseOriginatingNetworkId(s.value);
  } catch (e) {
    return { action: "reject", status: 403, cause: "PLMN_ID_MISMATCH", detail: (e as Error).message };
  }
  if (!originMatches(o, peer.plmnIds))
    return {
      action: "reject",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
      detail: "3gpp-Sbi-Originating-Network-Id names a network that is not the peer's",
    };
  return { action: "forward", value: s.value.trim(), inserted: false, parsed: o };
}
