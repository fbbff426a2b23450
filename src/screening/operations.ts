// src/screening/operations.ts — GSMA FS.36 category 1: which inbound operations may cross the border at all.
// An operation is (API, version, method, resource template) as in the 3GPP OpenAPI files
// (`{apiRoot}/nudm-sdm/v2` + `/{supi}/am-data`), or a callback type (`Nudm_SDM_datachangeNotification`, matched
// on 3gpp-Sbi-Callback: the callback URI is the consumer's own). Pure: compiled once per configuration.

/** One allowed operation, as configured or generated (config/screening-defaults.json). */
export interface OperationSpec {
  api?: string;
  version?: string;
  method?: string;
  resource?: string;
  callbackType?: string;
}

/** The operation a request was found to be. `vars` are the resource template's variables (percent-decoded). */
export interface MatchedOperation {
  /** `/nudm-sdm/v2` (empty for operations without API name, e.g. /oauth2/token) */
  prefix: string;
  api?: string;
  version?: string;
  method: string;
  resource: string;
  vars: Record<string, string>;
}

interface Compiled {
  method: string;
  resource: string;
  re: RegExp;
  names: string[];
  /** literal characters: the most specific template wins (`/shared-data` before `/{supi}`) */
  weight: number;
}

const API_SEG = /^n[a-z0-9-]+$/;
const VERSION_SEG = /^v\d{1,3}$/;
const MAX_SEGMENTS_BEFORE_API = 4;

function compileTemplate(resource: string): { re: RegExp; names: string[]; weight: number } {
  const names: string[] = [];
  let src = "";
  let weight = 0;
  for (const part of resource.split(/(\{[^{}/]+\})/)) {
    const m = /^\{([^{}/]+)\}$/.exec(part);
    if (m) {
      names.push(m[1]!);
      src += "([^/]+)";
    } else {
      weight += part.length;
      src += part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
  }
  return { re: new RegExp(`^${src}$`), names, weight };
}

const keyOf = (api: string | undefined, version: string | undefined) => (api && version ? `/${api}/${version}` : "");

/** The allowed operations of one peer: a map from `/api/version` to templates, and the allowed callback types. */
export class OperationTable {
  readonly #byPrefix = new Map<string, Compiled[]>();
  readonly #callbacks = new Set<string>();

  constructor(specs: Iterable<OperationSpec>) {
    const seen = new Set<string>();
    for (const s of specs) {
      if (s.callbackType) {
        this.#callbacks.add(s.callbackType);
        continue;
      }
      if (!s.method || !s.resource) continue;
      const prefix = keyOf(s.api, s.version);
      const k = `${prefix} ${s.method} ${s.resource}`;
      if (seen.has(k)) continue;
      seen.add(k);
      let list = this.#byPrefix.get(prefix);
      if (!list) {
        list = [];
        this.#byPrefix.set(prefix, list);
      }
      list.push({ method: s.method, resource: s.resource, ...compileTemplate(s.resource) });
    }
    for (const list of this.#byPrefix.values()) list.sort((a, b) => b.weight - a.weight);
  }

  callbackAllowed(callbackType: string): boolean {
    return this.#callbacks.has(callbackType);
  }

  /** The allowed operation `path` (apiRoot path prefix allowed before `/api/version`, no query) is, or null. */
  match(method: string, path: string): MatchedOperation | null {
    const segs = path.split("/");
    // segs[0] is "" (the path starts with "/"); an apiRoot may carry a deployment prefix of a few segments
    for (let i = 1; i < segs.length - 1 && i <= MAX_SEGMENTS_BEFORE_API + 1; i++) {
      const api = segs[i]!;
      const version = segs[i + 1]!;
      if (!API_SEG.test(api) || !VERSION_SEG.test(version)) continue;
      const prefix = `/${api}/${version}`;
      const list = this.#byPrefix.get(prefix);
      if (!list) return null;
      const rest = `/${segs.slice(i + 2).join("/")}`;
      return matchIn(list, method, rest, prefix, api, version);
    }
    // operations without API name (Nnrf_AccessToken: {apiRoot}/oauth2/token): the path ends with the template
    const bare = this.#byPrefix.get("");
    if (!bare) return null;
    for (let i = 0; i < segs.length && i <= MAX_SEGMENTS_BEFORE_API + 1; i++) {
      const r = matchIn(bare, method, i === 0 ? path : `/${segs.slice(i + 1).join("/")}`, "");
      if (r) return r;
    }
    return null;
  }
}

function matchIn(
  list: Compiled[],
  method: string,
  rest: string,
  prefix: string,
  api?: string,
  version?: string,
): MatchedOperation | null {
  for (const c of list) {
    if (c.method !== method) continue;
    const m = c.re.exec(rest);
    if (!m) continue;
    const vars: Record<string, string> = {};
    for (let j = 0; j < c.names.length; j++) vars[c.names[j]!] = safeDecode(m[j + 1]!);
    return { prefix, api, version, method, resource: c.resource, vars };
  }
  return null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The API and version of a path, for rate limits and events when no operation matched (null: none). */
export function apiOf(path: string): string | null {
  const segs = path.split("/");
  for (let i = 1; i < segs.length - 1 && i <= MAX_SEGMENTS_BEFORE_API + 1; i++)
    if (API_SEG.test(segs[i]!) && VERSION_SEG.test(segs[i + 1]!)) return segs[i]!;
  return null;
}
