// src/pki/plmn.ts — PLMN IDs of an N32 certificate (N32-PROFILE P9; TS 33.501 13.1.2).
// The PLMN IDs of a certificate are read from its dNSName SANs: labels `mncXXX.mccYYY` (three digits
// each, e.g. sepp.5gc.mnc001.mcc262.3gppnetwork.org = MCC 262, MNC 001). PLMN IDs are compared with
// the MNC padded to three digits. Pure: works on already-parsed SAN strings.
import type { X509Certificate } from "node:crypto";
import type { PlmnId } from "../model/n32.ts";
import { plmnKey } from "../model/plmn.ts";

const LABELS = /(?:^|\.)mnc(\d{3})\.mcc(\d{3})(?:\.|$)/i;

/** The PLMN ID carried by one dNSName, or null when it has no `mncXXX.mccYYY` labels. */
export function plmnIdFromDnsName(name: string): PlmnId | null {
  const m = LABELS.exec(name);
  if (!m) return null;
  return { mcc: m[2]!, mnc: m[1]! };
}

/** The dNSName SANs of a certificate (node:crypto X509Certificate.subjectAltName, "DNS:a, DNS:b"). */
export function dnsNamesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (!san) return [];
  const out: string[] = [];
  // node prints the SAN list as "DNS:a, IP Address:1.2.3.4, …"; a dNSName cannot contain ", " or quotes
  for (const part of san.split(/,\s*/)) {
    if (part.startsWith("DNS:")) out.push(part.slice(4).toLowerCase());
  }
  return out;
}

/** Distinct PLMN IDs named by the dNSName SANs of a certificate, in SAN order (P9). */
export function plmnIdsOf(cert: X509Certificate): PlmnId[] {
  const seen = new Map<string, PlmnId>();
  for (const name of dnsNamesOf(cert)) {
    const p = plmnIdFromDnsName(name);
    if (p && !seen.has(plmnKey(p))) seen.set(plmnKey(p), p);
  }
  return [...seen.values()];
}

/** Case-insensitive dNSName match without wildcards (N32 FQDNs are exact). */
export function certHasDnsName(cert: X509Certificate, fqdn: string): boolean {
  const want = fqdn.toLowerCase().replace(/\.$/, "");
  return dnsNamesOf(cert).some((n) => n.replace(/\.$/, "") === want);
}
