// test/support/operation-oracle.ts — the operation matcher of src/screening/operations.ts as it was before it tried only
// the templates of a path's shape: every template of the API in weight order (stable), a regular expression each. The
// oracle of test/screening/operations.test.ts and the baseline of bench/screening-rules.ts.
import type { MatchedOperation, OperationSpec } from "../../src/screening/operations.ts";

/** The previous matcher: every template of the API in weight order (stable), a regular expression each. */
export function oracle(specs: OperationSpec[]): (method: string, path: string) => MatchedOperation | null {
  type T = { method: string; resource: string; re: RegExp; names: string[]; weight: number };
  const byPrefix = new Map<string, T[]>();
  const seen = new Set<string>();
  for (const s of specs) {
    if (s.callbackType || !s.method || !s.resource) continue;
    const prefix = s.api && s.version ? `/${s.api}/${s.version}` : "";
    if (seen.has(`${prefix} ${s.method} ${s.resource}`)) continue;
    seen.add(`${prefix} ${s.method} ${s.resource}`);
    const names: string[] = [];
    let src = "";
    let weight = 0;
    for (const part of s.resource.split(/(\{[^{}/]+\})/)) {
      const m = /^\{([^{}/]+)\}$/.exec(part);
      if (m) {
        names.push(m[1]!);
        src += "([^/]+)";
      } else {
        weight += part.length;
        src += part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      }
    }
    const list = byPrefix.get(prefix) ?? [];
    list.push({ method: s.method, resource: s.resource, re: new RegExp(`^${src}$`), names, weight });
    byPrefix.set(prefix, list);
  }
  for (const l of byPrefix.values()) l.sort((a, b) => b.weight - a.weight);
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const inList = (list: T[], method: string, rest: string, prefix: string, api?: string, version?: string) => {
    for (const c of list) {
      if (c.method !== method) continue;
      const m = c.re.exec(rest);
      if (!m) continue;
      const vars: Record<string, string> = {};
      for (let k = 0; k < c.names.length; k++) vars[c.names[k]!] = decode(m[k + 1]!);
      return { prefix, api, version, method, resource: c.resource, vars };
    }
    return null;
  };
  return (method, path) => {
    const segs = path.split("/");
    for (let i = 1; i < segs.length - 1 && i <= 5; i++) {
      const [api, version] = [segs[i]!, segs[i + 1]!];
      if (!/^n[a-z0-9-]+$/.test(api) || !/^v\d{1,3}$/.test(version)) continue;
      const list = byPrefix.get(`/${api}/${version}`);
      if (!list) return null;
      return inList(list, method, `/${segs.slice(i + 2).join("/")}`, `/${api}/${version}`, api, version);
    }
    const bare = byPrefix.get("");
    if (!bare) return null;
    for (let i = 0; i < segs.length && i <= 5; i++) {
      const r = inList(bare, method, i === 0 ? path : `/${segs.slice(i + 1).join("/")}`, "");
      if (r) return r;
    }
    return null;
  };
}
