// src/n32f/policy.ts — which IEs of a message are encrypted (TS 33.501 5.9.3.3, 13.2.3; N32-PROFILE P4, P10).
// The effective policy is built once per N32-f context (templates compiled, plans precomputed); the per-message
// calls only compare a path suffix against templates indexed by method and last segment.
import type { ApiIeMapping, HttpMethod, IeInfo, IeType, ProtectionPolicy } from "../model/n32.ts";
import { parsePointer } from "./pointer.ts";

/** TS 33.501 5.9.3.3: encrypted whatever was negotiated (P4). */
export const ALWAYS_ENCRYPTED: readonly IeType[] = [
  "AUTHENTICATION_MATERIAL",
  "KEY_MATERIAL",
  "LOCATION",
  "AUTHORIZATION_TOKEN",
];
/** P4: SUPI (UEID) is encrypted by default. */
export const DEFAULT_ENCRYPTED: readonly IeType[] = [...ALWAYS_ENCRYPTED, "UEID"];

/** P4: the `authorization` header is AUTHORIZATION_TOKEN for every API. */
export const GLOBAL_IES: readonly IeInfo[] = [
  { ieLoc: "HEADER", ieType: "AUTHORIZATION_TOKEN", reqIe: "authorization", rspIe: "authorization" },
];

export type MessageKind = "request" | "response";

/** What must be encrypted in one message. */
export interface MessageIes {
  /** template variable names (URI_PARAM) with their segment position counted from the END of the path (0 = last) */
  pathVars: ReadonlyArray<{ name: string; fromEnd: number }>;
  /** query parameter names (percent-decoded) */
  queryParams: ReadonlySet<string>;
  /** lowercased header names */
  headers: ReadonlySet<string>;
  /** JSON pointers into the (root) JSON body, as token arrays */
  bodyPointers: ReadonlyArray<readonly string[]>;
  /** Content-IDs (without <>) of multipart parts */
  multipartIds: ReadonlySet<string>;
}

export interface Segment {
  literal?: string;
  varName?: string;
}
interface CompiledMapping {
  mapping: ApiIeMapping;
  segments: Segment[] | null; // null for a callback signature
  callbackType?: string;
  literals: number;
  plans: Record<MessageKind, MessageIes>;
  modRules: Record<MessageKind, IeInfo[]>;
}

export interface EffectivePolicy {
  /** the IE types encrypted under this policy */
  readonly encryptedTypes: ReadonlySet<IeType>;
  /** merged mappings (defaults, local, peer), for inspection and for the P6 announcement */
  readonly mappings: readonly ApiIeMapping[];
  /** @internal compiled index */
  readonly _index: PolicyIndex;
}

interface PolicyIndex {
  /** method → last template segment literal → mappings (no key is built per message) */
  byTail: Map<string, Map<string, CompiledMapping[]>>;
  /** method → mappings whose last template segment is a variable */
  byTailVar: Map<string, CompiledMapping[]>;
  byCallback: Map<string, CompiledMapping[]>;
  global: Record<MessageKind, MessageIes>;
}

export interface BuildPolicyInput {
  /** the shipped default NF API data-type placement mapping (config/api-ie-mapping.json) */
  defaults: ProtectionPolicy;
  /** our own configured policy for this peer */
  local?: ProtectionPolicy;
  /** the policy the peer sent on N32-c */
  peer?: ProtectionPolicy;
  /** the negotiated data-type encryption policy (can only add) */
  dataTypeEncPolicy?: readonly IeType[];
  /** P4: UEID is encrypted unless explicitly turned off here (default true) */
  encryptUeid?: boolean;
}

/** Merge mappings; the result only ever adds protection to the defaults (TS 33.501 13.2.3.6, P4). */
export function buildEffectivePolicy(input: BuildPolicyInput): EffectivePolicy {
  const types = new Set<IeType>(ALWAYS_ENCRYPTED);
  if (input.encryptUeid !== false) types.add("UEID");
  for (const p of [input.defaults, input.local, input.peer]) for (const t of p?.dataTypeEncPolicy ?? []) types.add(t);
  for (const t of input.dataTypeEncPolicy ?? []) types.add(t);

  // merge by (signature, method): union of IeList, exact duplicates removed
  const merged = new Map<string, ApiIeMapping>();
  const seenIe = new Map<string, Set<string>>();
  for (const p of [input.defaults, input.local, input.peer]) {
    for (const m of p?.apiIeMappingList ?? []) {
      const key = `${sigKey(m)} ${m.apiMethod}`;
      let target = merged.get(key);
      if (!target) {
        target = { apiSignature: m.apiSignature, apiMethod: m.apiMethod, IeList: [] };
        merged.set(key, target);
        seenIe.set(key, new Set());
      }
      const seen = seenIe.get(key)!;
      for (const ie of m.IeList) {
        const k = JSON.stringify([ie.ieLoc, ie.ieType, ie.reqIe, ie.rspIe, ie.isModifiable, ie.isModifiableByIpx]);
        if (seen.has(k)) continue;
        seen.add(k);
        target.IeList.push(ie);
      }
    }
  }
  const mappings = [...merged.values()];
  const index: PolicyIndex = {
    byTail: new Map(),
    byTailVar: new Map(),
    byCallback: new Map(),
    global: { request: emptyPlan(), response: emptyPlan() },
  };
  for (const kind of ["request", "response"] as const) index.global[kind] = plan(GLOBAL_IES, null, kind, types);
  for (const m of mappings) {
    const c = compile(m, types, index.global);
    if (c.callbackType !== undefined) push(index.byCallback, `${m.apiMethod} ${c.callbackType}`, c);
    else if (c.segments && c.segments.length > 0) {
      const last = c.segments[c.segments.length - 1]!;
      if (last.literal === undefined) push(index.byTailVar, m.apiMethod, c);
      else {
        const byLast = index.byTail.get(m.apiMethod) ?? new Map<string, CompiledMapping[]>();
        index.byTail.set(m.apiMethod, byLast);
        push(byLast, last.literal, c);
      }
    }
  }
  return { encryptedTypes: types, mappings, _index: index };
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const l = map.get(k);
  if (l) l.push(v);
  else map.set(k, [v]);
}

function sigKey(m: ApiIeMapping): string {
  return typeof m.apiSignature === "string" ? m.apiSignature : `callback:${m.apiSignature.callbackType}`;
}

function compile(
  m: ApiIeMapping,
  types: ReadonlySet<IeType>,
  global: Record<MessageKind, MessageIes>,
): CompiledMapping {
  let segments: Segment[] | null = null;
  let callbackType: string | undefined;
  let literals = 0;
  if (typeof m.apiSignature === "string") {
    segments = m.apiSignature
      .split("/")
      .filter((s) => s !== "")
      .map((s) => {
        const v = /^\{([^{}]+)\}$/.exec(s);
        if (v) return { varName: v[1]! };
        literals++;
        return { literal: s };
      });
  } else callbackType = m.apiSignature.callbackType;
  const modRules = {
    request: m.IeList.filter((ie) => ie.reqIe !== undefined && isModRule(ie)),
    response: m.IeList.filter((ie) => ie.rspIe !== undefined && isModRule(ie)),
  };
  return {
    mapping: m,
    segments,
    callbackType,
    literals,
    // precomputed together with the global IEs: a message matching one mapping costs no allocation
    plans: {
      request: mergePlans([global.request, plan(m.IeList, segments, "request", types)]),
      response: mergePlans([global.response, plan(m.IeList, segments, "response", types)]),
    },
    modRules,
  };
}

const isModRule = (ie: IeInfo) => ie.isModifiable !== undefined || ie.isModifiableByIpx !== undefined;

function emptyPlan(): MessageIes {
  return { pathVars: [], queryParams: new Set(), headers: new Set(), bodyPointers: [], multipartIds: new Set() };
}

function plan(
  ies: readonly IeInfo[],
  segments: Segment[] | null,
  kind: MessageKind,
  types: ReadonlySet<IeType>,
): MessageIes {
  const pathVars: Array<{ name: string; fromEnd: number }> = [];
  const queryParams = new Set<string>();
  const headers = new Set<string>();
  const bodyPointers: string[][] = [];
  const bodySeen = new Set<string>();
  const multipartIds = new Set<string>();
  for (const ie of ies) {
    if (!types.has(ie.ieType)) continue;
    const name = kind === "request" ? ie.reqIe : ie.rspIe;
    if (name === undefined) continue;
    switch (ie.ieLoc) {
      case "URI_PARAM":
        if (kind === "request") {
          queryParams.add(name);
          if (segments) {
            const i = segments.findIndex((s) => s.varName === name);
            if (i >= 0 && !pathVars.some((p) => p.name === name))
              pathVars.push({ name, fromEnd: segments.length - 1 - i });
          }
        }
        break;
      case "HEADER":
        headers.add(name.toLowerCase());
        break;
      case "BODY": {
        const tokens = parsePointer(name);
        if (tokens && !bodySeen.has(name)) {
          bodySeen.add(name);
          bodyPointers.push(tokens);
        }
        break;
      }
      case "MULTIPART_BINARY":
        multipartIds.add(name.startsWith("<") && name.endsWith(">") ? name.slice(1, -1) : name);
        break;
    }
  }
  return { pathVars, queryParams, headers, bodyPointers, multipartIds };
}

/**
 * Whether the last segments of `path` (the raw segments between its slashes, without the empty leading one) match
 * `template`: a literal equal, a variable non-empty. Read in place from the end of the path, without cutting it
 * (issue 11: no allocation per message).
 */
export function matchesSuffix(template: readonly Segment[], path: string): boolean {
  // A leading "/" would open one more, empty, segment here than the segments counted above: no template segment
  // matches an empty one (literals and variables are both non-empty), so the answer is the same.
  let end = path.length;
  let more = path.length > 0;
  for (let i = template.length - 1; i >= 0; i--) {
    if (!more) return false;
    const start = end > 0 ? path.lastIndexOf("/", end - 1) + 1 : 0;
    const lit = template[i]!.literal;
    if (lit !== undefined) {
      if (end - start !== lit.length || !path.startsWith(lit, start)) return false;
    } else if (end === start) return false;
    more = start > 0;
    end = start - 1;
  }
  return true;
}

/** The mappings that apply to a message: callback type first, else the most specific path templates (P10). */
function matchMappings(
  policy: EffectivePolicy,
  method: HttpMethod,
  path: string,
  callbackType: string | undefined,
): CompiledMapping[] {
  const idx = policy._index;
  if (callbackType !== undefined) {
    const cb = idx.byCallback.get(`${method} ${callbackType}`);
    if (cb) return cb;
  }
  if (path === "") return [];
  let best: CompiledMapping[] = [];
  let bestLiterals = -1;
  const byLiteral = idx.byTail.get(method)?.get(path.slice(path.lastIndexOf("/") + 1));
  const byVariable = idx.byTailVar.get(method);
  for (let l = 0; l < 2; l++) {
    const list = l === 0 ? byLiteral : byVariable;
    if (!list) continue;
    for (const c of list) {
      if (c.literals < bestLiterals || !matchesSuffix(c.segments!, path)) continue;
      if (c.literals > bestLiterals) {
        best = [c];
        bestLiterals = c.literals;
      } else best.push(c);
    }
  }
  return best;
}

function mergePlans(plans: readonly MessageIes[]): MessageIes {
  if (plans.length === 1) return plans[0]!;
  const out = emptyPlan() as {
    pathVars: Array<{ name: string; fromEnd: number }>;
    queryParams: Set<string>;
    headers: Set<string>;
    bodyPointers: Array<readonly string[]>;
    multipartIds: Set<string>;
  };
  const ptrSeen = new Set<string>();
  for (const p of plans) {
    for (const v of p.pathVars) if (!out.pathVars.some((x) => x.fromEnd === v.fromEnd)) out.pathVars.push(v);
    for (const q of p.queryParams) out.queryParams.add(q);
    for (const h of p.headers) out.headers.add(h);
    for (const b of p.bodyPointers) {
      const k = `${b.join("\u0000")}\u0001${b.length}`;
      if (!ptrSeen.has(k)) {
        ptrSeen.add(k);
        out.bodyPointers.push(b);
      }
    }
    for (const m of p.multipartIds) out.multipartIds.add(m);
  }
  return out;
}

/**
 * What must be encrypted in a message (P4, P10). For a response, `method`/`path` are those of the request it
 * answers. `callbackType` is the request's `3gpp-Sbi-Callback` type, when it is a notification.
 */
export function iesToEncrypt(
  policy: EffectivePolicy,
  kind: MessageKind,
  method: HttpMethod,
  path: string,
  callbackType?: string,
): MessageIes {
  const matched = matchMappings(policy, method, path, callbackType);
  const g = policy._index.global[kind];
  if (matched.length === 0) return g;
  return mergePlans(matched.map((c) => c.plans[kind]));
}

/**
 * The IeInfo entries of the matching mappings that carry a modification policy (isModifiable /
 * isModifiableByIpx), for the verification of Roaming Intermediary patches (TS 33.501 13.2.4.7, P5, P10).
 */
export function modificationRules(
  policy: EffectivePolicy,
  kind: MessageKind,
  method: HttpMethod,
  path: string,
  callbackType?: string,
): IeInfo[] {
  const matched = matchMappings(policy, method, path, callbackType);
  const out: IeInfo[] = [];
  for (const c of matched) out.push(...c.modRules[kind]);
  return out;
}
