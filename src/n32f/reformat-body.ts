// src/n32f/reformat-body.ts — the payload entries of a message body (TS 33.501 13.2.4.3, TS 29.573 6.2.5;
// N32-PROFILE P3, P10): JSON split down to the IEs to encrypt, x-www-form-urlencoded parameters, multipart/related
// parts. Used by reformat.ts (and the text engine through it). Pure: no I/O, no crypto.
import type { HttpPayload, IndexToEncryptedValue } from "../model/n32.ts";
import { ReformatError } from "./errors.ts";
import { bodyKind, headerValue, parseContentType, type HttpMessage } from "./message.ts";
import { contentIdOf, MultipartError, parseMultipart, rootPartIndex, stripContentId } from "./multipart.ts";
import { jsonNestedDeeperThan } from "../json-depth.ts";
import { escapeToken, getAt, isIndexToken, isPlainObject } from "./pointer.ts";
import type { MessageIes } from "./policy.ts";
import { asBuffer } from "../bytes.ts";

/** Hands out the next `encBlockIndex` for a value moved into dataToEncrypt. */
export type Enc = (v: unknown) => IndexToEncryptedValue;

const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** The receiver refuses entry values nested deeper than this (reconstruct.ts MAX_DEPTH): refuse such a body here. */
export const MAX_BODY_DEPTH = 256;

export function reformatBody(msg: HttpMessage, plan: MessageIes, enc: Enc): HttpPayload[] {
  const ctHeader = headerValue(msg, "content-type");
  if (ctHeader === undefined) throw new ReformatError(415, "UNSUPPORTED_MEDIA_TYPE", "body without content-type");
  const ct = parseContentType(ctHeader);
  const kind = ct ? bodyKind(ct.mediaType) : null;
  if (!ct || !kind)
    throw new ReformatError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      `content-type ${ct?.mediaType ?? "(malformed)"} is not carried over N32-f`,
    );
  const body = msg.body!;
  if (kind === "json") {
    const payload: HttpPayload[] = [];
    splitJson(parseJson(body, "body"), plan.bodyPointers, enc, payload);
    return payload;
  }
  if (kind === "form") return reformatForm(body, plan, enc);
  return reformatMultipart(body, ct.params, plan, enc);
}

function decodeText(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `${what} is not valid UTF-8`);
  }
}

function parseJson(bytes: Uint8Array, what: string): unknown {
  const text = decodeText(bytes, what);
  if (jsonNestedDeeperThan(text, MAX_BODY_DEPTH))
    throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `${what} is nested deeper than ${MAX_BODY_DEPTH} levels`);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `${what} is not valid JSON`);
  }
  // TS 33.501 5.9.3.2: refuse NF JSON that already holds `encBlockIndex` (in any escaping). Fast path: neither the
  // name nor a \u escape can produce it.
  if ((text.indexOf("encBlockIndex") >= 0 || text.indexOf("\\u") >= 0) && containsMemberNamed(root, "encBlockIndex"))
    throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `${what} contains a member named encBlockIndex`);
  return root;
}

function containsMemberNamed(root: unknown, name: string): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (isPlainObject(v)) {
      for (const k of Object.keys(v)) {
        if (k === name) return true;
        stack.push(v[k]);
      }
    }
  }
  return false;
}

interface Trie {
  terminal: boolean;
  children: Map<string, Trie>;
}

/**
 * P3/P10 payload of a JSON value: one entry per top-level member; a member holding an IE to encrypt is split
 * down the pointer to that IE, whose entry carries {"encBlockIndex": N}. Each IE is encrypted at most once: a
 * pointer below another encrypted pointer is covered by it. Values that are not split are the parsed objects
 * themselves (no copy). `prefix` is prepended to each iePath.
 */
export function splitJson(
  root: unknown,
  pointers: ReadonlyArray<readonly string[]>,
  enc: Enc,
  out: HttpPayload[],
  location: "BODY" = "BODY",
): void {
  const trie: Trie = { terminal: false, children: new Map() };
  for (const p of pointers) {
    if (getAt(root, p) === undefined) continue;
    let node = trie;
    for (const t of p) {
      if (node.terminal) break;
      let c = node.children.get(t);
      if (!c) {
        c = { terminal: false, children: new Map() };
        node.children.set(t, c);
      }
      node = c;
    }
    if (!node.terminal) {
      node.terminal = true;
      node.children.clear();
    }
  }
  if (trie.terminal) {
    out.push({ iePath: "", ieValueLocation: location, value: enc(root) });
    return;
  }
  const isSplitRoot = trie.children.size > 0 && typeof root === "object" && root !== null;
  if (!isSplitRoot && !(isPlainObject(root) && Object.keys(root).length > 0)) {
    out.push({ iePath: "", ieValueLocation: location, value: root });
    return;
  }
  emitChildren(root as object, "", trie, enc, out, location);
}

function emitChildren(
  container: object,
  path: string,
  node: Trie,
  enc: Enc,
  out: HttpPayload[],
  location: "BODY",
): void {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++)
      emitMember(container[i], `${path}/${i}`, node.children.get(String(i)), enc, out, location, true);
    return;
  }
  const obj = container as Record<string, unknown>;
  const keys = Object.keys(obj);
  // P10: the receiver would create an array for a numeric first segment; announce the object first
  if (keys.length > 0 && isIndexToken(keys[0]!)) out.push({ iePath: path, ieValueLocation: location, value: {} });
  for (const k of keys)
    emitMember(
      obj[k],
      path === "" ? topLevelPath(k) : `${path}/${escapeToken(k)}`,
      node.children.get(k),
      enc,
      out,
      location,
      false,
    );
}

/**
 * `/<name>` of a top-level member, kept per name: the same few dozen names come in every message of an API, and
 * each would otherwise cost a new string (and its flattening when the block is serialised). Bounded: short names
 * only, and the table starts over when full.
 */
const TOP_LEVEL_PATHS = new Map<string, string>();
const MAX_TOP_LEVEL_PATHS = 4096;
function topLevelPath(name: string): string {
  let p = TOP_LEVEL_PATHS.get(name);
  if (p === undefined) {
    p = `/${escapeToken(name)}`;
    if (name.length > 64) return p;
    if (TOP_LEVEL_PATHS.size >= MAX_TOP_LEVEL_PATHS) TOP_LEVEL_PATHS.clear();
    TOP_LEVEL_PATHS.set(name, p);
  }
  return p;
}

function emitMember(
  value: unknown,
  path: string,
  node: Trie | undefined,
  enc: Enc,
  out: HttpPayload[],
  location: "BODY",
  parentIsArray: boolean,
): void {
  if (!node) out.push({ iePath: path, ieValueLocation: location, value });
  else if (node.terminal) out.push({ iePath: path, ieValueLocation: location, value: enc(value) });
  else {
    // P10: a split member whose name is a non-negative integer is announced by its empty container first
    const name = path.slice(path.lastIndexOf("/") + 1);
    if (isIndexToken(name) && !parentIsArray)
      out.push({ iePath: path, ieValueLocation: location, value: Array.isArray(value) ? [] : {} });
    emitChildren(value as object, path, node, enc, out, location);
  }
}

/** P10: x-www-form-urlencoded, one BODY entry per parameter, in order. */
function reformatForm(body: Uint8Array, plan: MessageIes, enc: Enc): HttpPayload[] {
  const text = decodeText(body, "form body");
  const encrypted = new Set<string>();
  for (const p of plan.bodyPointers) if (p.length === 1) encrypted.add(p[0]!);
  const seen = new Set<string>();
  const out: HttpPayload[] = [];
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, " "));
      value = eq < 0 ? "" : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
    } catch {
      throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "form body has an invalid percent-encoding");
    }
    if (seen.has(name)) throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `form parameter ${name} repeated`);
    if (name === "encBlockIndex")
      throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "form body contains a parameter named encBlockIndex");
    seen.add(name);
    out.push({
      iePath: `/${escapeToken(name)}`,
      ieValueLocation: "BODY",
      value: encrypted.has(name) ? enc(value) : value,
    });
  }
  return out;
}

/** P3/P10 multipart/related: root JSON part as BODY entries, every other part as one MULTIPART_BINARY entry. */
function reformatMultipart(
  body: Uint8Array,
  params: ReadonlyMap<string, string>,
  plan: MessageIes,
  enc: Enc,
): HttpPayload[] {
  const boundary = params.get("boundary");
  if (!boundary) throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "multipart/related without boundary");
  const rootType = parseContentType(params.get("type") ?? "application/json");
  if (!rootType || bodyKind(rootType.mediaType) !== "json")
    throw new ReformatError(415, "UNSUPPORTED_MEDIA_TYPE", "multipart/related root part is not JSON");
  let parts: ReturnType<typeof parseMultipart>;
  try {
    parts = parseMultipart(body, boundary);
  } catch (e) {
    if (e instanceof MultipartError) throw new ReformatError(400, "MANDATORY_IE_INCORRECT", e.message);
    throw e;
  }
  if (parts.length === 0) throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "multipart/related without parts");
  const start = params.get("start");
  const startId = start === undefined ? undefined : stripContentId(start);
  const rootIndex = rootPartIndex(parts, start);
  if (rootIndex < 0) throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "multipart/related start part not found");
  const out: HttpPayload[] = [];
  splitJson(parseJson(parts[rootIndex]!.data, "multipart root part"), plan.bodyPointers, enc, out);
  const ids = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    if (i === rootIndex) continue;
    const p = parts[i]!;
    const id = contentIdOf(p);
    if (id === undefined || id === "")
      throw new ReformatError(400, "MANDATORY_IE_MISSING", "multipart part without Content-ID");
    if (ids.has(id) || id === startId)
      throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `multipart Content-ID ${id} repeated`);
    ids.add(id);
    let contentType: string | undefined;
    let extra: Record<string, string> | undefined;
    let seenId = false;
    for (const [n, v] of p.headers) {
      // P11 Multipart: the Content-ID travels as the iePath segment, which the receiver uses exactly (no <>); a
      // form other than that (e.g. <n1msg>) is carried in the part's headers, so that the receiver reproduces it
      // (TS 29.571 RefToBinaryData.contentId must equal what the producer finds in the part's header)
      if (n === "content-id") {
        if (seenId) throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `multipart part ${id} with two Content-IDs`);
        seenId = true;
        if (v === id) continue;
      }
      if (n === "content-type") {
        if (contentType !== undefined)
          throw new ReformatError(400, "MANDATORY_IE_INCORRECT", "multipart part with two content-types");
        contentType = v;
        continue;
      }
      extra ??= {};
      if (Object.hasOwn(extra, n))
        throw new ReformatError(400, "MANDATORY_IE_INCORRECT", `multipart part header ${n} repeated`);
      Object.defineProperty(extra, n, { value: v, enumerable: true, writable: true, configurable: true });
    }
    if (contentType === undefined)
      throw new ReformatError(400, "MANDATORY_IE_MISSING", `multipart part ${id} without Content-Type`);
    const value: { contentType: string; data: string; headers?: Record<string, string> } = {
      contentType,
      data: asBuffer(p.data).toString("base64"),
    };
    if (extra) value.headers = extra;
    out.push({
      iePath: `/${escapeToken(id)}`,
      ieValueLocation: "MULTIPART_BINARY",
      value: plan.multipartIds.has(id) ? enc(value) : value,
    });
  }
  return out;
}
