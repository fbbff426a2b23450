// src/sbi/target.ts — target resolution at the cSEPP (N32-PROFILE P3, P8; digest §3.6 step 2, §3.9).
//
// The target apiRoot of a request from one of our NFs comes, in this order:
//   1. a telescopic FQDN `<label>.<own SEPP domain>` in `:authority` (TS 33.501 13.1.1.1; it wins over the
//      header, TS 33.517 4.2.2.9): the label is mapped back to the foreign FQDN through the telescopic table;
//   2. `3gpp-Sbi-Target-apiRoot` (TS 29.500 5.2.3.2.4; ABNF in TS29500_CustomHeaders.abnf:
//      `sbi-scheme "://" sbi-authority [ prefix ]`);
//   3. `:authority` itself when it names another host than this SEPP (the NF uses us as an HTTP proxy).
// Hosts are parsed strictly (RFC 3986 host, DNS names by RFC 1123 LDH rules): no userinfo, no query or
// fragment, no IPvFuture, no zone IDs, no non-canonical IPv4 forms (`0x7f.1`, `2130706433`, `0177.0.0.1`),
// bounded lengths. Pure: the telescopic lookup is passed in.
import type { PlmnId } from "../model/n32.ts";
import {
  apiRootOf,
  formatAuthority,
  isDnsLabel,
  parseApiRoot,
  parseAuthority,
  parseHost,
  plmnOfHost,
  TargetError,
  type ApiRoot,
  type Authority,
  type SbiScheme,
} from "./api-root.ts";

// The hosts, authorities and apiRoots this module resolves are parsed in api-root.ts (IP text forms in ip.ts).

/** A telescopic table entry as target resolution needs it (see telescopic-store.ts). */
export interface TelescopicTarget {
  foreignHost: string;
  scheme: SbiScheme | null;
  port: number | null;
}

export interface TargetContext {
  /** Own SEPP domain: telescopic FQDNs are `<label>.<seppDomain>` */
  seppDomain: string;
  /** Other names under which NFs reach this SEPP (never a target themselves) */
  ownHosts?: readonly string[];
  /** Telescopic lookup (TelescopicStore.resolve) */
  resolveLabel(label: string): TelescopicTarget | null;
}

export interface TargetRequest {
  /** `:scheme` of the NF's request */
  scheme: string;
  /** `:authority` (or Host) of the NF's request */
  authority: string;
  /** every `3gpp-Sbi-Target-apiRoot` value received (absent: undefined or []) */
  targetApiRoot?: string | readonly string[] | null;
}

export interface ResolvedTarget extends ApiRoot {
  via: "telescopic" | "header" | "authority";
  /** The target host's PLMN (`mncXXX.mccYYY.3gppnetwork.org`), for peer selection; null when it names none */
  plmn: PlmnId | null;
  /** The telescopic label when via = "telescopic" */
  telescopicLabel?: string;
}

/** The telescopic label of `host` when it is `<label>.<seppDomain>`, else null. */
export function telescopicLabelOf(host: string, seppDomain: string): string | null {
  const h = host.toLowerCase().replace(/\.$/, "");
  const d = `.${seppDomain.toLowerCase().replace(/\.$/, "")}`;
  if (!h.endsWith(d)) return null;
  const label = h.slice(0, -d.length);
  return label.length > 0 && !label.includes(".") ? label : null;
}

function viaTelescopic(
  label: string,
  nfScheme: string,
  pathPrefix: string,
  param: string,
  ctx: TargetContext,
): ResolvedTarget {
  const t = isDnsLabel(label) ? ctx.resolveLabel(label.toLowerCase()) : null;
  if (!t) throw new TargetError("UNKNOWN_TELESCOPIC_LABEL", "unknown telescopic FQDN", 404, "TARGET_NOT_FOUND", param);
  const h = parseHost(t.foreignHost.includes(":") ? `[${t.foreignHost}]` : t.foreignHost);
  const authority = { host: h.host, kind: h.kind, port: t.port, authority: formatAuthority(h.kind, h.host, t.port) };
  const r = resolved(apiRootOf(sbiScheme(t.scheme ?? nfScheme), authority, pathPrefix), "telescopic");
  r.telescopicLabel = label.toLowerCase();
  return r;
}

/** `:scheme` (or a telescopic entry's scheme) as an SBI scheme; anything else is refused on `:scheme`. */
function sbiScheme(s: string): SbiScheme {
  const scheme = s.toLowerCase();
  if (scheme !== "http" && scheme !== "https")
    throw new TargetError("INVALID_TARGET", "invalid :scheme", 400, "MANDATORY_IE_INCORRECT", ":scheme");
  return scheme;
}

/** A resolved target: the apiRoot, how it was found, and its PLMN when the host names one. */
function resolved(r: ApiRoot, via: ResolvedTarget["via"]): ResolvedTarget {
  return { ...r, via, plmn: r.hostKind === "dns" ? plmnOfHost(r.host) : null };
}

/** Resolve the target of an NF request at the cSEPP (see the file comment for the order). */
export function resolveTarget(req: TargetRequest, ctx: TargetContext): ResolvedTarget {
  let a: Authority;
  try {
    a = parseAuthority(req.authority);
  } catch (e) {
    throw e instanceof TargetError ? new TargetError(e.code, e.message, e.status, e.problemCause, ":authority") : e;
  }
  const domain = ctx.seppDomain.toLowerCase().replace(/\.$/, "");
  const label = a.kind === "dns" ? telescopicLabelOf(a.host, domain) : null;
  if (label !== null) return viaTelescopic(label, req.scheme, "", ":authority", ctx);
  const hdr = req.targetApiRoot;
  const values = hdr == null ? [] : typeof hdr === "string" ? [hdr] : [...hdr];
  if (values.length > 1) throw new TargetError("INVALID_TARGET", "more than one 3gpp-Sbi-Target-apiRoot header");
  if (values.length === 1) {
    const r = parseApiRoot(values[0]!);
    // an NF may also put the telescopic FQDN into the header (TS 33.501 13.1.1.1)
    const hl = r.hostKind === "dns" ? telescopicLabelOf(r.host, domain) : null;
    if (hl !== null) return viaTelescopic(hl, r.scheme, r.pathPrefix, "3gpp-Sbi-Target-apiRoot", ctx);
    return resolved(r, "header");
  }
  const own = new Set([domain, ...(ctx.ownHosts ?? []).map((h) => h.toLowerCase().replace(/\.$/, ""))]);
  if (own.has(a.host))
    throw new TargetError("NO_TARGET", "no target: :authority names this SEPP and 3gpp-Sbi-Target-apiRoot is absent");
  return resolved(apiRootOf(sbiScheme(req.scheme), a, ""), "authority");
}
