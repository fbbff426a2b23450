// src/screening/purpose.ts — TS 29.500 6.14.3: the pSEPP compares 3gpp-Sbi-Interplmn-Purpose (5.2.3.3.11,
// `N32Purpose ":" OWS additional-info`) with the purposes negotiated with the sending peer on N32-c. The header is
// optional ("if available"): absent, nothing is checked. Pure.
const HEADER_RE = /^\s*([A-Z][A-Z0-9_]{0,63})\s*(?::.*)?$/;

export type PurposeOutcome = { ok: true } | { ok: false; reason: "malformed" | "repeated" | "not-negotiated" };

/** `values`: every 3gpp-Sbi-Interplmn-Purpose value of the request; `negotiated`: the purposes agreed with the peer. */
export function checkPurpose(values: readonly string[], negotiated: readonly string[]): PurposeOutcome {
  if (values.length === 0) return { ok: true };
  if (values.length > 1) return { ok: false, reason: "repeated" };
  const m = HEADER_RE.exec(values[0]!);
  if (!m) return { ok: false, reason: "malformed" };
  return negotiated.includes(m[1]!) ? { ok: true } : { ok: false, reason: "not-negotiated" };
}
