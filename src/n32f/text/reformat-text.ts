// src/n32f/text/reformat-text.ts — the sending half of the text-level PRINS engine (issue 11 §4; TS 33.501
// 13.2.4.2–13.2.4.3, N32-PROFILE P3, P4, P10): the JWE `aad` (DataToIntegrityProtectBlock) and plaintext
// (DataToIntegrityProtectAndCipherBlock) as JSON text, with the members of a JSON NF body copied as slices of the
// body text and encrypted IEs cut out, instead of JSON.parse of the body and JSON.stringify of the block.
//
// The result is byte-identical to JSON.stringify of what reformat() (the reference) builds: the head (metaData,
// request/status line, headers) is reformat()'s own, only the payload is written here, and a member value whose
// text is not canonical (scan.ts) is re-serialised alone. Falls back to the reference, which then answers or
// refuses as it always did, for: non-JSON bodies (multipart/related, forms, refused types), bodies that are not
// UTF-8, and any JSON text the scanner does not vouch for (invalid JSON, nesting over 256, a member named
// encBlockIndex or a name with escapes other than JSON.stringify's, a repeated or all-digit name in the root or a
// split container, more than 256 members there, or an encrypted root).
import type { MessageIes } from "../policy.ts";
import { hasJsonContentType, type HttpMessage } from "../message.ts";
import { appendToken, isIndexToken } from "../pointer.ts";
import { reformat, reformatHead, type ReformatOptions } from "../reformat.ts";
import { JsonScanner, Members, UNSCANNABLE } from "./scan.ts";

/** The JWE inputs as text: `aad` = the block's JSON; `plaintext` = `{"dataToEncrypt":[…]}`, or "" if none. */
export interface PrinsTexts {
  aad: string;
  plaintext: string;
  /** which engine wrote them: "text", or "reference" where this one fell back */
  by: "text" | "reference";
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
// Synchronous and not re-entrant: one scanner and one root member list for the process.
const scanner = new JsonScanner();
const rootMembers = new Members();

/** The reference: reformat() and JSON.stringify (today's engine). */
export function reformatReferenceText(msg: HttpMessage, opts: ReformatOptions): PrinsTexts {
  const { block, dataToEncrypt } = reformat(msg, opts);
  return {
    aad: JSON.stringify(block),
    plaintext: dataToEncrypt.length ? JSON.stringify({ dataToEncrypt }) : "",
    by: "reference",
  };
}

export function reformatText(msg: HttpMessage, opts: ReformatOptions): PrinsTexts {
  const body = msg.body;
  let text: string | undefined;
  if (body && body.byteLength > 0) {
    if (!hasJsonContentType(msg)) return reformatReferenceText(msg, opts);
    try {
      text = UTF8.decode(body);
    } catch {
      return reformatReferenceText(msg, opts);
    }
  }
  // reformat() checks the head before the body, so an error here is the reference's own
  const { block, dataToEncrypt, plan } = reformatHead(msg, opts);
  const encTexts: string[] = [];
  let payload = "";
  if (text !== undefined) {
    try {
      payload = payloadText(text, plan, dataToEncrypt.length, encTexts);
    } catch (e) {
      if (e === UNSCANNABLE) return reformatReferenceText(msg, opts);
      throw e;
    }
  }
  const head = JSON.stringify(block);
  // block members are metaData, requestLine|statusLine, headers, payload: payload is the last one
  const aad = payload === "" ? head : `${head.slice(0, -1)},"payload":[${payload}]}`;
  let plaintext = "";
  if (dataToEncrypt.length + encTexts.length > 0) {
    const headValues = dataToEncrypt.length ? JSON.stringify(dataToEncrypt).slice(1, -1) : "";
    const bodyValues = encTexts.join(",");
    plaintext = `{"dataToEncrypt":[${headValues}${headValues && bodyValues ? "," : ""}${bodyValues}]}`;
  }
  return { aad, plaintext, by: "text" };
}

interface Trie {
  terminal: boolean;
  children: Map<string, Trie>;
}

/** State of one payload: the body text, the encrypted values so far and where their indices start. */
class Payload {
  out = "";
  readonly cache = new Map<number, Members>();
  constructor(
    readonly s: string,
    readonly firstIndex: number,
    readonly encTexts: string[],
  ) {}

  entry(iePathRaw: string, valueText: string): void {
    if (this.out !== "") this.out += ",";
    this.out += `{"iePath":"${iePathRaw}","ieValueLocation":"BODY","value":${valueText}}`;
  }
  enc(valueText: string): string {
    const n = this.firstIndex + this.encTexts.push(valueText) - 1;
    return `{"encBlockIndex":${n}}`;
  }
  valueText(m: Members, k: number): string {
    const v = this.s.slice(m.valueStart[k]!, m.valueEnd[k]!);
    return m.canonical[k] ? v : JSON.stringify(JSON.parse(v));
  }
  /** JSON.stringify of the container whose members are `m` (names are canonical, unique, not index-like). */
  containerText(m: Members): string {
    let t = m.isObject ? "{" : "[";
    for (let k = 0; k < m.n; k++) {
      if (k > 0) t += ",";
      if (m.isObject) t += `${this.s.slice(m.nameStart[k]! - 1, m.nameEnd[k]! + 1)}:`;
      t += this.valueText(m, k);
    }
    return t + (m.isObject ? "}" : "]");
  }
  /** The members of the container whose value starts at `at` (re-scanned: the text was checked already). */
  membersAt(at: number, depth: number): Members {
    let m = this.cache.get(at);
    if (!m) {
      m = new Members();
      scanner.i = at;
      scanner.container(depth, m);
      this.cache.set(at, m);
    }
    return m;
  }
  nameOf(m: Members, k: number): string {
    const raw = this.s.slice(m.nameStart[k]!, m.nameEnd[k]!);
    return m.nameEscaped[k] ? (JSON.parse(`"${raw}"`) as string) : raw;
  }
  /** The member of `m` that `token` names (getAt() semantics), or -1. */
  find(m: Members, token: string): number {
    if (!m.isObject) {
      if (!isIndexToken(token)) return -1;
      const i = Number(token);
      return i < m.n ? i : -1;
    }
    for (let k = 0; k < m.n; k++) {
      if (m.nameEscaped[k]) {
        if (this.nameOf(m, k) === token) return k;
      } else if (m.nameEnd[k]! - m.nameStart[k]! === token.length && this.s.startsWith(token, m.nameStart[k]!))
        return k;
    }
    return -1;
  }
  /** getAt(root, tokens) !== undefined, on the text. */
  resolves(root: Members, tokens: readonly string[]): boolean {
    let m = root;
    for (let d = 0; d < tokens.length; d++) {
      const k = this.find(m, tokens[d]!);
      if (k < 0) return false;
      if (d === tokens.length - 1) return true;
      const at = m.valueStart[k]!;
      const c = this.s.charCodeAt(at);
      if (c !== 0x7b && c !== 0x5b) return false;
      m = this.membersAt(at, d + 1);
    }
    return true;
  }
  /** reformat.ts emitChildren() on the text; `pathRaw` is the parent's iePath as JSON string content. */
  children(m: Members, pathRaw: string, node: Trie | undefined, depth: number): void {
    const split = node !== undefined && node.children.size > 0;
    for (let k = 0; k < m.n; k++) {
      let iePath: string;
      let child: Trie | undefined;
      if (m.isObject) {
        const raw = this.s.slice(m.nameStart[k]!, m.nameEnd[k]!);
        // RFC 6901 escaping; `~` and `/` stand for themselves in canonical JSON string text
        iePath = appendToken(pathRaw, raw);
        if (split) child = node.children.get(m.nameEscaped[k] ? this.nameOf(m, k) : raw);
      } else {
        iePath = `${pathRaw}/${k}`;
        if (split) child = node.children.get(String(k));
      }
      if (!child) this.entry(iePath, this.valueText(m, k));
      else if (child.terminal) this.entry(iePath, this.enc(this.valueText(m, k)));
      else this.children(this.membersAt(m.valueStart[k]!, depth + 1), iePath, child, depth + 1);
    }
  }
}

/** The `payload` entries of a JSON body (reformat.ts splitJson() on the text), comma-separated. */
function payloadText(s: string, plan: MessageIes, firstIndex: number, encTexts: string[]): string {
  const p = new Payload(s, firstIndex, encTexts);
  scanner.reset(s);
  scanner.ws();
  const c = s.charCodeAt(scanner.i);
  const pointers = plan.bodyPointers;
  if (c !== 0x7b && c !== 0x5b) {
    // a scalar root: one entry "" (P10), encrypted when the empty pointer is named
    const a = scanner.i;
    scanner.value(0);
    const b = scanner.i;
    scanner.end();
    const v = s.slice(a, b);
    const t = scanner.canon ? v : JSON.stringify(JSON.parse(v));
    p.entry("", pointers.some((x) => x.length === 0) ? p.enc(t) : t);
    return p.out;
  }
  const root = rootMembers;
  scanner.container(0, root);
  scanner.end();
  const trie: Trie = { terminal: false, children: new Map() };
  for (const ptr of pointers) {
    if (!p.resolves(root, ptr)) continue;
    let node = trie;
    for (const t of ptr) {
      if (node.terminal) break;
      let ch = node.children.get(t);
      if (!ch) {
        ch = { terminal: false, children: new Map() };
        node.children.set(t, ch);
      }
      node = ch;
    }
    if (!node.terminal) {
      node.terminal = true;
      node.children.clear();
    }
  }
  if (trie.terminal) {
    p.entry("", p.enc(p.containerText(root)));
    return p.out;
  }
  if (trie.children.size === 0 && !(root.isObject && root.n > 0)) {
    p.entry("", p.containerText(root)); // {} or an unsplit array root: one entry "" (P10)
    return p.out;
  }
  p.children(root, "", trie, 0);
  return p.out;
}
