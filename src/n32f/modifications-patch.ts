// src/n32f/modifications-patch.ts — the JSON Patch operations of one RI modification checked against the
// modification policy and applied (TS 33.501 13.2.4.5, 13.2.4.7; RFC 6902; N32-PROFILE P10; SCAS TS 33.517 4.2.2.8).
// Ops only on /payload/N[/value/…] and /headers/N[/value]; the op is mapped back to the IE it touches (payload entry
// iePath + rest of the pointer, or the header name); permission = isModifiableByIpx[identity] when present, else
// isModifiable, else denied; a modifiable BODY IE covers everything below its pointer; a rule below the touched
// pointer that does not allow the op denies it. `move` is checked at source and target, `copy` at the target, `test`
// always passes. No op may create, move, copy or remove an encBlockIndex reference. Failures are
// MODIFICATIONS_INSTRUCTIONS_FAILED. The patch is applied with fast-json-patch (well kept); every pointer is checked
// first because it accepts non-canonical array indices such as "01".
import { applyOperation, type Operation } from "fast-json-patch";
import type { IeInfo, PatchItem } from "../model/n32.ts";
import { mif, type N32fError } from "./errors.ts";
import { appendToken, formatPointer, getAt, hasMember, isIndexToken, isPlainObject, parsePointer } from "./pointer.ts";
import { normalizeRiId } from "./ri-keys.ts";

/** Who modifies, in which kind of message, under which rules; `where` names the JWS in failures. */
export interface OpContext {
  identity: string;
  kind: "request" | "response";
  /** one rule list per side of the RI: every list must allow the op */
  rules: ReadonlyArray<readonly IeInfo[]>;
  where: string;
}

/** Check and apply the ops of one JWS one by one on `doc` (owned, mutated). Returns the patched document. */
export function applyChecked(
  doc: Record<string, unknown>,
  ops: readonly PatchItem[],
  c: OpContext,
): Record<string, unknown> {
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
      from = typeof op.from === "string" ? parsePointer(op.from) : null;
      if (!from || !canonicalAgainst(doc, from, false)) throw fail("invalid JSON pointer in from");
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
