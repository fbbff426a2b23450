// src/sbi/api-root.ts — hosts, authorities and apiRoots parsed strictly (RFC 3986 host, DNS names by RFC 1123
// LDH rules; TS 29.500 5.2.3.2.4 `sbi-scheme "://" sbi-authority [ prefix ]`), and TargetError, what the NF gets when
// one is refused. No userinfo, query or fragment, no IPvFuture, no zone IDs, no non-canonical IPv4 forms
// (`0x7f.1`, `2130706433`, `0177.0.0.1`), bounded lengths. Pure.
import type { PlmnId, ProblemDetails } from "../model/n32.ts";
import { SeppError } from "../errors.ts";
import { problem } from "../problem.ts";
import { formatIPv6, parseIPv4, parseIPv6 } from "./ip.ts";

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
  return apiRootOf(scheme, parseAuthority(m[2]!), parsePathPrefix(rest));
}

/** The apiRoot of a scheme, a parsed authority and a path prefix. */
export function apiRootOf(scheme: SbiScheme, a: Authority, pathPrefix: string): ApiRoot {
  return { scheme, authority: a.authority, host: a.host, hostKind: a.kind, port: a.port, pathPrefix };
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
