// src/sbi/telescopic-label.ts — stateless telescopic labels (issue 11 §3; TS 33.501 13.1.1.1, TS 29.500 6.1.4.3,
// N32-PROFILE P8: one opaque DNS label of at most 63 characters): the foreign origin (host, scheme, port) itself,
// compressed, encrypted and authenticated under a key of the SEPP, so that every worker and every gateway of a pool
// holding the same key maps a label back without a shared table. An origin that does not fit (or needs its peer, see
// telescopic-store.ts) gets a table label instead.
//
// Label: "s" + 61 base32 characters (lowercase, a valid DNS label of 62 characters) of tag (12 octets) ‖ ciphertext
// (26 octets). Always this length: the label shows nothing of the length of the FQDN. Table labels start with "t".
//
// Construction: deterministic authenticated encryption, SIV style (Rogaway–Shrimpton; RFC 5297's structure with
// HMAC-SHA-256 as the PRF): tag = HMAC-SHA-256(macKey, "v1" ‖ seppDomain ‖ 0 ‖ plaintext) truncated to 96 bits;
// ciphertext = AES-256-CTR(encKey, counter block = tag ‖ 0^32, plaintext). Opening decrypts, recomputes the tag and
// compares it in constant time; any changed character fails. Hand-written from node:crypto primitives because Bun's
// crypto has neither AES-SIV nor AES-GCM-SIV, and GCM-SIV's fixed 16-octet tag would leave too little room in 63
// characters. Deterministic on purpose: the same origin gives the same label on every worker and gateway (NFs cache
// it; the table's labels were stable per origin too). What that leaks is only equality — two labels are equal iff
// their origins are — which the table design leaked as well. The key is bound to the SEPP domain.
//
// Plaintext (26 octets, zero-padded): octet 0 = suffix kind (2 bits: 0 none, 1 ".5gc.mncXXX.mccYYY.3gppnetwork.org",
// 2 ".mncXXX.mccYYY.3gppnetwork.org") ‖ scheme (2 bits: 0 none, 1 http, 2 https) ‖ port present (1 bit) ‖ 000;
// then the port (2 octets) if present; the PLMN (3 octets: MCC × 1000 + MNC) for kinds 1 and 2; then the rest of
// the host in 6-bit symbols (a–z, 0–9, "-", "."; 0 ends it). Room: 29 characters before a 3GPP suffix without a
// port, 26 with one; 33 for any other host (e.g. "udm1.5gc.mnc001.mcc262.3gppnetwork.org" takes 7 octets).
import { createCipheriv, createHmac, timingSafeEqual } from "node:crypto";
import type { SbiScheme } from "./api-root.ts";

export const LABEL_KEY_LENGTH = 32;
const TAG = 12;
const PT = 26;
const BODY = TAG + PT; // 38 octets = 304 bits → 61 base32 characters (1 padding bit, zero)
const B32_CHARS = Math.ceil((BODY * 8) / 5);
/** Length of every stateless label: "s" + 61 characters. */
export const STATELESS_LABEL_LENGTH = 1 + B32_CHARS;
const LABEL_RE = new RegExp(`^s[a-z2-7]{${B32_CHARS}}$`);
const B32 = "abcdefghijklmnopqrstuvwxyz234567";
const SYMBOLS = "\0abcdefghijklmnopqrstuvwxyz0123456789-.";
const SUFFIX_RE = [
  /^(.+)\.5gc\.mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org$/,
  /^(.+)\.mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org$/,
] as const;
const SCHEMES: (SbiScheme | null)[] = [null, "http", "https"];

export interface LabelOrigin {
  /** lowercase DNS name */
  host: string;
  scheme: SbiScheme | null;
  /** null when none or the scheme's default */
  port: number | null;
}

/** Could `label` be a stateless label (by its form; says nothing of its tag)? */
export const isStatelessLabelForm = (label: string): boolean => LABEL_RE.test(label);

interface Keys {
  mac: Buffer;
  enc: Buffer;
}
function deriveKeys(key: Uint8Array): Keys {
  if (key.length !== LABEL_KEY_LENGTH) throw new RangeError(`a telescopic label key is ${LABEL_KEY_LENGTH} octets`);
  return {
    mac: createHmac("sha256", key).update("sepp telescopic label v1 mac").digest(),
    enc: createHmac("sha256", key).update("sepp telescopic label v1 enc").digest(),
  };
}

export interface TelescopicLabelKeys {
  /** The key new labels are made with. */
  current: Uint8Array;
  /** The key before the last rotation: its labels are still opened until `previousUntil`. */
  previous?: Uint8Array | null;
  /** Epoch ms after which the previous key is no longer accepted (default: while configured). */
  previousUntil?: number | null;
}

/**
 * Labels made or opened and kept by a codec (each way): the same origins come back on every request (a cSEPP opens
 * the label of each telescopic request, a pSEPP labels every FQDN it rewrites in an answer), and making or opening
 * one costs an HMAC and an AES-CTR (~3 µs). Deterministic under the codec's fixed keys, so a kept result is exact;
 * only labels that opened are kept (a guessed one costs the full check every time). Starts over when full.
 */
const MAX_KEPT_LABELS = 4096;

/** Makes and opens stateless labels under the SEPP's label keys, bound to its domain. */
export class TelescopicLabelCodec {
  readonly #current: Keys;
  readonly #previous: Keys | null;
  readonly #previousUntil: number;
  readonly #domain: Buffer;
  readonly #now: () => number;
  readonly #kept: number;
  /** origin (scheme|host|port) → its label under the current key */
  readonly #made = new Map<string, string>();
  /** label → its origin, and whether the previous key opened it (then only until previousUntil) */
  readonly #opened = new Map<string, { origin: LabelOrigin; byPrevious: boolean }>();

  /** `kept`: how many labels are kept each way (0: none; bench and tests). */
  constructor(seppDomain: string, keys: TelescopicLabelKeys, now: () => number = Date.now, kept = MAX_KEPT_LABELS) {
    this.#current = deriveKeys(keys.current);
    this.#previous = keys.previous ? deriveKeys(keys.previous) : null;
    this.#previousUntil = keys.previousUntil ?? Number.POSITIVE_INFINITY;
    this.#domain = Buffer.from(`v1${seppDomain}\0`);
    this.#now = now;
    this.#kept = kept;
  }

  /** The label of `o`, or null when it does not fit in one label (the caller then uses the table). */
  encode(o: LabelOrigin): string | null {
    const key = `${o.scheme ?? ""}|${o.host}|${o.port ?? ""}`;
    const made = this.#made.get(key);
    if (made !== undefined) return made;
    const pt = pack(o);
    if (!pt) return null;
    const tag = this.#tag(this.#current, pt);
    const body = Buffer.concat([tag, ctr(this.#current, tag, pt)]);
    const label = `s${base32(body)}`;
    if (this.#kept > 0) {
      if (this.#made.size >= this.#kept) this.#made.clear();
      this.#made.set(key, label);
    }
    return label;
  }

  /** The origin of a stateless label made under the current or (within its grace period) the previous key; null otherwise. */
  decode(label: string): LabelOrigin | null {
    const l = label.toLowerCase();
    const opened = this.#opened.get(l);
    if (opened) return !opened.byPrevious || this.#previousValid() ? opened.origin : null;
    if (!LABEL_RE.test(l)) return null;
    const body = unbase32(l.slice(1));
    if (!body) return null;
    const tag = body.subarray(0, TAG);
    const ct = body.subarray(TAG);
    const keys = this.#previousValid() ? [this.#current, this.#previous!] : [this.#current];
    for (const k of keys) {
      const pt = ctr(k, tag, ct);
      if (!timingSafeEqual(this.#tag(k, pt), tag)) continue;
      const origin = unpack(pt);
      if (origin && this.#kept > 0) {
        if (this.#opened.size >= this.#kept) this.#opened.clear();
        this.#opened.set(l, { origin: Object.freeze(origin), byPrevious: k === this.#previous });
      }
      return origin;
    }
    return null;
  }

  /** Whether labels of the previous key still open (asked only when one is at stake). */
  #previousValid(): boolean {
    return this.#previous !== null && this.#now() < this.#previousUntil;
  }

  #tag(k: Keys, pt: Uint8Array): Buffer {
    return createHmac("sha256", k.mac).update(this.#domain).update(pt).digest().subarray(0, TAG);
  }
}

function ctr(k: Keys, tag: Uint8Array, data: Uint8Array): Buffer {
  const iv = Buffer.alloc(16);
  iv.set(tag, 0);
  const c = createCipheriv("aes-256-ctr", k.enc, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

function pack(o: LabelOrigin): Buffer | null {
  const scheme = SCHEMES.indexOf(o.scheme);
  if (scheme < 0) return null;
  let kind = 0;
  let text = o.host;
  let plmn = -1;
  for (let i = 0; i < SUFFIX_RE.length; i++) {
    const m = SUFFIX_RE[i]!.exec(o.host);
    if (m) {
      kind = i + 1;
      text = m[1]!;
      plmn = Number(m[3]) * 1000 + Number(m[2]);
      break;
    }
  }
  const pt = Buffer.alloc(PT);
  let at = 0;
  pt[at++] = (kind << 6) | (scheme << 4) | (o.port !== null ? 8 : 0);
  if (o.port !== null) {
    pt.writeUInt16BE(o.port, at);
    at += 2;
  }
  if (kind !== 0) {
    pt[at++] = plmn >>> 16;
    pt[at++] = (plmn >>> 8) & 255;
    pt[at++] = plmn & 255;
  }
  // 6-bit symbols, most significant bit first
  if (Math.floor(((PT - at) * 8) / 6) < text.length) return null;
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const s = SYMBOLS.indexOf(ch);
    if (s <= 0) return null;
    acc = (acc << 6) | s;
    bits += 6;
    while (bits >= 8) {
      pt[at++] = (acc >>> (bits - 8)) & 255;
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) pt[at] = (acc << (8 - bits)) & 255;
  return pt;
}

function unpack(pt: Uint8Array): LabelOrigin | null {
  const h = pt[0]!;
  const kind = h >>> 6;
  const scheme = (h >>> 4) & 3;
  if (kind > 2 || scheme > 2 || (h & 7) !== 0) return null;
  let at = 1;
  let port: number | null = null;
  if (h & 8) {
    port = (pt[at]! << 8) | pt[at + 1]!;
    at += 2;
  }
  let suffix = "";
  if (kind !== 0) {
    const plmn = (pt[at]! << 16) | (pt[at + 1]! << 8) | pt[at + 2]!;
    at += 3;
    const mcc = String(Math.floor(plmn / 1000)).padStart(3, "0");
    const mnc = String(plmn % 1000).padStart(3, "0");
    suffix = `${kind === 1 ? ".5gc" : ""}.mnc${mnc}.mcc${mcc}.3gppnetwork.org`;
  }
  let text = "";
  let acc = 0;
  let bits = 0;
  for (; at < pt.length; at++) {
    acc = (acc << 8) | pt[at]!;
    bits += 8;
    let end = false;
    while (bits >= 6) {
      const s = (acc >>> (bits - 6)) & 63;
      bits -= 6;
      if (s === 0) {
        end = true;
        break;
      }
      if (s >= SYMBOLS.length) return null;
      text += SYMBOLS[s];
    }
    if (end) break;
    acc &= (1 << bits) - 1;
  }
  if (text.length === 0) return null;
  return { host: text + suffix, scheme: SCHEMES[scheme]!, port };
}

function base32(b: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const x of b) {
    acc = ((acc << 8) | x) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/** The octets of canonical base32 (padding bits zero), or null. */
function unbase32(s: string): Buffer | null {
  const out = Buffer.alloc(BODY);
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const ch of s) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      if (at >= BODY) return null;
      out[at++] = (acc >>> (bits - 8)) & 255;
      bits -= 8;
    }
  }
  if (at !== BODY || (acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}
