// src/n32f/wasm/assembly/open.ts — AssemblyScript, the receiving half (compiled with payload.ts by scripts/gen-wasm.ts).
// The NF body a SEPP receives over N32-f (TS 29.573 6.2; N32-PROFILE P3, P10) rebuilt from the aad's payload entries
// and the plaintext's elements without JSON.parse of the aad or JSON.stringify of the body (reconstruct.ts rebuildBody()
// is the reference). Two steps around the AEAD, which stays in JavaScript, as do the N32-f body's JSON.parse and
// base64url decoding (native, and several times faster than a loop over octets here, ~1 ns per octet):
//   aad(len)    the decoded aad at OUT: its members before "payload" (the head, which JavaScript parses and checks as
//               the reference does) and the payload entries {"iePath":"/a/b","ieValueLocation":"BODY","value":…},
//               references {"encBlockIndex":N} kept;
//   body(ptLen) the plaintext at PT is exactly {"dataToEncrypt":[…]}; writes the NF body at IN as JSON.stringify
//               would write what setAt() builds: containers of the paths opened in order, each reference replaced
//               by its element's text.
// Both answer -1 for anything they do not vouch for, and the reference then decides (also every error): another
// member order or spacing, escapes or numbers JSON.stringify would not write, "~", an all-digit or repeated name on
// the way (setAt would merge or overwrite), a container opened again after another member, a reference out of range
// or used twice, MULTIPART_BINARY, regions that would overflow.
import { AUX, BLOOM, BLOOM_SLOTS, IN, MAX_IN, NAMES, OUT, PATH, PT, PT_END, S_IE, S_LOC, b, compared, cp, eqs, memberName, n, nameEnd, nameOk, nameStart, names, namesHigh, newText, refs, refsEnd, refsMode, str, val } from "./json";

// fields read by JavaScript (i32 at RES + 4k): see open-wasm.ts
export const RES: i32 = AUX;
const ELEMS: i32 = AUX + 128; // (start, end) of each plaintext element
const MAX_ELEMS: i32 = 1024;
export const USED: i32 = ELEMS + 8 * MAX_ELEMS; // one octet per element: 1 when the head used it
// (path start, path end, value start, value end, first ref, ref end): 24 octets. Not at POL: the sending half keeps the
// policy there from one message to the next.
const ENTRIES: i32 = AUX + (16 << 10);
const MAX_ENTRIES: i32 = 320;
const MAX_OPEN: i32 = 32; // containers open at once in the rebuilt body
const STACK: i32 = USED + MAX_ELEMS; // (token start, token end, names base) of each open container
const MAX_AAD: i32 = AUX - OUT;

let entries: i32 = 0;
let elems: i32 = 0;
let o: i32 = 0;

// @ts-expect-error: decorator
@inline
function res(k: i32, v: i32): void {
  store<i32>(RES + 4 * k, v);
}

/** The ASCII text `t` at `i`: the index after it, or -1. */
function lit(i: i32, t: string): i32 {
  const l = t.length;
  if (i + l > n) return -1;
  for (let k = 0; k < l; k++) if (b(i + k) != <u32>t.charCodeAt(k)) return -1;
  return i + l;
}

/**
 * The aad (`len` octets at OUT, decoded by JavaScript from the JWE it parsed): 1 when it is read (fields at RES), -1
 * otherwise. RES: 0 head length (the aad's text before ',"payload"'; "{" when payload is first), 1 entries.
 */
export function aad(len: i32): i32 {
  if (len <= 0 || len > MAX_AAD) return -1;
  return read(OUT, OUT + len);
}

/** The aad [s, e): its head members (any JSON), then "payload" as the last member. */
function read(s: i32, e: i32): i32 {
  n = e;
  newText();
  refsMode = true;
  refs = PATH;
  refsEnd = PATH + 8192;
  entries = ENTRIES;
  if (b(s) != 123) return -1;
  let i = s + 1;
  let head = e - 1 - s; // no payload member: the whole text but its "}"
  if (i < n && b(i) == 125) i = -1; // "{}": nothing to open, the reference
  while (i >= 0) {
    i = memberName(i, NAMES, 0);
    if (i < 0) return -1;
    const ns = nameStart;
    if (nameEnd - ns == 7 && lit(ns, "payload") > 0) {
      head = ns - 1 - s == 1 ? 1 : ns - 2 - s;
      refs = PATH; // the head's references are JavaScript's (reconstruct.ts)
      i = payload(i);
      if (i < 0 || i + 1 != n || b(i) != 125) return -1;
      break;
    }
    i = val(i, 8);
    if (i < 0 || i >= n) return -1;
    if (b(i) == 125) {
      if (i + 1 != n) return -1;
      refs = PATH;
      break;
    }
    if (b(i) != 44) return -1;
    i++;
  }
  if (i < 0) return -1;
  res(0, head);
  res(1, (entries - ENTRIES) / 24);
  return 1;
}

/** The payload array at `i`: its entries at ENTRIES; the index after it, or -1. */
function payload(i: i32): i32 {
  if (i >= n || b(i) != 91) return -1;
  i++;
  while (true) {
    if (entries + 24 > ENTRIES + 24 * MAX_ENTRIES) return -1;
    if (!eqs(i, <i32>S_IE, 11) || i + 11 >= n || b(i + 11) != 47) return -1; // {"iePath":"/
    i += 12;
    const ps = i - 1;
    i = str(i - 2, true);
    if (i < 0) return -1;
    const pe = i - 1;
    for (let k = ps; k < pe; k++) if (b(k) == 126) return -1; // "~": escaped tokens, the reference
    if (!eqs(i, <i32>S_LOC + 1, 34)) return -1; // ,"ieValueLocation":"BODY","value":
    i += 34;
    const vs = i;
    const r0 = refs;
    i = val(i, 8);
    if (i < 0 || i >= n || b(i) != 125) return -1;
    store<i32>(entries, ps);
    store<i32>(entries + 4, pe);
    store<i32>(entries + 8, vs);
    store<i32>(entries + 12, i);
    store<i32>(entries + 16, r0);
    store<i32>(entries + 20, refs);
    entries += 24;
    i++;
    if (i >= n) return -1;
    if (b(i) == 93) return i + 1;
    if (b(i) != 44) return -1;
    i++;
  }
}

// @ts-expect-error: decorator
@inline
function put(c: u32): void {
  store<u8>(o++, c);
}

/** Room for `k` more octets of the rebuilt body at IN. */
// @ts-expect-error: decorator
@inline
function room(k: i32): bool {
  return o + k <= IN + MAX_IN;
}

/** The plaintext (`len` octets at PT) as {"dataToEncrypt":[…]}: its elements at ELEMS; false otherwise. */
function elements(len: i32): bool {
  elems = 0;
  if (len == 0) return true;
  n = PT + len;
  newText();
  refsMode = false;
  let i = lit(PT, '{"dataToEncrypt":[');
  if (i < 0) return false;
  if (i < n && b(i) == 93) return lit(i, "]}") == n;
  while (true) {
    if (elems >= MAX_ELEMS) return false;
    const s = i;
    i = val(i, 8);
    if (i < 0 || i >= n) return false;
    store<i32>(ELEMS + 8 * elems, s);
    store<i32>(ELEMS + 8 * elems + 4, i);
    elems++;
    if (b(i) == 93) return lit(i, "]}") == n;
    if (b(i) != 44) return false;
    i++;
  }
}

/** Token [s, e) equals token [t, u). */
function same(s: i32, e: i32, t: i32, u: i32): bool {
  return e - s == u - t && memory.compare(s, t, e - s) == 0;
}

/** `"name":` of a member [s, e) of the open container at `depth` (a comma before all but the first). */
function member(depth: i32, s: i32, e: i32): bool {
  const at = STACK + 12 * depth;
  const base = load<i32>(at + 8);
  const first = names == base;
  if (!nameOk(s, e, base, 300 + depth) || !room(e - s + 4)) return false;
  if (!first) put(44);
  put(34);
  cp(o, s, e - s);
  o += e - s;
  put(34);
  put(58);
  return true;
}

/**
 * The NF body rebuilt at IN from the entries of the last frame() and the plaintext (`ptLen` octets at PT), the
 * elements the head used marked at USED by JavaScript: its length, or -1 (the reference decides).
 */
export function body(ptLen: i32, headElems: i32): i32 {
  if (ptLen < 0 || ptLen > PT_END - PT || !elements(ptLen)) return -1;
  // the elements the head used are marked by JavaScript, which then read the plaintext itself (-1: it did not)
  if (headElems < 0) memory.fill(USED, 0, elems);
  else if (headElems != elems) return -1;
  const count = (entries - ENTRIES) / 24;
  if (count <= 0) return -1;
  o = IN;
  newText();
  put(123);
  let depth = 0; // open containers below the root
  store<i32>(STACK + 8, names);
  for (let q = ENTRIES; q < entries; q += 24) {
    const ps = load<i32>(q);
    const pe = load<i32>(q + 4);
    // the tokens of the path: [ps + 1, …) split at "/"; all but the last are containers
    let t = ps + 1;
    let d = 0;
    while (true) {
      let u = t;
      while (u < pe && b(u) != 47) u++;
      if (u == pe) {
        // the last token: close what this path does not share, then the member
        while (depth > d) {
          if (!room(1)) return -1;
          names = load<i32>(STACK + 12 * depth + 8);
          put(125);
          depth--;
        }
        if (!member(depth, t, u)) return -1;
        break;
      }
      if (d < depth && same(t, u, load<i32>(STACK + 12 * (d + 1)), load<i32>(STACK + 12 * (d + 1) + 4))) {
        d++;
        t = u + 1;
        continue;
      }
      while (depth > d) {
        if (!room(1)) return -1;
        names = load<i32>(STACK + 12 * depth + 8);
        put(125);
        depth--;
      }
      if (depth + 1 >= MAX_OPEN || !member(depth, t, u) || !room(1)) return -1;
      put(123);
      depth++;
      d++;
      const at = STACK + 12 * depth;
      store<i32>(at, t);
      store<i32>(at + 4, u);
      store<i32>(at + 8, names);
      t = u + 1;
    }
    // the value, each reference replaced by its element's text
    let v = load<i32>(q + 8);
    const ve = load<i32>(q + 12);
    const re = load<i32>(q + 20);
    for (let r = load<i32>(q + 16); r < re; r += 12) {
      const rs = load<i32>(r);
      const idx = load<i32>(r + 8);
      if (idx >= elems || load<u8>(USED + idx) != 0) return -1;
      store<u8>(USED + idx, 1);
      const es = load<i32>(ELEMS + 8 * idx);
      const ee = load<i32>(ELEMS + 8 * idx + 4);
      if (!room(rs - v + ee - es)) return -1;
      cp(o, v, rs - v);
      o += rs - v;
      cp(o, es, ee - es);
      o += ee - es;
      v = load<i32>(r + 4);
    }
    if (!room(ve - v)) return -1;
    cp(o, v, ve - v);
    o += ve - v;
  }
  while (depth >= 0) {
    if (!room(1)) return -1;
    put(125);
    depth--;
  }
  return o - IN;
}

/** Octets written at IN by the last body(), also when it declined (JavaScript wipes them). */
export function bodyLength(): i32 {
  return o - IN;
}

/**
 * Zeroes what the last message left that derives from clear values: the names stack (digests and offsets of the
 * names read, also inside encrypted values), the plaintext's element table and the references' use. JavaScript calls
 * it after each message of either half (the texts themselves, at IN, OUT and PT, it wipes itself).
 */
export function wipe(): void {
  memory.fill(NAMES, 0, namesHigh - NAMES);
  namesHigh = NAMES;
  memory.fill(BLOOM, 0, BLOOM_SLOTS << 4);
  memory.fill(ELEMS, 0, 8 * elems);
  memory.fill(USED, 0, elems);
  elems = 0;
}

/** Octets nameOk() compared whole while reading the last text (tests: the bound on crafted names). */
export function comparedOctets(): i32 {
  return compared;
}
