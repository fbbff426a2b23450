// src/n32f/modifications.ts — verification and application of Roaming Intermediary modifications
// (TS 33.501 13.2.4.5–13.2.4.7, 13.2.4.9; TS 29.573 Modifications / FlatJwsJson; N32-PROFILE P5, P10;
// SCAS TS 33.517 4.2.2.2, 4.2.2.3, 4.2.2.7, 4.2.2.8).
//
// Input: the decoded DataToIntegrityProtectBlock of a message whose JWE already verified, the JWE `tag`, and the
// `modificationsBlock`. For each JWS in array order, stopping at the first failure (P5):
//   1. readable flattened JWS, `alg` exactly "ES256" in the protected header ........ INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   2. payload is a valid `Modifications` (schema; identity an Fqdn) ................. INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   3. signature verifies with a key of `identity` from THIS association's RI info ... INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   4. `tag` equals the JWE tag ...................................................... INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   5. the first JWS's identity equals `authorizedIpxId` (none while it is "NULL") .... INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED
//   6. each op, against the document patched so far: a canonical JSON pointer, allowed by the modification
//      policy, applies (fast-json-patch), and neither creates, moves, copies nor removes an `encBlockIndex`
//      reference ...................................................................... MODIFICATIONS_INSTRUCTIONS_FAILED
// The patched block must still be a valid received block (plausibility, P10 schema leniencies) .. MODIFICATIONS_INSTRUCTIONS_FAILED
//
// Policy (P10): ops only on /payload/N[/value/…] and /headers/N[/value]; the op is mapped back to the IE it touches
// (payload entry iePath + rest of the pointer, or the header name); permission = isModifiableByIpx[identity] when
// present, else isModifiable, else denied; a modifiable BODY IE covers everything below its pointer; a rule below the
// touched pointer that does not allow the op denies it (the op would rewrite a protected IE). `move` is checked at
// source and target, `copy` at the target, `test` always passes. RIs of the peer's list are checked against the
// peer's policy, our own RIs against our local policy; an RI on both lists must pass both.
//
// Pure and synchronous. ES256 is verified with node:crypto `verify` (dsaEncoding "ieee-p1363", the JWS R‖S form)
// on KeyObjects prepared once per association (ri-keys.ts): WebCrypto's subtle.verify is asynchronous (a Promise
// per JWS), which would make the whole receive path async; the engine is synchronous by design.
// The JSON Patch itself is applied with fast-json-patch (RFC 6902, well kept); we pre-validate every pointer
// because it accepts non-canonical array indices such as "01".
import { verify } from "node:crypto";
import { applyOperation, type Operation } from "fast-json-patch";
import type {
  DataToIntegrityProtectBlock,
  FlatJwsJson,
  HttpMethod,
  IeInfo,
  Modifications,
  N32fErrorType,
  PatchItem,
} from "../model/n32.ts";
import { validateBody, validateReceivedBlock } from "../openapi/validate.ts";
import { b64uDecode } from "./b64.ts";
import { N32fError } from "./errors.ts";
import { appendToken, getAt, hasMember, isIndexToken, isPlainObject, parsePointer, formatPointer } from "./pointer.ts";
import { modificationRules, type EffectivePolicy } from "./policy.ts";
import { keyUsableAt, normalizeRiId, type RiEntry, type RiKeySet, type RiSide } from "./ri-keys.ts";

/** The modification rules (IeInfo with isModifiable / isModifiableByIpx) that apply to this message for RIs of
 *  `side`: policy.ts modificationRules(peer policy | local policy, kind, method, path). Called lazily. */
export type ModificationRulesResolver = (side: RiSide) => readonly IeInfo[];

/**
 * The resolver for one message from the two per-side effective policies of an association (build them once per
 * context with policy.ts buildEffectivePolicy: `peer` from the policy the peer sent on N32-c, else the configured
 * partner policy; `local` from our own policy). For a response, `method`/`path`/`callbackType` are the request's.
 * A side without a policy has no modifiable IE.
 */
export function modificationRulesResolver(
  policies: { peer?: EffectivePolicy; local?: EffectivePolicy },
  kind: "request" | "response",
  method: HttpMethod,
  path: string,
  callbackType?: string,
): ModificationRulesResolver {
  return (side) => {
    const p = side === "peer" ? policies.peer : policies.local;
    return p ? modificationRules(p, kind, method, path, callbackType) : [];
  };
}

export interface VerifyModificationsInput {
  /** decoded DataToIntegrityProtectBlock, already AEAD-verified; never mutated */
  block: DataToIntegrityProtectBlock;
  /** the JWE `tag` member as received (base64url) */
  jweTag: string;
  modificationsBlock: readonly unknown[] | undefined;
  /** RI keys of THIS association only (ri-keys.ts riKeysOf) */
  riKeys: RiKeySet;
  policyRules: ModificationRulesResolver;
  /** metaData.authorizedIpxId as received ("NULL", "null", "", null and undefined mean none, P3) */
  authorizedIpxId: string | null | undefined;
  /** reqIe or rspIe of the rules; default: "request" when the block has a requestLine */
  kind?: "request" | "response";
  /** epoch ms, for certificate validity (default Date.now()) */
  now?: number;
}

/** Bounds (everything from the network is bounded). */
export const MAX_JWS_ENTRIES = 16;
export const MAX_OPS_PER_JWS = 256;
const MAX_PROTECTED_CHARS = 1024;
const MAX_PAYLOAD_CHARS = 1 << 20;
const FQDN = /^([0-9A-Za-z]([-0-9A-Za-z]{0,61}[0-9A-Za-z])?\.)+[A-Za-z]{2,63}\.?$/;

/** The authorized first-hop RI, or null when none (P3 receive leniency). */
export function normalizeAuthorizedIpxId(v: unknown): string | null {
  if (typeof v !== "string") return null;
  if (v === "" || v.toUpperCase() === "NULL") return null;
  return normalizeRiId(v);
}

/** A JWS that passed checks 1–4: its signer and its operations. */
export interface VerifiedModification {
  identity: string;
  entry: RiEntry;
  operations: PatchItem[];
  tag: string | undefined;
}

/**
 * Checks 1–3 of one modificationsBlock entry (readable, ES256, valid Modifications, signature with a key of
 * `identity` in `riKeys`). The tag check is the caller's. Throws N32fError INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED.
 */
export function verifyModificationJws(
  jws: unknown,
  index: number,
  riKeys: RiKeySet,
  now: number,
): VerifiedModification {
  if (!isPlainObject(jws)) throw icomf(`modificationsBlock/${index}: not a flattened JWS object`);
  const { protected: protB64, payload, signature, header } = jws as Partial<FlatJwsJson> & Record<string, unknown>;
  // for the report only (failedModificationList.ipxId): the identity the payload claims, before anything is verified
  let claimedId: string | undefined | null = null;
  const claimedIdentity = (): string | undefined => {
    if (claimedId === null) {
      const m = typeof payload === "string" && payload.length <= MAX_PAYLOAD_CHARS ? parseJsonB64(payload) : undefined;
      claimedId = isPlainObject(m) && typeof m.identity === "string" && FQDN.test(m.identity) ? m.identity : undefined;
    }
    return claimedId;
  };
  const fail = (detail: string, ipxId?: string) =>
    icomf(`modificationsBlock/${index}: ${detail}`, ipxId ?? claimedIdentity());
  if (typeof payload !== "string" || typeof signature !== "string") throw fail("payload or signature missing");
  if (typeof protB64 !== "string" || protB64.length > MAX_PROTECTED_CHARS) throw fail("no protected header");
  if (header !== undefined && !isPlainObject(header)) throw fail("unprotected header is not an object");
  const hdr = parseJsonB64(protB64);
  if (!isPlainObject(hdr)) throw fail("protected header unreadable");
  // TS 33.501 13.2.4.9 / TS 33.210 JWS profile: ES256 only, never "none" (SCAS 4.2.2.7)
  if (hdr.alg !== "ES256")
    throw fail(`alg ${typeof hdr.alg === "string" ? JSON.stringify(hdr.alg.slice(0, 16)) : "missing"} is not ES256`);
  if (hasMember(hdr, "crit")) throw fail("crit is not supported"); // RFC 7515 4.1.11: no extension is understood
  if (header && (hasMember(header, "alg") || hasMember(header, "crit")))
    throw fail("alg/crit in the unprotected header");
  if (payload.length > MAX_PAYLOAD_CHARS) throw fail("payload too large");
  const mods = parseJsonB64(payload);
  if (mods === undefined) throw fail("payload unreadable");
  const invalid = validateBody("Modifications", mods);
  const claimed =
    isPlainObject(mods) && typeof mods.identity === "string" && FQDN.test(mods.identity) ? mods.identity : undefined;
  if (invalid)
    throw fail(
      `payload is not a valid Modifications (${invalid[0]?.param ?? ""} ${invalid[0]?.reason ?? ""})`,
      claimed,
    );
  const m = mods as Modifications;
  if (!claimed) throw fail("identity is not an FQDN");
  const sig = b64uDecode(signature);
  if (sig?.length !== 64) throw fail("ES256 signature is not 64 octets of base64url", claimed);
  const entry = riKeys.lookup(m.identity);
  if (!entry) throw fail("identity is not an RI of this N32 association", claimed);
  const input = Buffer.from(`${protB64}.${payload}`, "ascii");
  let ok = false;
  for (const k of entry.keys) {
    if (!keyUsableAt(k, now)) continue;
    if (verify("sha256", input, { key: k.key, dsaEncoding: "ieee-p1363" }, sig)) {
      ok = true;
      break;
    }
  }
  if (!ok) throw fail("signature does not verify with a key of this RI on this association", claimed);
  const operations = m.operations ?? [];
  if (operations.length > MAX_OPS_PER_JWS) throw fail(`more than ${MAX_OPS_PER_JWS} operations`, claimed);
  return { identity: normalizeRiId(m.identity), entry, operations, tag: m.tag };
}

/**
 * Verify the modificationsBlock of a message and return the patched block (P5). Without modifications the input
 * block itself is returned. On failure throws N32fError (INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED or
 * MODIFICATIONS_INSTRUCTIONS_FAILED, with failedModificationList); the input block is never mutated.
 */
export function verifyModifications(input: VerifyModificationsInput): DataToIntegrityProtectBlock {
  const { block, jweTag, modificationsBlock, riKeys } = input;
  if (!modificationsBlock || modificationsBlock.length === 0) return block;
  const now = input.now ?? Date.now();
  const kind = input.kind ?? (block.requestLine ? "request" : "response");
  const authorized = normalizeAuthorizedIpxId(input.authorizedIpxId);
  const messageId = block.metaData?.messageId;
  const contextId = block.metaData?.n32fContextId;
  try {
    if (modificationsBlock.length > MAX_JWS_ENTRIES)
      throw icomf(`more than ${MAX_JWS_ENTRIES} modificationsBlock entries`, authorized ?? undefined);
    let doc = clone(block) as Record<string, unknown>;
    const ruleCache = new Map<RiSide, readonly IeInfo[]>();
    const rulesFor = (side: RiSide) => {
      let r = ruleCache.get(side);
      if (!r) ruleCache.set(side, (r = input.policyRules(side)));
      return r;
    };
    for (let i = 0; i < modificationsBlock.length; i++) {
      const v = verifyModificationJws(modificationsBlock[i], i, riKeys, now);
      if (v.tag !== jweTag) throw icomf(`modificationsBlock/${i}: tag does not equal the JWE tag`, v.identity);
      if (i === 0) {
        if (authorized === null) throw icomf("modifications present while authorizedIpxId is NULL", v.identity);
        if (v.identity !== authorized) throw icomf("the first modification is not by authorizedIpxId", v.identity);
      }
      const sides = [...v.entry.sides].map(rulesFor);
      doc = applyChecked(doc, v.operations, {
        identity: v.identity,
        kind,
        rules: sides,
        where: `modificationsBlock/${i}`,
      });
    }
    const invalid = validateReceivedBlock("DataToIntegrityProtectBlock", doc);
    if (invalid)
      throw mif(`patched block is not a valid DataToIntegrityProtectBlock (${invalid[0]?.param ?? ""})`, undefined);
    return doc as DataToIntegrityProtectBlock;
  } catch (e) {
    if (e instanceof N32fError) {
      e.messageId ??= messageId;
      e.n32fContextId ??= contextId;
    }
    throw e;
  }
}

interface OpContext {
  identity: string;
  kind: "request" | "response";
  /** one rule list per side of the RI: every list must allow the op */
  rules: ReadonlyArray<readonly IeInfo[]>;
  where: string;
}

/** Check and apply the ops of one JWS one by one on `doc` (owned, mutated). Returns the patched document. */
function applyChecked(doc: Record<string, unknown>, ops: readonly PatchItem[], c: OpContext): Record<string, unknown> {
  let refs = encRefs(doc);
  for (let j = 0; j < ops.length; j++) {
    const op = ops[j]!;
    const where = `${c.where}/operations/${j}`;
    const fail = (detail: string) => mif(`${where}: ${detail}`, c.identity);
    if (!RFC6902_OPS.has(op.op)) throw fail("unknown op");
    const path = parsePointer(op.path);
    if (!path || !canonicalAgainst(doc, path, op.op === "add" || op.op === "move" || op.op === "copy"))
      throw fail("invalid JSON pointer in path");
    let from: string[] | null = null;
    if (op.op === "move" || op.op === "copy") {
      if (typeof op.from !== "string" || !(from = parsePointer(op.from)) || !canonicalAgainst(doc, from, false))
        throw fail("invalid JSON pointer in from");
    }
    if (op.op === "move") {
      // RFC 6902 4.4: a remove at `from` then an add at `path`; each half checked against the document as it is then
      if (from!.length < path.length && isPrefix(from!, path)) throw fail("move into its own child");
      const value = getAt(doc, from!);
      if (value === undefined) throw fail("from does not exist");
      const deniedSrc = checkTouch(doc, from!, "remove", undefined, c);
      if (deniedSrc) throw fail(`move source: ${deniedSrc}`);
      doc = applyOne(doc, { op: "remove", path: op.from! }, fail);
      if (!canonicalAgainst(doc, path, true)) throw fail("invalid JSON pointer in path");
      const denied = checkTouch(doc, path, "add", value, c);
      if (denied) throw fail(denied);
      doc = applyOne(doc, { op: "add", path: op.path, value }, fail);
    } else {
      if (op.op !== "test") {
        let newValue: unknown = op.value;
        if (from) {
          newValue = getAt(doc, from);
          if (newValue === undefined) throw fail("from does not exist");
        }
        const denied = checkTouch(
          doc,
          path,
          op.op === "remove" ? "remove" : op.op === "replace" ? "replace" : "add",
          newValue,
          c,
        );
        if (denied) throw fail(denied);
      }
      doc = applyOne(doc, { ...op } as Operation, fail);
    }
    const after = encRefs(doc);
    if (!sameRefs(refs, after))
      throw fail("creates, moves, copies or removes an encBlockIndex reference (TS 33.517 4.2.2.8)");
    refs = after;
  }
  return doc;
}

/** Apply one op with fast-json-patch on our own clone (mutated in place; `__proto__` writes banned). */
export function applyOne(
  doc: Record<string, unknown>,
  op: Operation,
  fail: (d: string) => N32fError,
): Record<string, unknown> {
  try {
    return applyOperation(doc, op, true, true, true).newDocument;
  } catch (e) {
    const name = (e as { name?: unknown }).name;
    throw fail(`patch does not apply (${typeof name === "string" ? name : "error"})`);
  }
}

/** Every array segment of the pointer is a canonical index ("-" allowed as the last one of an insertion). */
export function canonicalAgainst(doc: unknown, tokens: readonly string[], dashLast: boolean): boolean {
  let cur: unknown = doc;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (Array.isArray(cur)) {
      if (t === "-") return dashLast && i === tokens.length - 1;
      if (!isIndexToken(t)) return false;
      cur = cur[Number(t)];
    } else if (isPlainObject(cur)) {
      cur = hasMember(cur, t) ? cur[t] : undefined;
    } else return true; // unresolvable below here: fast-json-patch reports it
  }
  return true;
}

const RFC6902_OPS: ReadonlySet<string> = new Set(["add", "remove", "replace", "move", "copy", "test"]);

type TouchKind = "add" | "remove" | "replace";

/** Which IE an op on `tokens` touches and whether the policy allows it; a reason string when denied. */
function checkTouch(
  doc: Record<string, unknown>,
  tokens: readonly string[],
  kind: TouchKind,
  newValue: unknown,
  c: OpContext,
): string | null {
  const top = tokens[0];
  if ((top !== "payload" && top !== "headers") || tokens.length < 2)
    return `${formatPointer(tokens.slice(0, 1))} may not be modified`;
  const list = doc[top];
  const idxTok = tokens[1]!;
  const current = Array.isArray(list) && isIndexToken(idxTok) ? list[Number(idxTok)] : undefined;
  if (top === "payload") {
    if (tokens.length === 2) {
      // the whole entry: the IE is the entry's iePath (old one for remove/replace, new one for add/replace)
      const ies: PayloadIe[] = [];
      if (kind !== "add") {
        const old = payloadIe(current);
        if (!old) return "no payload entry at this index";
        ies.push(old);
      }
      if (kind !== "remove") {
        const neu = payloadIe(newValue);
        if (!neu) return "a payload entry needs iePath and ieValueLocation";
        if (kind === "replace" && (ies[0]!.iePath !== neu.iePath || ies[0]!.location !== neu.location))
          return "changing iePath or ieValueLocation is never allowed";
        ies.push(neu);
      }
      for (const ie of ies) {
        const d = bodyAllowed(ie, [], c);
        if (d) return d;
      }
      return null;
    }
    if (tokens[2] !== "value") return "only /payload/N/value may be modified (iePath, ieValueLocation never)";
    const ie = payloadIe(current);
    if (!ie) return "no payload entry at this index";
    return bodyAllowed(ie, tokens.slice(3), c);
  }
  // headers
  if (tokens.length > 3) return "only /headers/N and /headers/N/value may be modified";
  if (tokens.length === 3 && tokens[2] !== "value") return "a header name is never modifiable";
  const names: string[] = [];
  if (tokens.length === 3 || kind !== "add") {
    const old = headerName(current);
    if (old === null) return "no header entry at this index";
    names.push(old);
  }
  if (tokens.length === 2 && kind !== "remove") {
    const neu = headerName(newValue);
    if (neu === null) return "a header entry needs a header name";
    if (kind === "replace" && neu !== names[0]) return "a header name is never modifiable";
    names.push(neu);
  }
  for (const n of names) {
    if (
      !c.rules.every((rules) =>
        verdictFor(
          rules.filter((r) => r.ieLoc === "HEADER" && ieName(r, c.kind)?.toLowerCase() === n),
          c.identity,
        ),
      )
    )
      return `header ${n.slice(0, 64)} is not modifiable by ${c.identity}`;
  }
  return null;
}

interface PayloadIe {
  iePath: string;
  location: string;
  tokens: string[];
}

function payloadIe(v: unknown): PayloadIe | null {
  if (!isPlainObject(v) || typeof v.iePath !== "string" || typeof v.ieValueLocation !== "string") return null;
  const tokens = parsePointer(v.iePath);
  if (!tokens) return null;
  return { iePath: v.iePath, location: v.ieValueLocation, tokens };
}

function headerName(v: unknown): string | null {
  return isPlainObject(v) && typeof v.header === "string" ? v.header.toLowerCase() : null;
}

const ieName = (r: IeInfo, kind: "request" | "response"): string | undefined =>
  kind === "request" ? r.reqIe : r.rspIe;

/** Merged verdict of the rules for one IE (P10): false beats true; no statement = denied. */
function verdictFor(rules: readonly IeInfo[], identity: string): boolean {
  let allow = false;
  for (const r of rules) {
    let v: boolean | undefined;
    if (r.isModifiableByIpx) {
      for (const [k, b] of Object.entries(r.isModifiableByIpx)) if (normalizeRiId(k) === identity) v = b;
    }
    if (v === undefined) v = r.isModifiable;
    if (v === false) return false;
    if (v === true) allow = true;
  }
  return allow;
}

/** BODY / MULTIPART_BINARY permission for the IE at entry `ie` + `rest` (P10). */
function bodyAllowed(ie: PayloadIe, rest: readonly string[], c: OpContext): string | null {
  const target = [...ie.tokens, ...rest];
  const label = formatPointer(target).slice(0, 128) || "(body root)";
  for (const rules of c.rules) {
    if (ie.location === "MULTIPART_BINARY") {
      const cid = ie.tokens[0];
      const matching = rules.filter((r) => r.ieLoc === "MULTIPART_BINARY" && stripAngle(ieName(r, c.kind)) === cid);
      if (cid === undefined || !verdictFor(matching, c.identity))
        return `multipart part ${label} is not modifiable by ${c.identity}`;
      continue;
    }
    if (ie.location !== "BODY") return `ieValueLocation ${ie.location.slice(0, 32)} is not modifiable`;
    // the most specific rule at or above the target decides; every rule below it must allow too
    let best: IeInfo[] = [];
    let bestLen = -1;
    const below: IeInfo[] = [];
    for (const r of rules) {
      if (r.ieLoc !== "BODY") continue;
      const name = ieName(r, c.kind);
      const p = name === undefined ? null : parsePointer(name);
      if (!p) continue;
      if (p.length <= target.length && isPrefix(p, target)) {
        if (p.length > bestLen) {
          best = [r];
          bestLen = p.length;
        } else if (p.length === bestLen) best.push(r);
      } else if (p.length > target.length && isPrefix(target, p)) below.push(r);
    }
    if (!verdictFor(best, c.identity)) return `IE ${label} is not modifiable by ${c.identity}`;
    for (const r of below)
      if (!verdictFor([r], c.identity)) return `IE ${label} contains an IE not modifiable by ${c.identity}`;
  }
  return null;
}

const stripAngle = (s: string | undefined) => (s?.startsWith("<") && s.endsWith(">") ? s.slice(1, -1) : s);

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The encBlockIndex references of a block as a multiset of semantic locations: payload entry (location, iePath)
 * + pointer inside its value, or header name, each with the referenced index. Index shifts of the payload/headers
 * arrays do not change it; creating, moving, copying or removing a reference does (TS 33.517 4.2.2.8).
 */
function encRefs(doc: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string) => out.set(k, (out.get(k) ?? 0) + 1);
  const payload = doc.payload;
  if (Array.isArray(payload)) {
    for (const e of payload) {
      if (!isPlainObject(e)) {
        walkRefs(e, "?", add);
        continue;
      }
      const prefix = `P\u0000${String(e.ieValueLocation)}\u0000${String(e.iePath)}\u0000`;
      walkRefs(e.value, prefix, add);
      for (const k of Object.keys(e)) if (k !== "value") walkRefs(e[k], `${prefix}${k}\u0000`, add);
    }
  } else walkRefs(payload, "P?", add);
  const headers = doc.headers;
  if (Array.isArray(headers)) {
    for (const h of headers) {
      const name = isPlainObject(h) && typeof h.header === "string" ? h.header.toLowerCase() : "?";
      walkRefs(h, `H\u0000${name}\u0000`, add);
    }
  } else walkRefs(headers, "H?", add);
  return out;
}

function walkRefs(v: unknown, prefix: string, add: (k: string) => void, depth = 0): void {
  if (typeof v !== "object" || v === null) return;
  if (depth > 64) {
    add(`${prefix}(too deep)`);
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) walkRefs(v[i], `${prefix}/${i}`, add, depth + 1);
    return;
  }
  const o = v as Record<string, unknown>;
  if (hasMember(o, "encBlockIndex")) add(`${prefix}#${JSON.stringify(o.encBlockIndex) ?? "undefined"}`);
  for (const k of Object.keys(o)) walkRefs(o[k], appendToken(prefix, k), add, depth + 1);
}

function sameRefs(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, n] of a) if (b.get(k) !== n) return false;
  return true;
}

function parseJsonB64(s: string): unknown {
  const bytes = b64uDecode(s);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** A deep copy of a JSON value (own enumerable members; `__proto__` kept as data). */
function clone(v: unknown): unknown {
  return structuredClone(v);
}

function failure(type: N32fErrorType, detail: string, ipxId: string | undefined): N32fError {
  const id = ipxId !== undefined && FQDN.test(ipxId) ? ipxId : undefined;
  return new N32fError(type, detail, id ? { failedModificationList: [{ ipxId: id, n32fErrorType: type }] } : {});
}
export const icomf = (detail: string, ipxId?: string) =>
  failure("INTEGRITY_CHECK_ON_MODIFICATIONS_FAILED", detail, ipxId);
export const mif = (detail: string, ipxId?: string) => failure("MODIFICATIONS_INSTRUCTIONS_FAILED", detail, ipxId);
