// src/n32f/wasm/assembly/payload.ts — AssemblyScript, compiled to WebAssembly by scripts/gen-wasm.ts into
// payload.gen.ts (the SEPP runs that; docs/PERFORMANCE.md "A format engine in WebAssembly").
// The P3 `payload` of a DataToIntegrityProtectBlock (TS 29.573 6.1.5.3.2, N32-PROFILE P3/P4) written from the octets
// of a JSON NF body: one entry `{"iePath":…,"ieValueLocation":"BODY","value":…}` per member, the containers on the
// way to an encrypted IE split into their members, each encrypted IE replaced by `{"encBlockIndex":k}` and its text
// appended to the plaintext elements. Byte for byte what JSON.stringify writes for the reference (reformat.ts) —
// so it answers -1 ("the reference decides") for whatever it does not vouch for: whitespace, an escape JSON.stringify
// would not write or any escape in a name, exponents, numbers of more than 15 significant digits or below 1e-6, -0,
// fractions ending in 0, a repeated or all-digit name, a "~" or "/" in a name on the
// way, an array or an empty object on the way to an IE, an encrypted root, invalid UTF-8 (RFC 3629), nesting over
// 256, more than 256 names in an object, and any region below that would overflow.
//
// Why WebAssembly: every load and store stays inside this module's linear memory (an access outside traps as a
// JavaScript exception), so a fault here cannot reach the SEPP's heap, keys or TLS state; one artifact serves x64
// and arm64. Hand-written because no library writes P3 entries from member spans.
//
// The strict reader and the memory layout are json.ts's; the policy is at POL as entries [length: u8][JSON pointer].

import { IN, MAX_IN, MAX_POL, MAX_PATH, OUT, PATH, POL, PT, PT_END, MAX_DEPTH, S_ENC, S_IE, S_LOC, b, cp, memberName, n, nameEnd, nameStart, names, newText, refsMode, val } from "./json";

export { IN, MAX_IN, POL, MAX_POL, OUT, PT };

// the longest fixed text of an entry: "," {"iePath":" ","ieValueLocation":"BODY","value": {"encBlockIndex": 10 digits } }
const ENTRY_FIXED: i32 = 1 + 11 + 35 + 17 + 10 + 2;

let polLen: i32 = 0;
let out: i32 = 0;
let pt: i32 = 0;
let encIndex: i32 = 0;

/** 2: the path at PATH is an encrypted IE; 1: it leads to one (the container is split); 0: neither. */
function policyOf(pathLen: i32): i32 {
  let p = POL;
  const end = POL + polLen;
  let r = 0;
  const c1 = b(PATH + 1);
  while (p < end) {
    const len = <i32>b(p);
    const q = p + 1;
    // the second octet first (the first is always "/"); a path of one octet (a member named "") compares whole
    if (len >= pathLen && (pathLen < 2 || b(q + 1) == c1) && memory.compare(q, PATH, pathLen) == 0) {
      if (len == pathLen) return 2;
      if (b(q + pathLen) == 47) r = 1;
    }
    p = q + len;
  }
  return r;
}

// @ts-expect-error: decorator
@inline
function put(c: u32): void {
  store<u8>(out++, c);
}
function putInt(v: i32): void {
  if (v >= 10) putInt(v / 10);
  put(48 + (v % 10));
}

/** One payload entry for the value [vs, ve) at the path of `pl` octets at PATH, its value moved to the plaintext
 *  when `encrypted`; false when a region would overflow. */
function entry(pl: i32, vs: i32, ve: i32, encrypted: bool): bool {
  if (out + ENTRY_FIXED + pl + (encrypted ? 0 : ve - vs) > PT) return false;
  if (encrypted && pt + 1 + ve - vs > PT_END) return false;
  if (out != OUT) put(44);
  cp(out, <i32>S_IE, 11);
  out += 11;
  cp(out, PATH, pl);
  out += pl;
  cp(out, <i32>S_LOC, 35);
  out += 35;
  if (encrypted) {
    cp(out, <i32>S_ENC, 17);
    out += 17;
    putInt(encIndex++);
    put(125);
    if (pt != PT) store<u8>(pt++, 44);
    cp(pt, vs, ve - vs);
    pt += ve - vs;
  } else {
    cp(out, vs, ve - vs);
    out += ve - vs;
  }
  put(125);
  return true;
}

/**
 * The members of the object at `i` under the path of `pathLen` octets at PATH: the index after it, or -1. As
 * reformat-body.ts splitJson(): a member whose path is an encrypted IE is encrypted whole (a pointer below it is covered);
 * a member on the way to one is split into its members only when an IE below it is present — else it is one entry,
 * as is every other member.
 */
function walk(i: i32, pathLen: i32, depth: i32): i32 {
  const base = names;
  i++;
  if (i < n && b(i) == 125) return i + 1;
  while (true) {
    i = memberName(i, base, depth);
    if (i < 0) return -1;
    const ns = nameStart;
    const ne = nameEnd;
    // the JSON pointer of the member: "~" and "/" in a name would be written ~0 and ~1 (the reference does that)
    for (let k = ns; k < ne; k++) if (b(k) == 126 || b(k) == 47) return -1;
    if (pathLen + 1 + ne - ns > MAX_PATH) return -1;
    store<u8>(PATH + pathLen, 47);
    cp(PATH + pathLen + 1, ns, ne - ns);
    const pl = pathLen + 1 + ne - ns;
    let pol = policyOf(pl);
    if (pol == 1 && b(i) == 91) return -1; // an array on the way to an IE: the reference
    if (pol == 1 && b(i) != 123) pol = 0; // no IE below a scalar
    const vs = i;
    if (pol == 1) {
      if (depth + 1 >= MAX_DEPTH) return -1;
      const out0 = out;
      const pt0 = pt;
      const enc0 = encIndex;
      i = walk(i, pl, depth + 1);
      if (i < 0) return -1;
      // no IE below was present: undo the split, the member is one entry (PATH still holds its path)
      if (encIndex == enc0) {
        out = out0;
        pt = pt0;
        if (!entry(pl, vs, i, false)) return -1;
      }
    } else {
      i = val(i, depth + 1);
      if (i < 0 || !entry(pl, vs, i, pol == 2)) return -1;
    }
    if (i >= n) return -1;
    if (b(i) == 125) {
      names = base;
      return i + 1;
    }
    if (b(i) != 44) return -1;
    i++;
  }
}

/** The body (`len` octets at IN) under the policy (`pl` octets at POL), the first encBlockIndex being `first`:
 *  the length of the payload entries at OUT (their text without the enclosing brackets), or -1 when the reference
 *  decides. */
export function payload(len: i32, pl: i32, first: i32): i32 {
  if (len <= 0 || len > MAX_IN || pl < 0 || pl > MAX_POL || first < 0) return -1;
  n = len;
  polLen = pl;
  out = OUT;
  pt = PT;
  encIndex = first;
  newText();
  refsMode = false;
  if (b(IN) != 123) return -1;
  // an encrypted root ("" in the policy) is the reference's
  for (let p = POL; p < POL + polLen; p += 1 + <i32>b(p)) if (b(p) == 0) return -1;
  const e = walk(IN, 0, 0);
  // an empty root object is one entry of the whole body in the reference: its own
  return e == n && out != OUT ? out - OUT : -1;
}

/** The plaintext elements written by the last payload(), also when it declined: their length at PT. */
export function plaintextLength(): i32 {
  return pt - PT;
}

/** The payload entries written by the last payload(), also when it declined: their length at OUT. */
export function outLength(): i32 {
  return out - OUT;
}
