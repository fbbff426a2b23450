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
  /** position in the API's templates sorted by weight (ties: configuration order): the order they are tried in */
  order: number;
}

/**
 * The templates of one `/api/version` by the shape of the paths they can match: method → number of `/`-separated
 * segments (a variable matches one non-empty segment, so a template matches paths of its own count only) → by the
 * last segment when it is all literal, else `open`. A request tries only the templates of its shape, in `order`:
 * the same first match as trying every template (an operation list of 39 templates for nudm-sdm took 1.3 µs per
 * request for `/{supi}/am-data`, and a peer may add 4096).
 */
type ShapeIndex = Map<string, Map<number, { byLast: Map<string, Compiled[]>; open: Compiled[] }>>;
const NONE: Compiled[] = [];
const VARIABLE = /\{[^{}/]+\}/;

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
  readonly #byPrefix = new Map<string, ShapeIndex>();
  readonly #callbacks = new Set<string>();

  constructor(specs: Iterable<OperationSpec>) {
    const seen = new Set<string>();
    const lists = new Map<string, Compiled[]>();
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
      let list = lists.get(prefix);
      if (!list) {
        list = [];
        lists.set(prefix, list);
      }
      list.push({ method: s.method, resource: s.resource, ...compileTemplate(s.resource), order: 0 });
    }
    for (const [prefix, list] of lists) {
      list.sort((a, b) => b.weight - a.weight); // stable: equal weights keep the configuration's order
      const index: ShapeIndex = new Map();
      list.forEach((c, order) => {
        c.order = order;
        const segs = c.resource.split("/");
        let byCount = index.get(c.method);
        if (!byCount) {
          byCount = new Map();
          index.set(c.method, byCount);
        }
        let shape = byCount.get(segs.length);
        if (!shape) {
          shape = { byLast: new Map(), open: [] };
          byCount.set(segs.length, shape);
        }
        const last = segs[segs.length - 1]!;
        if (VARIABLE.test(last)) shape.open.push(c);
        else {
          const same = shape.byLast.get(last);
          if (same) same.push(c);
          else shape.byLast.set(last, [c]);
        }
      });
      this.#byPrefix.set(prefix, index);
    }
  }

  callbackAllowed(callbackType: string): boolean {
    return this.#callbacks.has(callbackType);
  }

  /** The allowed operation `path` (apiRoot path prefix allowed before `/api/version`, no query) is, or null. */
  match(method: string, path: string): MatchedOperation | null {
    // segment i of the path (after its leading "/") starts at `start`; an apiRoot may carry a deployment prefix of a
    // few segments before `/api/version`: the first pair that looks like one decides
    for (let i = 1, start = path.indexOf("/") + 1; start > 0 && i <= MAX_SEGMENTS_BEFORE_API + 1; i++) {
      const apiEnd = path.indexOf("/", start);
      if (apiEnd < 0) break; // no version segment after this one
      const versionEnd = path.indexOf("/", apiEnd + 1);
      const end = versionEnd < 0 ? path.length : versionEnd;
      const api = path.slice(start, apiEnd);
      const version = path.slice(apiEnd + 1, end);
      if (API_SEG.test(api) && VERSION_SEG.test(version)) {
        const prefix = path.slice(start - 1, end);
        const index = this.#byPrefix.get(prefix);
        if (!index) return null;
        return matchIn(index, method, versionEnd < 0 ? "/" : path.slice(versionEnd), prefix, api, version);
      }
      start = apiEnd + 1;
    }
    // operations without API name (Nnrf_AccessToken: {apiRoot}/oauth2/token): the path ends with the template
    const bare = this.#byPrefix.get("");
    if (!bare) return null;
    // the whole path, then what follows each of its first segments ("/" after the last one)
    let r = matchIn(bare, method, path, "");
    for (let i = 1, at = path.indexOf("/"); r === null && at >= 0 && i <= MAX_SEGMENTS_BEFORE_API + 1; i++) {
      at = path.indexOf("/", at + 1);
      r = matchIn(bare, method, at < 0 ? "/" : path.slice(at), "");
    }
    return r;
  }
}

function matchIn(
  index: ShapeIndex,
  method: string,
  rest: string,
  prefix: string,
  api?: string,
  version?: string,
): MatchedOperation | null {
  let count = 1;
  for (let i = rest.indexOf("/"); i >= 0; i = rest.indexOf("/", i + 1)) count++;
  const shape = index.get(method)?.get(count);
  if (!shape) return null;
  const closed = shape.byLast.get(rest.slice(rest.lastIndexOf("/") + 1)) ?? NONE;
  const open = shape.open;
  // the two lists merged in `order`: the templates of this shape in the order they were always tried
  for (let i = 0, j = 0; i < closed.length || j < open.length; ) {
    const c = j >= open.length || (i < closed.length && closed[i]!.order < open[j]!.order) ? closed[i++]! : open[j++]!;
    const m = c.re.exec(rest);
    if (!m) continue;
    const vars: Record<string, string> = {};
    for (let k = 0; k < c.names.length; k++) vars[c.names[k]!] = safeDecode(m[k + 1]!);
    return { prefix, api, version, method, resource: c.resource, vars };
  }
  return null;
}

function safeDecode(s: string): string {
  if (s.indexOf("%") < 0) return s; // nothing to decode (decodeURIComponent costs ~150 ns even then)
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
