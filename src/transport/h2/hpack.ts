// src/transport/h2/hpack.ts — HPACK (RFC 7541) for the HTTP/2 layer on Bun's sockets (conn.ts).
// Decoder: the whole of RFC 7541 §6 (indexed fields, literals with/without/never indexing, dynamic table size
// updates only at the start of a block (§4.2), Huffman strings with the padding and EOS rules of §5.2).
// Encoder: indexed fields for what it inserted itself, literals with incremental indexing (no Huffman) for
// short fields, without indexing for long or per-request ones and for names whose values do not repeat. The static
// table and the Huffman code come from hpack.js as data (RFC 7541 appendices A and B, which do not change); its
// stream-based coder decodes bit by bit through a readable-stream and is not used. Header values are octets: kept as
// latin1 strings, one char an octet.
import { SeppError } from "../../errors.ts";
import { table as STATIC } from "hpack.js/lib/hpack/static-table.js";
import { encode as HUFFMAN } from "hpack.js/lib/hpack/huffman.js";

/** What HpackDecoder.decode() returns for a header list over its bound (compared by identity; never written). */
export const LIST_TOO_LARGE: string[] = Object.freeze([]) as unknown as string[];

/** A header block that cannot be decoded: a connection error COMPRESSION_ERROR (RFC 9113 §4.3). */
export class HpackError extends SeppError {
  override name = "HpackError";
  constructor(detail: string) {
    super("HPACK_DECODING_FAILED", detail, { status: 400, problemCause: "MANDATORY_IE_INCORRECT" });
  }
}

// Huffman decoding trie: node n has children at 2n, 2n+1 in `next`; a leaf holds (symbol + 1) negated.
const next = new Int32Array(2 * 513).fill(0);
{
  let nodes = 1;
  for (let sym = 0; sym < 257; sym++) {
    const [bits, code] = HUFFMAN[sym]!;
    let n = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const slot = 2 * n + ((code >>> i) & 1);
      if (i === 0) next[slot] = -(sym + 1);
      else {
        if (next[slot] === 0) next[slot] = nodes++;
        n = next[slot]!;
      }
    }
  }
}

// A nibble at a time (as nghttp2 decodes): for each internal node of the trie and each 4-bit value, the node the
// walk ends in, the symbol completed on the way (at most one: every code has at least 5 bits) and whether EOS was
// crossed. `padOk[n]`: node n is reached from the root by at most 7 one-bits (a valid padding, RFC 7541 §5.2).
const NIBBLE = new Int32Array(256 * 16); // bits 0–8 next node, 9–17 symbol + 1, bit 18 EOS
const padOk = new Uint8Array(256);
for (let n = 0; n < 256; n++)
  for (let x = 0; x < 16; x++) {
    let node = n;
    let sym = 0;
    let eos = 0;
    for (let k = 3; k >= 0; k--) {
      const v = next[2 * node + ((x >>> k) & 1)]!;
      if (v < 0) {
        if (v === -257) eos = 1;
        sym = -v;
        node = 0;
      } else node = v;
    }
    NIBBLE[n * 16 + x] = node | (sym << 9) | (eos << 18);
  }
for (let k = 0, node = 0; k <= 7; k++) {
  padOk[node] = 1;
  node = next[2 * node + 1]!;
}
const huffOut = Buffer.allocUnsafe(65536);
/** Huffman strings of at least this many octets are compared with the decoder's recent ones before decoding */
const LONG_HUFFMAN = 32;
/** and at most this many: longer ones are decoded each time (a connection keeps at most 4 × 2 KiB and their text) */
const LONG_HUFFMAN_MAX = 2048;
/** how many of them a decoder keeps */
const RECENT_HUFFMAN = 4;

function huffmanDecode(b: Uint8Array, start: number, end: number): string {
  // 8 bits of input give at most 8 / 5 symbols: the output fits in 2 × the input octets
  const out = end - start <= huffOut.length / 2 ? huffOut : Buffer.allocUnsafe(2 * (end - start));
  let len = 0;
  let node = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i]!;
    let e = NIBBLE[node * 16 + (byte >>> 4)]!;
    if (e & (1 << 18)) throw new HpackError("EOS in a Huffman string");
    if (e >>> 9) out[len++] = (e >>> 9) - 1;
    node = e & 511;
    e = NIBBLE[node * 16 + (byte & 15)]!;
    if (e & (1 << 18)) throw new HpackError("EOS in a Huffman string");
    if (e >>> 9) out[len++] = (e >>> 9) - 1;
    node = e & 511;
  }
  if (!padOk[node]) throw new HpackError("bad Huffman padding");
  return out.toString("latin1", 0, len);
}

interface Entry {
  name: string;
  value: string;
  size: number;
}

/** The dynamic table (§2.3.2): newest first, evicted by size (§4.4). */
class DynamicTable {
  entries: Entry[] = [];
  size = 0;
  constructor(public max: number) {}
  add(name: string, value: string): void {
    const size = name.length + value.length + 32;
    while (this.entries.length && this.size + size > this.max) this.size -= this.entries.pop()!.size;
    if (size > this.max) return; // §4.4: an entry larger than the table empties it and is not added
    this.entries.unshift({ name, value, size });
    this.size += size;
  }
  resize(max: number): void {
    this.max = max;
    while (this.entries.length && this.size > max) this.size -= this.entries.pop()!.size;
  }
}

export class HpackDecoder {
  #table: DynamicTable;
  #pos = 0;
  #end = 0;
  #b: Uint8Array = new Uint8Array(0);
  // The last few long Huffman strings and their texts: a client sends fields it does not index (RFC 7541 §7.1.3;
  // nghttp2: `authorization` never, a long `:path` without indexing) again in every request, Huffman-coded;
  // decoding them each time was 6 % of a cSEPP's samples under bench:e2e. The octets are compared, so the text is
  // the one decoding would give.
  #recent: Array<{ octets: Buffer; text: string }> = [];
  #next = 0;
  /**
   * settingsMax: our SETTINGS_HEADER_TABLE_SIZE, the most a size update may ask for; maxList: the largest decoded
   * header list (sum of name + value + 32 per field, §4.1), against a block that expands (indexed fields are
   * one octet each)
   */
  constructor(
    private readonly settingsMax = 4096,
    private readonly maxList = 65536,
  ) {
    this.#table = new DynamicTable(settingsMax);
  }

  #int(prefix: number): number {
    const b = this.#b;
    const mask = (1 << prefix) - 1;
    let v = b[this.#pos++]! & mask;
    if (v < mask) return v;
    let m = 0;
    for (;;) {
      if (this.#pos >= this.#end) throw new HpackError("truncated integer");
      const c = b[this.#pos++]!;
      v += (c & 127) * 2 ** m;
      m += 7;
      if (m > 28) throw new HpackError("integer too large");
      if ((c & 128) === 0) return v;
    }
  }

  #str(): string {
    const b = this.#b;
    if (this.#pos >= this.#end) throw new HpackError("truncated string");
    const huff = (b[this.#pos]! & 128) !== 0;
    const len = this.#int(7);
    const end = this.#pos + len;
    if (end > this.#end) throw new HpackError("truncated string");
    const s = !huff
      ? Buffer.prototype.latin1Slice.call(b, this.#pos, end)
      : len < LONG_HUFFMAN || len > LONG_HUFFMAN_MAX
        ? huffmanDecode(b, this.#pos, end)
        : this.#longHuffman(b, this.#pos, end);
    this.#pos = end;
    return s;
  }

  #longHuffman(b: Uint8Array, start: number, end: number): string {
    const n = end - start;
    for (const r of this.#recent)
      if (r.octets.length === n && Buffer.prototype.compare.call(b, r.octets, 0, n, start, end) === 0) return r.text;
    const text = huffmanDecode(b, start, end);
    const octets = Buffer.allocUnsafe(n);
    Buffer.prototype.copy.call(b, octets, 0, start, end);
    this.#recent[this.#next] = { octets, text };
    this.#next = (this.#next + 1) % RECENT_HUFFMAN;
    return text;
  }

  #at(index: number): Entry | { name: string; value: string } {
    if (index === 0) throw new HpackError("index 0");
    if (index <= 61) return STATIC[index - 1]!;
    const e = this.#table.entries[index - 62];
    if (!e) throw new HpackError("index beyond the table");
    return e;
  }

  /**
   * One header block → [name, value, name, value, …] in order, or LIST_TOO_LARGE: a list over maxList is decoded to
   * its end all the same, its fields dropped as they come, so that the table stays in step with the peer's and the
   * connection can go on (RFC 9113 §4.3, §10.5.1: the message is refused, not the connection). The work is bounded
   * by the block's octets, which the caller bounds.
   */
  decode(block: Uint8Array, start = 0, end = block.length): string[] {
    this.#b = block;
    this.#pos = start;
    this.#end = end;
    let out: string[] = [];
    let fieldsSeen = false;
    let listSize = 0;
    while (this.#pos < end) {
      if (listSize > this.maxList) out = LIST_TOO_LARGE;
      const c = block[this.#pos]!;
      if (c & 128) {
        const e = this.#at(this.#int(7));
        if (out !== LIST_TOO_LARGE) out.push(e.name, e.value);
        listSize += e.name.length + e.value.length + 32;
      } else if (c & 64) {
        const i = this.#int(6);
        const name = i ? this.#at(i).name : this.#str();
        const value = this.#str();
        this.#table.add(name, value);
        if (out !== LIST_TOO_LARGE) out.push(name, value);
        listSize += name.length + value.length + 32;
      } else if (c & 32) {
        if (fieldsSeen) throw new HpackError("table size update after a field");
        const max = this.#int(5);
        if (max > this.settingsMax) throw new HpackError("table size update above the setting");
        this.#table.resize(max);
        continue;
      } else {
        const i = this.#int(4);
        const name = i ? this.#at(i).name : this.#str();
        const value = this.#str();
        if (out !== LIST_TOO_LARGE) out.push(name, value);
        listSize += name.length + value.length + 32;
      }
      fieldsSeen = true;
    }
    return listSize > this.maxList ? LIST_TOO_LARGE : out;
  }
}

const STATIC_FULL = new Map<string, Map<string, number>>();
const STATIC_NAME = new Map<string, number>();
STATIC.forEach((e, i) => {
  let m = STATIC_FULL.get(e.name);
  if (!m) {
    m = new Map();
    STATIC_FULL.set(e.name, m);
  }
  if (!m.has(e.value)) m.set(e.value, i + 1);
  if (!STATIC_NAME.has(e.name)) STATIC_NAME.set(e.name, i + 1);
});
/** the longest value of the static table: a longer one (a token, a URI) is not looked up there (no hash of it) */
const STATIC_VALUE_MAX = Math.max(...STATIC.map((e) => e.value.length));
/**
 * never put in the dynamic table: secrets (§7.1.3), and values that change with every message, which would only evict
 * the fields that repeat (3gpp-Sbi-Sender-Timestamp, TS 29.500 5.2.3.2: a new value per request)
 */
const NO_INDEX = new Set([
  "content-length",
  "date",
  "authorization",
  "cookie",
  "set-cookie",
  ":path",
  "3gpp-sbi-sender-timestamp",
]);

/**
 * What the encoder knows of one field name: its values in the dynamic table (value → insertion number), how many it
 * inserted and how many of those were sent again as an index.
 */
interface NameIndex {
  values: Map<string, number>;
  inserted: number;
  hits: number;
}
/**
 * A name whose values seldom repeat (a location, an etag, a correlation id per UE) stops being inserted once this many
 * of its values are in and fewer than a quarter of them were used again, until they are (its indexed values keep
 * counting): each insertion would only evict a field that repeats, and every eviction deletes from the name's Map,
 * whose removed entries Bun 1.4.5 keeps reachable until a full collection (id-table.ts; ~100 B of old-generation
 * garbage per value, each young collection keeping them all).
 */
const PROBATION = 16;
/**
 * The counts cover a name's recent insertions only: both are halved at this many, so that a name whose values stop
 * repeating after a long run that did (an etag of one resource, then of many) stops being inserted within a few hundred
 * values, not four times its hits since the connection opened.
 */
const DECAY = 64;
/** field names the encoder keeps a record of; more (names from a peer are unbounded) go out without indexing */
const MAX_NAMES = 256;

export class HpackEncoder {
  #max = 4096;
  #inserted = 0; // insertion count: entry k (0-based) is at dynamic index inserted - k
  #index = new Map<string, NameIndex>(); // only added to, at most MAX_NAMES
  #sizes: Array<{ name: string; value: string; size: number; no: number }> = [];
  #size = 0;
  #pendingResize = -1;
  #out = Buffer.allocUnsafe(4096);
  #len = 0;

  /** how many field names the encoder keeps a record of (tests: bounded) */
  get names(): number {
    return this.#index.size;
  }

  /** the peer's SETTINGS_HEADER_TABLE_SIZE */
  setMax(max: number): void {
    const m = Math.min(max, 4096);
    if (m === this.#max) return;
    this.#max = m;
    this.#evict(0);
    this.#pendingResize = m;
  }

  #evict(room: number): void {
    while (this.#sizes.length && this.#size + room > this.#max) {
      const e = this.#sizes.shift()!;
      this.#size -= e.size;
      const m = this.#index.get(e.name)!.values;
      if (m.get(e.value) === e.no) m.delete(e.value);
    }
  }

  #room(n: number): void {
    if (this.#len + n <= this.#out.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.#out.length * 2, this.#len + n));
    this.#out.copy(b, 0, 0, this.#len);
    this.#out = b;
  }

  #int(first: number, prefix: number, v: number): void {
    this.#room(6);
    const mask = (1 << prefix) - 1;
    if (v < mask) {
      this.#out[this.#len++] = first | v;
      return;
    }
    this.#out[this.#len++] = first | mask;
    v -= mask;
    while (v >= 128) {
      this.#out[this.#len++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    this.#out[this.#len++] = v;
  }

  #str(s: string): void {
    this.#int(0, 7, s.length);
    this.#room(s.length);
    this.#len += this.#out.write(s, this.#len, "latin1");
  }

  /** the encoder's buffer: the last block is its first encodeLength() octets, until the next call */
  get buffer(): Buffer {
    return this.#out;
  }

  /** [name, value, …] → one header block in `buffer`, without a view of it (core.ts copies it out): its length */
  encodeLength(fields: readonly string[]): number {
    this.#len = 0;
    if (this.#pendingResize >= 0) {
      this.#int(32, 5, this.#pendingResize);
      this.#pendingResize = -1;
    }
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      const s = value.length <= STATIC_VALUE_MAX ? STATIC_FULL.get(name)?.get(value) : undefined;
      if (s !== undefined) {
        this.#int(128, 7, s);
        continue;
      }
      let known = this.#index.get(name);
      const no = known?.values.get(value);
      if (no !== undefined) {
        known!.hits++;
        this.#int(128, 7, 62 + this.#inserted - no);
        continue;
      }
      const ni = STATIC_NAME.get(name) ?? 0;
      const size = name.length + value.length + 32;
      if (
        NO_INDEX.has(name) ||
        size > this.#max / 4 ||
        (known ? known.inserted >= PROBATION && known.hits * 4 < known.inserted : this.#index.size >= MAX_NAMES)
      ) {
        this.#int(0, 4, ni);
      } else {
        this.#int(64, 6, ni);
        this.#evict(size);
        this.#inserted++;
        if (!known) {
          known = { values: new Map(), inserted: 0, hits: 0 };
          this.#index.set(name, known);
        }
        if (++known.inserted >= DECAY) {
          known.inserted >>= 1;
          known.hits >>= 1;
        }
        known.values.set(value, this.#inserted);
        this.#sizes.push({ name, value, size, no: this.#inserted });
        this.#size += size;
      }
      if (!ni) this.#str(name);
      this.#str(value);
    }
    return this.#len;
  }
}
