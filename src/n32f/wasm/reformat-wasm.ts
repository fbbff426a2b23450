// src/n32f/wasm/reformat-wasm.ts — the sending half of the PRINS engine with the body written in WebAssembly
// (issue 11; TS 33.501 13.2.4.2–13.2.4.3, N32-PROFILE P3, P4): the JWE aad (DataToIntegrityProtectBlock) and plaintext
// (DataToIntegrityProtectAndCipherBlock) as UTF-8 octets, byte-identical to JSON.stringify of what reformat() builds.
// The head (metaData, request/status line, headers) is reformatHead() + JSON.stringify, as in the text engine; the
// payload entries of a JSON body are written by the module (assembly/payload.ts) from the body's octets, without
// JSON.parse of the body or JSON.stringify of its members. Whatever the module does not vouch for — non-JSON bodies,
// bodies over 64 KiB, a policy it cannot hold, any text it declines (see payload.ts), a trap — returns null, and the
// engine writes that message with the reference, which then answers or refuses as it always did.
//
// Synchronous and not re-entrant: one module instance (module.ts) and one output buffer per thread (each worker has its own).
import type { HttpMessage } from "../message.ts";
import { hasJsonContentType } from "../message.ts";
import type { MessageIes } from "../policy.ts";
import { reformatHead, type ReformatOptions } from "../reformat.ts";
import { type Instance, payloadModule } from "./module.ts";

export { payloadWasmMemory } from "./module.ts";

/** The aad and plaintext octets; views into a buffer the next call overwrites (use them at once). */
export interface PrinsBytes {
  aad: Uint8Array;
  plaintext: Uint8Array;
}

const te = new TextEncoder();
const PAYLOAD_OPEN = ',"payload":[';
const DATA_TO_ENCRYPT_OPEN = '{"dataToEncrypt":[';
let out = Buffer.allocUnsafe(1 << 16);
let traps = 0;
let written = 0;
/** Traps of the module caught in this thread so far (each one a message the reference wrote instead). */
export function payloadWasmTraps(): number {
  return traps;
}
/** Messages whose aad and plaintext the module wrote in this thread so far. */
export function payloadWasmMessages(): number {
  return written;
}

// the policy's body pointers as [length][JSON pointer] entries, written once per plan (plans are kept per policy)
let planWritten: MessageIes | null = null;
let policyLen = -1;
function writePolicy(w: Instance, plan: MessageIes): boolean {
  if (plan === planWritten) return policyLen >= 0;
  planWritten = plan;
  policyLen = -1;
  let o = w.pol;
  for (const tokens of plan.bodyPointers) {
    let p = "";
    for (const t of tokens) {
      if (!t.isWellFormed()) return false; // a lone surrogate would be written as U+FFFD and match another name
      p += `/${t.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    }
    const e = te.encode(p);
    if (e.length > 255 || o + 1 + e.length > w.pol + w.maxPol) return false;
    w.mem[o++] = e.length;
    w.mem.set(e, o);
    o += e.length;
  }
  policyLen = o - w.pol;
  return true;
}

// A known answer, checked once per thread before the module writes any message (a power-on self-test: a module the
// platform runs wrongly — another CPU, an emulator, a runtime update — stops the start instead of sealing bad aads).
const KAT_BODY = '{"a":"x","b":{"c":1,"d":[true]},"e":{"f":"é"}}';
const KAT_POLICY = ["/b/c", "/e/g"];
const KAT_PAYLOAD =
  '{"iePath":"/a","ieValueLocation":"BODY","value":"x"},{"iePath":"/b/c","ieValueLocation":"BODY","value":{"encBlockIndex":3}},' +
  '{"iePath":"/b/d","ieValueLocation":"BODY","value":[true]},{"iePath":"/e","ieValueLocation":"BODY","value":{"f":"é"}}';

/** Instantiates the module and checks its known answer (an engine that will use it, at its construction). */
export function loadPayloadWasm(): void {
  const w = payloadModule();
  const body = te.encode(KAT_BODY);
  w.mem.set(body, w.in);
  let o = w.pol;
  for (const p of KAT_POLICY) {
    w.mem[o++] = p.length;
    o += w.mem.write(p, o, "latin1");
  }
  planWritten = null; // the next message writes its own policy
  const len = w.x.payload(body.length, o - w.pol, 3);
  const got = len < 0 ? `(${len})` : w.mem.toString("utf8", w.out, w.out + len);
  const pt = w.mem.toString("utf8", w.pt, w.pt + w.x.plaintextLength());
  w.mem.fill(0, w.in, w.in + body.length);
  if (got !== KAT_PAYLOAD || pt !== "1") throw new Error(`payload.wasm self-test failed: ${got} / ${pt}`);
}

function room(n: number): void {
  if (out.length < n) out = Buffer.allocUnsafe(Math.max(n, out.length * 2));
}

/** The aad and plaintext of `msg`, or null where the reference writes them (see the top of this file). */
export function reformatWasm(msg: HttpMessage, opts: ReformatOptions): PrinsBytes | null {
  const body = msg.body;
  if (!body || body.byteLength === 0) return null;
  const w = payloadModule();
  if (body.byteLength > w.maxIn) return null;
  if (!hasJsonContentType(msg)) return null;
  // reformat() checks the head before the body, so an error here is the reference's own
  const head = reformatHead(msg, opts);
  if (!writePolicy(w, head.plan)) return null;
  w.mem.set(body, w.in);
  let len: number;
  try {
    len = w.x.payload(body.byteLength, policyLen, head.dataToEncrypt.length);
  } catch {
    traps++;
    len = -1;
  }
  // what the module wrote, also when it declined part-way (it writes an encrypted value as soon as it meets it)
  const ptLen = Math.max(0, Math.min(w.x.plaintextLength(), w.mem.length - w.pt));
  const outLen = Math.max(0, Math.min(w.x.outLength(), w.pt - w.out));
  try {
    if (len < 0) return null;
    const headText = JSON.stringify(head.block);
    const fromHead = head.dataToEncrypt.length ? JSON.stringify(head.dataToEncrypt) : "";
    room(3 * (headText.length + fromHead.length) + len + ptLen + 64);
    // the head as the reference writes it, its closing "}" replaced by the payload member (the block's last)
    let off = out.write(headText, 0, "utf8") - 1;
    off += out.write(PAYLOAD_OPEN, off, "latin1");
    off += w.mem.copy(out, off, w.out, w.out + len);
    out[off++] = 0x5d; // ]
    out[off++] = 0x7d; // }
    const aadEnd = off;
    if (ptLen > 0 || fromHead) {
      off += out.write(DATA_TO_ENCRYPT_OPEN, off, "latin1");
      // the head's encrypted values (path, query, headers) come first, as reformat() numbers them
      if (fromHead) off += out.write(ptLen ? `${fromHead.slice(1, -1)},` : fromHead.slice(1, -1), off, "utf8");
      off += w.mem.copy(out, off, w.pt, w.pt + ptLen);
      out[off++] = 0x5d;
      out[off++] = 0x7d;
    }
    written++;
    return { aad: out.subarray(0, aadEnd), plaintext: out.subarray(aadEnd, off) };
  } finally {
    // the clear body, the entries and the clear values of encrypted IEs do not stay in the module's memory (also when
    // it declined: the message may be one the reference then refuses, never sent)
    w.mem.fill(0, w.in, w.in + body.byteLength);
    if (outLen > 0) w.mem.fill(0, w.out, w.out + outLen);
    if (ptLen > 0) w.mem.fill(0, w.pt, w.pt + ptLen);
    w.x.wipe(); // the digests and offsets of the names read (also inside encrypted IEs)
  }
}
