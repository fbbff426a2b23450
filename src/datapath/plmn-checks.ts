// src/datapath/plmn-checks.ts — the pSEPP's checks that a partner's request speaks for the partner's own PLMNs
// (TS 33.517 4.2.2.4; TS 33.501 5.9.3.2, 13.2.4.7; N32-PROFILE P10, P11): 3gpp-Sbi-Originating-Network-Id
// against the PLMNs of the N32-f context (or of the peer in TLS mode), and the consumer PLMN asserted in an
// OAuth2 access token (TS 29.510 AccessTokenClaims.consumerPlmnId). A mismatch is answered 403
// ProblemDetailsMsgForwarding with cause PLMN_ID_MISMATCH. Verdicts are pure functions of the header values and
// the PLMN list, and an NF sends the same values again and again: they are kept in small bounded caches.
import type { PlmnId, PlmnIdNid } from "../model/n32.ts";
import { PROBLEM_JSON } from "../problem.ts";
import { checkOriginAtReceiver, type OriginOutcome } from "../sbi/origin.ts";
import type { OutboundResponse } from "./http.ts";

const BEARER_JWT_RE = /^Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;
/** Bounds of the small per-process caches below (entries; the map starts over when full) and of a cached token payload. */
export const MAX_CACHED = 256;
const MAX_CACHED_CLAIMS_CHARS = 2048;

/** The consumer PLMN of a token's claims segment (base64url JSON), per segment: an NF sends the same token for its lifetime. */
const claimsPlmn = new Map<string, PlmnId | null | "malformed">();

/** The last authorization value and its verdict: the field value compared as a whole (a memcmp) costs less than
 *  the regex, the segment's substring and its hashing for the map, and consecutive requests carry the same token. */
let last: { authorization: string; r: PlmnId | null | "malformed" } | null = null;

/** The consumer PLMN asserted in an OAuth2 access token (TS 29.510 AccessTokenClaims.consumerPlmnId), if any. */
export function tokenConsumerPlmn(authorization: string | undefined): PlmnId | null | "malformed" {
  if (!authorization) return null;
  let r: PlmnId | null | "malformed" | undefined;
  if (last !== null && last.authorization === authorization) r = last.r;
  else {
    const m = BEARER_JWT_RE.exec(authorization.trim());
    if (!m) return null; // not a JWT: nothing to check here, the producer validates its tokens
    const segment = m[2]!;
    r = claimsPlmn.get(segment);
    if (r === undefined) {
      r = consumerPlmnOfClaims(segment);
      if (segment.length <= MAX_CACHED_CLAIMS_CHARS) {
        if (claimsPlmn.size >= MAX_CACHED) claimsPlmn.clear();
        claimsPlmn.set(segment, r);
      }
    }
    // only what the map may keep is remembered (long payloads are not kept, as above)
    if (segment.length <= MAX_CACHED_CLAIMS_CHARS) last = { authorization, r };
  }
  return r === null || r === "malformed" ? r : { mcc: r.mcc, mnc: r.mnc };
}

function consumerPlmnOfClaims(segment: string): PlmnId | null | "malformed" {
  try {
    const claims = JSON.parse(Buffer.from(segment, "base64url").toString("utf8")) as {
      consumerPlmnId?: { mcc?: unknown; mnc?: unknown };
    };
    const c = claims?.consumerPlmnId;
    if (c === undefined) return null;
    if (typeof c?.mcc !== "string" || typeof c?.mnc !== "string") return "malformed";
    return { mcc: c.mcc, mnc: c.mnc };
  } catch {
    return "malformed";
  }
}

/** checkOriginAtReceiver per PLMN list (the context's or the peer's: the same array object on every request) and header value. */
const originOutcomes = new WeakMap<readonly PlmnIdNid[], Map<string, OriginOutcome>>();

export function originAtReceiver(values: string[], plmnIds: readonly PlmnIdNid[]): OriginOutcome {
  // absent → a key no header value can be (no LF in HTTP field values); repeated → not kept
  const key = values.length === 0 ? "\n" : values.length === 1 ? values[0]! : null;
  if (key === null) return checkOriginAtReceiver(values, { plmnIds });
  let m = originOutcomes.get(plmnIds);
  if (!m) {
    m = new Map();
    originOutcomes.set(plmnIds, m);
  }
  let r = m.get(key);
  if (!r) {
    r = checkOriginAtReceiver(values, { plmnIds });
    if (key.length <= 512) {
      if (m.size >= MAX_CACHED) m.clear();
      m.set(key, r);
    }
  }
  return r;
}

/** P10/P11: 403 ProblemDetailsMsgForwarding, cause PLMN_ID_MISMATCH, suggestedStatusCode 403 (+ n32f-error, P11). */
export function mismatchForwarding(detail: string): OutboundResponse {
  return {
    status: 403,
    headers: [["content-type", PROBLEM_JSON]],
    body: JSON.stringify({
      title: "Forbidden",
      status: 403,
      cause: "PLMN_ID_MISMATCH",
      detail,
      suggestedStatusCode: 403,
    }),
  };
}
