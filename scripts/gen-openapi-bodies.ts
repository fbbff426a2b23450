// scripts/gen-openapi-bodies.ts — generates validators of the REQUEST bodies of the roaming APIs from the official
// 3GPP OpenAPI files, for the optional border screening rule `screening.bodyValidation` (issue 10 §2,
// src/screening/body.ts). It reuses gen-openapi.ts's OpenAPI 3.0 → JSON Schema conversion and ajv set-up.
//
// Regenerate (e.g. for a new 3GPP release: replace the YAML files in ../shared/spec/3gpp first):
//     ./node_modules/.bin/bun scripts/gen-openapi-bodies.ts [specDir]      (default specDir: ../shared/spec/3gpp)
// It writes three deterministic files (test/screening/body.test.ts fails when any is not what this produces):
//   src/openapi/bodies.schema.json  the converted JSON Schema (review the diff of this one)
//   src/openapi/bodies.table.json   operation (API, version, method, resource template) or callback type →
//                                   the validator of each body carriage, and the member names of the schemas
//   src/openapi/bodies.gen.ts       ajv "standalone" precompiled validators (what the SEPP runs)
//
// Per operation and callback (named `<Service>_<callback>` as in category 1), the request body's content:
//   - application/json, application/merge-patch+json, other +json: the schema;
//   - multipart/related: the schema of its JSON root part (`jsonData`, TS 29.500 6.1.2.4);
//   - application/x-www-form-urlencoded: the schema of the form's fields, with the fields the `encoding` gives as
//     application/json (decoded as JSON) and the array fields (every value of a repeated field) listed;
//   - other media types (binary N1/N2 content) are not validated.
// A callback defined more than once with different schemas (Namf onN1N2MessageNotify: N1 or N2) gets their anyOf.
// Schemas of 3GPP files that are not shipped accept any value (listed in the generated header). `uniqueItems` over
// object items is dropped (ajv would compare every pair of a hostile array), also listed.
import type { BodyEntry, BodyTable, FormPlan } from "../src/screening/body.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import standaloneCode from "ajv/dist/standalone/index.js";
import { APIS, generatorPaths } from "./lib/gen-common.ts";
import { Converter, newAjv } from "./gen-openapi.ts";

/** The roaming APIs whose request bodies get validators (their files in ../shared/spec/3gpp). */
export const BODY_APIS = APIS; // the APIs of the IE mapping (gen-api-ie-mapping.ts)

export const BODIES_SCHEMA_ID = "urn:sepp:bodies";
export const BODIES_OUT_DIR = "src/openapi";
export const BODIES_SCHEMA_FILE = "bodies.schema.json";
export const BODIES_TABLE_FILE = "bodies.table.json";
export const BODIES_VALIDATORS_FILE = "bodies.gen.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export type { BodyEntry, BodyTable, FormPlan };

export interface GeneratedBodies {
  schemaJson: string;
  tableJson: string;
  validatorsTs: string;
  table: BodyTable;
}

const METHODS = ["get", "put", "post", "delete", "patch"] as const;
/** `TS29503_Nudm_SDM.yaml` → `Nudm_SDM`: the $defs prefix of that file's schemas */
const stem = (file: string) => file.replace(/^TS\d+_/, "").replace(/\.yaml$/, "");
const ident = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
const isJsonMedia = (m: string) =>
  m === "application/json" || m === "application/merge-patch+json" || /^application\/[a-z0-9.-]+\+json$/.test(m);

/** Produce the three generated files from the 3GPP YAML in `specDir` (pure apart from reading the files). */
export function generateBodies(specDir: string): GeneratedBodies {
  const formats = Object.keys(newAjv(false).formats);
  const conv = new Converter(specDir, formats, {
    qualify: (file, name) => `${ident(stem(file))}_${ident(name)}`,
    unshippedAsAny: true,
    linearUniqueItemsOnly: true,
  });
  /** synthesised roots (inline schemas, callback unions): name → schema */
  const synthetic = new Map<string, Json>();

  /** A $defs name for a body schema: the referenced component, else a synthesised def named `hint`. */
  const rootOf = (schema: Json | undefined, file: string, hint: string): string => {
    const converted = conv.convert(schema ?? {}, file, hint);
    if (isObj(converted) && typeof converted.$ref === "string" && Object.keys(converted).length === 1)
      return converted.$ref.slice("#/$defs/".length);
    synthetic.set(hint, converted);
    return hint;
  };
  /** Follow a `#/components/requestBodies/X` reference (TS 29.502 callbacks use them). */
  const requestBody = (rb: Json | undefined, file: string): Obj | undefined => {
    if (!isObj(rb)) return undefined;
    if (typeof rb.$ref !== "string") return rb;
    const m = /^#\/components\/requestBodies\/([A-Za-z0-9_.-]+)$/.exec(rb.$ref);
    const target = m
      ? ((conv.doc(file)?.components as Obj | undefined)?.requestBodies as Obj | undefined)?.[m[1]!]
      : undefined;
    if (!isObj(target)) throw new Error(`${file}: unresolved requestBody ${rb.$ref}`);
    return target;
  };
  /** The entry fields of one requestBody: the root $defs name per carriage (`name` prefixes synthesised ones). */
  const carriages = (rb: Obj, file: string, name: string) => {
    const out: { json?: string; multipart?: string; form?: FormPlan } = {};
    const content = isObj(rb.content) ? rb.content : {};
    for (const media of Object.keys(content).sort()) {
      const c = content[media];
      if (!isObj(c)) continue;
      if (isJsonMedia(media) && out.json === undefined) out.json = rootOf(c.schema, file, `${name}_json`);
      else if (media === "multipart/related") {
        const props = isObj(c.schema) && isObj(c.schema.properties) ? c.schema.properties : {};
        const enc = isObj(c.encoding) ? c.encoding : {};
        // the JSON root part: the property encoded as application/json (3GPP names it jsonData)
        const root =
          Object.keys(props).find((p) => isObj(enc[p]) && enc[p].contentType === "application/json") ??
          (props.jsonData !== undefined ? "jsonData" : undefined);
        if (root === undefined) throw new Error(`${name}: multipart/related without a JSON root part`);
        out.multipart = rootOf(props[root], file, `${name}_multipart`);
      } else if (media === "application/x-www-form-urlencoded") {
        const validator = rootOf(c.schema, file, `${name}_form`);
        const enc = isObj(c.encoding) ? c.encoding : {};
        const jsonFields = Object.keys(enc)
          .filter((f) => isObj(enc[f]) && enc[f].contentType === "application/json")
          .sort();
        const arrayFields = [...formArrayFields(conv, c.schema, file)].filter((f) => !jsonFields.includes(f)).sort();
        out.form = { validator, jsonFields, arrayFields };
      }
    }
    return out;
  };

  const operations: BodyEntry[] = [];
  const callbackParts = new Map<string, { service: string; required: boolean; roots: Record<string, Set<string>> }>();
  const sources: string[] = [];
  for (const api of BODY_APIS) {
    const doc = conv.doc(api.file);
    if (!doc) throw new Error(`missing OpenAPI file ${api.file} in ${specDir}`);
    sources.push(`${api.file} ${String((doc.info as Obj | undefined)?.version ?? "?")}`);
    const server = String(((doc.servers as Obj[] | undefined)?.[0] as Obj | undefined)?.url ?? "{apiRoot}");
    const m = /^\{apiRoot\}\/([a-z0-9-]+)\/(v\d+)$/.exec(server);
    const apiVer = m ? { api: m[1]!, version: m[2]! } : {};
    for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
      if (!isObj(item)) continue;
      for (const meth of METHODS) {
        const op = item[meth];
        if (!isObj(op)) continue;
        const method = meth.toUpperCase();
        const rb = requestBody(op.requestBody, api.file);
        if (rb) {
          const name = ident(`Op_${api.service}_${method}_${path}`);
          const c = carriages(rb, api.file, name);
          if (c.json || c.multipart || c.form)
            operations.push({
              service: api.service,
              ...apiVer,
              method,
              resource: path,
              required: rb.required === true,
              ...c,
            });
        }
        for (const [cbName, cb] of Object.entries(isObj(op.callbacks) ? op.callbacks : {})) {
          const callbackType = `${api.service}_${cbName}`;
          for (const expr of Object.values(isObj(cb) ? cb : {}))
            for (const cbOp of Object.values(isObj(expr) ? expr : {})) {
              const crb = isObj(cbOp) ? requestBody(cbOp.requestBody, api.file) : undefined;
              if (!crb) continue;
              const c = carriages(crb, api.file, ident(`Cb_${callbackType}`));
              if (c.form) throw new Error(`${callbackType}: form-encoded callback bodies are not handled`);
              let e = callbackParts.get(callbackType);
              if (!e) {
                e = { service: api.service, required: false, roots: {} };
                callbackParts.set(callbackType, e);
              }
              e.required ||= crb.required === true;
              for (const k of ["json", "multipart"] as const) {
                const root = c[k];
                if (root === undefined) continue;
                const set = e.roots[k] ?? new Set<string>();
                set.add(root);
                e.roots[k] = set;
              }
            }
        }
      }
    }
  }
  // callbacks: one root per carriage, the anyOf of the distinct schemas when defined more than once
  const callbacks: BodyEntry[] = [];
  for (const [callbackType, e] of [...callbackParts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const entry: BodyEntry = { service: e.service, callbackType, required: e.required };
    for (const k of ["json", "multipart"] as const) {
      const roots = [...(e.roots[k] ?? [])].sort();
      if (roots.length === 1) entry[k] = roots[0]!;
      else if (roots.length > 1) {
        const n = ident(`Cb_${callbackType}_${k}_anyOf`);
        synthetic.set(n, { anyOf: roots.map((r) => ({ $ref: `#/$defs/${r}` })) });
        entry[k] = n;
      }
    }
    callbacks.push(entry);
  }
  operations.sort((a, b) => {
    const ka = `${a.api ?? ""} ${a.resource} ${a.method}`;
    const kb = `${b.api ?? ""} ${b.resource} ${b.method}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

  const defs: Obj = {};
  for (const [n, s] of conv.defs) defs[n] = s;
  for (const [n, s] of [...synthetic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (defs[n] !== undefined) throw new Error(`synthesised name clash: ${n}`);
    defs[n] = s;
  }
  const schema: Obj = {
    $id: BODIES_SCHEMA_ID,
    $comment: `Generated by scripts/gen-openapi-bodies.ts from ${sources.join(", ")} and what they reference; do not edit.`,
    $defs: defs,
  };
  const memberNames = new Set<string>();
  collectMemberNames(defs, memberNames);
  const table: BodyTable = { operations, callbacks, memberNames: [...memberNames].sort() };

  // 3GPP writes `oneOf: [{required: [a]}, {required: [b]}]` beside the `properties` that declare a and b
  // one function per schema, not inlined at each use: the code stays a fraction of the size
  const ajv = newAjv(true, { strictRequired: false, inlineRefs: false });
  ajv.addSchema(schema);
  const exported = new Set<string>();
  for (const e of [...operations, ...callbacks])
    for (const v of [e.json, e.multipart, e.form?.validator]) if (v) exported.add(v);
  const refs: Record<string, string> = {};
  for (const n of [...exported].sort()) refs[n] = `${BODIES_SCHEMA_ID}#/$defs/${n}`;
  const code = standaloneCode(ajv, refs).replace(/^"use strict";\n?/, "");
  const header = [
    "// GENERATED by scripts/gen-openapi-bodies.ts — do not edit. Regenerate: bun scripts/gen-openapi-bodies.ts",
    `// Source: ${sources.join(", ")} (3GPP) and the schemas they reference.`,
    "// ajv standalone validators of the request bodies (see the script for why), by $defs name; the table is",
    "// bodies.table.json.",
    `// Any value (file not shipped): ${conv.substituted.length ? conv.substituted.join("; ") : "none"}`,
    `// uniqueItems not checked (object items): ${conv.dropped.length ? conv.dropped.join("; ") : "none"}`,
    "// @ts-nocheck",
    "/* eslint-disable */",
  ].join("\n");
  return {
    schemaJson: `${JSON.stringify(schema, null, 1)}\n`,
    tableJson: `${JSON.stringify(table, null, 1)}\n`,
    validatorsTs: `${header}\n${code}\n`,
    table,
  };
}

/** Top-level fields of a form schema whose type is array ($ref and allOf followed, as the 3GPP files write them). */
function formArrayFields(conv: Converter, schema: Json | undefined, file: string): Set<string> {
  const out = new Set<string>();
  const visit = (s: Json | undefined, f: string, depth: number) => {
    if (!isObj(s) || depth > 8) return;
    if (typeof s.$ref === "string") {
      const m = /^([^#]*)#\/components\/schemas\/([A-Za-z0-9_.-]+)$/.exec(s.$ref);
      const target = m ? m[1] || f : f;
      const d = m
        ? ((conv.doc(target)?.components as Obj | undefined)?.schemas as Obj | undefined)?.[m[2]!]
        : undefined;
      visit(d, target, depth + 1);
      return;
    }
    for (const [k, p] of Object.entries(isObj(s.properties) ? s.properties : {}))
      if (isObj(p) && p.type === "array") out.add(k);
    for (const sub of Array.isArray(s.allOf) ? s.allOf : []) visit(sub, f, depth + 1);
  };
  visit(schema, file, 0);
  return out;
}

function collectMemberNames(s: Json, out: Set<string>): void {
  if (Array.isArray(s)) for (const x of s) collectMemberNames(x, out);
  else if (isObj(s))
    for (const [k, v] of Object.entries(s)) {
      if (k === "properties" && isObj(v)) for (const n of Object.keys(v)) out.add(n);
      if (k === "required" && Array.isArray(v)) for (const n of v) if (typeof n === "string") out.add(n);
      collectMemberNames(v, out);
    }
}

if (import.meta.main) {
  const { repo, specDir } = generatorPaths();
  const g = generateBodies(specDir);
  writeFileSync(join(repo, BODIES_OUT_DIR, BODIES_SCHEMA_FILE), g.schemaJson);
  writeFileSync(join(repo, BODIES_OUT_DIR, BODIES_TABLE_FILE), g.tableJson);
  writeFileSync(join(repo, BODIES_OUT_DIR, BODIES_VALIDATORS_FILE), g.validatorsTs);
  console.log(
    `wrote ${g.table.operations.length} operations and ${g.table.callbacks.length} callbacks to ${BODIES_OUT_DIR}/bodies.* from ${specDir}`,
  );
}
