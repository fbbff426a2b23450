// src/transport/h2/id-table.ts — a connection's streams by stream identifier (RFC 9113 §5.1.1: positive 31-bit
// integers), without a JavaScript Map. Under the set/delete churn of a connection (a stream opened and closed per
// request), a Map of Bun 1.4.5 keeps every value it ever held reachable from its replaced tables until the next full
// collection: each young-generation collection then promotes every stream of the last few hundred requests and
// what they hold, and the heap fills with them (the runtime's defect, oven-sh/bun#42460; docs/PERFORMANCE.md
// "Streams kept by a Map"). This table is one key array and one value array, replaced only when it grows (at most as
// often as the concurrent streams double), so a deleted stream is unreachable at once.
//
// Open addressing with linear probing, and deletion by backward shift (no tombstones): at most half full.

/** Identifier (a stream's, or another positive 31-bit one) → value; 0 marks a free slot. */
export class IdTable<V> {
  #keys: Int32Array;
  #values: Array<V | undefined>;
  #mask: number;
  /** 32 - log2(capacity): the home slot is the top bits of a Fibonacci hash (any id pattern spreads) */
  #shift: number;
  #size = 0;

  constructor(capacity = 16) {
    let c = 16;
    while (c < capacity) c *= 2;
    this.#keys = new Int32Array(c);
    this.#values = new Array<V | undefined>(c).fill(undefined);
    this.#mask = c - 1;
    this.#shift = 32 - Math.log2(c);
  }

  get size(): number {
    return this.#size;
  }

  #home(id: number): number {
    return Math.imul(id, 0x9e3779b1) >>> this.#shift;
  }

  /** the slot of `id`, or of the free slot where it would go */
  #slot(id: number): number {
    const keys = this.#keys;
    let i = this.#home(id);
    while (keys[i] !== 0 && keys[i] !== id) i = (i + 1) & this.#mask;
    return i;
  }

  get(id: number): V | undefined {
    return id > 0 ? this.#values[this.#slot(id)] : undefined;
  }

  has(id: number): boolean {
    return id > 0 && this.#keys[this.#slot(id)] === id;
  }

  set(id: number, value: V): void {
    if (!(id > 0 && id <= 0x7fffffff && Number.isInteger(id))) throw new RangeError(`not a stream identifier: ${id}`);
    let i = this.#slot(id);
    if (this.#keys[i] === id) {
      this.#values[i] = value;
      return;
    }
    if (2 * (this.#size + 1) > this.#keys.length) {
      this.#grow();
      i = this.#slot(id);
    }
    this.#keys[i] = id;
    this.#values[i] = value;
    this.#size++;
  }

  delete(id: number): boolean {
    if (!(id > 0)) return false;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    let i = this.#slot(id);
    if (keys[i] !== id) return false;
    // backward shift: each later entry of the run that may move into the hole does (Knuth 6.4, algorithm R)
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const home = this.#home(keys[j]!);
      // the entry at j stays if its home lies cyclically in (i, j]
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      keys[i] = keys[j]!;
      values[i] = values[j];
      i = j;
    }
    keys[i] = 0;
    values[i] = undefined;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#keys.fill(0);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  /** the values now held, as a new array (safe to change the table while going through it) */
  values(): V[] {
    const out: V[] = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] !== 0) out.push(this.#values[i]!);
    return out;
  }

  /** [id, value] pairs now held, as a new array (safe to change the table while going through it) */
  entries(): Array<[number, V]> {
    const out: Array<[number, V]> = [];
    for (let i = 0; i < this.#keys.length; i++) if (this.#keys[i] !== 0) out.push([this.#keys[i]!, this.#values[i]!]);
    return out;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const c = keys.length * 2;
    this.#keys = new Int32Array(c);
    this.#values = new Array<V | undefined>(c).fill(undefined);
    this.#mask = c - 1;
    this.#shift = 32 - Math.log2(c);
    for (let i = 0; i < keys.length; i++) {
      const id = keys[i]!;
      if (id === 0) continue;
      const j = this.#slot(id);
      this.#keys[j] = id;
      this.#values[j] = values[i];
    }
  }
}
