// src/n32f/wasm/open-wasm.ts — the receiving half of the PRINS engine with the NF body rebuilt in WebAssembly (issue 11;
// TS 33.501 13.2.4.7, TS 29.573 6.2; N32-PROFILE P3, P10). The engine parses the N32-f body and its JWE as before
// (JSON.parse, schema, base64url: native and fast); then, instead of JSON.parse of the aad → schema → reconstruct →
// JSON.stringify of the body:
//   readAadWasm()  the module reads the decoded aad (assembly/open.ts aad()); JavaScript parses only its head
//                  (metaData, request/status line, headers: a few hundred octets), from which the engine finds the
//                  context as before;
//   AEAD           openJwe(), unchanged;
//   rebuildWasm()  the head checked (P10 schema) and rebuilt by reconstruct() (its references included), the NF body
//                  written by the module from the payload entries and the plaintext's elements.
// What the module does not vouch for returns null: before the AEAD the engine then parses the whole aad as before;
// after it (the message's SEQ is then taken) the engine runs its reference steps on the same plaintext, so every
// error is the reference's own.
//
// Synchronous and not re-entrant: one module instance per thread (module.ts).
import type { DataToIntegrityProtectBlock } from "../../model/n32.ts";
import { validateReceivedBlock } from "../../openapi/validate.ts";
import { asBuffer } from "../../bytes.ts";
import type { N32fMessageKind } from "../context.ts";
import { parseCipherBlock } from "../jwe.ts";
import { bodyKind, headerValue, parseContentType, type HttpMessage } from "../message.ts";
import { authorizedIpxIdOf } from "../metadata.ts";
import { reconstruct } from "../reconstruct.ts";
import { type Instance, payloadModule } from "./module.ts";

/** An aad the module has read: its head parsed, its payload entries kept in the module until rebuildWasm(). */
export interface AadRead {
  /** the aad's members before "payload", parsed: what the engine checks before and after the AEAD */
  head: DataToIntegrityProtectBlock;
  headText: string;
  entries: number;
  /** the decoded aad (a view of the JWE parser's buffer, valid until the next parseJwe(): the same synchronous call) */
  aad: Uint8Array;
}

// RES fields of open.ts aad()
const R_HEAD_LENGTH = 0;
const R_ENTRIES = 1;
const MAX_ELEMENTS = 1024;
const NONE: unknown[] = [];
const PAYLOAD_MEMBER = Buffer.from('"payload":[', "latin1");

let traps = 0;
let rebuilt = 0;
/** Traps of the receiving half caught in this thread so far (each one a message the reference read instead). */
export function openWasmTraps(): number {
  return traps;
}
/** Messages whose NF body the receiving half rebuilt in this thread so far. */
export function openWasmMessages(): number {
  return rebuilt;
}

// A known answer, checked once per thread at the engine's construction (as reformat-wasm.ts's): the head, and a body
// with nested paths, a nested reference and a non-ASCII value.
const KAT_AAD =
  '{"metaData":{"n32fContextId":"0011223344556677","messageId":"m"},"payload":[{"iePath":"/a/b","ieValueLocation":"BODY",' +
  '"value":{"encBlockIndex":0}},{"iePath":"/a/c","ieValueLocation":"BODY","value":[1,"é"]},{"iePath":"/d",' +
  '"ieValueLocation":"BODY","value":{"x":{"encBlockIndex":1}}}]}';
const KAT_PLAINTEXT = '{"dataToEncrypt":["s",{"k":true}]}';
const KAT_NF_BODY = '{"a":{"b":"s","c":[1,"é"]},"d":{"x":{"k":true}}}';

/** Checks the receiving half's known answer in this thread (an engine that will use it, at its construction). */
export function loadOpenWasm(): void {
  const w = payloadModule();
  const read = readAadWasm(Buffer.from(KAT_AAD, "utf8"));
  const pt = Buffer.from(KAT_PLAINTEXT, "utf8");
  w.mem.set(pt, w.pt);
  const len = read ? w.x.body(pt.length, -1) : -1;
  const got = [read?.headText, read?.entries, len < 0 ? `(${len})` : w.mem.toString("utf8", w.in, w.in + len)];
  w.mem.fill(0, w.in, w.in + Math.max(0, len));
  w.mem.fill(0, w.pt, w.pt + pt.length);
  const want = ['{"metaData":{"n32fContextId":"0011223344556677","messageId":"m"}}', 3, KAT_NF_BODY];
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`open.wasm self-test failed: ${JSON.stringify(got)}`);
}

/** The aad (decoded from the JWE) read by the module, or null: the engine parses it whole as before. */
export function readAadWasm(aad: Uint8Array): AadRead | null {
  const w = payloadModule();
  if (aad.byteLength === 0 || aad.byteLength > w.maxIn) return null; // OUT..OUT+64K (open.ts MAX_AAD)
  // no body (a GET, most of SBI): nothing for the module to rebuild, the engine's one JSON.parse is all it takes
  if (asBuffer(aad).indexOf(PAYLOAD_MEMBER) < 0) return null;
  w.mem.set(aad, w.out);
  let ok: number;
  try {
    ok = w.x.aad(aad.byteLength);
  } catch {
    traps++;
    return null;
  }
  if (ok < 0) return null;
  const headText = `${w.mem.toString("utf8", w.out, w.out + w.res[R_HEAD_LENGTH]!)}}`;
  try {
    return { head: JSON.parse(headText), headText, entries: w.res[R_ENTRIES]!, aad };
  } catch {
    return null;
  }
}

/** The whole aad parsed, for the reference steps after a decline (as the engine parses it without the module). */
export function aadBlock(read: AadRead): DataToIntegrityProtectBlock {
  return JSON.parse(asBuffer(read.aad).toString("utf8"));
}

/**
 * The message rebuilt from the aad of the last readAadWasm() and the plaintext: the head by reconstruct(), the NF body
 * by the module; null for anything else (the engine's reference steps then read the message again and answer).
 */
export function rebuildWasm(
  read: AadRead,
  plaintext: Uint8Array,
  kind: N32fMessageKind,
): { message: HttpMessage; authorizedIpxId: string | null } | null {
  const w = payloadModule();
  try {
    return rebuild(w, kind, read.head, read.headText, plaintext, read.entries);
  } finally {
    // the clear values do not stay in the module's memory: the plaintext's copy and the rebuilt body
    if (plaintext.length <= w.ptEnd - w.pt) w.mem.fill(0, w.pt, w.pt + plaintext.length);
    const written = Math.max(0, Math.min(w.x.bodyLength(), w.maxIn));
    if (written > 0) w.mem.fill(0, w.in, w.in + written);
    w.x.wipe(); // the names read in the elements, the elements' bounds
  }
}

/** The head by the reference (reconstruct), the body by the module; null for anything else (the reference's then). */
function rebuild(
  w: Instance,
  kind: N32fMessageKind,
  head: DataToIntegrityProtectBlock,
  headText: string,
  plaintext: Uint8Array,
  entries: number,
): { message: HttpMessage; authorizedIpxId: string | null } | null {
  try {
    // P10: the head's members by the schema; the payload entries the module accepted are valid HttpPayload items
    if (validateReceivedBlock("DataToIntegrityProtectBlock", head)) return null;
    // the head's references (encrypted path segments, query, headers) are taken by reconstruct(), which then needs
    // the elements as values; otherwise the module reads the plaintext alone
    const headRefs = headText.includes("encBlockIndex");
    const dataToEncrypt = headRefs || entries === 0 ? parseCipherBlock(plaintext) : NONE;
    const used = headRefs ? new Uint8Array(dataToEncrypt.length) : undefined;
    const message = reconstruct(head, dataToEncrypt, { expect: kind, used });
    const authorizedIpxId = authorizedIpxIdOf(head);
    if (entries === 0) {
      rebuilt++;
      return { message, authorizedIpxId };
    }
    // none: JSON (lenient on receive, as rebuildBody)
    const ct = parseContentType(headerValue(message, "content-type") ?? "application/json");
    if (!ct || bodyKind(ct.mediaType) !== "json") return null;
    // the plaintext region is PT..PT_END (the module's static data follows it)
    if (plaintext.length > w.ptEnd - w.pt || (used && used.length > MAX_ELEMENTS)) return null;
    w.mem.set(plaintext, w.pt);
    if (used) w.mem.set(used, w.used);
    let len: number;
    try {
      len = w.x.body(plaintext.length, used ? used.length : -1);
    } catch {
      traps++;
      return null;
    }
    if (len < 0) return null;
    const body = Buffer.allocUnsafe(len);
    w.mem.copy(body, 0, w.in, w.in + len);
    message.body = body;
    rebuilt++;
    return { message, authorizedIpxId };
  } catch {
    return null; // the reference reads the message again and reports what it finds
  }
}
