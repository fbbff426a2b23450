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

/** The same PLMN (per request on the data path: builds no strings, also when one MNC has 2 digits and the other 3). */
export function samePlmn(a: PlmnId, b: PlmnId): boolean {
  return a.mcc === b.mcc && sameMnc(a.mnc, b.mnc);
}

/** mnc3(x) === mnc3(y), read digit by digit (padStart per peer and request was 1.2 % of a TLS-mode cSEPP's samples). */
function sameMnc(x: string, y: string): boolean {
  if (x.length === y.length) return x === y;
  if (x.length > 3 || y.length > 3) return false; // mnc3 keeps a longer MNC as it is: the lengths stay different
  for (let i = 0; i < 3; i++) if (mnc3CodeAt(x, i) !== mnc3CodeAt(y, i)) return false;
  return true;
}

/** Character code `i` of mnc3(s), for an MNC of at most 3 characters. */
function mnc3CodeAt(s: string, i: number): number {
  const k = i - (3 - s.length);
  return k < 0 ? 0x30 : s.charCodeAt(k);
}
