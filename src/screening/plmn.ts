// src/screening/plmn.ts — GSMA FS.36 category 2, PLMN consistency: the PLMN identities a request carries
// (PlmnId objects, lists of them, the serving network name of TS 24.501 9.12.1 / TS 33.501 6.1.1.4, a SUPI's or
// SUCI's home network of TS 23.003 2.2A, an access token's consumerPlmnId of TS 29.510) are read and compared with
// the PLMNs the rule expects (the N32 peer's or ours). Pure.
import type { PlmnId } from "../model/n32.ts";
import { samePlmn } from "../model/plmn.ts";

export type PlmnKind = "plmnId" | "plmnIdList" | "servingNetworkName" | "supi" | "accessToken";

/** The PLMN IDs a value names; "malformed" when it is not what the kind says; null when it names none (NAI SUPI). */
export type Extracted = PlmnId[] | "malformed" | null;

const MCC = /^\d{3}$/;
const MNC = /^\d{2,3}$/;
// "5G:mnc015.mcc234.3gppnetwork.org" (an SNPN's name continues with ":<NID>", TS 24.501 9.12.1)
const SNN_RE = /^5G:mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org(?::[0-9A-Fa-f]{11})?$/;
// suci-<supi type>-<mcc>-<mnc>-… (TS 29.571 Suci, TS 23.003 2.2B)
const SUCI_RE = /^suci-0-(\d{3})-(\d{2,3})-/;
const IMSI_RE = /^imsi-(\d{5,15})$/;
const BEARER_JWT_RE = /^Bearer [A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_CLAIMS_CHARS = 8192;

function asPlmnId(v: unknown): PlmnId | null {
  if (typeof v === "string") {
    // query and form values are JSON-encoded (TS 29.500 5.2.2.2.1)
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  const o = v as { mcc?: unknown; mnc?: unknown } | null;
  if (!o || typeof o !== "object" || typeof o.mcc !== "string" || typeof o.mnc !== "string") return null;
  return MCC.test(o.mcc) && MNC.test(o.mnc) ? { mcc: o.mcc, mnc: o.mnc } : null;
}

/** The PLMN IDs `value` names as `kind`. `supi` is matched later against candidates (the MNC length is not in it). */
export function extract(kind: Exclude<PlmnKind, "supi">, value: unknown): Extracted {
  switch (kind) {
    case "plmnId": {
      const p = asPlmnId(value);
      return p ? [p] : "malformed";
    }
    case "plmnIdList": {
      let v = value;
      if (typeof v === "string")
        try {
          v = JSON.parse(v);
        } catch {
          return "malformed";
        }
      if (!Array.isArray(v) || v.length === 0 || v.length > 64) return "malformed";
      const out: PlmnId[] = [];
      for (const x of v) {
        const p = asPlmnId(x);
        if (!p) return "malformed";
        out.push(p);
      }
      return out;
    }
    case "servingNetworkName": {
      const m = typeof value === "string" ? SNN_RE.exec(value) : null;
      return m ? [{ mcc: m[2]!, mnc: m[1]! }] : "malformed";
    }
    case "accessToken":
      return tokenConsumerPlmn(value);
  }
}

/** TS 29.510 AccessTokenClaims.consumerPlmnId of a bearer JWT (not verified here: the producer verifies its tokens). */
function tokenConsumerPlmn(value: unknown): Extracted {
  if (typeof value !== "string") return "malformed";
  const m = BEARER_JWT_RE.exec(value.trim());
  if (!m) return null; // not a JWT: nothing to compare
  if (m[1]!.length > MAX_TOKEN_CLAIMS_CHARS) return "malformed";
  try {
    const claims = JSON.parse(Buffer.from(m[1]!, "base64url").toString("utf8")) as { consumerPlmnId?: unknown };
    if (claims?.consumerPlmnId === undefined) return null;
    const p = asPlmnId(claims.consumerPlmnId);
    return p ? [p] : "malformed";
  } catch {
    return "malformed";
  }
}

/**
 * Whether a subscriber identity belongs to one of `expected` (its home network). IMSI-based SUPIs start with
 * MCC+MNC (TS 23.003 2.2); the MNC length comes from the expected PLMN. A SUCI names them; an NAI or a GPSI
 * names no PLMN here ("none"). Also "malformed" for a value that is not a string.
 */
export function supiHomeMatches(value: unknown, expected: readonly PlmnId[]): "match" | "mismatch" | "none" {
  if (typeof value !== "string") return "mismatch";
  const imsi = IMSI_RE.exec(value);
  if (imsi) return expected.some((p) => imsi[1]!.startsWith(p.mcc + p.mnc)) ? "match" : "mismatch";
  const suci = SUCI_RE.exec(value);
  if (suci) return expected.some((p) => samePlmn(p, { mcc: suci[1]!, mnc: suci[2]! })) ? "match" : "mismatch";
  return "none";
}

/** Whether every extracted PLMN is one of `expected`. */
export function allIn(found: readonly PlmnId[], expected: readonly PlmnId[]): boolean {
  return found.every((f) => expected.some((e) => samePlmn(e, f)));
}

/** The SUPI of a subscriber identity value when it is one (imsi- or nai-), else null (SUCI, GPSI, anything else). */
export function supiOf(value: unknown): string | null {
  return typeof value === "string" && value.length <= 256 && /^(imsi-\d{5,15}|nai-.+)$/.test(value) ? value : null;
}
