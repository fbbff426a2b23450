// scripts/gen-openapi.ts — generates the N32 body validators from the official 3GPP OpenAPI files
// (N32-PROFILE intro and P10: every N32-c / N32-f body is validated against the Rel-18 schemas).
//
// Regenerate (e.g. when a new 3GPP release of the YAML files lands in ../shared/spec/3gpp):
//     bun scripts/gen-openapi.ts [specDir]        (default specDir: ../shared/spec/3gpp)
// It writes two deterministic files:
//   src/openapi/n32.schema.json   the converted JSON Schema (review the diff of this one)
//   src/openapi/validators.gen.ts ajv "standalone" precompiled validators (what the SEPP runs)
// test/openapi/validate.test.ts fails when either file is not what this script produces.
//
// Why standalone code: the compiled binary then does no schema compilation at start (no ajv compiler
// in the hot start path, no `new Function`/eval of generated code at run time), and the validators are
// plain functions that the bundler embeds like any other module.
//
// OpenAPI 3.0 schema dialect → JSON Schema (draft-07 as ajv understands it):
//   - `$ref: 'File.yaml#/components/schemas/X'` and `'#/components/schemas/X'` → `#/$defs/X` (siblings of a
//     $ref are ignored, as OpenAPI 3.0 says); only the schemas reachable from the roots are emitted;
//   - `nullable: true` → `"null"` added to `type` (and to `enum`), or `anyOf [schema, {type: null}]`;
//   - boolean `exclusiveMinimum`/`exclusiveMaximum` → the numeric draft-07 form;
//   - annotations and OpenAPI-only keywords (description, example, discriminator, readOnly, default, x-*)
//     are dropped; `format` is kept where ajv-formats knows it, else dropped (OpenAPI formats such as
//     int32/float are hints);
//   - a `pattern` the `u` flag refuses only for an identity escape (`\@`) is unescaped (see unicodePattern);
//   - any other keyword stops the generator, so that a new release cannot be silently mistranslated.
// scripts/gen-openapi-bodies.ts reuses this Converter (with ConverterOptions) for the request-body validators of the
// roaming APIs that the border screening uses.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { _ } from "ajv";
import standaloneCode from "ajv/dist/standalone/index.js";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { generatorPaths, repairQuotedScalars } from "./lib/gen-common.ts";

/** The 3GPP files whose component schemas are all N32 data types (TS 29.573 Rel-18). */
export const ROOT_FILES = [
  "TS29573_N32_Handshake.yaml",
  "TS29573_JOSEProtectedMessageForwarding.yaml",
  "TS29573_SeppTelescopicFqdnMapping.yaml",
] as const;

/** Exported validators: file that defines each name. */
export const EXPORTS: Record<string, string> = {
  SecNegotiateReqData: "TS29573_N32_Handshake.yaml",
  SecNegotiateRspData: "TS29573_N32_Handshake.yaml",
  SecParamExchReqData: "TS29573_N32_Handshake.yaml",
  SecParamExchRspData: "TS29573_N32_Handshake.yaml",
  N32fContextInfo: "TS29573_N32_Handshake.yaml",
  N32fErrorInfo: "TS29573_N32_Handshake.yaml",
  IpxProviderSecInfo: "TS29573_N32_Handshake.yaml",
  ProtectionPolicy: "TS29573_N32_Handshake.yaml",
  N32fReformattedReqMsg: "TS29573_JOSEProtectedMessageForwarding.yaml",
  N32fReformattedRspMsg: "TS29573_JOSEProtectedMessageForwarding.yaml",
  DataToIntegrityProtectBlock: "TS29573_JOSEProtectedMessageForwarding.yaml",
  DataToIntegrityProtectAndCipherBlock: "TS29573_JOSEProtectedMessageForwarding.yaml",
  Modifications: "TS29573_JOSEProtectedMessageForwarding.yaml",
  ProblemDetailsMsgForwarding: "TS29573_JOSEProtectedMessageForwarding.yaml",
  TelescopicMapping: "TS29573_SeppTelescopicFqdnMapping.yaml",
  ProblemDetails: "TS29571_CommonData.yaml",
};

/**
 * References into 3GPP files that are not among the shipped ones. Each is replaced by what that type
 * accepts, with the reason. Only reached through ProblemDetails.accessTokenRequest (TS 29.510).
 */
const MISSING_FILE_SUBSTITUTES: Record<string, { schema: object; why: string }> = {
  "TS29510_Nnrf_NFManagement.yaml#/components/schemas/NFType": {
    schema: { type: "string" },
    why: "TS 29.510 NFType is an extensible enum (anyOf [enum, string]): any string",
  },
};

/** OpenAPI 3.0 / JSON Schema annotations and OpenAPI-only keywords: no effect on validation. */
const DROPPED = new Set([
  "description",
  "title",
  "example",
  "examples",
  "externalDocs",
  "xml",
  "discriminator",
  "readOnly",
  "writeOnly",
  "deprecated",
  "default",
]);
/** Keywords copied as they are (their values are not schemas). */
const KEPT = new Set([
  "type",
  "required",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "minimum",
  "maximum",
  "multipleOf",
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** How a Converter names and bounds what it emits (the N32 defaults keep n32.schema.json as it was). */
export interface ConverterOptions {
  /** the $defs name of schema `name` of `file` (default: `name`; names must then be unique across files) */
  qualify?: (file: string, name: string) => string;
  /** a $ref into a 3GPP file that is not shipped becomes `{}` (accept any value, recorded in `substituted`)
   *  instead of stopping the generator */
  unshippedAsAny?: boolean;
  /** drop `uniqueItems` unless the items declare a scalar `type` (ajv then checks in linear time; on object
   *  items it compares every pair: quadratic in the item count of a hostile body), recorded in `dropped` */
  linearUniqueItemsOnly?: boolean;
}

export class Converter {
  private docs = new Map<string, Obj>();
  /** $defs name → converted schema, in the order first reached (deterministic). */
  readonly defs = new Map<string, Json>();
  /** $defs name → "file#pointer" it came from (to detect two different schemas with one name). */
  private origin = new Map<string, string>();
  readonly substituted: string[] = [];
  /** where uniqueItems was dropped (linearUniqueItemsOnly) */
  readonly dropped: string[] = [];
  private knownFormats: Set<string>;

  constructor(
    private specDir: string,
    knownFormats: Iterable<string>,
    private options: ConverterOptions = {},
  ) {
    this.knownFormats = new Set(knownFormats);
  }

  /** The parsed YAML of a 3GPP file, or undefined when the file is not shipped. */
  doc(file: string): Obj | undefined {
    let d = this.docs.get(file);
    if (!d) {
      let text: string;
      try {
        text = readFileSync(join(this.specDir, file), "utf8");
      } catch {
        return undefined;
      }
      // TS29502_Nsmf_PDUSession.yaml needs the repair; it leaves the other files unchanged
      const parsed: unknown = parseYaml(repairQuotedScalars(text));
      if (!isObj(parsed)) throw new Error(`${file}: not a YAML mapping`);
      d = parsed;
      this.docs.set(file, d);
    }
    return d;
  }

  /** All component schema names of a file, in file order. */
  schemaNames(file: string): string[] {
    const d = this.doc(file);
    if (!d) throw new Error(`${file} not found in ${this.specDir}`);
    const s = (d.components as Obj | undefined)?.schemas;
    if (!isObj(s)) throw new Error(`${file}: no components.schemas`);
    return Object.keys(s);
  }

  /** Ensure `name` of `file` is in $defs; returns the $defs name. */
  include(file: string, schemaName: string): string {
    const key = `${file}#/components/schemas/${schemaName}`;
    const name = this.options.qualify ? this.options.qualify(file, schemaName) : schemaName;
    const prev = this.origin.get(name);
    if (prev === key) return name;
    if (prev !== undefined) throw new Error(`schema name clash: ${prev} and ${key}`);
    this.origin.set(name, key);
    const sub = MISSING_FILE_SUBSTITUTES[key];
    const d = this.doc(file);
    if (!d) {
      if (sub) {
        this.substituted.push(`${key}: ${sub.why}`);
        this.defs.set(name, sub.schema as Json);
      } else if (this.options.unshippedAsAny) {
        this.substituted.push(`${key}: file not shipped, any value`);
        this.defs.set(name, {});
      } else throw new Error(`unresolved reference ${key}: file not in ${this.specDir}`);
      return name;
    }
    const raw = ((d.components as Obj | undefined)?.schemas as Obj | undefined)?.[schemaName];
    if (raw === undefined) throw new Error(`unresolved reference ${key}`);
    this.defs.set(name, null); // placeholder keeps first-reached order and stops cycles
    this.defs.set(name, this.convert(raw, file, key));
    return name;
  }

  private ref(ref: string, file: string, at: string): Obj {
    const m = /^([^#]*)#\/components\/schemas\/([A-Za-z0-9_.-]+)$/.exec(ref);
    if (!m) throw new Error(`${at}: unsupported $ref ${ref}`);
    const target = m[1] || file;
    return { $ref: `#/$defs/${this.include(target, m[2]!)}` };
  }

  convert(s: Json, file: string, at: string): Json {
    if (typeof s === "boolean") return s;
    if (!isObj(s)) throw new Error(`${at}: schema is not an object`);
    if (typeof s.$ref === "string") return this.ref(s.$ref, file, at);
    const out: Obj = {};
    for (const [k, v] of Object.entries(s)) {
      if (DROPPED.has(k) || k.startsWith("x-") || k === "nullable") continue;
      if (k === "pattern" && typeof v === "string") out.pattern = unicodePattern(v, at);
      else if (KEPT.has(k)) out[k] = v;
      else if (k === "format") {
        if (typeof v === "string" && this.knownFormats.has(v)) out.format = v;
      } else if (k === "exclusiveMinimum" || k === "exclusiveMaximum") {
        const bound = k === "exclusiveMinimum" ? "minimum" : "maximum";
        if (v === true && typeof s[bound] === "number") out[k] = s[bound];
        else if (typeof v === "number") out[k] = v;
        else if (v !== false) throw new Error(`${at}: ${k} without ${bound}`);
      } else if (k === "properties") {
        if (!isObj(v)) throw new Error(`${at}: properties not an object`);
        const p: Obj = {};
        for (const [pn, ps] of Object.entries(v)) p[pn] = this.convert(ps, file, `${at}/properties/${pn}`);
        out.properties = p;
      } else if (k === "items" || k === "additionalProperties" || k === "not") {
        out[k] = typeof v === "boolean" ? v : this.convert(v, file, `${at}/${k}`);
      } else if (k === "allOf" || k === "anyOf" || k === "oneOf") {
        if (!Array.isArray(v)) throw new Error(`${at}: ${k} not an array`);
        out[k] = v.map((x, i) => this.convert(x, file, `${at}/${k}/${i}`));
      } else throw new Error(`${at}: keyword "${k}" has no translation`);
    }
    if (this.options.linearUniqueItemsOnly && out.uniqueItems === true) {
      const items = out.items;
      const t = isObj(items) ? items.type : undefined;
      const types = Array.isArray(t) ? t : t === undefined ? [] : [t];
      if (types.length === 0 || types.some((x) => x === "object" || x === "array")) {
        delete out.uniqueItems;
        this.dropped.push(at);
      }
    }
    // exclusive* replaced minimum/maximum when boolean
    if (s.exclusiveMinimum === true) delete out.minimum;
    if (s.exclusiveMaximum === true) delete out.maximum;
    if (s.nullable === true) {
      if (out.type !== undefined) {
        out.type = Array.isArray(out.type) ? [...out.type, "null"] : [out.type, "null"];
        if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
        return out;
      }
      return { anyOf: [out, { type: "null" }] };
    }
    return out;
  }
}

/**
 * ajv compiles patterns with the `u` flag, where an identity escape of a character that is not syntax (`\@` in
 * TS 29.503's ProSe RSC pattern) is an error; it means that character. Such escapes are unescaped, only in a
 * pattern that the `u` flag refuses; a pattern still refused stops the generator.
 */
function unicodePattern(p: string, at: string): string {
  const ok = (x: string) => {
    try {
      new RegExp(x, "u");
      return true;
    } catch {
      return false;
    }
  };
  if (ok(p)) return p;
  const fixed = p.replace(/\\([\s\S])/g, (m, c: string) => (/[@#%&'"!,;:<>=~`]/.test(c) ? c : m));
  if (!ok(fixed)) throw new Error(`${at}: pattern ${JSON.stringify(p)} is not a valid unicode regular expression`);
  return fixed;
}

/** Navigate a converted schema by a path of keys, failing loudly when 3GPP changed the shape. */
function at(schema: Json | undefined, path: string[], what: string): Obj {
  let cur: Json | undefined = schema;
  for (const p of path) cur = isObj(cur) ? cur[p] : undefined;
  if (!isObj(cur)) throw new Error(`receive-side leniency: ${what}: ${path.join("/")} not found; review P10 overlay`);
  return cur;
}
const clone = <T>(v: T): T => structuredClone(v);

/**
 * N32-PROFILE P10, receive side only: copies of the aad / plaintext schemas with the agreed leniencies.
 * Names get the prefix `Rx_`; the unmodified schemas stay what we send.
 */
function addReceiveVariants(defs: Map<string, Json>): void {
  const get = (n: string): Json => {
    const d = defs.get(n);
    if (d === undefined) throw new Error(`receive-side leniency: ${n} missing`);
    return clone(d);
  };
  // HttpPayload.value: any JSON value (29.573 Annex B: "value": <value of IE>).
  const payload = get("HttpPayload");
  at(payload, ["properties", "value"], "HttpPayload.value");
  (payload as Obj).properties = { ...((payload as Obj).properties as Obj), value: {} };
  // Header value: also {"headerval": string} (29.573 Annex B): oneOf [string, IndexToEncryptedValue, {headerval}],
  // behind "if it is a string it is valid". The same values pass (the other forms are objects, so a string matches
  // the first form only) and anything else meets the same oneOf and fails with the same reasons; but a string — most
  // header values — is checked once instead of against every form, with a failure object made for each form it does
  // not match (issue 11: ~30 % of the block's check in a loop, fewer bytes).
  const hv = get("EncodedHttpHeaderValue") as Obj;
  if (!Array.isArray(hv.oneOf)) throw new Error("receive-side leniency: EncodedHttpHeaderValue.oneOf missing");
  const [text, ...forms] = hv.oneOf as Json[];
  if (text === undefined || JSON.stringify(text) !== '{"type":"string"}')
    throw new Error("receive-side leniency: EncodedHttpHeaderValue.oneOf no longer starts with a string");
  const objects: Json[] = [
    ...forms,
    { type: "object", required: ["headerval"], properties: { headerval: { type: "string" } } },
  ];
  for (const f of objects) {
    const ref = isObj(f) && typeof f.$ref === "string" ? f.$ref.replace("#/$defs/", "") : null;
    const def = ref ? defs.get(ref) : f;
    if (!isObj(def) || def.type !== "object")
      throw new Error("receive-side leniency: an EncodedHttpHeaderValue form is not an object; review P10 overlay");
  }
  const rxHv: Obj = { if: text, else: { oneOf: [text, ...objects] } };
  const header = get("HttpHeader") as Obj;
  at(header, ["properties", "value"], "HttpHeader.value").$ref = "#/$defs/Rx_EncodedHttpHeaderValue";
  // authorizedIpxId: JSON null accepted too.
  const meta = get("MetaData");
  const ipx = at(meta, ["properties", "authorizedIpxId"], "MetaData.authorizedIpxId");
  if (ipx.type !== "string") throw new Error("receive-side leniency: authorizedIpxId is no longer a string");
  ipx.type = ["string", "null"];
  const block = get("DataToIntegrityProtectBlock");
  at(block, ["properties", "metaData"], "metaData").$ref = "#/$defs/Rx_MetaData";
  // The block's parts written out in place of their $refs (the named Rx_ definitions below stay for readers): ajv
  // inlines only a schema without a $ref, and each sub-validator it calls instead gets a new {instancePath, …}
  // object and path string per header and payload entry (issue 11: ~1 KB per received request, twice its time).
  const inline = (def: Json): Json => inlineRefs(defs, def, new Set());
  at(block, ["properties"], "block properties").requestLine = inline({ $ref: "#/$defs/RequestLine" });
  at(block, ["properties", "headers"], "headers").items = inline({
    ...header,
    properties: { ...(header.properties as Obj), value: rxHv },
  });
  at(block, ["properties", "payload"], "payload").items = inline(payload);
  // {"dataToEncrypt": []} accepted (P2: nothing to encrypt).
  const cipher = get("DataToIntegrityProtectAndCipherBlock");
  const dte = at(cipher, ["properties", "dataToEncrypt"], "dataToEncrypt");
  delete dte.minItems;
  defs.set("Rx_DataToIntegrityProtectBlock", block);
  defs.set("Rx_MetaData", meta);
  defs.set("Rx_HttpHeader", header);
  defs.set("Rx_EncodedHttpHeaderValue", rxHv);
  defs.set("Rx_HttpPayload", payload);
  defs.set("Rx_DataToIntegrityProtectAndCipherBlock", cipher);
}

/** `def` with each `{"$ref": "#/$defs/X"}` (a $ref alone, as the 3GPP files write them) replaced by X, recursively. */
function inlineRefs(defs: Map<string, Json>, def: Json, seen: Set<string>): Json {
  if (Array.isArray(def)) return def.map((d) => inlineRefs(defs, d, seen));
  if (!isObj(def)) return def;
  if (typeof def.$ref === "string") {
    const name = def.$ref.replace("#/$defs/", "");
    const target = defs.get(name);
    if (Object.keys(def).length !== 1 || target === undefined || seen.has(name))
      throw new Error(`receive-side inlining: cannot inline ${def.$ref}; review P10 overlay`);
    return inlineRefs(defs, target, new Set([...seen, name]));
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(def)) out[k] = inlineRefs(defs, v, seen);
  return out;
}

export const RX_EXPORTS = ["Rx_DataToIntegrityProtectBlock", "Rx_DataToIntegrityProtectAndCipherBlock"] as const;
export const SCHEMA_ID = "urn:sepp:n32";

export function newAjv(standalone: boolean, overrides: { strictRequired?: boolean; inlineRefs?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    ...overrides,
    // allErrors stays false: stop at the first failure (fast, bounded on hostile input).
    strict: true,
    strictTypes: false, // 3GPP puts `properties` without `type: object` inside allOf
    code: standalone
      ? { source: true, esm: true, lines: true, formats: _`require("ajv-formats/dist/formats").fullFormats` }
      : {},
  });
  addFormats(ajv);
  return ajv;
}

export interface Generated {
  schemaJson: string;
  validatorsTs: string;
  substituted: string[];
}

/** Produce both generated files from the 3GPP YAML in `specDir` (pure apart from reading the files). */
export function generate(specDir: string): Generated {
  const probe = newAjv(false);
  const formats = Object.keys(probe.formats);
  const conv = new Converter(specDir, formats);
  for (const f of ROOT_FILES) for (const n of conv.schemaNames(f)) conv.include(f, n);
  for (const [n, f] of Object.entries(EXPORTS)) conv.include(f, n);
  const defs = new Map(conv.defs);
  addReceiveVariants(defs);
  const sources = ROOT_FILES.map((f) => {
    const info = conv.doc(f)?.info as Obj | undefined;
    return `${f} ${String(info?.version ?? "?")}`;
  });
  const schema: Obj = {
    $id: SCHEMA_ID,
    $comment: `Generated by scripts/gen-openapi.ts from ${sources.join(", ")} and what they reference; do not edit.`,
    $defs: Object.fromEntries(defs) as Obj,
  };
  const schemaJson = `${JSON.stringify(schema, null, 2)}\n`;

  const ajv = newAjv(true);
  ajv.addSchema(schema);
  const refs: Record<string, string> = {};
  for (const n of [...Object.keys(EXPORTS), ...RX_EXPORTS]) refs[n] = `${SCHEMA_ID}#/$defs/${n}`;
  // ajv emits `require("ajv/dist/runtime/…")` for its small runtime helpers (ucs2length for
  // minLength/maxLength); Bun resolves `require` in ES modules and the bundler embeds them.
  let code = standaloneCode(ajv, refs);
  code = code.replace(/^"use strict";\n?/, "");
  const header = [
    "// GENERATED by scripts/gen-openapi.ts — do not edit. Regenerate: bun scripts/gen-openapi.ts",
    `// Source: ${sources.join(", ")} (3GPP) and the schemas they reference.`,
    "// ajv standalone validators (see the script for why); receive-side P10 variants are prefixed Rx_.",
    ...(conv.substituted.length ? [`// Substituted (file not shipped): ${conv.substituted.join("; ")}`] : []),
    "// @ts-nocheck",
    "/* eslint-disable */",
  ].join("\n");
  return { schemaJson, validatorsTs: `${header}\n${code}\n`, substituted: conv.substituted };
}

export const OUT_DIR = "src/openapi";
export const SCHEMA_FILE = "n32.schema.json";
export const VALIDATORS_FILE = "validators.gen.ts";

if (import.meta.main) {
  const { repo, specDir } = generatorPaths();
  const g = generate(specDir);
  writeFileSync(join(repo, OUT_DIR, SCHEMA_FILE), g.schemaJson);
  writeFileSync(join(repo, OUT_DIR, VALIDATORS_FILE), g.validatorsTs);
  for (const s of g.substituted) console.log(`substituted: ${s}`);
  console.log(`wrote ${OUT_DIR}/${SCHEMA_FILE} and ${OUT_DIR}/${VALIDATORS_FILE} from ${specDir}`);
}
