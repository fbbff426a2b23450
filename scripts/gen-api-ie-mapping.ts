// scripts/gen-api-ie-mapping.ts — derives the default NF API data-type placement mapping (TS 29.573
// ProtectionPolicy.apiIeMappingList; TS 33.501 13.2.3.3; N32-PROFILE P4) from the official 3GPP OpenAPI files.
//
// Regenerate (e.g. for a new 3GPP release: replace the YAML files in ../shared/spec/3gpp first):
//   ./node_modules/.bin/bun scripts/gen-api-ie-mapping.ts [specDir] [outFile]
//   defaults: specDir = ../shared/spec/3gpp, outFile = config/api-ie-mapping.json
// test/n32f/policy.test.ts re-runs generateApiIeMapping() in memory and asserts the committed file is identical.
//
// What is walked, per operation of each API in APIS (and per callback operation):
//   - path and query parameters (path-level and operation-level, $ref resolved);
//   - request bodies (application/json, any +json, the JSON root part of multipart/related, the members of an
//     x-www-form-urlencoded body) and response bodies of every status code;
//   - response `Location` headers of operations whose path carries a UE identity.
// Body schemas are followed through $ref across files (bounded depth MAX_DEPTH, cycle-safe; a $ref into a file
// that is not in the spec folder is not followed), allOf/oneOf/anyOf are merged, arrays and maps are not
// entered with a pointer: an IE below an array item or map value marks the whole array/map member.
//
// Classification rules (exact names, no substrings):
//   - a $ref to a schema named in SCHEMA_TYPES marks the member that holds it with that type;
//   - a property named in PROPERTY_TYPES marks that member (whatever its schema);
//   - a path parameter in PATH_PARAM_TYPES / query parameter in QUERY_PARAM_TYPES → URI_PARAM;
//     a query parameter whose schema is itself a classified type → URI_PARAM of that type;
//   - Location response header of an operation whose path holds a UEID template variable → HEADER UEID.
//   - `authorization` (AUTHORIZATION_TOKEN) is not listed: src/n32f/policy.ts applies it to every API.
// A member that would hold several types gets the first of TYPE_PRIORITY; a member inside another marked
// member is dropped (the outer one covers it). Multipart binary parts are not listed: their Content-IDs are
// chosen by the NF at run time (a per-peer policy can name one).
//
// apiSignature = the path of the OpenAPI `servers` url after `{apiRoot}` + the operation path
// (`/nudm-sdm/v2/{supi}/am-data`); callbacks use {callbackType: "<Service>_<callback name>"}.
// The output is sorted (signatures, methods, IEs) and so deterministic.
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { ApiIeMapping, HttpMethod, IeInfo, IeType, ProtectionPolicy } from "../src/model/n32.ts";
import { PATH_PARAM_TYPES, PROPERTY_TYPES, QUERY_PARAM_TYPES, SCHEMA_TYPES, TYPE_PRIORITY } from "./api-ie-rules.ts";
import { APIS, generatorPaths, repairQuotedScalars } from "./lib/gen-common.ts";

export const MAX_DEPTH = 12;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

type Node = Record<string, any>;
type Hits = Map<string, { tokens: string[]; type: IeType }>;

const better = (a: IeType, b: IeType) => (TYPE_PRIORITY.indexOf(a) <= TYPE_PRIORITY.indexOf(b) ? a : b);
const esc = (t: string) => t.replace(/~/g, "~0").replace(/\//g, "~1");
const ptr = (tokens: readonly string[]) => tokens.map((t) => `/${esc(t)}`).join("");

class Specs {
  private readonly docs = new Map<string, Node | null>();
  constructor(private readonly dir: string) {}
  doc(file: string): Node | null {
    if (!this.docs.has(file)) {
      const p = join(this.dir, file);
      this.docs.set(
        file,
        existsSync(p) ? (parse(repairQuotedScalars(readFileSync(p, "utf8")), { maxAliasCount: 100 }) as Node) : null,
      );
    }
    return this.docs.get(file)!;
  }
  /** Resolve a $ref from `file`: the target node, its file, its schema name and a unique key. */
  resolve(ref: string, file: string): { node: Node | null; file: string; name: string; key: string } {
    const hash = ref.indexOf("#");
    const f = hash > 0 ? ref.slice(0, hash) : file;
    const path = ref
      .slice(hash + 1)
      .split("/")
      .filter((s) => s !== "");
    const name = path[path.length - 1] ?? "";
    let node: any = this.doc(f);
    for (const s of path) node = node?.[s.replace(/~1/g, "/").replace(/~0/g, "~")];
    return { node: node ?? null, file: f, name, key: `${f}#${path.join("/")}` };
  }
  deref(node: Node | undefined, file: string): { node: Node | undefined; file: string } {
    let n = node;
    let f = file;
    for (let i = 0; i < 8 && n && typeof n.$ref === "string"; i++) {
      const r = this.resolve(n.$ref, f);
      n = r.node ?? undefined;
      f = r.file;
    }
    return { node: n, file: f };
  }
}

function addHit(hits: Hits, tokens: string[], type: IeType): void {
  const k = ptr(tokens);
  const h = hits.get(k);
  hits.set(k, { tokens, type: h ? better(h.type, type) : type });
}

function walk(
  specs: Specs,
  node: Node | undefined,
  file: string,
  tokens: string[],
  depth: number,
  stack: string[],
  hits: Hits,
): void {
  if (!node || typeof node !== "object" || depth > MAX_DEPTH) return;
  if (typeof node.$ref === "string") {
    const r = specs.resolve(node.$ref, file);
    const t = SCHEMA_TYPES[r.name];
    if (t) {
      addHit(hits, tokens, t);
      return;
    }
    if (stack.includes(r.key) || !r.node) return;
    walk(specs, r.node, r.file, tokens, depth + 1, [...stack, r.key], hits);
    return;
  }
  for (const k of ["allOf", "oneOf", "anyOf"]) {
    if (Array.isArray(node[k])) for (const s of node[k]) walk(specs, s, file, tokens, depth + 1, stack, hits);
  }
  if (node.properties && typeof node.properties === "object") {
    for (const [name, sub] of Object.entries(node.properties as Record<string, Node>)) {
      const t = PROPERTY_TYPES[name];
      if (t) addHit(hits, [...tokens, name], t);
      else walk(specs, sub, file, [...tokens, name], depth + 1, stack, hits);
    }
  }
  for (const inner of [
    node.items,
    typeof node.additionalProperties === "object" ? node.additionalProperties : undefined,
  ]) {
    if (!inner) continue;
    const sub: Hits = new Map();
    walk(specs, inner, file, [...tokens, "*"], depth + 1, stack, sub);
    let type: IeType | undefined;
    for (const h of sub.values()) type = type ? better(type, h.type) : h.type;
    if (type) addHit(hits, tokens, type);
  }
}

/** Drop members inside another marked member (the outer one covers them, with the strongest type). */
function collapse(hits: Hits): Array<{ pointer: string; type: IeType }> {
  const list = [...hits.values()].sort((a, b) => a.tokens.length - b.tokens.length);
  const kept: Array<{ tokens: string[]; type: IeType }> = [];
  for (const h of list) {
    const outer = kept.find((k) => k.tokens.length <= h.tokens.length && k.tokens.every((t, i) => h.tokens[i] === t));
    if (outer) outer.type = better(outer.type, h.type);
    else kept.push({ tokens: h.tokens, type: h.type });
  }
  return kept.map((k) => ({ pointer: ptr(k.tokens), type: k.type }));
}

function schemaHits(specs: Specs, content: Node | undefined, file: string): Hits {
  const hits: Hits = new Map();
  if (!content || typeof content !== "object") return hits;
  for (const [mediaType, media] of Object.entries(content as Record<string, Node>)) {
    const mt = mediaType.toLowerCase();
    const schema = media?.schema as Node | undefined;
    if (mt === "application/json" || mt.endsWith("+json")) walk(specs, schema, file, [], 0, [], hits);
    else if (mt === "multipart/related") {
      // the JSON root part (the member whose encoding is JSON, `jsonData` by 3GPP convention) becomes the BODY
      const { node: s, file: f } = specs.deref(schema, file);
      const props = (s?.properties ?? {}) as Record<string, Node>;
      for (const [name, sub] of Object.entries(props)) {
        const enc = media?.encoding?.[name]?.contentType as string | undefined;
        if (name === "jsonData" || (enc && /json/i.test(enc))) walk(specs, sub, f, [], 0, [], hits);
      }
    } else if (mt === "application/x-www-form-urlencoded") {
      // form values are strings: a member below a parameter marks the whole parameter
      const sub: Hits = new Map();
      walk(specs, schema, file, [], 0, [], sub);
      for (const h of sub.values()) if (h.tokens.length > 0) addHit(hits, h.tokens.slice(0, 1), h.type);
    }
  }
  return hits;
}

interface OpIes {
  req: Map<string, IeInfo>;
  rsp: Map<string, IeInfo>;
}

function addIe(m: Map<string, IeInfo>, ie: IeInfo): void {
  const name = ie.reqIe ?? ie.rspIe!;
  const k = `${ie.ieLoc} ${name}`;
  const prev = m.get(k);
  m.set(k, prev ? { ...ie, ieType: better(prev.ieType, ie.ieType) } : ie);
}

function operationIes(specs: Specs, file: string, op: Node, pathParams: Node[], pathVars: readonly string[]): OpIes {
  const out: OpIes = { req: new Map(), rsp: new Map() };
  for (const raw of [...pathParams, ...((op.parameters as Node[]) ?? [])]) {
    const { node: p, file: pf } = specs.deref(raw, file);
    if (!p || typeof p.name !== "string") continue;
    let type: IeType | undefined;
    if (p.in === "path") type = PATH_PARAM_TYPES[p.name];
    else if (p.in === "query") {
      type = QUERY_PARAM_TYPES[p.name];
      if (!type) {
        const hits: Hits = new Map();
        const schemas = p.schema
          ? [p.schema]
          : Object.values((p.content ?? {}) as Record<string, Node>).map((c) => c?.schema);
        for (const s of schemas) walk(specs, s, pf, [], 0, [], hits);
        type = hits.get("")?.type;
      }
    }
    if (type) addIe(out.req, { ieLoc: "URI_PARAM", ieType: type, reqIe: p.name });
  }
  const { node: rb, file: rbf } = specs.deref(op.requestBody, file);
  for (const h of collapse(schemaHits(specs, rb?.content, rbf)))
    addIe(out.req, { ieLoc: "BODY", ieType: h.type, reqIe: h.pointer });
  const ueidInPath = pathVars.some((v) => PATH_PARAM_TYPES[v] === "UEID");
  for (const raw of Object.values((op.responses ?? {}) as Record<string, Node>)) {
    const { node: r, file: rf } = specs.deref(raw, file);
    if (!r) continue;
    for (const h of collapse(schemaHits(specs, r.content, rf)))
      addIe(out.rsp, { ieLoc: "BODY", ieType: h.type, rspIe: h.pointer });
    const headers = Object.keys((r.headers ?? {}) as Record<string, unknown>).map((h) => h.toLowerCase());
    if (ueidInPath && headers.includes("location"))
      addIe(out.rsp, { ieLoc: "HEADER", ieType: "UEID", rspIe: "location" });
  }
  return out;
}

function ieOrder(a: IeInfo, b: IeInfo): number {
  const ka = [a.ieLoc, a.reqIe !== undefined ? "0" : "1", a.reqIe ?? a.rspIe ?? "", a.ieType].join("\u0000");
  const kb = [b.ieLoc, b.reqIe !== undefined ? "0" : "1", b.reqIe ?? b.rspIe ?? "", b.ieType].join("\u0000");
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Build the mapping from the OpenAPI files in `specDir`. Pure apart from reading those files. */
export function generateApiIeMapping(specDir: string): ProtectionPolicy {
  const specs = new Specs(specDir);
  const byKey = new Map<string, { sig: ApiIeMapping["apiSignature"]; method: HttpMethod; ies: Map<string, IeInfo> }>();
  const add = (sig: ApiIeMapping["apiSignature"], method: HttpMethod, ies: OpIes) => {
    const key = `${typeof sig === "string" ? `0${sig}` : `1${sig.callbackType}`} ${method}`;
    let e = byKey.get(key);
    if (!e) {
      e = { sig, method, ies: new Map() };
      byKey.set(key, e);
    }
    for (const [k, ie] of [...ies.req, ...ies.rsp].map(
      ([k, v]) => [(v.reqIe !== undefined ? "q" : "s") + k, v] as const,
    )) {
      const prev = e.ies.get(k);
      e.ies.set(k, prev ? { ...ie, ieType: better(prev.ieType, ie.ieType) } : ie);
    }
  };
  for (const api of APIS) {
    const doc = specs.doc(api.file);
    if (!doc) throw new Error(`missing OpenAPI file ${api.file} in ${specDir}`);
    const server = String(doc.servers?.[0]?.url ?? "{apiRoot}");
    const prefix = server.replace(/^\{apiRoot\}/, "").replace(/\/$/, "");
    for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Node>)) {
      const pathVars = [...path.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]!);
      for (const m of METHODS) {
        const op = item[m] as Node | undefined;
        if (!op) continue;
        add(
          prefix + path,
          m.toUpperCase() as HttpMethod,
          operationIes(specs, api.file, op, item.parameters ?? [], pathVars),
        );
        for (const [cbName, cbRaw] of Object.entries((op.callbacks ?? {}) as Record<string, Node>)) {
          const { node: cb, file: cbf } = specs.deref(cbRaw, api.file);
          for (const cbItem of Object.values((cb ?? {}) as Record<string, Node>)) {
            for (const cm of METHODS) {
              const cop = cbItem?.[cm] as Node | undefined;
              if (!cop) continue;
              add(
                { callbackType: `${api.service}_${cbName}` },
                cm.toUpperCase() as HttpMethod,
                operationIes(specs, cbf, cop, cbItem.parameters ?? [], []),
              );
            }
          }
        }
      }
    }
  }
  const list: ApiIeMapping[] = [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .filter(([, e]) => e.ies.size > 0)
    .map(([, e]) => ({ apiSignature: e.sig, apiMethod: e.method, IeList: [...e.ies.values()].sort(ieOrder) }));
  return { apiIeMappingList: list };
}

export function formatMapping(p: ProtectionPolicy): string {
  return `${JSON.stringify(p, null, 2)}\n`;
}

if (import.meta.main) {
  const { repo, specDir } = generatorPaths();
  const outFile = process.argv[3] ?? join(repo, "config", "api-ie-mapping.json");
  const policy = generateApiIeMapping(specDir);
  writeFileSync(outFile, formatMapping(policy));
  console.log(`wrote ${policy.apiIeMappingList.length} mappings to ${outFile}`);
}
