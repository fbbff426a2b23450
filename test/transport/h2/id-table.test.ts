// The streams of a connection by identifier (src/transport/h2/id-table.ts): the same answers as a Map over random
// operations (collisions, growth, deletion inside a run of occupied slots), no stream identifier outside 1…2^31-1,
// safe iteration while changing, and what it is for: a deleted stream is garbage at the next young-generation
// collection, which Bun 1.4.5's Map does not give under the set/delete churn of a connection.
import { describe, expect, test } from "bun:test";
import { edenGC, fullGC } from "bun:jsc";
import { IdTable } from "../../../src/transport/h2/id-table.ts";

/** a small deterministic generator (xorshift32) */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe("IdTable", () => {
  test("answers as a Map over random set/get/has/delete, with colliding ids and growth", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const t = new IdTable<number>();
      const m = new Map<number, number>();
      // a small id space forces long runs and wrap-around; a large one spreads them
      const space = seed % 2 ? 64 : 2 ** 31 - 1;
      for (let i = 0; i < 3000; i++) {
        const id = 1 + Math.floor(r() * space);
        const op = r();
        if (op < 0.45) {
          t.set(id, i);
          m.set(id, i);
        } else if (op < 0.85) expect(t.delete(id)).toBe(m.delete(id));
        else expect(t.has(id)).toBe(m.has(id));
        expect(t.get(id)).toBe(m.get(id));
        expect(t.size).toBe(m.size);
      }
      const sorted = (a: Array<[number, number]>) => a.sort((x, y) => x[0] - y[0]);
      expect(sorted(t.entries())).toEqual(sorted([...m.entries()]));
      expect(t.values().sort((a, b) => a - b)).toEqual([...m.values()].sort((a, b) => a - b));
      for (const id of m.keys()) expect(t.get(id)).toBe(m.get(id));
    }
  });

  test("a connection's pattern: odd ids in sequence, a window of open streams, some left open long", () => {
    const t = new IdTable<string>();
    const open: number[] = [];
    const long = new Set<number>();
    for (let id = 1; id < 200_000; id += 2) {
      t.set(id, `s${id}`);
      if (id % 997 === 0) long.add(id);
      else open.push(id);
      if (open.length > 64) t.delete(open.shift()!);
    }
    expect(t.size).toBe(open.length + long.size);
    for (const id of [...open, ...long]) expect(t.get(id)).toBe(`s${id}`);
    expect(t.get(3)).toBeUndefined();
  });

  test("only stream identifiers (1 to 2^31-1) are kept; the others are refused or absent", () => {
    const t = new IdTable<number>();
    for (const bad of [0, -1, 2 ** 31, 1.5, Number.NaN]) {
      expect(() => t.set(bad, 1)).toThrow(RangeError);
      expect(t.get(bad)).toBeUndefined();
      expect(t.has(bad)).toBe(false);
      expect(t.delete(bad)).toBe(false);
    }
    t.set(2 ** 31 - 1, 7);
    expect(t.get(2 ** 31 - 1)).toBe(7);
    expect(t.size).toBe(1);
  });

  test("values() and entries() are copies: deleting while going through them misses none", () => {
    const t = new IdTable<number>();
    for (let id = 1; id <= 301; id += 2) t.set(id, id);
    let seen = 0;
    for (const [id] of t.entries()) {
      t.delete(id);
      seen++;
    }
    expect(seen).toBe(151);
    expect(t.size).toBe(0);
    t.set(5, 5);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.values()).toEqual([]);
  });

  // The reason for the table (id-table.ts): under churn a Map of Bun 1.4.5 keeps its removed values reachable until
  // a full collection. Seen failing with `new Map<number, object>()` in place of the IdTable: 448 of 1436 alive (the table: 1).
  test("a deleted value is garbage at the next young-generation collection", async () => {
    const refs: Array<WeakRef<object>> = [];
    const t = new IdTable<object>();
    const open = (id: number) => {
      const v = { id, payload: new Array(8).fill(id) };
      refs.push(new WeakRef(v));
      t.set(id, v);
    };
    for (let id = 1; id <= 128; id += 2) open(id);
    fullGC(); // the table is now in the old generation, as a long-lived connection's is
    // streams opened and closed, as on a connection; in a function of its own, so that no value is left in this frame
    // for the conservative stack scan, and in one job, so that no collection starts in between
    (() => {
      for (let k = 0; k < 1500; k++) {
        const id = 129 + 2 * k;
        open(id);
        t.delete(id - 128);
      }
    })();
    // WeakRef targets stay alive until the job that made them ends
    await new Promise((r) => setTimeout(r, 0));
    edenGC();
    // made after the full collection and deleted since (the first 64 are old: only a full collection frees them)
    const deleted = refs.slice(64, refs.length - 64);
    const alive = deleted.filter((r) => r.deref() !== undefined).length;
    expect(t.size).toBe(64);
    expect(alive).toBeLessThan(deleted.length * 0.02);
  });
});
