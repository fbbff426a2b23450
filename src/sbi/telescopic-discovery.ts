// src/sbi/telescopic-discovery.ts — Nnrf_NFDiscovery results (TS 29.510 SearchResult, StoredSearchResult)
// from a peer rewritten to telescopic FQDNs by the cSEPP (TS 33.501 13.1.1.1; N32-PROFILE P8; docs/DATAPATH.md),
// so that our NFs reach the discovered producers only through this SEPP. Pure, over a TelescopicMapper.
import { isDnsName } from "./api-root.ts";
import { isPlainObject as isObj } from "../n32f/pointer.ts";
import { type ForeignOrigin, TelescopicError, type TelescopicMapper } from "./telescopic-store.ts";
import { type RewriteOptions, rewriteUrisAt, type SbiEndpoint, telescopicHost } from "./telescopic-rewrite.ts";

export interface SearchResultRewrite<T> {
  body: T;
  /** FQDNs and URIs replaced */
  rewritten: number;
  /** NF profiles removed because they had no FQDN (an IP-only profile cannot be reached through the SEPP) */
  dropped: number;
}

/**
 * cSEPP: rewrite an Nnrf_NFDiscovery SearchResult (or StoredSearchResult) from a peer to telescopic FQDNs
 * (TS 33.501 13.1.1.1). Policy (docs/DATAPATH.md):
 * - NFProfile.fqdn / interPlmnFqdn → telescopic FQDNs; ipv4Addresses / ipv6Addresses removed;
 * - each NFService (nfServices[] and nfServiceList{}) gets an explicit `fqdn` (and `interPlmnFqdn` when it had
 *   one) whose label maps the service's own scheme, host (service FQDN, else the profile's) and port (first
 *   ipEndPoints port); then `scheme` becomes our SBI scheme and `ipEndPoints` becomes `[{port: sbi.port}]`
 *   (or is removed), so no foreign address or port reaches our NFs; `apiPrefix` (a path) is kept;
 * - defaultNotificationSubscriptions[].callbackUri and nfInstanceList{}.nrfDiscApiUri are rewritten as URIs;
 * - a profile with no FQDN at all is dropped.
 * The input is not changed.
 */
export function rewriteSearchResult<T>(
  result: T,
  m: TelescopicMapper,
  sbi: SbiEndpoint,
  opts: RewriteOptions = {},
): SearchResultRewrite<T> {
  if (!isObj(result)) throw new TelescopicError("SearchResult is not an object");
  const copy = structuredClone(result) as Record<string, unknown>;
  let rewritten = 0;
  let dropped = 0;
  const fqdnOf = (x: unknown, what: string): string | undefined => {
    if (x === undefined) return undefined;
    if (typeof x !== "string" || !isDnsName(x)) throw new TelescopicError(`${what} is not an FQDN`);
    return x.toLowerCase().replace(/\.$/, "");
  };
  const tele = (host: string, origin?: ForeignOrigin) => {
    rewritten++;
    return telescopicHost(m, host, origin, opts);
  };
  const rewriteUriMembers0 = (node: unknown, pointers: string[]) => rewriteUrisAt(node, pointers, m, sbi, opts);
  const rewriteService = (
    svc: unknown,
    profileHost: string | undefined,
    profileInterHost: string | undefined,
    where: string,
  ) => {
    if (!isObj(svc)) throw new TelescopicError(`${where} is not an object`);
    const sf = fqdnOf(svc.fqdn, `${where}/fqdn`);
    const si = fqdnOf(svc.interPlmnFqdn, `${where}/interPlmnFqdn`);
    const scheme = svc.scheme === "http" || svc.scheme === "https" ? svc.scheme : null;
    if (svc.scheme !== undefined && scheme === null) throw new TelescopicError(`${where}/scheme is not http or https`);
    let port: number | null = null;
    if (svc.ipEndPoints !== undefined) {
      if (!Array.isArray(svc.ipEndPoints)) throw new TelescopicError(`${where}/ipEndPoints is not an array`);
      for (const ep of svc.ipEndPoints) {
        if (isObj(ep) && ep.port !== undefined) {
          if (typeof ep.port !== "number" || !Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535)
            throw new TelescopicError(`${where}/ipEndPoints port invalid`);
          port = ep.port;
          break;
        }
      }
    }
    const origin: ForeignOrigin = { scheme, port };
    const host = sf ?? profileHost ?? si ?? profileInterHost;
    if (host === undefined) return false;
    svc.fqdn = tele(host, origin);
    if (si !== undefined || (sf === undefined && profileInterHost !== undefined))
      svc.interPlmnFqdn = tele(si ?? profileInterHost!, origin);
    svc.scheme = sbi.scheme;
    if (sbi.port !== undefined) svc.ipEndPoints = [{ port: sbi.port }];
    else delete svc.ipEndPoints;
    rewritten += rewriteUriMembers0(svc, ["/defaultNotificationSubscriptions/*/callbackUri"]);
    return true;
  };
  const rewriteProfile = (p: unknown, where: string): boolean => {
    if (!isObj(p)) throw new TelescopicError(`${where} is not an object`);
    const f = fqdnOf(p.fqdn, `${where}/fqdn`);
    const fi = fqdnOf(p.interPlmnFqdn, `${where}/interPlmnFqdn`);
    delete p.ipv4Addresses;
    delete p.ipv6Addresses;
    let anyHost = f !== undefined || fi !== undefined;
    if (f !== undefined) p.fqdn = tele(f);
    if (fi !== undefined) p.interPlmnFqdn = tele(fi);
    if (p.nfServices !== undefined) {
      if (!Array.isArray(p.nfServices)) throw new TelescopicError(`${where}/nfServices is not an array`);
      const kept = p.nfServices.filter((s, i) => rewriteService(s, f, fi, `${where}/nfServices/${i}`));
      if (kept.length) anyHost = true;
      p.nfServices = kept;
      if (kept.length === 0) delete p.nfServices;
    }
    if (p.nfServiceList !== undefined) {
      if (!isObj(p.nfServiceList)) throw new TelescopicError(`${where}/nfServiceList is not an object`);
      for (const [k, s] of Object.entries(p.nfServiceList)) {
        if (rewriteService(s, f, fi, `${where}/nfServiceList/${k}`)) anyHost = true;
        else delete p.nfServiceList[k];
      }
      if (Object.keys(p.nfServiceList).length === 0) delete p.nfServiceList;
    }
    rewritten += rewriteUriMembers0(p, ["/defaultNotificationSubscriptions/*/callbackUri"]);
    return anyHost;
  };
  for (const list of ["nfInstances", "completeNfInstances"]) {
    const v = copy[list];
    if (v === undefined) continue;
    if (!Array.isArray(v)) throw new TelescopicError(`/${list} is not an array`);
    const kept = v.filter((p, i) => {
      const ok = rewriteProfile(p, `/${list}/${i}`);
      if (!ok) dropped++;
      return ok;
    });
    copy[list] = kept;
    if (list === "completeNfInstances" && kept.length === 0) delete copy[list];
  }
  if (copy.nfInstanceList !== undefined) rewritten += rewriteUriMembers0(copy, ["/nfInstanceList/*/nrfDiscApiUri"]);
  return { body: copy as T, rewritten, dropped };
}
