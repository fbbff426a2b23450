// src/sbi/telescopic-rewrite.ts — topology hiding by telescopic FQDNs (TS 33.501 13.1.1.1; N32-PROFILE P8, P10;
// digest §3.9): pure rewriting of foreign URIs into `<label>.<own SEPP domain>` over a TelescopicMapper
// (telescopic-store.ts): a URI (rewriteUri), the URI members of a parsed JSON body (callback URIs of a
// peer's subscriptions and the V-SMF URI of Nsmf_PDUSession create, pSEPP), the Location header and the HAL
// `_links` of a peer's response (cSEPP). NF discovery results: telescopic-discovery.ts.
import { isIP } from "node:net";
import type { PlmnId } from "../model/n32.ts";
import { samePlmn } from "../model/plmn.ts";
import { appendToken, hasMember, isIndexToken, isPlainObject as isObj, parsePointer } from "../n32f/pointer.ts";
import { formatAuthority, parseAuthority, plmnOfHost, type SbiScheme, type TargetError } from "./api-root.ts";
import { defaultPort, type ForeignOrigin, TelescopicError, type TelescopicMapper } from "./telescopic-store.ts";

/** How our own NFs reach this SEPP's SBI side: the scheme and port put into rewritten URIs. */
export interface SbiEndpoint {
  scheme: SbiScheme;
  /** absent: the scheme's default port */
  port?: number;
}

export interface RewriteOptions {
  /** Refuse foreign hosts outside the sending peer's networks (redirection to a third PLMN). Default: all allowed. */
  hostFilter?: (host: string, plmn: PlmnId | null) => boolean;
  /** The peer the URIs came from, stored with new labels (ForeignOrigin.peerId) */
  peerId?: string;
}

/**
 * Which foreign URIs from a peer may become telescopic FQDNs, and the peer stored with their labels (the
 * pSEPP for callback URIs in a peer's requests, the cSEPP for URIs in a peer's responses): an FQDN must name one
 * of the peer's PLMNs (no redirection to a third PLMN or to a name outside the 3GPP domain); an IP literal
 * (open5gs-style NFs put their address in URIs) names no PLMN, so its label is bound to the peer it came from
 * and traffic to it goes only to that peer, whose own egress allow-list decides.
 */
export function peerUriFilter(peer: { id: string; plmnIds: readonly PlmnId[] }): Required<RewriteOptions> {
  return {
    hostFilter: (host, plmn) => (plmn ? peer.plmnIds.some((p) => samePlmn(p, plmn)) : isIP(host) !== 0),
    peerId: peer.id,
  };
}

const sbiPortSuffix = (sbi: SbiEndpoint) =>
  sbi.port === undefined || sbi.port === defaultPort(sbi.scheme) ? "" : `:${sbi.port}`;

function isOwn(host: string, m: TelescopicMapper): boolean {
  return host === m.seppDomain || host.endsWith(`.${m.seppDomain}`);
}

function checkHost(host: string, opts: RewriteOptions): void {
  if (opts.hostFilter && !opts.hostFilter(host, plmnOfHost(host)))
    throw new TelescopicError(`foreign host not allowed for this peer`, 403, "TARGET_NOT_ALLOWED");
}

/** The telescopic FQDN for a foreign FQDN (unchanged when it already is under our own domain). */
export function telescopicHost(
  m: TelescopicMapper,
  foreignHost: string,
  origin?: ForeignOrigin,
  opts: RewriteOptions = {},
): string {
  const h = foreignHost.toLowerCase().replace(/\.$/, "");
  if (isOwn(h, m)) return h;
  checkHost(h, opts);
  return `${m.labelFor(h, opts.peerId !== undefined ? { ...origin, peerId: opts.peerId } : origin)}.${m.seppDomain}`;
}

const URI_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/;

/**
 * Rewrite an absolute http(s) URI to its telescopic form: `https://nf.foreign:8443/cb/1?x` →
 * `<sbi.scheme>://<label>.<seppDomain>[:<sbi.port>]/cb/1?x`, the label mapping (https, nf.foreign, 8443).
 * A URI already under our own domain is returned unchanged. Throws TelescopicError on an invalid URI.
 */
export function rewriteUri(uri: string, m: TelescopicMapper, sbi: SbiEndpoint, opts: RewriteOptions = {}): string {
  if (typeof uri !== "string") throw new TelescopicError("URI is not a string");
  if (uri.length > 4096) throw new TelescopicError("URI too long");
  if (/[\x00-\x20\x7f]/.test(uri)) throw new TelescopicError("URI contains whitespace or control characters");
  const mm = URI_RE.exec(uri);
  if (!mm)
    throw new TelescopicError(uri.includes("#") ? "URI must not carry a fragment" : "not an absolute http(s) URI");
  const scheme = mm[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https") throw new TelescopicError(`URI scheme ${scheme} not supported`);
  let a: ReturnType<typeof parseAuthority>;
  try {
    a = parseAuthority(mm[2]!);
  } catch (e) {
    throw new TelescopicError(`invalid URI authority: ${(e as TargetError).message}`);
  }
  const rest = mm[3]!;
  if (!/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/.test(rest))
    throw new TelescopicError("invalid character in URI path or query");
  if (a.kind === "dns" && isOwn(a.host, m)) return uri;
  checkHost(a.host, opts);
  const label = m.labelFor(a.host, {
    scheme,
    port: a.port,
    ...(opts.peerId !== undefined ? { peerId: opts.peerId } : {}),
  });
  return `${sbi.scheme}://${formatAuthority("dns", `${label}.${m.seppDomain}`, null)}${sbiPortSuffix(sbi)}${rest}`;
}

/**
 * Apply `f` to every string found at `pointer` in `root` (mutated). Returns the count. An RFC 6901 pointer
 * (n32f/pointer.ts) in which the token "*" matches every array element or object member.
 */
function forEachAt(root: unknown, pointer: string, f: (v: string, where: string) => string): number {
  const segs = parsePointer(pointer);
  if (segs === null || segs.length === 0) throw new TelescopicError(`bad pointer ${pointer}`, 500, "SYSTEM_FAILURE");
  let n = 0;
  const walk = (node: unknown, i: number, where: string) => {
    const seg = segs[i]!;
    const last = i === segs.length - 1;
    const visit = (container: Record<string, unknown> | unknown[], key: string | number) => {
      const child = (container as Record<string, unknown>)[key as string];
      if (child === undefined) return;
      const w = appendToken(where, String(key));
      if (last) {
        if (typeof child !== "string") throw new TelescopicError(`${w} is not a string`);
        (container as Record<string, unknown>)[key as string] = f(child, w);
        n++;
      } else walk(child, i + 1, w);
    };
    if (seg === "*") {
      if (Array.isArray(node)) for (let k = 0; k < node.length; k++) visit(node, k);
      else if (isObj(node)) for (const k of Object.keys(node)) visit(node, k);
    } else if (Array.isArray(node)) {
      if (isIndexToken(seg)) visit(node, Number(seg));
    } else if (isObj(node) && hasMember(node, seg)) visit(node, seg);
  };
  walk(root, 0, "");
  return n;
}

/** Rewrite, in place, the URI members at `pointers` ("*" = any element/member) of `node`. Returns the count. */
export function rewriteUrisAt(
  node: unknown,
  pointers: readonly string[],
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): number {
  let n = 0;
  for (const p of pointers) n += forEachAt(node, p, (v) => rewriteUri(v, m, sbi, opts));
  return n;
}

/** Rewrite the URI members at `pointers` of a parsed JSON body (a copy is returned; the input is not changed). */
export function rewriteUriMembers<T>(
  body: T,
  pointers: readonly string[],
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  const copy = structuredClone(body);
  return { body: copy, rewritten: rewriteUrisAt(copy, pointers, m, sbi, opts) };
}

/** A request whose body carries URIs (callbacks, V-SMF URI) that the pSEPP rewrites to telescopic FQDNs. */
export interface UriRewriteRule {
  method: string;
  /** path template relative to the apiRoot; `{name}` matches one segment; matched against a suffix of the path */
  path: string;
  /** JSON pointers into the (JSON root part of the) body */
  pointers: string[];
}

/**
 * Requests from a peer whose body URIs the pSEPP rewrites (TS 33.501 13.1.1.1: callback URIs in
 * subscriptions; the V-SMF URI of Nsmf_PDUSession create). Built from the OpenAPI files in 3gpp/.
 */
export const CALLBACK_URI_RULES: readonly UriRewriteRule[] = [
  {
    method: "POST",
    path: "/nudm-sdm/v2/{ueId}/sdm-subscriptions",
    pointers: ["/callbackReference", "/dataRestorationCallbackUri"],
  },
  {
    method: "POST",
    path: "/nudm-sdm/v2/shared-data-subscriptions",
    pointers: ["/callbackReference", "/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/amf-3gpp-access",
    pointers: ["/deregCallbackUri", "/pcscfRestorationCallbackUri", "/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/amf-non-3gpp-access",
    pointers: ["/deregCallbackUri", "/pcscfRestorationCallbackUri", "/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/smf-registrations/{pduSessionId}",
    pointers: [
      "/deregCallbackUri",
      "/pcscfRestorationCallbackUri",
      "/dataRestorationCallbackUri",
      "/staleCheckCallbackUri",
    ],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/smsf-3gpp-access",
    pointers: ["/dataRestorationCallbackUri"],
  },
  {
    method: "PUT",
    path: "/nudm-uecm/v1/{ueId}/registrations/smsf-non-3gpp-access",
    pointers: ["/dataRestorationCallbackUri"],
  },
  { method: "POST", path: "/nudm-ueau/v1/{supi}/auth-events", pointers: ["/dataRestorationCallbackUri"] },
  { method: "POST", path: "/nsmf-pdusession/v1/pdu-sessions", pointers: ["/vsmfPduSessionUri", "/ismfPduSessionUri"] },
  { method: "POST", path: "/namf-comm/v1/subscriptions", pointers: ["/amfStatusUri"] },
  { method: "PUT", path: "/namf-comm/v1/ue-contexts/{ueContextId}", pointers: ["/n2NotifyUri"] },
  {
    method: "POST",
    path: "/namf-comm/v1/ue-contexts/{ueContextId}/n1-n2-messages",
    pointers: ["/n1n2FailureTxfNotifURI"],
  },
  {
    method: "POST",
    path: "/namf-comm/v1/ue-contexts/{ueContextId}/n1-n2-messages/subscriptions",
    pointers: ["/n1NotifyCallbackUri", "/n2NotifyCallbackUri"],
  },
  { method: "POST", path: "/namf-comm/v1/non-ue-n2-messages/subscriptions", pointers: ["/n2NotifyCallbackUri"] },
  { method: "POST", path: "/nnrf-nfm/v1/subscriptions", pointers: ["/nfStatusNotificationUri"] },
];

/** The rule for a request, matching the template against a suffix of `path` at segment boundaries (N32-PROFILE P10). */
export function findUriRewriteRule(
  method: string,
  path: string,
  rules: readonly UriRewriteRule[] = CALLBACK_URI_RULES,
): UriRewriteRule | null {
  const p = path
    .split("?")[0]!
    .split("/")
    .filter((s, i) => i > 0 || s !== "");
  for (const r of rules) {
    if (r.method !== method.toUpperCase()) continue;
    const t = r.path.split("/").slice(1);
    if (t.length > p.length) continue;
    const tail = p.slice(p.length - t.length);
    if (t.every((seg, i) => (/^\{[^}]+\}$/.test(seg) ? tail[i] !== "" : seg === tail[i]))) return r;
  }
  return null;
}

/** pSEPP: rewrite the callback URIs (and V-SMF URI) of a request from a peer, when a rule names it. */
export function rewriteRequestUris<T>(
  method: string,
  path: string,
  body: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  const rule = findUriRewriteRule(method, path);
  if (!rule || body === null || typeof body !== "object") return { body, rewritten: 0 };
  return rewriteUriMembers(body, rule.pointers, m, sbi, opts);
}

/** pSEPP: the V-SMF URI of Nsmf_PDUSession create (PduSessionCreateData.vsmfPduSessionUri). */
export function rewriteVsmfPduSessionUri<T>(
  pduSessionCreateData: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  return rewriteUriMembers(pduSessionCreateData, ["/vsmfPduSessionUri", "/ismfPduSessionUri"], m, sbi, opts);
}

/**
 * A URI of a peer's response that our NF will use next (a `Location` header of 201 or 3xx): an absolute http(s)
 * URI becomes its telescopic form (rewriteUri); a relative reference (`/path…`) is left as it is, since the NF
 * resolves it against the (already telescopic or proxied) target it called. Throws TelescopicError.
 */
export function rewriteLocation(
  value: string,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): string {
  if (value.startsWith("/") && !value.startsWith("//")) {
    if (value.length > 4096 || /[\x00-\x20\x7f]/.test(value)) throw new TelescopicError("invalid relative Location");
    return value;
  }
  return rewriteUri(value, m, sbi, opts);
}

/**
 * The HAL links of a peer's response (`_links` at the root of a JSON body, TS 29.571 LinksValueSchema: a Link
 * `{href}` or an array of them; e.g. Nausf UEAuthenticationCtx `_links["5g-aka"]`, TS 29.509): every href
 * rewritten like a Location (a copy is returned). Other members of a link are kept.
 */
export function rewriteLinks<T>(
  body: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): { body: T; rewritten: number } {
  if (!isObj(body) || body._links === undefined) return { body, rewritten: 0 };
  if (!isObj(body._links)) throw new TelescopicError("/_links is not an object");
  const copy = structuredClone(body) as Record<string, unknown> & { _links: Record<string, unknown> };
  let rewritten = 0;
  const link = (l: unknown, where: string) => {
    if (!isObj(l)) throw new TelescopicError(`${where} is not a Link`);
    if (l.href === undefined) return;
    if (typeof l.href !== "string") throw new TelescopicError(`${where}/href is not a string`);
    l.href = rewriteLocation(l.href, m, sbi, opts);
    rewritten++;
  };
  const names = Object.keys(copy._links);
  if (names.length > 256) throw new TelescopicError("/_links has too many relations");
  for (const rel of names) {
    const v = copy._links[rel];
    const where = appendToken("/_links", rel);
    if (Array.isArray(v)) {
      if (v.length > 1024) throw new TelescopicError(`${where} has too many links`);
      for (const [i, l] of v.entries()) link(l, `${where}/${i}`);
    } else link(v, where);
  }
  return { body: copy as T, rewritten };
}
