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
// Linear memory (no allocation, globals only): the body at IN; the policy at POL as entries [length: u8][JSON
// pointer]; the path being built at PATH; (hash, start, end) of the names of the objects being read at NAMES; the
// payload entries at OUT; the plaintext elements at PT; AssemblyScript's static data from DATA (gen-wasm.ts passes
// it as --memoryBase).

export const IN: i32 = 0;
export const MAX_IN: i32 = 1 << 16;
export const POL: i32 = MAX_IN;
export const MAX_POL: i32 = 8192;
const PATH: i32 = POL + MAX_POL;
const MAX_PATH: i32 = 4096;
const NAMES: i32 = PATH + 8192;
export const OUT: i32 = 1 << 17;
export const PT: i32 = OUT + (1 << 17);
const PT_END: i32 = PT + (1 << 16);
const MAX_DEPTH: i32 = 256;
const MAX_NAMES: i32 = 256;
// the longest fixed text of an entry: "," {"iePath":" ","ieValueLocation":"BODY","value": {"encBlockIndex": 10 digits } }
const ENTRY_FIXED: i32 = 1 + 11 + 35 + 17 + 10 + 2;

let n: i32 = 0;
let polLen: i32 = 0;
let out: i32 = 0;
let pt: i32 = 0;
let encIndex: i32 = 0;
let names: i32 = 0;

// @ts-expect-error: decorator
@inline
function b(i: i32): u32 {
  return load<u8>(i);
}

// @ts-expect-error: decorator
@inline
function cp(dst: i32, src: i32, len: i32): void {
  let k = 0;
  for (; k + 8 <= len; k += 8) store<u64>(dst + k, load<u64>(src + k));
  for (; k < len; k++) store<u8>(dst + k, load<u8>(src + k));
}

@inline
function lowerHex(c: u32): bool {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/**
 * A string at `i` (its opening quote): the index after it, or -1. UTF-8 is checked (RFC 3629). In a value, the escapes
 * JSON.stringify writes itself are kept — \" \\ \b \f \n \r \t and \u00xx (lower-case hex) below 0x20 without a
 * short form; any other escape (\/, \u0041, upper-case hex, surrogates) is not its text: -1. A name (`isName`) has
 * none: its octets are compared with the policy's pointers as they stand.
 */
function str(i: i32, isName: bool): i32 {
  i++;
  while (i < n) {
    const c = b(i);
    if (c == 34) return i + 1;
    if (c < 0x20) return -1;
    if (c == 92) {
      if (isName || i + 1 >= n) return -1;
      const e = b(i + 1);
      if (e == 34 || e == 92 || e == 98 || e == 102 || e == 110 || e == 114 || e == 116) {
        i += 2;
        continue;
      }
      if (e != 117 || i + 5 >= n) return -1;
      // \u00xx with xx < 0x20, lower-case, and not one of the five with a short form (08 09 0a 0c 0d)
      const h3 = b(i + 4);
      const h4 = b(i + 5);
      if (b(i + 2) != 48 || b(i + 3) != 48 || (h3 != 48 && h3 != 49) || !lowerHex(h4)) return -1;
      const v: u32 = (h3 - 48) * 16 + (h4 <= 57 ? h4 - 48 : h4 - 87);
      if (v == 8 || v == 9 || v == 10 || v == 12 || v == 13) return -1;
      i += 6;
      continue;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    // RFC 3629: 2–4 octet sequences, no overlongs, no surrogates, at most U+10FFFF
    let len = 0;
    let min: u32 = 0;
    let cp0: u32 = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp0 = c & 0x1f;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp0 = c & 0x0f;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp0 = c & 0x07;
      min = 0x10000;
    } else return -1;
    if (i + len > n) return -1;
    for (let k = 1; k < len; k++) {
      const d = b(i + k);
      if ((d & 0xc0) != 0x80) return -1;
      cp0 = (cp0 << 6) | (d & 0x3f);
    }
    if (cp0 < min || cp0 > 0x10ffff || (cp0 >= 0xd800 && cp0 <= 0xdfff)) return -1;
    i += len;
  }
  return -1;
}

/**
 * A number, when it is JSON.stringify's text of its value: at most 15 significant digits (every such decimal is the
 * shortest text of its double, DBL_DIG), no exponent, no fraction ending in 0, at least 1e-6 (below, it is written with
 * an exponent), not -0. Anything else: -1 (the reference).
 */
function num(i: i32): i32 {
  const from = i;
  if (b(i) == 45) i++;
  const digits = i;
  if (i >= n) return -1;
  const c = b(i);
  if (c == 48) i++;
  else if (c >= 49 && c <= 57) {
    while (i < n && b(i) >= 48 && b(i) <= 57) i++;
  } else return -1;
  const zeroInt = i - digits == 1 && b(digits) == 48;
  let significant = zeroInt ? 0 : i - digits;
  if (i < n && b(i) == 46) {
    i++;
    const f = i;
    while (i < n && b(i) >= 48 && b(i) <= 57) i++;
    if (i == f || b(i - 1) == 48) return -1; // no digit, or a trailing 0 (1.50 is written 1.5)
    let lead = 0;
    if (zeroInt) while (b(f + lead) == 48) lead++;
    if (lead > 5) return -1; // below 1e-6: 1e-7
    significant += i - f - lead;
  } else if (zeroInt && b(from) == 45) return -1; // -0 is written 0
  if (i < n && (b(i) == 101 || b(i) == 69)) return -1; // exponents: the reference
  if (significant > 15) return -1;
  return i;
}

/** One value at `i`, no whitespace allowed: the index after it, or -1. */
function val(i: i32, depth: i32): i32 {
  if (i >= n) return -1;
  const c = b(i);
  if (c == 34) return str(i, false);
  if (c == 123) {
    if (depth >= MAX_DEPTH) return -1;
    const base = names;
    i++;
    if (i < n && b(i) == 125) return i + 1;
    while (true) {
      if (i >= n || b(i) != 34) return -1;
      const ns = i + 1;
      i = str(i, true);
      if (i < 0 || !nameOk(ns, i - 1, base)) return -1;
      if (i >= n || b(i) != 58) return -1;
      i = val(i + 1, depth + 1);
      if (i < 0 || i >= n) return -1;
      if (b(i) == 125) {
        names = base;
        return i + 1;
      }
      if (b(i) != 44) return -1;
      i++;
    }
  }
  if (c == 91) {
    if (depth >= MAX_DEPTH) return -1;
    i++;
    if (i < n && b(i) == 93) return i + 1;
    while (true) {
      i = val(i, depth + 1);
      if (i < 0 || i >= n) return -1;
      if (b(i) == 93) return i + 1;
      if (b(i) != 44) return -1;
      i++;
    }
  }
  if (c == 116) return i + 4 <= n && b(i + 1) == 114 && b(i + 2) == 117 && b(i + 3) == 101 ? i + 4 : -1;
  if (c == 102)
    return i + 5 <= n && b(i + 1) == 97 && b(i + 2) == 108 && b(i + 3) == 115 && b(i + 4) == 101 ? i + 5 : -1;
  if (c == 110) return i + 4 <= n && b(i + 1) == 117 && b(i + 2) == 108 && b(i + 3) == 108 ? i + 4 : -1;
  return num(i);
}

/** A member name [s, e) of the object whose names start at `base`: not all digits (JSON.parse would move it
 *  first), not one of the names before it (JSON.parse keeps the last), and at most 256 names per object. */
function nameOk(s: i32, e: i32, base: i32): bool {
  let digits = e > s;
  let h: u32 = 2166136261;
  for (let k = s; k < e; k++) {
    const c = b(k);
    if (c < 48 || c > 57) digits = false;
    h = (h ^ c) * 16777619;
  }
  if (digits) return false;
  // a body that already holds a member named encBlockIndex is refused by the reference (TS 33.501 5.9.3.2)
  if (e - s == 13 && memory.compare(s, <i32>S_ENC + 2, 13) == 0) return false;
  if ((names - base) / 12 >= MAX_NAMES || names + 12 > OUT) return false;
  for (let q = base; q < names; q += 12) {
    if (load<u32>(q) != h) continue;
    const qs = load<i32>(q + 4);
    const qe = load<i32>(q + 8);
    if (qe - qs == e - s && memory.compare(qs, s, e - s) == 0) return false;
  }
  store<u32>(names, h);
  store<i32>(names + 4, s);
  store<i32>(names + 8, e);
  names += 12;
  return true;
}

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
const S_IE = memory.data<u8>([123, 34, 105, 101, 80, 97, 116, 104, 34, 58, 34]); // {"iePath":"
// ","ieValueLocation":"BODY","value":
const S_LOC = memory.data<u8>([
  34, 44, 34, 105, 101, 86, 97, 108, 117, 101, 76, 111, 99, 97, 116, 105, 111, 110, 34, 58, 34, 66, 79, 68, 89, 34, 44,
  34, 118, 97, 108, 117, 101, 34, 58,
]);
const S_ENC = memory.data<u8>([123, 34, 101, 110, 99, 66, 108, 111, 99, 107, 73, 110, 100, 101, 120, 34, 58]); // {"encBlockIndex":

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
    if (i >= n || b(i) != 34) return -1;
    const ns = i + 1;
    i = str(i, true);
    if (i < 0) return -1;
    const ne = i - 1;
    if (!nameOk(ns, ne, base)) return -1;
    if (i >= n || b(i) != 58) return -1;
    i++;
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
  names = NAMES;
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
