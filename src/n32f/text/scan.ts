// src/n32f/text/scan.ts — a strict, bounded RFC 8259 scanner for the text-level PRINS engine (issue 11 §4). It
// never builds a value: it checks the grammar, finds where each member of a container starts and ends, and says
// whether a value's text is exactly what JSON.stringify(JSON.parse(text)) gives ("canonical": no whitespace,
// numbers and string escapes as JSON.stringify writes them, objects without repeated or index-like names). A
// canonical value is copied as a slice of the NF body; any other is re-serialised alone.
//
// It vouches for nothing it is unsure of: whatever it does not accept throws UNSCANNABLE and the caller falls
// back to the reference engine (JSON.parse), which then gives its own answer or error. So the scanner can only
// ever refuse more than JSON.parse, never accept more (test/n32f/text-scan.test.ts checks both against
// JSON.parse on random texts). Hand-written because no library reports member spans and canonical form.
//
// Bounds: nesting ≤ MAX_SCAN_DEPTH (the reference refuses deeper bodies, reformat.ts MAX_BODY_DEPTH), members
// of a container that is split or navigated ≤ MAX_MEMBERS; repeated names inside a copied value are looked for
// among the first MAX_NAMES_CHECKED names of each object only (past that the value is just not canonical).

/** Thrown (one shared instance, no allocation) for any text the scanner does not vouch for. */
export const UNSCANNABLE = new Error("JSON text not scannable by the text engine");

export const MAX_SCAN_DEPTH = 256;
export const MAX_MEMBERS = 256;
const MAX_NAMES_CHECKED = 64;

enum Esc {
  NONE = 0,
  /** only escapes JSON.stringify itself writes (\" \\ \b \f \n \r \t, \u00xx below 0x20 without a short form) */
  CANONICAL = 1,
  OTHER = 2,
}

/** The members (or elements) of one container: spans into the text, filled by JsonScanner.container(). */
export class Members {
  n = 0;
  isObject = false;
  /** name content (without quotes), objects only */
  readonly nameStart: number[] = [];
  readonly nameEnd: number[] = [];
  readonly nameHash: number[] = [];
  /** the name holds a backslash escape (a canonical one) */
  readonly nameEscaped: boolean[] = [];
  readonly valueStart: number[] = [];
  readonly valueEnd: number[] = [];
  readonly canonical: boolean[] = [];
}

export class JsonScanner {
  s = "";
  i = 0;
  /** cleared by value() when the text scanned is not canonical */
  canon = true;
  #esc: Esc = Esc.NONE;
  // names of the objects being scanned by value(): a stack of (hash, start, end), each object from its base
  readonly #nh: number[] = [];
  readonly #na: number[] = [];
  readonly #nb: number[] = [];

  reset(text: string): void {
    this.s = text;
    this.i = 0;
    this.canon = true;
    this.#nh.length = 0;
    this.#na.length = 0;
    this.#nb.length = 0;
  }

  /** Skips JSON whitespace; true when there was any. */
  ws(): boolean {
    const s = this.s;
    const n = s.length;
    const from = this.i;
    let i = from;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
    return i !== from;
  }

  /** One value at `i` (no leading whitespace); `i` ends after it. `depth` = containers already open around it. */
  value(depth: number): void {
    const c = this.s.charCodeAt(this.i);
    if (c === 0x22 /* " */) {
      this.#string();
      if (this.#esc === Esc.OTHER) this.canon = false;
    } else if (c === 0x7b /* { */) this.#object(depth + 1);
    else if (c === 0x5b /* [ */) this.#array(depth + 1);
    else if (c === 0x74 /* t */) this.#literal("true");
    else if (c === 0x66 /* f */) this.#literal("false");
    else if (c === 0x6e /* n */) this.#literal("null");
    else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) this.#number();
    else throw UNSCANNABLE;
  }

  /**
   * The container at `i` (already checked to be `{` or `[`) whose members the engine splits or navigates: its
   * members' spans and canonical flags into `out`; `i` ends after it. Stricter than value(): a name with a
   * non-canonical escape, a repeated name, a name of digits only (JSON.parse would put an array-index name
   * first, and P10 announces its container), or more than MAX_MEMBERS members throw UNSCANNABLE.
   */
  container(depth: number, out: Members): void {
    const s = this.s;
    if (depth + 1 > MAX_SCAN_DEPTH) throw UNSCANNABLE;
    const isObject = s.charCodeAt(this.i) === 0x7b;
    out.n = 0;
    out.isObject = isObject;
    this.i++;
    this.ws();
    if (s.charCodeAt(this.i) === (isObject ? 0x7d : 0x5d)) {
      this.i++;
      return;
    }
    for (;;) {
      const k = out.n;
      if (k === MAX_MEMBERS) throw UNSCANNABLE;
      if (isObject) {
        if (s.charCodeAt(this.i) !== 0x22) throw UNSCANNABLE;
        const a = this.i + 1;
        this.#string();
        const b = this.i - 1;
        if (this.#esc === Esc.OTHER) throw UNSCANNABLE;
        checkName(s, a, b);
        if (allDigits(s, a, b)) throw UNSCANNABLE;
        const h = nameHash(s, a, b);
        for (let j = 0; j < k; j++)
          if (
            out.nameHash[j] === h &&
            out.nameEnd[j]! - out.nameStart[j]! === b - a &&
            same(s, a, b, out.nameStart[j]!)
          )
            throw UNSCANNABLE;
        out.nameHash[k] = h;
        out.nameStart[k] = a;
        out.nameEnd[k] = b;
        out.nameEscaped[k] = this.#esc !== Esc.NONE;
        this.ws();
        if (s.charCodeAt(this.i) !== 0x3a /* : */) throw UNSCANNABLE;
        this.i++;
        this.ws();
      }
      const saved = this.canon;
      this.canon = true;
      out.valueStart[k] = this.i;
      this.value(depth + 1);
      out.valueEnd[k] = this.i;
      out.canonical[k] = this.canon;
      this.canon = saved;
      out.n = k + 1;
      this.ws();
      const c = s.charCodeAt(this.i);
      this.i++;
      if (c === 0x2c /* , */) {
        this.ws();
        continue;
      }
      if (c === (isObject ? 0x7d : 0x5d)) return;
      throw UNSCANNABLE;
    }
  }

  /** After the root value: only whitespace may follow. */
  end(): void {
    this.ws();
    if (this.i !== this.s.length) throw UNSCANNABLE;
  }

  #literal(word: string): void {
    if (!this.s.startsWith(word, this.i)) throw UNSCANNABLE;
    this.i += word.length;
  }

  #number(): void {
    const s = this.s;
    const start = this.i;
    let i = start;
    let c = s.charCodeAt(i);
    if (c === 0x2d) c = s.charCodeAt(++i);
    if (c === 0x30) c = s.charCodeAt(++i);
    else if (c >= 0x31 && c <= 0x39) {
      do c = s.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39);
    } else throw UNSCANNABLE;
    const intEnd = i;
    let simple = true;
    if (c === 0x2e /* . */) {
      simple = false;
      c = s.charCodeAt(++i);
      if (!(c >= 0x30 && c <= 0x39)) throw UNSCANNABLE;
      do c = s.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39);
    }
    if (c === 0x65 || c === 0x45 /* e E */) {
      simple = false;
      c = s.charCodeAt(++i);
      if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++i);
      if (!(c >= 0x30 && c <= 0x39)) throw UNSCANNABLE;
      do c = s.charCodeAt(++i);
      while (c >= 0x30 && c <= 0x39);
    }
    this.i = i;
    if (!this.canon) return;
    const neg = s.charCodeAt(start) === 0x2d ? 1 : 0;
    const digits = intEnd - start - neg;
    // an integer of at most 15 digits is exact in a double and printed back as written, except -0 (→ 0)
    if (simple && digits <= 15) {
      if (neg && digits === 1 && s.charCodeAt(intEnd - 1) === 0x30) this.canon = false;
      return;
    }
    const text = s.slice(start, i);
    this.canon = String(Number(text)) === text; // 1e400 → "Infinity" (JSON: null), 1.0 → "1", 1E2 → "100"
  }

  /** A string at `i` (on its quote); `i` ends after the closing quote; #esc says which escapes it held. */
  #string(): void {
    const s = this.s;
    const n = s.length;
    let i = this.i + 1;
    let esc = Esc.NONE;
    for (;;) {
      if (i >= n) throw UNSCANNABLE;
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw UNSCANNABLE;
      if (c !== 0x5c) {
        // a lone surrogate (not from UTF-8, but the text is a JS string) is written as \udxxx by JSON.stringify
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = s.charCodeAt(i + 1);
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) i++;
          else esc = Esc.OTHER;
        }
        i++;
        continue;
      }
      const e = s.charCodeAt(i + 1);
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        if (esc === Esc.NONE) esc = Esc.CANONICAL;
        i += 2;
      } else if (e === 0x2f /* / */) {
        esc = Esc.OTHER;
        i += 2;
      } else if (e === 0x75 /* u */) {
        let code = 0;
        let lower = true;
        for (let j = 2; j < 6; j++) {
          const h = s.charCodeAt(i + j);
          let d: number;
          if (h >= 0x30 && h <= 0x39) d = h - 0x30;
          else if (h >= 0x61 && h <= 0x66) d = h - 0x57;
          else if (h >= 0x41 && h <= 0x46) {
            d = h - 0x37;
            lower = false;
          } else throw UNSCANNABLE;
          code = code * 16 + d;
        }
        // JSON.stringify writes \u00xx (lowercase) only for controls without a short form (and lone surrogates,
        // which we leave to the reference serialiser)
        if (lower && code < 0x20 && code !== 8 && code !== 9 && code !== 10 && code !== 12 && code !== 13) {
          if (esc === Esc.NONE) esc = Esc.CANONICAL;
        } else esc = Esc.OTHER;
        i += 6;
      } else throw UNSCANNABLE;
    }
    this.i = i + 1;
    this.#esc = esc;
  }

  #object(depth: number): void {
    if (depth > MAX_SCAN_DEPTH) throw UNSCANNABLE;
    const s = this.s;
    this.i++;
    if (this.ws()) this.canon = false;
    if (s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return;
    }
    const nh = this.#nh;
    const na = this.#na;
    const nb = this.#nb;
    const base = nh.length;
    for (;;) {
      if (s.charCodeAt(this.i) !== 0x22) throw UNSCANNABLE;
      const a = this.i + 1;
      this.#string();
      const b = this.i - 1;
      // a name spelled with other escapes could hide `encBlockIndex` (TS 33.501 5.9.3.2): the reference decides
      if (this.#esc === Esc.OTHER) throw UNSCANNABLE;
      checkName(s, a, b);
      if (this.canon) {
        if (allDigits(s, a, b))
          this.canon = false; // JSON.parse puts array-index names first
        else if (nh.length - base >= MAX_NAMES_CHECKED) this.canon = false;
        else {
          const h = nameHash(s, a, b);
          for (let j = base; j < nh.length; j++) {
            if (nh[j] === h && nb[j]! - na[j]! === b - a && same(s, a, b, na[j]!)) {
              this.canon = false; // a repeated name: JSON.parse keeps the last value at the first place
              break;
            }
          }
          nh.push(h);
          na.push(a);
          nb.push(b);
        }
      }
      if (this.ws()) this.canon = false;
      if (s.charCodeAt(this.i) !== 0x3a) throw UNSCANNABLE;
      this.i++;
      if (this.ws()) this.canon = false;
      this.value(depth);
      if (this.ws()) this.canon = false;
      const c = s.charCodeAt(this.i);
      this.i++;
      if (c === 0x2c) {
        if (this.ws()) this.canon = false;
        continue;
      }
      if (c === 0x7d) break;
      throw UNSCANNABLE;
    }
    nh.length = base;
    na.length = base;
    nb.length = base;
  }

  #array(depth: number): void {
    if (depth > MAX_SCAN_DEPTH) throw UNSCANNABLE;
    const s = this.s;
    this.i++;
    if (this.ws()) this.canon = false;
    if (s.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return;
    }
    for (;;) {
      this.value(depth);
      if (this.ws()) this.canon = false;
      const c = s.charCodeAt(this.i);
      this.i++;
      if (c === 0x2c) {
        if (this.ws()) this.canon = false;
        continue;
      }
      if (c === 0x5d) return;
      throw UNSCANNABLE;
    }
  }
}

/** TS 33.501 5.9.3.2: NF JSON holding a member named encBlockIndex is refused; the reference engine says so. */
function checkName(s: string, a: number, b: number): void {
  if (b - a === 13 && s.startsWith("encBlockIndex", a)) throw UNSCANNABLE;
}

function nameHash(s: string, a: number, b: number): number {
  let h = b - a;
  for (let j = a; j < b; j++) h = (Math.imul(h, 31) + s.charCodeAt(j)) | 0;
  return h;
}

/** s[a, b) equals the same length of text at c. */
function same(s: string, a: number, b: number, c: number): boolean {
  for (let j = a; j < b; j++, c++) if (s.charCodeAt(j) !== s.charCodeAt(c)) return false;
  return true;
}

/** A non-empty name of digits only: a superset of array-index names (which JS objects order first). */
function allDigits(s: string, a: number, b: number): boolean {
  if (a === b) return false;
  for (let j = a; j < b; j++) {
    const c = s.charCodeAt(j);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
