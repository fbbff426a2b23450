// src/n32f/wasm/assembly/json.ts — AssemblyScript: the layout of the module's linear memory and the strict JSON reader
// both halves share (payload.ts writes the P3 entries of a NF body, open.ts rebuilds a NF body from a received aad and
// plaintext). It accepts a value only when its text is exactly what JSON.stringify writes for the value JSON.parse
// reads from it (so copying the text is the reference's parse + stringify): no whitespace, the escapes JSON.stringify
// writes and no other, numbers of at most 15 significant digits without exponent, no repeated or all-digit member
// name, valid UTF-8 (RFC 3629), nesting at most 256. Anything else: -1, and the reference decides.
//
// Layout (no allocation, globals only). Sending (payload.ts): the body at IN; the policy at POL; the path being built
// at PATH; (hash, start, end) of the names of the objects being read at NAMES; the payload entries at OUT; the
// plaintext elements at PT. Receiving (open.ts) reuses the regions: the N32-f body at IN (later the rebuilt NF body),
// the entries at POL, the references at PATH, the decoded aad at OUT, the ciphertext (then the plaintext) at PT, the
// element table and small fields at AUX. AssemblyScript's static data follows from DATA (gen-wasm.ts --memoryBase).

export const IN: i32 = 0;
export const MAX_IN: i32 = 1 << 16;
export const POL: i32 = MAX_IN;
export const MAX_POL: i32 = 8192;
export const PATH: i32 = POL + MAX_POL;
export const MAX_PATH: i32 = 4096;
export const NAMES: i32 = PATH + 8192;
export const OUT: i32 = 1 << 17;
export const PT: i32 = OUT + (1 << 17);
export const PT_END: i32 = PT + (1 << 16);
export const MAX_DEPTH: i32 = 256;
const MAX_NAMES: i32 = 256;
/** Receiving: the element table, the references' use and small fields (after the decoded aad, before PT). */
export const AUX: i32 = OUT + (1 << 16);

/** The end (exclusive) of the text being read, and the top of the name stack at NAMES. */
export let n: i32 = 0;
export let names: i32 = 0;
/** The name filters: 16 octets per nesting depth (0–255 the reader's objects, 300–331 the containers open.ts rebuilds),
 *  after AssemblyScript's static data (which ends well below it). */
export const BLOOM: i32 = 400 << 10;
export const BLOOM_SLOTS: i32 = 332;
/** The highest the name stack reached since the last wipe(): what names of a clear value left in memory. */
export let namesHigh: i32 = NAMES;
/** Octets compared whole by nameOk() in the text being read (reset by each entry point), and their bound. */
export let compared: i32 = 0;
const MAX_COMPARED: i32 = 1 << 14;

/** A new text to read (each entry point, before it reads): no names yet, and the bound on whole compares anew. */
export function newText(): void {
  names = NAMES;
  compared = 0;
}
/** Receiving: an object {"encBlockIndex":N} in a value is a reference, kept at refs (start, end, N) up to refsEnd. */
export let refsMode: bool = false;
export let refs: i32 = 0;
export let refsEnd: i32 = 0;

// @ts-expect-error: decorator
@inline
export function b(i: i32): u32 {
  return load<u8>(i);
}

// @ts-expect-error: decorator
@inline
export function cp(dst: i32, src: i32, len: i32): void {
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
export function str(i: i32, isName: bool): i32 {
  i++;
  while (i < n) {
    // 16 octets at a time past what needs no look (printable ASCII other than " and \): the octet loop below runs
    // at ~1 ns per octet in JavaScriptCore, this at ~0.06 (built twice, with and without SIMD: gen-wasm.ts)
    if (ASC_FEATURE_SIMD) {
      while (i + 16 <= n) {
        const v = v128.load(i);
        const special = v128.or(
          v128.or(i8x16.eq(v, i8x16.splat(34)), i8x16.eq(v, i8x16.splat(92))),
          i8x16.lt_u(v, i8x16.splat(0x20)),
        );
        const bits = i8x16.bitmask(special) | i8x16.bitmask(v); // the sign bit: an octet of 0x80 or more
        if (bits != 0) {
          i += ctz(bits);
          break;
        }
        i += 16;
      }
      if (i >= n) return -1;
    }
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
export function num(i: i32): i32 {
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
export function val(i: i32, depth: i32): i32 {
  if (i >= n) return -1;
  const c = b(i);
  if (c == 34) return str(i, false);
  if (c == 123) {
    if (depth >= MAX_DEPTH) return -1;
    if (refsMode && i + 18 < n && memory.compare(i, <i32>S_ENC, 17) == 0) return ref(i);
    const base = names;
    i++;
    if (i < n && b(i) == 125) return i + 1;
    while (true) {
      i = memberName(i, base, depth);
      if (i < 0) return -1;
      i = val(i, depth + 1);
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

/** The name [nameStart, nameEnd) of the last memberName(). */
export let nameStart: i32 = 0;
export let nameEnd: i32 = 0;

/**
 * `"name":` at `i`, a member of the object whose names start at `base` (filter `slot`), the name checked by nameOk():
 * the index after the colon, or -1. The name is left at nameStart..nameEnd.
 */
// @ts-expect-error: decorator
@inline
export function memberName(i: i32, base: i32, slot: i32): i32 {
  if (i >= n || b(i) != 34) return -1;
  nameStart = i + 1;
  i = str(i, true);
  if (i < 0) return -1;
  nameEnd = i - 1;
  if (!nameOk(nameStart, nameEnd, base, slot) || i >= n || b(i) != 58) return -1;
  return i + 1;
}

/** A member name [s, e) of the object whose names start at `base`: not all digits (JSON.parse would move it
 *  first), not one of the names before it (JSON.parse keeps the last), and at most 256 names per object. */
export function nameOk(s: i32, e: i32, base: i32, slot: i32): bool {
  const len = e - s;
  const c0 = b(s);
  if (len > 0 && c0 >= 48 && c0 <= 57) {
    let k = s + 1;
    while (k < e && b(k) >= 48 && b(k) <= 57) k++;
    if (k == e) return false;
  }
  // a 32-bit digest of every octet, 8 at a time (a filter: names of equal digest are then compared whole)
  let x: u64 = <u64>len * 0x9e3779b97f4a7c15;
  let k = s;
  for (; k + 8 <= e; k += 8) x = rotl<u64>((x ^ load<u64>(k)) * 0xff51afd7ed558ccd, 29);
  if (k < e) x = rotl<u64>((x ^ (load<u64>(k) & ((<u64>1 << (<u64>(e - k) << 3)) - 1))) * 0xff51afd7ed558ccd, 29);
  x = (x ^ (x >> 32)) * 0xc4ceb9fe1a85ec53;
  const h = <u32>(x >> 32) ^ <u32>x;
  // a body that already holds a member named encBlockIndex is refused by the reference (TS 33.501 5.9.3.2)
  if (e - s == 13 && memory.compare(s, <i32>S_ENC + 2, 13) == 0) return false;
  if ((names - base) / 12 >= MAX_NAMES || names + 12 > OUT) return false;
  // a 128-bit filter of the object's digests (one per open object, by nesting depth `slot`): the names before this one
  // are searched only when its bit is already set
  const filter = BLOOM + (slot << 4) + (<i32>((h >> 6) & 1) << 3);
  if (names == base) {
    store<u64>(BLOOM + (slot << 4), 0);
    store<u64>(BLOOM + (slot << 4) + 8, 0);
  }
  const bit: u64 = <u64>1 << <u64>(h & 63);
  const word = load<u64>(filter);
  store<u64>(filter, word | bit);
  if ((word & bit) != 0)
    for (let q = base; q < names; q += 12) {
      if (load<u32>(q) != h) continue;
      const qs = load<i32>(q + 4);
      const qe = load<i32>(q + 8);
      if (qe - qs != len) continue;
      // a digest is no defence against names crafted to share it: whole compares are bounded per text (linear work),
      // beyond that the text is the reference's
      compared += len;
      if (compared > MAX_COMPARED) return false;
      if (memory.compare(qs, s, len) == 0) return false;
    }
  store<u32>(names, h);
  store<i32>(names + 4, s);
  store<i32>(names + 8, e);
  names += 12;
  if (names > namesHigh) namesHigh = names;
  return true;
}


export const S_IE = memory.data<u8>([123, 34, 105, 101, 80, 97, 116, 104, 34, 58, 34]); // {"iePath":"
// ","ieValueLocation":"BODY","value":
export const S_LOC = memory.data<u8>([
  34, 44, 34, 105, 101, 86, 97, 108, 117, 101, 76, 111, 99, 97, 116, 105, 111, 110, 34, 58, 34, 66, 79, 68, 89, 34, 44,
  34, 118, 97, 108, 117, 101, 34, 58,
]);

/** The `len` octets at `i` are those at `lit` (static data), within the text. */
export function eqs(i: i32, lit: i32, len: i32): bool {
  if (i + len > n) return false;
  let k = 0;
  for (; k + 8 <= len; k += 8) if (load<u64>(i + k) != load<u64>(lit + k)) return false;
  for (; k < len; k++) if (load<u8>(i + k) != load<u8>(lit + k)) return false;
  return true;
}

export const S_ENC = memory.data<u8>([123, 34, 101, 110, 99, 66, 108, 111, 99, 107, 73, 110, 100, 101, 120, 34, 58]); // {"encBlockIndex":

/** A reference {"encBlockIndex":N} at `i` (N canonical, at most 9 digits; TS 29.573 6.1.5.3.2, P10): kept at refs,
 *  the index after it; -1 for any other text (the reference then decides, also what is an error). */
function ref(i: i32): i32 {
  let k = i + 17;
  const d0 = k;
  let v: i32 = 0;
  while (k < n && b(k) >= 48 && b(k) <= 57) {
    v = v * 10 + <i32>(b(k) - 48);
    k++;
  }
  const digits = k - d0;
  if (digits == 0 || digits > 9 || (digits > 1 && b(d0) == 48)) return -1;
  if (k >= n || b(k) != 125 || refs + 12 > refsEnd) return -1;
  store<i32>(refs, i);
  store<i32>(refs + 4, k + 1);
  store<i32>(refs + 8, v);
  refs += 12;
  return k + 1;
}
