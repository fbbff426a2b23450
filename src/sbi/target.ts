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
import type { PlmnId, ProblemDetails } from "../model/n32.ts";
import { SeppError } from "../errors.ts";
import { problem } from "../problem.ts";

export type SbiScheme = "http" | "https";

export type TargetErrorCode = "INVALID_TARGET" | "UNKNOWN_TELESCOPIC_LABEL" | "NO_TARGET";

/** Why a target could not be resolved; toProblem() is what the NF gets (the offending field in invalidParams). */
export class TargetError extends SeppError {
  override name = "TargetError";
  declare readonly code: TargetErrorCode;
  /** The request field that failed (a header name, `:authority` or `:scheme`). */
  readonly param: string;
  constructor(
    code: TargetErrorCode,
    detail: string,
    status = code === "UNKNOWN_TELESCOPIC_LABEL" ? 404 : 400,
    problemCause = code === "UNKNOWN_TELESCOPIC_LABEL"
      ? "TARGET_NOT_FOUND"
      : code === "NO_TARGET"
        ? "MANDATORY_IE_MISSING"
        : "MANDATORY_IE_INCORRECT",
    param = "3gpp-Sbi-Target-apiRoot",
  ) {
    super(code, detail, { status, problemCause });
    this.param = param;
  }

  override toProblem(): ProblemDetails {
    return problem(this.status, this.problemCause, this.message, [{ param: this.param, reason: this.message }]);
  }
}

export const MAX_API_ROOT_LENGTH = 2048;
export const MAX_HOST_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

export type ParsedHost =
  | { kind: "dns"; host: string }
  | { kind: "ipv4"; host: string; bytes: Uint8Array }
  | { kind: "ipv6"; host: string; bytes: Uint8Array };

const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DEC_OCTET_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** A DNS label by RFC 1123 (letters, digits, hyphen; not at the ends; 1..63), case-insensitive. */
export function isDnsLabel(s: string): boolean {
  return s.length <= MAX_LABEL_LENGTH && LABEL_RE.test(s.toLowerCase());
}

/** An FQDN/host name of LDH labels, total ≤ 253 (a trailing dot allowed). */
export function isDnsName(s: string): boolean {
  const n = s.endsWith(".") ? s.slice(0, -1) : s;
  if (n.length === 0 || n.length > MAX_HOST_LENGTH) return false;
  return n.split(".").every(isDnsLabel);
}

/** Strict dotted-quad IPv4 (RFC 3986 IPv4address: dec-octet without leading zeros), or null. */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!DEC_OCTET_RE.test(p)) return null;
    out[i] = Number(p);
  }
  return out;
}

/** RFC 4291 text form (with optional trailing dotted IPv4), without zone ID, to 16 bytes; or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null;
  let head = s;
  let v4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(":");
  if (s.indexOf(".", lastColon) !== -1) {
    v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    head = s.slice(0, lastColon + 1);
    if (!head.endsWith("::")) head = head.slice(0, -1); // drop the ':' before the IPv4 part ("::1.2.3.4" keeps it)
    if (head === "") return null;
  }
  const groupsNeeded = v4 ? 6 : 8;
  const dbl = head.indexOf("::");
  if (dbl !== -1 && head.indexOf("::", dbl + 1) !== -1) return null;
  const parseGroups = (t: string): number[] | null => {
    if (t === "") return [];
    const out: number[] = [];
    for (const g of t.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl === -1) {
    const g = parseGroups(head);
    if (!g || g.length !== groupsNeeded) return null;
    groups = g;
  } else {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return null;
    const missing = groupsNeeded - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/** RFC 5952 canonical text of 16 bytes (lowercase, longest zero run of ≥ 2 groups compressed). */
export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestStart === -1) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** WHATWG "ends in a number": the last label is digits or 0x-hex, i.e. the host is an IPv4 attempt. */
function endsInNumber(host: string): boolean {
  const parts = host.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1] ?? "";
  return /^\d+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

/**
 * Parse an RFC 3986 `host` strictly. IPv6 literals must be bracketed; the returned `host` is canonical
 * (lowercase, no trailing dot, IPv6 without brackets in RFC 5952 form).
 */
export function parseHost(raw: string): ParsedHost {
  if (raw.length === 0) throw new TargetError("INVALID_TARGET", "empty host");
  if (raw.length > MAX_HOST_LENGTH + 2) throw new TargetError("INVALID_TARGET", "host too long");
  if (raw.startsWith("[")) {
    if (!raw.endsWith("]")) throw new TargetError("INVALID_TARGET", "unterminated IP literal");
    const inner = raw.slice(1, -1);
    if (/^v/i.test(inner)) throw new TargetError("INVALID_TARGET", "IPvFuture literals are not supported");
    if (inner.includes("%")) throw new TargetError("INVALID_TARGET", "IPv6 zone identifiers are not allowed");
    const bytes = parseIPv6(inner);
    if (!bytes) throw new TargetError("INVALID_TARGET", "invalid IPv6 literal");
    return { kind: "ipv6", host: formatIPv6(bytes), bytes };
  }
  if (raw.includes("%")) throw new TargetError("INVALID_TARGET", "percent-encoded host names are not allowed");
  const lower = raw.toLowerCase();
  if (endsInNumber(lower)) {
    const bytes = parseIPv4(lower);
    if (!bytes)
      throw new TargetError("INVALID_TARGET", "non-canonical IPv4 address (only dotted decimal a.b.c.d is accepted)");
    return { kind: "ipv4", host: lower, bytes };
  }
  if (!isDnsName(lower)) throw new TargetError("INVALID_TARGET", "host is not a valid DNS name");
  return { kind: "dns", host: lower.endsWith(".") ? lower.slice(0, -1) : lower };
}

export interface Authority {
  host: string;
  kind: ParsedHost["kind"];
  /** null when absent (the scheme's default applies) */
  port: number | null;
  /** canonical `host[:port]`, IPv6 in brackets */
  authority: string;
}

export function formatAuthority(kind: ParsedHost["kind"], host: string, port: number | null): string {
  const h = kind === "ipv6" ? `[${host}]` : host;
  return port === null ? h : `${h}:${port}`;
}

/** RFC 3986 `host [":" port]` without userinfo; port 1..65535 (an empty port means none). */
export function parseAuthority(raw: string): Authority {
  if (raw.length === 0) throw new TargetError("INVALID_TARGET", "empty authority");
  if (raw.length > MAX_HOST_LENGTH + 8) throw new TargetError("INVALID_TARGET", "authority too long");
  if (raw.includes("@")) throw new TargetError("INVALID_TARGET", "userinfo is not allowed in an authority");
  if (/[\s\\/?#]/.test(raw)) throw new TargetError("INVALID_TARGET", "invalid character in authority");
  let hostPart = raw;
  let portPart: string | null = null;
  if (raw.startsWith("[")) {
    const close = raw.indexOf("]");
    if (close === -1) throw new TargetError("INVALID_TARGET", "unterminated IP literal");
    hostPart = raw.slice(0, close + 1);
    const rest = raw.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw new TargetError("INVALID_TARGET", "garbage after IP literal");
      portPart = rest.slice(1);
    }
  } else {
    const colon = raw.indexOf(":");
    if (colon !== -1) {
      if (raw.indexOf(":", colon + 1) !== -1)
        throw new TargetError("INVALID_TARGET", "IPv6 literals must be in brackets");
      hostPart = raw.slice(0, colon);
      portPart = raw.slice(colon + 1);
    }
  }
  let port: number | null = null;
  if (portPart !== null && portPart !== "") {
    if (!/^\d{1,5}$/.test(portPart)) throw new TargetError("INVALID_TARGET", "port must be 1 to 5 digits");
    port = Number(portPart);
    if (port < 1 || port > 65535) throw new TargetError("INVALID_TARGET", "port out of range 1..65535");
  }
  const h = parseHost(hostPart);
  return { host: h.host, kind: h.kind, port, authority: formatAuthority(h.kind, h.host, port) };
}

// pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
const SEGMENT_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;

/**
 * Validate an RFC 3986 `path-absolute` used as an apiRoot prefix. Stricter than the ABNF where it matters
 * for routing: no empty, "." or ".." segments. Returns the prefix without a trailing "/" ("/" → "").
 */
export function parsePathPrefix(raw: string): string {
  if (raw === "" || raw === "/") return "";
  if (!raw.startsWith("/")) throw new TargetError("INVALID_TARGET", "prefix must start with /");
  const body = raw.endsWith("/") ? raw.slice(1, -1) : raw.slice(1);
  for (const seg of body.split("/")) {
    if (seg === "") throw new TargetError("INVALID_TARGET", "empty path segment in prefix");
    if (seg === "." || seg === "..") throw new TargetError("INVALID_TARGET", "dot segment in prefix");
    if (!SEGMENT_RE.test(seg)) throw new TargetError("INVALID_TARGET", "invalid character in prefix");
  }
  return `/${body}`;
}

export interface ApiRoot {
  scheme: SbiScheme;
  /** canonical host[:port] */
  authority: string;
  host: string;
  hostKind: ParsedHost["kind"];
  port: number | null;
  /** path prefix without trailing "/", "" when none */
  pathPrefix: string;
}

/** Parse a `3gpp-Sbi-Target-apiRoot` value (also any apiRoot "scheme://authority[prefix]"). */
export function parseApiRoot(value: string): ApiRoot {
  if (value.length > MAX_API_ROOT_LENGTH) throw new TargetError("INVALID_TARGET", "apiRoot too long");
  const v = value.replace(/^[ \t]+|[ \t]+$/g, ""); // OWS
  if (/[\x00-\x1f\x7f]/.test(v)) throw new TargetError("INVALID_TARGET", "control character in apiRoot");
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/.exec(v);
  if (!m) throw new TargetError("INVALID_TARGET", "apiRoot must be scheme://authority[prefix]");
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https")
    throw new TargetError("INVALID_TARGET", `scheme ${scheme} not allowed (http or https)`);
  const rest = m[3]!;
  if (rest.includes("#")) throw new TargetError("INVALID_TARGET", "fragment not allowed in apiRoot");
  if (rest.includes("?")) throw new TargetError("INVALID_TARGET", "query not allowed in apiRoot");
  const a = parseAuthority(m[2]!);
  return {
    scheme,
    authority: a.authority,
    host: a.host,
    hostKind: a.kind,
    port: a.port,
    pathPrefix: parsePathPrefix(rest),
  };
}

export function formatApiRoot(r: Pick<ApiRoot, "scheme" | "authority" | "pathPrefix">): string {
  return `${r.scheme}://${r.authority}${r.pathPrefix}`;
}

const PLMN_HOST_RE = /(?:^|\.)mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org$/;

/** The PLMN of a host in the 3GPP inter-PLMN domain `….mncXXX.mccYYY.3gppnetwork.org` (TS 23.003 28.2), or null. */
export function plmnOfHost(host: string): PlmnId | null {
  const m = PLMN_HOST_RE.exec(host.toLowerCase().replace(/\.$/, ""));
  return m ? { mcc: m[2]!, mnc: m[1]! } : null;
}

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
  const rs = (t.scheme ?? nfScheme).toLowerCase();
  if (rs !== "http" && rs !== "https")
    throw new TargetError("INVALID_TARGET", "invalid :scheme", 400, "MANDATORY_IE_INCORRECT", ":scheme");
  return {
    scheme: rs,
    authority: formatAuthority(h.kind, h.host, t.port),
    host: h.host,
    hostKind: h.kind,
    port: t.port,
    pathPrefix,
    via: "telescopic",
    plmn: h.kind === "dns" ? plmnOfHost(h.host) : null,
    telescopicLabel: label.toLowerCase(),
  };
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
    return { ...r, via: "header", plmn: r.hostKind === "dns" ? plmnOfHost(r.host) : null };
  }
  const own = new Set([domain, ...(ctx.ownHosts ?? []).map((h) => h.toLowerCase().replace(/\.$/, ""))]);
  if (own.has(a.host))
    throw new TargetError("NO_TARGET", "no target: :authority names this SEPP and 3gpp-Sbi-Target-apiRoot is absent");
  const scheme = req.scheme.toLowerCase();
  if (scheme !== "http" && scheme !== "https")
    throw new TargetError("INVALID_TARGET", "invalid :scheme", 400, "MANDATORY_IE_INCORRECT", ":scheme");
  return {
    scheme,
    authority: a.authority,
    host: a.host,
    hostKind: a.kind,
    port: a.port,
    pathPrefix: "",
    via: "authority",
    plmn: a.kind === "dns" ? plmnOfHost(a.host) : null,
  };
}
