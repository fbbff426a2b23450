// A connection's way out (src/transport/h2/out.ts): what the connections queue in a turn leaves after it, one write
// each and in order; a connection forgotten (closed) after it was queued writes nothing; and the turn's list of
// connections leaves nothing for the old generation, which a Set of Bun 1.4.5 did (one replaced table per turn).
import { describe, expect, test } from "bun:test";
import { edenGC, fullGC, heapStats } from "bun:jsc";
import { SocketOut, flushAll, schedule } from "../../../src/transport/h2/out.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));
const recording = () => {
  const writes: string[] = [];
  return { writes, socket: { write: (b: Uint8Array) => writes.push(Buffer.from(b).toString()) && b.length, end() {} } };
};

describe("SocketOut", () => {
  test("what a turn queues on several connections leaves after the turn, one write per connection", async () => {
    const a = recording();
    const b = recording();
    const oa = new SocketOut(a.socket);
    const ob = new SocketOut(b.socket);
    oa.put(Buffer.from("a1"));
    schedule(oa);
    ob.put(Buffer.from("b1"));
    schedule(ob);
    oa.put(Buffer.from("a2"));
    schedule(oa);
    expect(a.writes).toEqual([]);
    await turn();
    expect(a.writes).toEqual(["a1a2"]);
    expect(b.writes).toEqual(["b1"]);
  });

  test("a connection forgotten after it was queued writes nothing; queued again, it writes once", async () => {
    const a = recording();
    const oa = new SocketOut(a.socket);
    oa.put(Buffer.from("lost"));
    schedule(oa);
    oa.forget();
    await turn();
    expect(a.writes).toEqual([]);
    oa.put(Buffer.from("x"));
    schedule(oa);
    oa.forget();
    oa.put(Buffer.from("y"));
    schedule(oa);
    flushAll();
    expect(a.writes).toEqual(["y"]);
  });

  // Seen failing with the Set it replaced (`dirty.add` / `dirty.clear()` each turn): +2000 butterflies after 2000 turns.
  test("2000 turns of queued writes leave no table behind for the next young-generation collection", async () => {
    const out = new SocketOut({ write: (b: Uint8Array) => b.length, end() {} });
    const frame = Buffer.from("frame");
    await turn();
    fullGC();
    const before = heapStats().objectTypeCounts["Cell Butterfly"] ?? 0;
    for (let i = 0; i < 2000; i++) {
      out.put(frame);
      schedule(out);
      await turn();
    }
    edenGC();
    const after = heapStats().objectTypeCounts["Cell Butterfly"] ?? 0;
    expect(after - before).toBeLessThan(500); // other butterflies of the test runner may be kept by a collection meanwhile
  });
});
