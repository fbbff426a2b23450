// src/model/plmn.ts — the one definition of when two PLMN IDs are the same (TS 23.003 2.2 and 12.1: the MNC has 2
// or 3 digits; a 2-digit MNC equals its 3-digit form with a leading zero, as in the N32 FQDN labels `mncXXX`). Used
// wherever PLMN IDs from configuration, certificates (N32-PROFILE P9), headers and bodies meet. Pure.
import type { PlmnId } from "./n32.ts";

/** The MNC in its 3-digit form. */
const mnc3 = (mnc: string): string => (mnc.length >= 3 ? mnc : mnc.padStart(3, "0"));

/** Comparison key "mcc-mnc" with the MNC padded to three digits: for maps and sets of PLMNs, and messages. */
export function plmnKey(p: PlmnId): string {
  return `${p.mcc}-${mnc3(p.mnc)}`;
}

/** The 5GC domain of a PLMN, `5gc.mncXXX.mccYYY.3gppnetwork.org` (TS 23.003 28.2; SEPP FQDNs end in it). */
export function fiveGcDomainOf(p: PlmnId): string {
  return `5gc.mnc${mnc3(p.mnc)}.mcc${p.mcc}.3gppnetwork.org`;
}

/** The same PLMN; without building strings when both MNCs have the same length (per request on the data path). */
export function samePlmn(a: PlmnId, b: PlmnId): boolean {
  if (a.mcc !== b.mcc) return false;
  return a.mnc.length === b.mnc.length ? a.mnc === b.mnc : mnc3(a.mnc) === mnc3(b.mnc);
}
