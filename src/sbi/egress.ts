// src/sbi/egress.ts — the pSEPP egress allow-list (N32-PROFILE P8, P10; TS 33.501 5.9.3.2 anti-spoofing).
//
// The pSEPP delivers a request from a peer only to a producer its settings allow for that peer
// (`peers[].n32f.allowedTargets`): never an open relay (SSRF). An entry allows one host (exact DNS name,
// `*.domain` for any name strictly below `domain`, an IPv4/IPv6 literal, or an IPv4/IPv6 CIDR), one port
// (absent: the scheme's default port), one scheme (absent: https) and, optionally, API path prefixes
// matched at segment boundaries. Loopback, link-local, private-use, shared (CGNAT), unspecified,
// multicast, reserved and cloud-metadata addresses (IPv4 and IPv6, including IPv4-mapped/compatible,
// NAT64 and 6to4 forms) are refused unless an entry names that address or a CIDR containing it; host
// names like `localhost` likewise. The path is normalised strictly first (no dot segments, no encoded
// "/", "\\", "." or "%", no empty segments) and the normalised path is what must be sent.
// Which addresses and names are special: special-addresses.ts. Pure; the forwarding layer also checks the address
// it connects to with `checkResolvedAddress` (DNS rebinding).
import { parseHost, type ParsedHost, type SbiScheme } from "./api-root.ts";
import { parseIPv4, parseIPv6 } from "./ip.ts";
import { SeppError } from "../errors.ts";
import { inCidr, parseCidr, specialAddressReason, specialNameReason, type Cidr } from "./special-addresses.ts";

export interface AllowedTarget {
  host: string;
  port?: number;
  scheme?: SbiScheme;
  apiPrefixes?: string[];
}

export type EgressRefusal =
  | "INVALID_TARGET"
  | "SPECIAL_ADDRESS"
  | "HOST_NOT_ALLOWED"
  | "PORT_NOT_ALLOWED"
  | "SCHEME_NOT_ALLOWED"
  | "PATH_NOT_ALLOWED"
  | "INVALID_PATH";

export type EgressDecision =
  | { ok: true /** the normalised path to send */; path: string; entry: number }
  | { ok: false; reason: EgressRefusal; detail: string };

export class EgressConfigError extends SeppError {
  override name = "EgressConfigError";
  constructor(detail: string) {
    super("INVALID_CONFIGURATION", detail, { status: 400 });
  }
}

export const MAX_PATH_LENGTH = 4096;
export const MAX_ALLOWED_TARGETS = 1024;

// ---------------------------------------------------------------- path normalisation

export class PathError extends SeppError {
  override name = "PathError";
  constructor(detail: string) {
    super("INVALID_PATH", detail, { status: 400, problemCause: "MANDATORY_IE_INCORRECT" });
  }
}

const PCHAR_RE = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*$/;
const UNRESERVED_RE = /[A-Za-z0-9\-._~]/;
/** Segments of pchar without "%", none empty (a trailing "/" allowed) and none "." or "..": normalizePath returns these unchanged. */
const PLAIN_PATH_RE = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@]+)+\/?$/;

/**
 * Normalise a request path (no query) for allow-list matching and forwarding (RFC 3986 6.2.2):
 * percent-encodings of unreserved characters decoded, other hex in upper case. Refused (PathError):
 * not starting with "/", over MAX_PATH_LENGTH, characters outside pchar, encodings of "/", "\\", ".",
 * "%" or NUL (double-encoding games), empty segments ("//"), "." or ".." segments, a query or fragment.
 */
export function normalizePath(raw: string): string {
  if (typeof raw !== "string" || !raw.startsWith("/")) throw new PathError("path must start with /");
  if (raw.length > MAX_PATH_LENGTH) throw new PathError("path too long");
  if (raw.includes("?") || raw.includes("#")) throw new PathError("path must not contain a query or fragment");
  if (raw === "/") return "/";
  // the usual path (no percent-encoding, no empty or dot segments) is already normal: one scan, no copy
  if (PLAIN_PATH_RE.test(raw)) return raw;
  const segs = raw.slice(1).split("/");
  const out: string[] = [];
  segs.forEach((seg, i) => {
    if (seg === "" && i !== segs.length - 1) throw new PathError("empty path segment");
    if (!PCHAR_RE.test(seg)) throw new PathError("invalid character in path");
    const norm = seg.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => {
      const c = String.fromCharCode(parseInt(h, 16));
      if (c === "/" || c === "\\" || c === "%" || c === "\0")
        throw new PathError(`encoded ${JSON.stringify(c)} not allowed in path`);
      if (c === ".") throw new PathError("encoded '.' not allowed in path");
      return UNRESERVED_RE.test(c) ? c : `%${h.toUpperCase()}`;
    });
    if (norm === "." || norm === "..") throw new PathError("dot segment in path");
    out.push(norm);
  });
  return `/${out.join("/")}`;
}

/** Whether `path` is `prefix` or below it, at a segment boundary. Both normalised; prefix without trailing "/". */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === "" || prefix === "/") return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

// ---------------------------------------------------------------- the policy

type HostRule =
  | { kind: "exact"; host: string; parsed: ParsedHost }
  | { kind: "suffix"; domain: string }
  | { kind: "cidr"; cidr: Cidr };

interface Entry {
  rule: HostRule;
  port: number | null;
  scheme: SbiScheme;
  prefixes: string[] | null;
}

export interface EgressTarget {
  scheme: string;
  /** as resolved by target.ts: canonical host (IPv6 without brackets) */
  host: string;
  /** null = the scheme's default port */
  port: number | null;
  /** full request path (apiRoot prefix + resource path), without the query */
  path: string;
}

const defaultPort = (s: SbiScheme) => (s === "https" ? 443 : 80);

function compileHost(raw: string): HostRule {
  const h = raw.trim().toLowerCase();
  if (h === "*" || h === "*." || h === "") throw new EgressConfigError(`allowed host "${raw}" would allow everything`);
  if (h.includes("/")) {
    const c = parseCidr(h);
    if (!c) throw new EgressConfigError(`invalid CIDR "${raw}"`);
    if (c.bits < (c.v6 ? 64 : 8)) throw new EgressConfigError(`CIDR "${raw}" is too wide`);
    return { kind: "cidr", cidr: c };
  }
  if (h.startsWith("*.")) {
    const domain = h.slice(2).replace(/\.$/, "");
    const p = safeParseHost(domain);
    if (p?.kind !== "dns" || !domain.includes(".")) throw new EgressConfigError(`invalid domain pattern "${raw}"`);
    return { kind: "suffix", domain };
  }
  const bare = h.startsWith("[") ? h : h.includes(":") ? `[${h}]` : h;
  const p = safeParseHost(bare);
  if (!p) throw new EgressConfigError(`invalid allowed host "${raw}"`);
  return { kind: "exact", host: p.host, parsed: p };
}

function safeParseHost(h: string): ParsedHost | null {
  try {
    return parseHost(h);
  } catch {
    return null;
  }
}

/**
 * The per-host part of a decision (special-address refusal, the entries whose host rule the host meets, in
 * order): the same for every request to a host. With the entries kept, a request looks at the few entries of its
 * host, not at every entry of the allow-list (up to 1024; docs/PERFORMANCE.md "Partner lookups and screening rules").
 */
type HostVerdict =
  | { ok: true; special: EgressDecision | null; entries: readonly number[] }
  | { ok: false; refusal: EgressDecision };
/** Hosts whose verdict is kept per policy (producers of one peer: few); the cache starts over when full. */
const MAX_CACHED_HOSTS = 256;

/** A compiled per-peer egress allow-list. Construction validates the configuration (EgressConfigError). */
export class EgressPolicy {
  readonly #entries: Entry[];
  readonly #hosts = new Map<string, HostVerdict>();

  constructor(allowed: readonly AllowedTarget[]) {
    if (allowed.length > MAX_ALLOWED_TARGETS)
      throw new EgressConfigError(`more than ${MAX_ALLOWED_TARGETS} allowed targets`);
    this.#entries = allowed.map((a) => {
      const scheme = a.scheme ?? "https";
      if (scheme !== "http" && scheme !== "https") throw new EgressConfigError(`scheme ${String(scheme)} not allowed`);
      if (a.port !== undefined && (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535))
        throw new EgressConfigError(`invalid port ${a.port}`);
      const prefixes =
        a.apiPrefixes === undefined
          ? null
          : a.apiPrefixes.map((p) => {
              try {
                const n = normalizePath(p);
                return n === "/" ? "" : n.replace(/\/$/, "");
              } catch (e) {
                throw new EgressConfigError(`invalid API prefix "${p}": ${(e as Error).message}`);
              }
            });
      return { rule: compileHost(a.host), port: a.port ?? null, scheme, prefixes };
    });
  }

  get size(): number {
    return this.#entries.length;
  }

  #hostMatches(rule: HostRule, h: ParsedHost): boolean {
    switch (rule.kind) {
      case "exact":
        return rule.parsed.kind === h.kind && rule.host === h.host;
      case "suffix":
        return h.kind === "dns" && h.host.endsWith(`.${rule.domain}`);
      case "cidr":
        return h.kind !== "dns" && inCidr(h.bytes, rule.cidr);
    }
  }

  /** Whether an entry names this address explicitly (IP literal or CIDR): the only way to allow a special address. */
  #explicitlyAllowsAddress(addr: Uint8Array): boolean {
    return this.#entries.some(
      (e) =>
        (e.rule.kind === "cidr" && inCidr(addr, e.rule.cidr)) ||
        (e.rule.kind === "exact" && e.rule.parsed.kind !== "dns" && equalBytes(e.rule.parsed.bytes, addr)),
    );
  }

  /** Decide whether the pSEPP may deliver to `target`. Never throws. */
  check(target: EgressTarget): EgressDecision {
    const scheme = String(target.scheme).toLowerCase();
    if (scheme !== "http" && scheme !== "https")
      return { ok: false, reason: "SCHEME_NOT_ALLOWED", detail: "scheme not allowed" };
    if (target.port !== null && (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535))
      return { ok: false, reason: "INVALID_TARGET", detail: "port out of range" };
    const hv = this.#hostVerdict(target.host);
    if (!hv.ok) return hv.refusal;
    let path: string;
    try {
      path = normalizePath(target.path);
    } catch (e) {
      return { ok: false, reason: "INVALID_PATH", detail: (e as Error).message };
    }
    if (hv.special) return hv.special;
    const port = target.port ?? defaultPort(scheme);
    // Report the most specific refusal: host, then scheme, then port, then path.
    let best: EgressDecision = { ok: false, reason: "HOST_NOT_ALLOWED", detail: "target host not in the allow-list" };
    let rank = 0;
    for (const i of hv.entries) {
      const e = this.#entries[i]!;
      if (e.scheme !== scheme) {
        if (rank < 1) {
          best = { ok: false, reason: "SCHEME_NOT_ALLOWED", detail: `scheme ${scheme} not allowed for this host` };
          rank = 1;
        }
        continue;
      }
      if ((e.port ?? defaultPort(e.scheme)) !== port) {
        if (rank < 2) {
          best = { ok: false, reason: "PORT_NOT_ALLOWED", detail: `port ${port} not allowed for this host` };
          rank = 2;
        }
        continue;
      }
      if (e.prefixes && !e.prefixes.some((p) => pathHasPrefix(path, p))) {
        if (rank < 3) {
          best = { ok: false, reason: "PATH_NOT_ALLOWED", detail: "API path not allowed for this host" };
          rank = 3;
        }
        continue;
      }
      return { ok: true, path, entry: i };
    }
    return best;
  }

  /** Parse and classify a target host once per policy (pure: depends on the host and the fixed entries only). */
  #hostVerdict(host: string): HostVerdict {
    let v = this.#hosts.get(host);
    if (v) return v;
    let h: ParsedHost;
    try {
      h = parseHost(host.includes(":") && !host.startsWith("[") ? `[${host}]` : host);
      let special: EgressDecision | null = null;
      if (h.kind === "dns") {
        const why = specialNameReason(h.host);
        const name = h.host;
        if (why && !this.#entries.some((e) => e.rule.kind === "exact" && e.rule.host === name))
          special = { ok: false, reason: "SPECIAL_ADDRESS", detail: `${why} not allowed` };
      } else {
        const why = specialAddressReason(h.bytes);
        if (why && !this.#explicitlyAllowsAddress(h.bytes))
          special = { ok: false, reason: "SPECIAL_ADDRESS", detail: `${why} address not allowed` };
      }
      const entries: number[] = [];
      for (let i = 0; i < this.#entries.length; i++) if (this.#hostMatches(this.#entries[i]!.rule, h)) entries.push(i);
      v = { ok: true, special, entries };
    } catch (e) {
      v = { ok: false, refusal: { ok: false, reason: "INVALID_TARGET", detail: (e as Error).message } };
    }
    if (this.#hosts.size >= MAX_CACHED_HOSTS) this.#hosts.clear();
    this.#hosts.set(host, v);
    return v;
  }

  /**
   * Check the address the forwarding layer is about to connect to for an allowed DNS target (DNS
   * rebinding). Private-use and unique-local addresses are accepted here (producers live on the
   * operator's internal network and the name itself was allow-listed); loopback, link-local,
   * unspecified, multicast, metadata and other special ranges are refused unless named explicitly.
   */
  checkResolvedAddress(address: string): { ok: true } | { ok: false; detail: string } {
    const b = parseIPv4(address) ?? parseIPv6(address.replace(/^\[|\]$/g, ""));
    if (!b) return { ok: false, detail: "not an IP address" };
    const why = specialAddressReason(b);
    if (!why || this.#explicitlyAllowsAddress(b)) return { ok: true };
    const privateOk = /private-use|unique-local|shared address/.test(why) && !/metadata/.test(why);
    return privateOk ? { ok: true } : { ok: false, detail: `resolved address is ${why}` };
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
